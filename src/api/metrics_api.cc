#include "api/metrics_api.h"

#include <string>
#include <vector>

#include "base/log.h"
#include "base/metrics.h"

namespace warden::api {

void MetricsApi::AddRoutes(Router& router) {
  router.Add("GET", "/metrics", [this](Request&) { return Scrape(); });
}

Response MetricsApi::Scrape() {
  std::string text = metrics::Exposition();
  auto counts = store_.CountByState(jobs::kAnyOwner);
  if (counts.ok()) {
    std::vector<metrics::GaugeSample> by_state;
    for (jobs::JobState state : jobs::kAllJobStates) {
      auto it = counts->find(state);
      double count = it == counts->end() ? 0 : static_cast<double>(it->second);
      by_state.push_back({{{"state", std::string(jobs::JobStateName(state))}}, count});
    }
    text += metrics::FormatGauge("warden_jobs", "Jobs in the store, by state.", by_state);
    auto queued = counts->find(jobs::JobState::kQueued);
    text += metrics::FormatGauge(
        "warden_queue_depth", "Jobs queued and waiting for a worker.",
        {{{}, queued == counts->end() ? 0 : static_cast<double>(queued->second)}});
  } else {
    LOG_WARN("metrics: the store did not answer: {}", counts.error().message());
  }
  text += metrics::FormatGauge("warden_store_up",
                               "1 when the job store answered this scrape, else 0 (and the job "
                               "gauges are missing).",
                               {{{}, counts.ok() ? 1.0 : 0.0}});
  if (workers_ != nullptr) {
    text += metrics::FormatGauge("warden_workers_busy", "Workers running a job now.",
                                 {{{}, static_cast<double>(workers_->running())}});
  }
  Response response = Response::Text(200, std::move(text));
  response.headers.Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
  return response;
}

}  // namespace warden::api
