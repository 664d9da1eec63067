#include "sandbox/egress_run.h"

#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace warden::sandbox {
namespace {

Result<UniqueFd> ReceiveFd(int socket_fd) {
  char byte = 0;
  struct iovec iov = {&byte, 1};
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
  if (n < 0) {
    return ErrnoError("recvmsg(egress proxy listener)");
  }
  struct cmsghdr* header = n == 1 ? CMSG_FIRSTHDR(&message) : nullptr;
  if (header == nullptr || header->cmsg_type != SCM_RIGHTS) {
    return Error(ErrorCode::kUnavailable, "the run's init sent no listening socket");
  }
  int fd = -1;
  std::memcpy(&fd, CMSG_DATA(header), sizeof(int));
  return UniqueFd(fd);
}

}  // namespace

RunEgress::RunEgress(UniqueFd parent_end, UniqueFd child_end)
    : parent_end_(std::move(parent_end)), child_end_(std::move(child_end)) {}

RunEgress::~RunEgress() = default;

Result<std::unique_ptr<RunEgress>> RunEgress::Prepare() {
  int pair[2];
  // SEQPACKET: an init that dies before sending reads as end-of-file.
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) {
    return ErrnoError("socketpair(egress proxy)");
  }
  return std::unique_ptr<RunEgress>(new RunEgress(UniqueFd(pair[0]), UniqueFd(pair[1])));
}

Status RunEgress::Start(const Spec& spec) {
  ASSIGN_OR_RETURN(UniqueFd listener, ReceiveFd(parent_end_.get()));
  parent_end_.reset();
  EgressDenialCallback forward = spec.on_egress_denied;
  ASSIGN_OR_RETURN(proxy_, EgressProxy::Start(std::move(listener), spec.egress,
                                              [this, forward](const EgressDenialEvent& event) {
                                                {
                                                  std::lock_guard lock(mutex_);
                                                  denial_lines_ +=
                                                      fmt::format("warden: {}\n", event.message);
                                                }
                                                if (forward) {
                                                  forward(event);
                                                }
                                              }));
  return OkStatus();
}

void RunEgress::Finish(std::string& stderr_data) {
  proxy_.reset();  // joins the proxy's threads: no refusal comes after this
  std::lock_guard lock(mutex_);
  stderr_data += denial_lines_;
}

}  // namespace warden::sandbox
