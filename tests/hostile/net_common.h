// Helpers of the network attacks: a connect() with a deadline that tells an immediate refusal
// (contained) from a connection or from silence (packets left the sandbox).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include "guard.h"

// Connects a TCP socket to ip:port. Prints and classifies the outcome.
static inline void TryConnect(const char* ip, int port) {
  char what[128];
  snprintf(what, sizeof(what), "connect(%s:%d)", ip, port);
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof(addr));
  addr.sin_family = AF_INET;
  addr.sin_port = htons((unsigned short)port);
  if (inet_pton(AF_INET, ip, &addr.sin_addr) != 1) {
    Unexpected(what, "bad address");
    return;
  }
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    Blocked(what, errno);
    return;
  }
  int r = connect(fd, (struct sockaddr*)&addr, sizeof(addr));
  if (r < 0 && errno == EINPROGRESS) {
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    if (poll(&p, 1, 2000) == 0) {
      Escaped(what, "(no answer in 2 s: the packets were routed out of the sandbox)");
      close(fd);
      return;
    }
    int err = 0;
    socklen_t len = sizeof(err);
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    errno = err;
    r = err == 0 ? 0 : -1;
  }
  close(fd);
  if (r == 0) {
    Escaped(what, "(connected)");
  } else {
    Blocked(what, errno);
  }
}
