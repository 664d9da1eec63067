// What `warden serve` and `warden worker` share: the data directory, the configuration, the job
// store, the sandbox supervisor and the workers' options, set up from one set of flags.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "base/config.h"
#include "base/result.h"
#include "jobs/open_store.h"
#include "jobs/store.h"
#include "jobs/worker.h"
#include "sandbox/sandbox.h"

namespace CLI {  // NOLINT(readability-identifier-naming): CLI11's
class App;
}  // namespace CLI

namespace warden::cli {

struct JobNodeFlags {
  std::string data_dir;
  std::string store;
  int workers = -1;  // -1: the number of cores
  std::string config;
  bool allow_network = false;
  std::string lease = "10s";
  std::string name;  // "": the host's name
  // `warden worker`: refuse a store other nodes cannot share (SQLite), before opening it.
  bool shared_store_only = false;
};

// Blocks SIGINT and SIGTERM in this thread (and so in every thread it starts after), so that only
// WaitForStopSignal sees them, and ignores SIGPIPE.
void BlockStopSignals();
// Waits for SIGINT or SIGTERM; returns it.
int WaitForStopSignal();

// Adds --data-dir, --store (WARDEN_STORE), --workers, --config, --allow-network, --lease, --name,
// --log-format (WARDEN_LOG_FORMAT).
void AddJobNodeFlags(CLI::App& app, JobNodeFlags& flags);

// One node's parts, ready to run jobs.
struct JobNode {
  Config config;
  std::string data_dir;
  std::string workspaces;  // <data_dir>/workspaces
  jobs::StoreLocation location;
  std::unique_ptr<jobs::JobStore> store;
  std::chrono::milliseconds lease{0};
  sandbox::SupervisorOptions supervisor_options;
  std::unique_ptr<sandbox::Supervisor> supervisor;
  jobs::WorkerOptions worker_options;  // .workers may be 0
};

// Prepares the data directory, loads the configuration, opens the store with `store_options`
// (plus the lease) and recovers what a previous run left (JobStore::RecoverAfterCrash), starts
// the supervisor. Errors say what to fix.
Result<JobNode> OpenJobNode(const JobNodeFlags& flags, jobs::StoreOptions store_options);

}  // namespace warden::cli
