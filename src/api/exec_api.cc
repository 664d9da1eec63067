#include "api/exec_api.h"

#include <algorithm>
#include <utility>

#include <fmt/format.h>

#include "base/metrics.h"
#include "base/units.h"
#include "jobs/limits.h"
#include "sandbox/result_json.h"

namespace warden::api {
namespace {

Response Bad(const std::string& message) {
  return Response::Error(400, "invalid_argument", message);
}

}  // namespace

// One accepted run, from the handler to its thread.
struct ExecApi::Run {
  sandbox::Spec spec;
  ExecSlots::Slot slot;
  std::shared_ptr<ClientWatch> client;  // null for requests made up by tests
};

ExecApi::ExecApi(sandbox::Supervisor& supervisor, ExecApiOptions options)
    : supervisor_(supervisor),
      options_(std::move(options)),
      slots_(options_.slots, options_.slots_per_key),
      runs_(slots_.per_server()) {}

ExecApi::~ExecApi() {
  CancelAll();
  runs_.Stop();
}

void ExecApi::CancelAll() {
  std::lock_guard lock(mu_);
  stopping_ = true;
  for (sandbox::CancelToken* cancel : in_progress_) {
    cancel->Cancel();
  }
}

void ExecApi::AddRoutes(Router& router) {
  router.Add("POST", "/v1/exec", [this](Request& request) { return Exec(request); });
}

Response ExecApi::Exec(Request& request) {
  boost::system::error_code ec;
  json::value body = json::parse(request.body, ec);
  if (ec || !body.is_object()) {
    return Response::Error(400, "invalid_json",
                           ec ? fmt::format("the body is not valid JSON: {}", ec.message())
                              : std::string("the body must be a JSON object"));
  }
  const json::object& in = body.get_object();
  auto text = [&](std::string_view key) -> std::optional<std::string> {
    const json::value* value = in.if_contains(key);
    if (value == nullptr) {
      return std::string();
    }
    if (!value->is_string()) {
      return std::nullopt;
    }
    return std::string(value->get_string());
  };
  std::optional<std::string> language = text("language");
  std::optional<std::string> code = text("code");
  std::optional<std::string> stdin_data = text("stdin");
  if (!language || !code || !stdin_data) {
    return Bad("language, code and stdin must be strings");
  }
  if (code->empty()) {
    return Bad("code is empty");
  }
  if (code->size() > options_.max_code_bytes) {
    return Response::Error(
        413, "too_large",
        fmt::format("code may be at most {}", FormatBytes(options_.max_code_bytes)));
  }
  sandbox::Spec spec;
  if (*language == "python" || language->empty()) {
    spec.argv = {"/usr/bin/python3", "-c", *code};
  } else if (*language == "bash" || *language == "sh") {
    spec.argv = {*language == "bash" ? "/usr/bin/bash" : "/bin/sh", "-c", *code};
  } else {
    return Bad(fmt::format("language must be python, bash or sh, not '{}'", *language));
  }
  spec.stdin_data = std::move(*stdin_data);
  spec.limits = options_.defaults;
  if (const json::value* limits = in.if_contains("limits"); limits != nullptr) {
    if (!limits->is_object()) {
      return Bad("limits must be an object");
    }
    for (const auto& [key, value] : limits->get_object()) {
      std::optional<jobs::RunLimit> limit = jobs::ParseRunLimitName(key);
      if (!limit) {
        return Bad(fmt::format("unknown limit \"{}\": use {}", std::string_view{key},
                               jobs::RunLimitNames()));
      }
      if (!value.is_string()) {
        return Bad(fmt::format("limits.{} must be a string such as \"10s\" or \"256M\"",
                               std::string_view{key}));
      }
      Status set = jobs::SetRunLimit(spec.limits, *limit, value.get_string(), options_.ceiling,
                                     fmt::format("limits.{}", std::string_view{key}));
      if (!set.ok()) {
        return Bad(set.error().message());
      }
    }
  }
  if (const json::value* network = in.if_contains("network"); network != nullptr) {
    if (!network->is_object()) {
      return Bad(R"(network must be an object such as {"allow": ["pypi.org"]})");
    }
    auto policy = jobs::ParseJobEgress(network->get_object(), options_.egress);
    if (!policy.ok()) {
      return Bad(policy.error().message());
    }
    spec.network = sandbox::NetworkMode::kProxy;
    spec.egress = std::move(*policy);
  }
  return Start(std::move(spec), request);
}

// Takes a slot, or answers 429, and hands the run to a thread of runs_: the handler thread is
// free at once, and the answer goes out when the run ends.
Response ExecApi::Start(sandbox::Spec spec, const Request& request) {
  auto owner = request.params.find("owner");
  Result<ExecSlots::Slot> slot =
      slots_.TryAcquire(owner == request.params.end() ? std::string() : owner->second);
  if (!slot.ok()) {
    Response busy = Response::Error(429, "too_many_runs", slot.error().message());
    busy.headers.Set("Retry-After", "1");
    return busy;
  }
  auto run = std::make_shared<Run>(Run{std::move(spec), std::move(*slot), request.client});
  return Response::Deferred([this, run](const std::shared_ptr<Responder>& responder) {
    if (!runs_.Submit([this, run, responder] { Finish(*run, *responder); })) {
      responder->Send(Response::Error(503, "unavailable", "the server is stopping"));
    }
  });
}

void ExecApi::Finish(Run& run, Responder& responder) {
  // Shared with the client watch, which may call it until the answer has reached the connection.
  auto cancel = std::make_shared<sandbox::CancelToken>();
  {
    std::lock_guard lock(mu_);
    if (stopping_) {
      responder.Send(Response::Error(503, "unavailable", "the server is stopping"));
      return;
    }
    in_progress_.insert(cancel.get());
  }
  if (run.client) {
    // Nobody waits for the answer any more: the run ends now, not at its time limit.
    run.client->OnGone([cancel] { cancel->Cancel(); });
  }
  // Refused connections, in the answer beside the run's own stderr line for each.
  auto denials = std::make_shared<std::pair<std::mutex, json::array>>();
  if (run.spec.network == sandbox::NetworkMode::kProxy) {
    run.spec.on_egress_denied = [denials](const sandbox::EgressDenialEvent& event) {
      std::lock_guard lock(denials->first);
      denials->second.emplace_back(jobs::EgressDenialJson(event));
    };
  }
  Result<sandbox::RunResult> result = supervisor_.Run(run.spec, cancel.get());
  {
    std::lock_guard lock(mu_);
    in_progress_.erase(cancel.get());
  }
  run.slot.Release();  // before answering: a client that retries at once finds it free
  // Every run the sandbox was asked for counts, also one it refused ("error").
  metrics::RecordSandboxRun("exec", result.ok() ? sandbox::OutcomeName(result->outcome) : "error");
  if (!result.ok()) {
    responder.Send(Response::FromError(result.error()));
    return;
  }
  json::object answer = sandbox::ResultToJson(*result);
  if (run.spec.network == sandbox::NetworkMode::kProxy) {
    std::lock_guard lock(denials->first);
    answer["network_denied"] = std::move(denials->second);
  }
  responder.Send(Response::Json(200, answer));
}

}  // namespace warden::api
