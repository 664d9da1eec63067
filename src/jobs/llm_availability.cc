#include "jobs/llm_availability.h"

#include <fmt/format.h>

namespace warden::jobs {

Result<llm::ProviderConfig> LlmAvailability::Default() {
  std::lock_guard lock(mu_);
  // A working LLM is kept: whether it answers is the client's business (it retries), and a server
  // that probed its model on every submission would slow every one of them.
  if (!(resolved_ && last_.ok()) && Clock::now() >= next_try_) {
    last_ = resolve_(llm::ProviderFlags{});
    resolved_ = true;
    next_try_ = Clock::now() + retry_after_;
  }
  return last_;
}

Status LlmAvailability::Check(const JobSpec& spec) {
  if (spec.kind != JobKind::kTask) {
    return OkStatus();
  }
  if (spec.provider.empty() && spec.model.empty()) {
    auto llm = Default();
    return llm.ok() ? OkStatus()
                    : Error(ErrorCode::kFailedPrecondition, NoLlmMessage(llm.error().message()));
  }
  // A job naming its own provider or model: resolved as its worker will resolve it. Only a
  // model not given by the job may be looked up on a local server; that lookup is the worker's.
  auto llm = resolve_(llm::ProviderFlags{spec.provider, spec.model, ""});
  if (llm.ok()) {
    return OkStatus();
  }
  if (llm.error().code() == ErrorCode::kInvalidArgument) {
    return llm.error();
  }
  return Error(ErrorCode::kFailedPrecondition, NoLlmMessage(llm.error().message()));
}

json::object LlmAvailability::Describe() {
  auto llm = Default();
  if (!llm.ok()) {
    return json::object{{"problem", llm.error().message()}};
  }
  return json::object{
      {"provider", llm->provider}, {"model", llm->model}, {"base_url", llm->base_url}};
}

std::string NoLlmMessage(const std::string& problem) {
  return fmt::format(
      "this server has no usable LLM, so it runs steps jobs but not tasks: {}\n(the server reads "
      "its [llm] configuration and its environment when it starts: restart it after changing "
      "them; a local Ollama started later is found within seconds)",
      problem);
}

}  // namespace warden::jobs
