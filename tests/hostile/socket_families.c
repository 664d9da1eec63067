// Socket families other than IP and unix. Usage: socket_families vsock|netlink|raw
// Only creates sockets (and, for netlink, binds to kernel uevents); never connects or sends:
// on a VM, vsock reaches the hypervisor. A socket that gets created is closed at once.
#include <linux/netlink.h>
#include <linux/vm_sockets.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "guard.h"

static void TrySocket(const char* what, int domain, int type, int protocol) {
  int fd = socket(domain, type | SOCK_CLOEXEC, protocol);
  if (fd >= 0) {
    close(fd);
    Escaped(what, "(socket created)");
  } else {
    Blocked(what, errno);
  }
}

int main(int argc, char** argv) {
  RequireSandbox();
  if (argc != 2)
    return kExitUnexpected;
  if (strcmp(argv[1], "vsock") == 0) {
    TrySocket("socket(AF_VSOCK, SOCK_STREAM)", AF_VSOCK, SOCK_STREAM, 0);
    TrySocket("socket(AF_VSOCK, SOCK_DGRAM)", AF_VSOCK, SOCK_DGRAM, 0);
    TrySocket("socket(AF_VSOCK, SOCK_SEQPACKET)", AF_VSOCK, SOCK_SEQPACKET, 0);
    int fd = open("/dev/vsock", O_RDONLY | O_CLOEXEC);
    if (fd >= 0)
      close(fd);
    Expect("open(/dev/vsock)", fd);
  } else if (strcmp(argv[1], "netlink") == 0) {
    TrySocket("socket(AF_NETLINK, NETLINK_ROUTE)", AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
    TrySocket("socket(AF_NETLINK, NETLINK_KOBJECT_UEVENT)", AF_NETLINK, SOCK_DGRAM,
              NETLINK_KOBJECT_UEVENT);
    TrySocket("socket(AF_NETLINK, NETLINK_AUDIT)", AF_NETLINK, SOCK_RAW, NETLINK_AUDIT);
    TrySocket("socket(AF_NETLINK, NETLINK_SOCK_DIAG)", AF_NETLINK, SOCK_RAW, NETLINK_SOCK_DIAG);
    TrySocket("socket(AF_NETLINK, NETLINK_GENERIC)", AF_NETLINK, SOCK_RAW, NETLINK_GENERIC);
    TrySocket("socket(AF_NETLINK, NETLINK_NETFILTER)", AF_NETLINK, SOCK_RAW, NETLINK_NETFILTER);
  } else {
    TrySocket("socket(AF_PACKET, SOCK_RAW)", AF_PACKET, SOCK_RAW, 0);
    TrySocket("socket(AF_INET, SOCK_RAW, ICMP)", AF_INET, SOCK_RAW, IPPROTO_ICMP);
    TrySocket("socket(AF_INET6, SOCK_RAW, ICMPV6)", AF_INET6, SOCK_RAW, IPPROTO_ICMPV6);
    TrySocket("socket(AF_ALG)", AF_ALG, SOCK_SEQPACKET, 0);
    TrySocket("socket(AF_KEY)", AF_KEY, SOCK_RAW, 2 /* PF_KEY_V2 */);
    TrySocket("socket(AF_XDP)", AF_XDP, SOCK_RAW, 0);
    TrySocket("socket(AF_TIPC)", AF_TIPC, SOCK_RDM, 0);
    TrySocket("socket(AF_BLUETOOTH)", AF_BLUETOOTH, SOCK_RAW, 0);
    TrySocket("socket(AF_CAN)", AF_CAN, SOCK_RAW, 1 /* CAN_RAW */);
  }
  return ExitStatus();
}
