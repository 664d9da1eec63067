#include "cli/job_node.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <thread>

#include "cli/data_dir.h"
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "artifacts/artifacts.h"
#include "base/log.h"
#include "base/log_format.h"
#include "base/units.h"
#include "jobs/limits.h"

namespace warden::cli {
namespace {

std::string DefaultDataDir() {
  if (::geteuid() == 0) {
    return "/var/lib/warden";  // root's home is closed to the sandbox user
  }
  // NOLINTBEGIN(concurrency-mt-unsafe): read at start-up
  if (const char* data = std::getenv("XDG_DATA_HOME"); data != nullptr && data[0] == '/') {
    return std::string(data) + "/warden";
  }
  if (const char* home = std::getenv("HOME"); home != nullptr && home[0] == '/') {
    return std::string(home) + "/.local/share/warden";
  }
  // NOLINTEND(concurrency-mt-unsafe)
  return "/var/lib/warden";
}

std::string HostName() {
  char name[256] = {};
  if (::gethostname(name, sizeof(name) - 1) != 0 || name[0] == '\0') {
    return "node";
  }
  return name;
}

Result<std::unique_ptr<jobs::JobStore>> OpenAndRecover(const jobs::StoreLocation& location,
                                                       const jobs::StoreOptions& options) {
  ASSIGN_OR_RETURN(std::unique_ptr<jobs::JobStore> store, jobs::OpenStore(location, options));
  LOG_INFO("job store: {}", jobs::DescribeStore(location));
  ASSIGN_OR_RETURN(jobs::RecoveryCounts recovered, store->RecoverAfterCrash());
  if (recovered.failed + recovered.requeued + recovered.cancelled > 0) {
    LOG_WARN("jobs whose worker is gone: {} failed, {} queued again, {} cancelled",
             recovered.failed, recovered.requeued, recovered.cancelled);
  }
  return store;
}

}  // namespace

void BlockStopSignals() {
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);  // NOLINT(cert-err33-c): fails only for an invalid signal
}

int WaitForStopSignal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  int sig = 0;
  sigwait(&set, &sig);
  return sig;
}

void AddJobNodeFlags(CLI::App& app, JobNodeFlags& flags) {
  app.add_option("--data-dir", flags.data_dir,
                 "Where jobs and workspaces live (default ~/.local/share/warden); with many "
                 "nodes, storage they all mount at the same path");
  app.add_option("--store", flags.store,
                 "The job store: postgresql://user:password@host:port/database (any libpq URL, "
                 "unix sockets too), or sqlite:PATH (default: SQLite in the data directory)")
      ->envname("WARDEN_STORE");
  app.add_option("--workers", flags.workers,
                 "Jobs run at once (default: the number of cores; 0: none, an API node only)");
  app.add_option("--config", flags.config,
                 "Configuration file (default ~/.config/warden/config.toml)");
  app.add_flag("--allow-network", flags.allow_network, "Let jobs ask for the host's network");
  app.add_option("--lease", flags.lease,
                 "How long a worker's claim on a job lasts without a heartbeat; a job whose "
                 "worker stops renewing it is rescued by any node after this")
      ->capture_default_str();
  app.add_option("--name", flags.name,
                 "This node's name, in the names of its workers (default: the host's name)");
  // Applied while the command line is read, so that every line of the node follows it.
  app.add_option_function<std::string>(
         "--log-format",
         [](const std::string& name) {
           log::Format format = log::Format::kText;
           log::ParseFormat(name, &format);
           log::SetFormat(format);
         },
         "text (default), or json: one JSON object per line {time, level, msg, fields...}, for "
         "log collectors")
      ->check(CLI::IsMember({"text", "json"}))
      ->envname("WARDEN_LOG_FORMAT");
}

Result<JobNode> OpenJobNode(const JobNodeFlags& flags, jobs::StoreOptions store_options) {
  JobNode node;
  Result<std::chrono::milliseconds> lease = ParseDuration(flags.lease);
  if (!lease.ok()) {
    return lease.error().WithContext("--lease");
  }
  if (*lease < std::chrono::milliseconds(300)) {
    return Error(ErrorCode::kInvalidArgument,
                 "--lease " + flags.lease + ": at least 300ms, so that heartbeats keep up");
  }
  node.lease = *lease;
  ASSIGN_OR_RETURN(node.config,
                   flags.config.empty() ? Config::LoadDefault() : Config::Load(flags.config));
  node.data_dir = flags.data_dir.empty() ? DefaultDataDir() : flags.data_dir;
  ASSIGN_OR_RETURN(node.workspaces,
                   PrepareDataDir(node.data_dir, node.supervisor_options.root_sandbox_uid));
  std::string store = flags.store.empty() ? node.config.String("store.url").value_or("")
                                          : flags.store;  // the flag and WARDEN_STORE win
  Result<jobs::StoreLocation> location =
      jobs::ParseStoreLocation(store, node.data_dir + "/warden.db");
  if (!location.ok()) {
    return location.error().WithContext("--store");
  }
  node.location = *location;
  if (flags.shared_store_only && node.location.kind != jobs::StoreKind::kPostgres) {
    return Error(ErrorCode::kInvalidArgument,
                 "a worker needs a job store shared with the API nodes: give --store "
                 "postgresql://USER:PASSWORD@HOST:PORT/DATABASE (or WARDEN_STORE); with SQLite, "
                 "`warden serve` runs the jobs itself");
  }
  store_options.workspace_root = node.workspaces;
  store_options.lease = node.lease;
  ASSIGN_OR_RETURN(node.store, OpenAndRecover(node.location, store_options));

  // Workspaces are mounted through overlays, so that no sandbox reads its host path.
  node.supervisor_options.workspace_root = node.workspaces;
  Result<std::unique_ptr<sandbox::Supervisor>> supervisor =
      sandbox::Supervisor::Create(node.supervisor_options);
  if (!supervisor.ok()) {
    return Error(supervisor.error().code(),
                 supervisor.error().message() + " (`warden doctor` tells more)");
  }
  node.supervisor = std::move(*supervisor);
  LOG_INFO("workspaces: {}", node.supervisor->workspace_mounting());

  jobs::WorkerOptions& workers = node.worker_options;
  workers.workers = flags.workers >= 0 ? static_cast<size_t>(flags.workers)
                                       : std::max<size_t>(1, std::thread::hardware_concurrency());
  workers.name = flags.name.empty() ? HostName() : flags.name;
  workers.config = node.config;
  workers.bounds.allow_network = flags.allow_network;
  ASSIGN_OR_RETURN(workers.bounds.egress, jobs::EgressBoundFromConfig(node.config));
  // Each action's limits by default: the same as `warden run`'s.
  ASSIGN_OR_RETURN(workers.bounds.action, jobs::ActionLimits(node.config));
  ASSIGN_OR_RETURN(workers.bounds.approve,
                   agent::ParseApprovalMode(node.config.String("agent.approve").value_or("risky")));
  if (auto timeout = node.config.String("agent.approval_timeout")) {
    auto parsed = ParseDuration(*timeout);
    if (!parsed.ok() || parsed->count() <= 0) {
      return Error(ErrorCode::kInvalidArgument,
                   fmt::format("agent.approval_timeout must be a duration such as \"10m\" or "
                               "\"90s\", not \"{}\"",
                               *timeout));
    }
    workers.approval_timeout = *parsed;
  }
  workers.sandbox_uid = node.supervisor_options.root_sandbox_uid;
  workers.heartbeat =
      std::min<std::chrono::milliseconds>(std::chrono::milliseconds(500), node.lease / 3);
  ASSIGN_OR_RETURN(workers.hash_budget, artifacts::HashBudgetFromConfig(node.config));
  return node;
}

}  // namespace warden::cli
