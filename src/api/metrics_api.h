// GET /metrics: Prometheus metrics of the service. What base/metrics.h recorded (sandbox runs,
// LLM tokens, requests and their latencies), and gauges read from the store and the workers at
// each scrape (jobs by state, queue depth, busy workers).
#pragma once

#include "api/router.h"
#include "jobs/store.h"
#include "jobs/worker.h"

namespace warden::api {

// Thread-safe once its routes are added. `workers` may be null (no workers in this process): the
// busy-workers gauge is then left out.
class MetricsApi {
 public:
  MetricsApi(jobs::JobStore& store, jobs::WorkerPool* workers) : store_(store), workers_(workers) {}
  void AddRoutes(Router& router);

 private:
  // 200, text/plain; version=0.0.4. A store that does not answer leaves its gauges out and sets
  // warden_store_up to 0, so the rest is still scraped.
  Response Scrape();

  jobs::JobStore& store_;
  jobs::WorkerPool* workers_;
};

}  // namespace warden::api
