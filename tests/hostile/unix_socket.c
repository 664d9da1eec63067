// Host unix sockets. Usage: unix_socket HOST_SOCKET_PATH ABSTRACT_NAME
// Connects to a socket the test listens on at a host path and in the host's abstract namespace,
// and to the well-known host daemons' sockets. None may be reachable: paths must not exist
// (ENOENT), and the abstract namespace is the sandbox's own (ECONNREFUSED).
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "guard.h"

static void TryUnix(const char* what, const char* path, int abstract) {
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof(addr));
  addr.sun_family = AF_UNIX;
  const size_t len = strlen(path);
  if (len + 2 > sizeof(addr.sun_path)) {
    Unexpected(what, "path too long");
    return;
  }
  memcpy(addr.sun_path + (abstract ? 1 : 0), path, len);
  const socklen_t addr_len =
      (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + (abstract ? 1 : 0));
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    Unexpected(what, "socket(AF_UNIX) failed");
    return;
  }
  int r = connect(fd, (struct sockaddr*)&addr, addr_len);
  int err = errno;
  close(fd);
  if (r == 0) {
    Escaped(what, "(connected)");
  } else if (!abstract && err != ENOENT) {
    Escaped(what, ErrName(err));  // the socket file exists in the sandbox
  } else {
    Blocked(what, err);
  }
}

int main(int argc, char** argv) {
  RequireSandbox();
  if (argc != 3)
    return kExitUnexpected;
  TryUnix("host socket path", argv[1], 0);
  TryUnix("host abstract socket", argv[2], 1);
  const char* well_known[] = {"/run/systemd/private",
                              "/run/dbus/system_bus_socket",
                              "/var/run/dbus/system_bus_socket",
                              "/run/systemd/journal/socket",
                              "/run/systemd/notify",
                              "/dev/log",
                              "/var/run/docker.sock",
                              "/run/containerd/containerd.sock",
                              "/run/postgresql/.s.PGSQL.5432",
                              "/run/user/0/bus"};
  for (size_t i = 0; i < sizeof(well_known) / sizeof(well_known[0]); ++i) {
    TryUnix(well_known[i], well_known[i], 0);
  }
  return ExitStatus();
}
