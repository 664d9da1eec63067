// Names and descriptions of run outcomes, and CancelToken.
#include <signal.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <fmt/format.h>

#include "base/units.h"
#include "sandbox/sandbox.h"

namespace warden::sandbox {

std::string_view OutcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kExited:
      return "exited";
    case Outcome::kSignaled:
      return "signaled";
    case Outcome::kTimeout:
      return "timeout";
    case Outcome::kCpuLimit:
      return "cpu_limit";
    case Outcome::kMemoryLimit:
      return "memory_limit";
    case Outcome::kOutputLimit:
      return "output_limit";
    case Outcome::kDiskLimit:
      return "disk_limit";
    case Outcome::kCancelled:
      return "cancelled";
    case Outcome::kSetupError:
      return "setup_error";
  }
  return "unknown";
}

std::string DescribeOutcome(const RunResult& result, const Limits& limits) {
  switch (result.outcome) {
    case Outcome::kExited:
      return fmt::format("exited with code {}", result.exit_code);
    case Outcome::kSignaled: {
      const char* name = sigabbrev_np(result.signal);
      return fmt::format("killed by signal {} (SIG{})", result.signal,
                         name != nullptr ? name : "?");
    }
    case Outcome::kTimeout:
      return fmt::format("killed: wall time limit of {} reached (raise it with --timeout)",
                         FormatDuration(limits.wall_time));
    case Outcome::kCpuLimit:
      return fmt::format("killed: CPU time limit of {} reached (raise it with --cpu-time)",
                         FormatDuration(limits.cpu_time));
    case Outcome::kMemoryLimit:
      return fmt::format("killed: out of memory at the limit of {} (raise it with --memory)",
                         FormatBytes(limits.memory_bytes));
    case Outcome::kOutputLimit:
      return fmt::format("killed: output limit of {} reached (raise it with --output-limit)",
                         FormatBytes(limits.output_bytes));
    case Outcome::kDiskLimit:
      return fmt::format("stopped: disk limit of {} reached (raise it with --disk-limit)",
                         FormatBytes(limits.disk_bytes));
    case Outcome::kCancelled:
      return "cancelled";
    case Outcome::kSetupError:
      return result.setup_step.empty()
                 ? "the sandbox could not be set up"
                 : fmt::format("sandbox setup failed at '{}'", result.setup_step);
  }
  return "unknown outcome";
}

CancelToken::CancelToken() : fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}
CancelToken::~CancelToken() = default;

void CancelToken::Cancel() {
  cancelled_.store(true, std::memory_order_release);
  uint64_t one = 1;
  // The counter cannot overflow in practice; a failed write leaves the token readable anyway.
  (void)!::write(fd_.get(), &one, sizeof(one));
}

bool CancelToken::cancelled() const {
  return cancelled_.load(std::memory_order_acquire);
}

}  // namespace warden::sandbox
