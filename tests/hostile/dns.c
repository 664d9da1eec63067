// DNS to the outside. Usage: dns NAMESERVER_IP...
// Resolves public names through the C library (must fail: no resolver is reachable) and sends a
// DNS query straight to each of the host's name servers and to public ones (must fail at once).
#include <netdb.h>

#include "net_common.h"

static void Resolve(const char* name) {
  char what[128];
  snprintf(what, sizeof(what), "getaddrinfo(%s)", name);
  struct addrinfo* result = NULL;
  struct addrinfo hints;
  memset(&hints, 0, sizeof(hints));
  hints.ai_socktype = SOCK_STREAM;
  int r = getaddrinfo(name, "80", &hints, &result);
  if (r == 0) {
    freeaddrinfo(result);
    Escaped(what, "(resolved)");
  } else {
    printf("%s: %s\n", what, gai_strerror(r));
  }
}

static void Query(const char* ip) {
  // A query for "example.com" A, id 0x4242.
  static const unsigned char kQuery[] = {0x42, 0x42, 1,   0,   0,   1,   0,   0,   0,   0,
                                         0,    0,    7,   'e', 'x', 'a', 'm', 'p', 'l', 'e',
                                         3,    'c',  'o', 'm', 0,   0,   1,   0,   1};
  char what[128];
  snprintf(what, sizeof(what), "dns query to %s:53", ip);
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof(addr));
  addr.sin_family = AF_INET;
  addr.sin_port = htons(53);
  if (inet_pton(AF_INET, ip, &addr.sin_addr) != 1) {
    Unexpected(what, "bad address");
    return;
  }
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    Blocked(what, errno);
    return;
  }
  ssize_t n = sendto(fd, kQuery, sizeof(kQuery), 0, (struct sockaddr*)&addr, sizeof(addr));
  if (n < 0) {
    Blocked(what, errno);
  } else {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, 2000) > 0 && recv(fd, (char[512]){0}, 512, 0) > 0) {
      Escaped(what, "(answered)");
    } else {
      Escaped(what, "(query sent out of the sandbox)");
    }
  }
  close(fd);
}

int main(int argc, char** argv) {
  RequireSandbox();
  Resolve("example.com");
  Resolve("debian.org");
  Query("8.8.8.8");
  Query("1.1.1.1");
  for (int i = 1; i < argc; ++i)
    Query(argv[i]);
  char resolv[4096];
  if (ReadSmallFile("/etc/resolv.conf", resolv, sizeof(resolv)) >= 0 &&
      strstr(resolv, "nameserver") != NULL) {
    Escaped("/etc/resolv.conf", "(names a server without network access)");
  } else {
    printf("/etc/resolv.conf: no nameserver\n");
  }
  return ExitStatus();
}
