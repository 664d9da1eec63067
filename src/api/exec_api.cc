#include "api/exec_api.h"

#include <algorithm>

#include <fmt/format.h>

#include "base/metrics.h"
#include "base/units.h"
#include "jobs/limits.h"
#include "sandbox/result_json.h"

namespace warden::api {
namespace {

Response Bad(std::string message) {
  return Response::Error(400, "invalid_argument", message);
}

}  // namespace

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
        return Bad(fmt::format("unknown limit \"{}\": use {}", std::string_view(key),
                               jobs::RunLimitNames()));
      }
      if (!value.is_string()) {
        return Bad(fmt::format("limits.{} must be a string such as \"10s\" or \"256M\"",
                               std::string_view(key)));
      }
      Status set = jobs::SetRunLimit(spec.limits, *limit, value.get_string(), options_.ceiling,
                                     fmt::format("limits.{}", std::string_view(key)));
      if (!set.ok()) {
        return Bad(set.error().message());
      }
    }
  }
  auto result = supervisor_.Run(spec);
  // Every run the sandbox was asked for counts, also one it refused ("error").
  metrics::RecordSandboxRun("exec", result.ok() ? sandbox::OutcomeName(result->outcome) : "error");
  if (!result.ok()) {
    return Response::FromError(result.error());
  }
  return Response::Json(200, sandbox::ResultToJson(*result));
}

}  // namespace warden::api
