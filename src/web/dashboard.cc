#include "web/dashboard.h"

#include <utility>

#include "base/units.h"

namespace warden::web {

json::object JobDefaults(const jobs::JobBounds& bounds) {
  return {
      {"timeout", FormatDuration(bounds.job_timeout)},
      {"action_timeout", FormatDuration(bounds.action.wall_time)},
      {"memory", FormatBytes(bounds.action.memory_bytes)},
      {"disk_limit", FormatBytes(bounds.job_disk_bytes)},
      {"output_limit", FormatBytes(bounds.job_output_bytes)},
      {"network", "none"},
      {"approve", "never"},
      {"max_steps", "the agent's (30)"},
      {"model", "the server's"},
  };
}

namespace {

LiveOptions LiveOptionsFor(DashboardOptions options) {
  LiveOptions live;
  live.check_key = std::move(options.check_key);
  live.defaults = JobDefaults(options.bounds);
  return live;
}

}  // namespace

Dashboard::Dashboard(jobs::JobStore& store, DashboardOptions options)
    : live_(store, LiveOptionsFor(std::move(options))) {}

void Dashboard::AddRoutes(api::Router& router) {
  assets_.AddRoutes(router);
  live_.AddRoutes(router);
}

}  // namespace warden::web
