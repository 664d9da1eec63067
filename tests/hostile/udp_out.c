// UDP to the outside. Usage: udp_out HOST_LOOPBACK_PORT GATEWAY_IP
// Sends datagrams to public DNS servers and the host's gateway (each must fail with
// ENETUNREACH), and one to a port the test listens on at the host's 127.0.0.1 (it may "succeed"
// into the sandbox's own loopback; the test checks from the host that nothing arrived).
#include "net_common.h"

static void TrySend(const char* ip, int port, int must_fail) {
  char what[128];
  snprintf(what, sizeof(what), "sendto(%s:%d)", ip, port);
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof(addr));
  addr.sin_family = AF_INET;
  addr.sin_port = htons((unsigned short)port);
  inet_pton(AF_INET, ip, &addr.sin_addr);
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    Blocked(what, errno);
    return;
  }
  ssize_t n = sendto(fd, "hostile", 7, 0, (struct sockaddr*)&addr, sizeof(addr));
  close(fd);
  if (n < 0) {
    Blocked(what, errno);
  } else if (must_fail) {
    Escaped(what, "(datagram sent)");
  } else {
    printf("%s: sent into the sandbox's own loopback\n", what);
  }
}

int main(int argc, char** argv) {
  RequireSandbox();
  if (argc != 3)
    return kExitUnexpected;
  TrySend("8.8.8.8", 53, 1);
  TrySend("1.1.1.1", 53, 1);
  TrySend(argv[2], 53, 1);
  TrySend("127.0.0.1", atoi(argv[1]), 0);
  return ExitStatus();
}
