// The REST API of sessions: conversations whose messages run as jobs in one workspace.
#pragma once

#include "api/router.h"
#include "jobs/store.h"

namespace warden::api {

class SessionsApi {
 public:
  explicit SessionsApi(jobs::JobStore& store) : store_(store) {}
  void AddRoutes(Router& router);

 private:
  jobs::JobStore& store_;
};

}  // namespace warden::api
