// The web dashboard of `warden serve`: its pages and assets (assets.h) and its live channel
// (live.h), routed together.
//
//   web::Dashboard dashboard(store, {.check_key = ..., .bounds = bounds});
//   dashboard.AddRoutes(router);
//   auto handler = auth.Wrap(..., web::IsDashboardPath);  // pages load before the key prompt
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "api/router.h"
#include "base/json.h"
#include "jobs/job_spec.h"
#include "jobs/store.h"
#include "web/assets.h"
#include "web/live.h"

namespace warden::web {

struct DashboardOptions {
  // See LiveOptions::check_key. Unset: a server without API keys.
  std::function<std::optional<std::string>(std::string_view key)> check_key;
  // The server's job bounds: their defaults are shown by the new job form.
  jobs::JobBounds bounds;
};

// The defaults of a job's options under `bounds`, as the form shows them: {"timeout": "30m", ...}.
json::object JobDefaults(const jobs::JobBounds& bounds);

// Thread-safe. Must outlive the HTTP server it is routed from.
class Dashboard {
 public:
  Dashboard(jobs::JobStore& store, DashboardOptions options);
  void AddRoutes(api::Router& router);

 private:
  Assets assets_;
  LiveHub live_;
};

}  // namespace warden::web
