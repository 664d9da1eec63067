// Whether this server can run task jobs: the LLM its workers would use for a job, resolved as
// they resolve it (the job's provider and model, then the [llm] section, then the environment),
// so that a task job is refused at submission (503, saying how to configure one) rather than
// stored only to fail. A failed resolution is remembered for a few seconds, then tried again: a
// model server started after Warden (`ollama serve`) is noticed without probing on every request.
#pragma once

#include <chrono>
#include <functional>
#include <mutex>
#include <string>

#include "base/json.h"
#include "base/result.h"
#include "jobs/job_spec.h"
#include "llm/providers.h"

namespace warden::jobs {

class LlmAvailability {
 public:
  using Resolver = std::function<Result<llm::ProviderConfig>(const llm::ProviderFlags&)>;
  using Clock = std::chrono::steady_clock;

  explicit LlmAvailability(Resolver resolve,
                           std::chrono::milliseconds retry_after = std::chrono::seconds(5))
      : resolve_(std::move(resolve)), retry_after_(retry_after) {}

  // The server's own LLM (no job options), resolved at most once per `retry_after` while it
  // fails. Thread-safe.
  Result<llm::ProviderConfig> Default();

  // Ok when `spec` can run here: a steps job always; a task job when its provider and model (or
  // the server's) resolve. kFailedPrecondition otherwise, with what the operator must configure.
  Status Check(const JobSpec& spec);

  // For /readyz and the start-up log: {"provider", "model", "base_url"} or {"problem"}.
  json::object Describe();

 private:
  Resolver resolve_;
  std::chrono::milliseconds retry_after_;
  std::mutex mu_;
  bool resolved_ = false;
  Clock::time_point next_try_{};
  Result<llm::ProviderConfig> last_{Error(ErrorCode::kFailedPrecondition, "not resolved yet")};
};

// The words of a refusal because no LLM is configured.
std::string NoLlmMessage(const std::string& problem);

}  // namespace warden::jobs
