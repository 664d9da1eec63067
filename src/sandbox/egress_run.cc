#include "sandbox/egress_run.h"

#include <sys/socket.h>

#include <fmt/format.h>

#include "sandbox/fd_passing.h"

namespace warden::sandbox {
namespace {

Result<UniqueFd> ReceiveFd(int socket_fd) {
  unsigned char byte = 0;
  int fd = -1;
  if (ReceiveByteAndFd(socket_fd, &byte, &fd) < 0) {
    return ErrnoError("recvmsg(egress proxy listener)");
  }
  if (fd < 0) {
    return Error(ErrorCode::kUnavailable, "the run's init sent no listening socket");
  }
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

void RunEgress::Finish(std::string& stderr_data, const OutputCallback& on_output) {
  proxy_.reset();  // joins the proxy's threads: no refusal comes after this
  std::lock_guard lock(mutex_);
  stderr_data += denial_lines_;
  if (on_output && !denial_lines_.empty()) {
    on_output(Stream::kStderr, denial_lines_);
  }
}

}  // namespace warden::sandbox
