// POST /v1/exec: run code now, in a fresh sandbox, and answer with its result — the
// code-executor API (language, code, stdin, limits → stdout, stderr, exit code, status, times,
// memory). Nothing is stored. Runs have slots of their own (per server and per key) and threads
// of their own, so they never hold the server's handler threads; a run whose client leaves is
// cancelled.
#pragma once

#include <memory>
#include <mutex>
#include <unordered_set>

#include "api/exec_slots.h"
#include "api/router.h"
#include "base/thread_pool.h"
#include "jobs/egress_bound.h"
#include "sandbox/sandbox.h"

namespace warden::api {

struct ExecApiOptions {
  sandbox::Limits defaults;  // what a request gets when it names no limit
  sandbox::Limits ceiling;   // the most a request may ask for
  size_t max_code_bytes = 1 << 20;
  // Runs in progress at once, for the whole server and for one API key; beyond them, 429 with
  // Retry-After. Without keys every client counts against the server's slots only.
  size_t slots = 4;
  size_t slots_per_key = 2;
  // What "network": {"allow": [...]} may ask for, as for a job (the operator's [network]); a
  // request asking beyond it is a 400 naming the rule.
  jobs::EgressBound egress = jobs::DefaultEgressBound();
};

// Thread-safe: its handler runs on many threads at once.
class ExecApi {
 public:
  ExecApi(sandbox::Supervisor& supervisor, ExecApiOptions options);
  ~ExecApi();  // CancelAll(), then waits for the runs to end

  void AddRoutes(Router& router);

  // Cancels the runs in progress (their clients get their results, status "cancelled") and
  // answers later requests 503: for a server that stops.
  void CancelAll();

 private:
  struct Run;

  Response Exec(Request& request);
  Response Start(sandbox::Spec spec, const Request& request);
  void Finish(Run& run, Responder& responder);  // on runs_

  sandbox::Supervisor& supervisor_;
  ExecApiOptions options_;
  ExecSlots slots_;
  std::mutex mu_;
  bool stopping_ = false;                                  // guarded by mu_
  std::unordered_set<sandbox::CancelToken*> in_progress_;  // guarded by mu_
  ThreadPool runs_;  // one thread per slot; last, so that it stops first
};

}  // namespace warden::api
