// Passing a file descriptor over a unix socket (SCM_RIGHTS) along with one byte. System calls
// only: safe in the sandbox's child processes between clone() and exec, and in the supervisor.
#pragma once

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <cerrno>
#include <cstring>

namespace warden::sandbox {

// Sends `byte`, with `fd` unless it is negative. True when the byte went out.
inline bool SendByteAndFd(int socket_fd, unsigned char byte, int fd) {
  struct iovec iov = {&byte, 1};
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  struct msghdr message {};
  message.msg_iov = &iov;
  message.msg_iovlen = 1;
  if (fd >= 0) {
    message.msg_control = control;
    message.msg_controllen = sizeof(control);
    struct cmsghdr* header = CMSG_FIRSTHDR(&message);
    header->cmsg_level = SOL_SOCKET;
    header->cmsg_type = SCM_RIGHTS;
    header->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(header), &fd, sizeof(int));
  }
  return ::sendmsg(socket_fd, &message, MSG_NOSIGNAL) == 1;
}

// Receives one byte into *byte, and the descriptor sent with it (close-on-exec) into *fd, which
// stays -1 when none came. Returns what recvmsg() returned: 1, 0 at end of file, or -1 (errno).
inline ssize_t ReceiveByteAndFd(int socket_fd, unsigned char* byte, int* fd) {
  struct iovec iov = {byte, 1};
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  struct msghdr message {};
  message.msg_iov = &iov;
  message.msg_iovlen = 1;
  message.msg_control = control;
  message.msg_controllen = sizeof(control);
  ssize_t n;
  do {
    n = ::recvmsg(socket_fd, &message, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  struct cmsghdr* header = n == 1 ? CMSG_FIRSTHDR(&message) : nullptr;
  if (header != nullptr && header->cmsg_level == SOL_SOCKET && header->cmsg_type == SCM_RIGHTS) {
    std::memcpy(fd, CMSG_DATA(header), sizeof(int));
  }
  return n;
}

}  // namespace warden::sandbox
