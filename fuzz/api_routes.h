// The REST API's route table (the patterns registered by src/api/*_api.cc), with handlers that
// check what the router hands them instead of serving. For the router and HTTP fuzz targets.
#pragma once

#include <string_view>

#include "api/router.h"
#include "fuzz/fuzz_check.h"

namespace warden::fuzz {

// A parameter as a handler receives it: not empty, no NUL, no "." or ".." segment (a slash may
// come from %2F, also in a one-segment parameter).
inline void CheckParam(std::string_view name, std::string_view value) {
  FUZZ_CHECK(!value.empty()) << name;
  FUZZ_CHECK(value.find('\0') == std::string_view::npos) << name;
  std::string_view rest = value;
  while (true) {
    size_t slash = rest.find('/');
    std::string_view piece = rest.substr(0, slash);
    FUZZ_CHECK(piece != "." && piece != "..") << name << "=" << value;
    if (slash == std::string_view::npos) {
      break;
    }
    rest.remove_prefix(slash + 1);
  }
}

inline api::Response Served(api::Request& request) {
  for (const auto& [name, value] : request.params) {
    CheckParam(name, value);
  }
  return api::Response::Text(200, "ok");
}

inline api::Router ApiRoutes() {
  api::Router router;
  for (auto [method, pattern] : {
           std::pair{"GET", "/openapi.json"},
           {"GET", "/docs"},
           {"POST", "/v1/exec"},
           {"GET", "/healthz"},
           {"GET", "/readyz"},
           {"POST", "/v1/jobs"},
           {"GET", "/v1/jobs"},
           {"GET", "/v1/jobs/{id}"},
           {"GET", "/v1/jobs/{id}/events"},
           {"GET", "/v1/jobs/{id}/logs"},
           {"POST", "/v1/jobs/{id}/cancel"},
           {"POST", "/v1/jobs/{id}/retry"},
           {"GET", "/v1/jobs/{id}/files"},
           {"GET", "/v1/jobs/{id}/files/{path...}"},
           {"GET", "/v1/jobs/{id}/archive"},
           {"POST", "/v1/sessions"},
           {"GET", "/v1/sessions/{id}"},
           {"POST", "/v1/sessions/{id}/messages"},
           {"GET", "/metrics"},
       }) {
    router.Add(method, pattern, Served);
  }
  return router;
}

// What the router may answer on its own, and what a served request gets.
inline void CheckRouted(const api::Response& response) {
  int status = response.status;
  FUZZ_CHECK(status == 200 || status == 400 || status == 404 || status == 405) << status;
  if (status == 405) {
    FUZZ_CHECK(!response.headers.Get("Allow").empty());
  }
}

}  // namespace warden::fuzz
