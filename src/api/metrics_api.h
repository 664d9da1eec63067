// GET /metrics: Prometheus metrics of the service.
#pragma once

#include "api/router.h"
#include "jobs/store.h"
#include "jobs/worker.h"

namespace warden::api {

class MetricsApi {
 public:
  MetricsApi(jobs::JobStore& store, jobs::WorkerPool* workers) : store_(store), workers_(workers) {}
  void AddRoutes(Router& router);

 private:
  jobs::JobStore& store_;
  jobs::WorkerPool* workers_;
};

}  // namespace warden::api
