// The part of a NetworkMode::kProxy run that the supervisor holds: the unix socket on which the
// run's init sends the proxy's listening socket, the proxy serving it, and the refusals, which
// end up on the run's stderr.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "base/result.h"
#include "base/unique_fd.h"
#include "sandbox/egress_proxy.h"
#include "sandbox/sandbox.h"

namespace warden::sandbox {

// Owns the socket pair and, once started, the proxy. Thread-safe: the proxy's threads add
// refusals while the supervisor's thread waits for the run.
class RunEgress {
 public:
  // Makes the socket pair. Init keeps child_fd() (ChildPlan::proxy_socket_fd).
  static Result<std::unique_ptr<RunEgress>> Prepare();
  ~RunEgress();

  int child_fd() const { return child_end_.get(); }
  // After the clone: the supervisor's copy of the child's end goes, so that an init that fails
  // before sending leaves end-of-file.
  void CloseChildEnd() { child_end_.reset(); }
  // Receives the listening socket from init and starts the proxy on it with `spec`'s policy.
  // An error means init sent none (its setup failed; it reports why itself).
  Status Start(const Spec& spec);
  // Stops the proxy (closing its connections) and appends a line per refusal to `stderr_data`,
  // and gives them to `on_output` (when set) as the run's last stderr: a follower of the live
  // output sees them too.
  void Finish(std::string& stderr_data, const OutputCallback& on_output);

 private:
  RunEgress(UniqueFd parent_end, UniqueFd child_end);

  UniqueFd parent_end_;
  UniqueFd child_end_;
  std::mutex mutex_;
  std::string denial_lines_;  // guarded by mutex_
  std::unique_ptr<EgressProxy> proxy_;
};

}  // namespace warden::sandbox
