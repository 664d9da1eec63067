// POST /v1/exec: run code now, in a fresh sandbox, and answer with its result — the
// code-executor API (language, code, stdin, limits → stdout, stderr, exit code, status, times,
// memory). Nothing is stored.
#pragma once

#include "api/router.h"
#include "sandbox/sandbox.h"

namespace warden::api {

struct ExecApiOptions {
  sandbox::Limits defaults;  // what a request gets when it names no limit
  sandbox::Limits ceiling;   // the most a request may ask for
  size_t max_code_bytes = 1 << 20;
};

class ExecApi {
 public:
  ExecApi(sandbox::Supervisor& supervisor, ExecApiOptions options)
      : supervisor_(supervisor), options_(options) {}

  void AddRoutes(Router& router);

 private:
  Response Exec(Request& request);

  sandbox::Supervisor& supervisor_;
  ExecApiOptions options_;
};

}  // namespace warden::api
