// `warden serve`: the job service. A durable queue (SQLite, or PostgreSQL with --store), workers
// that run jobs in sandboxes, and the REST+SSE API on 127.0.0.1:8000.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>

#include "cli/commands.h"
#include "cli/job_node.h"
#include "cli/mcp_http.h"
#include "cli/serve_http.h"
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "api/access_log.h"
#include "api/auth.h"
#include "api/docs_api.h"
#include "api/exec_api.h"
#include "api/http.h"
#include "api/jobs_api.h"
#include "api/metrics_api.h"
#include "api/router.h"
#include "api/sessions_api.h"
#include "artifacts/artifacts.h"
#include "base/config.h"
#include "base/log.h"
#include "base/metrics.h"
#include "base/units.h"
#include "jobs/lease_rescuer.h"
#include "jobs/llm_availability.h"
#include "jobs/open_store.h"
#include "jobs/worker.h"
#include "llm/providers.h"
#include "web/dashboard.h"

namespace warden::cli {
namespace {

struct ServeOptions {
  std::string listen = "127.0.0.1:8000";
  JobNodeFlags node;
  int64_t max_queued = 10'000;
  int64_t max_queued_per_key = 1'000;
  int64_t max_running_per_key = 0;
  std::string max_workspace_bytes_per_key = "20G";
  std::string retention = "7d";
  bool access_log = true;
  std::string max_upload = "8M";
};

// The [mcp] keys `warden serve` reads for its /mcp sandboxes.
Result<McpEndpointOptions> McpOptionsFrom(const Config& config) {
  McpEndpointOptions options;
  if (std::optional<int64_t> most = config.Int("mcp.max_sandboxes")) {
    if (*most < 1 || *most > 100'000) {
      return Error(ErrorCode::kInvalidArgument,
                   fmt::format("mcp.max_sandboxes must be from 1 to 100000, not {}", *most));
    }
    options.max_sandboxes = static_cast<size_t>(*most);
  }
  if (std::optional<std::string> ttl = config.String("mcp.idle_ttl")) {
    ASSIGN_OR_RETURN(options.idle_ttl, ParseDuration(*ttl));
    if (options.idle_ttl < std::chrono::seconds(1)) {
      return Error(ErrorCode::kInvalidArgument, "mcp.idle_ttl must be at least 1s, not " + *ttl);
    }
  }
  return options;
}

// 127.0.0.0/8 or ::1, as addresses (a host name such as "127.example.com" is not one).
bool IsLoopback(const std::string& host) {
  in_addr v4{};
  in6_addr v6{};
  if (::inet_pton(AF_INET, host.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  return ::inet_pton(AF_INET6, host.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

// Says how many keys guard the API, and whose (ids only: keys are never logged).
void LogKeys(const api::Auth& auth) {
  if (!auth.enabled()) {
    LOG_INFO("no API keys configured: every client acts as the operator and sees every job");
    return;
  }
  std::string ids;
  for (const api::ApiKey& key : auth.keys()) {
    ids += (ids.empty() ? "" : ", ") + key.id;
  }
  LOG_INFO("{} API key{} loaded ({}): requests without one get 401", auth.keys().size(),
           auth.keys().size() == 1 ? "" : "s", ids);
}

// Says which LLM task jobs will use, or why there is none and what a task job will then get.
void LogLlm(jobs::LlmAvailability* llm) {
  if (llm == nullptr) {
    LOG_INFO(
        "LLM: not checked here (--workers 0): task jobs use the LLM of the workers that run "
        "them");
    return;
  }
  auto resolved = llm->Default();
  if (resolved.ok()) {
    LOG_INFO("LLM: {} (task jobs that name no provider or model use it)", resolved->Describe());
    return;
  }
  LOG_WARN("no LLM: steps jobs run, task jobs are refused with 503 until one is configured. {}",
           resolved.error().message());
}

// Removes finished jobs older than the retention, with their workspaces: every tenth of the
// retention, at least once a minute and at most once an hour, so that a short retention bounds
// the disk a busy server uses.
class Sweeper {
 public:
  Sweeper(jobs::JobStore& store, std::chrono::milliseconds retention)
      : store_(store), retention_(retention), thread_([this] { Run(); }) {}
  ~Sweeper() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }

 private:
  void Run() {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
      lock.unlock();
      Sweep();
      lock.lock();
      auto period = std::clamp<std::chrono::milliseconds>(retention_ / 10, std::chrono::minutes(1),
                                                          std::chrono::hours(1));
      wake_.wait_for(lock, period, [&] { return stopping_; });
    }
  }

  void Sweep() {
    int64_t cutoff = jobs::SystemClockMs() - retention_.count();
    size_t removed = 0;
    for (;;) {
      auto deleted = store_.DeleteFinishedBefore(cutoff, 500);
      if (!deleted.ok()) {
        LOG_WARN("retention sweep: {}", deleted.error().message());
        return;
      }
      for (const jobs::DeletedJob& job : *deleted) {
        if (!job.workspace.empty()) {
          std::error_code ec;
          std::filesystem::remove_all(job.workspace, ec);
        }
      }
      removed += deleted->size();
      if (deleted->size() < 500) {
        break;
      }
    }
    for (;;) {
      auto deleted = store_.DeleteSessionsIdleBefore(cutoff, 500);
      if (!deleted.ok()) {
        LOG_WARN("retention sweep of sessions: {}", deleted.error().message());
        break;
      }
      for (const jobs::DeletedSession& session : *deleted) {
        if (!session.workspace.empty()) {
          std::error_code ec;
          std::filesystem::remove_all(session.workspace, ec);
        }
      }
      removed += deleted->size();
      if (deleted->size() < 500) {
        break;
      }
    }
    if (removed > 0) {
      LOG_INFO("retention: removed {} jobs and sessions idle for more than {}", removed,
               FormatDuration(retention_));
    }
  }

  jobs::JobStore& store_;
  std::chrono::milliseconds retention_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace

int Serve(int argc, char** argv) {
  // Only the main thread takes SIGINT and SIGTERM (in sigwait): blocked before any thread starts,
  // so that every thread inherits the mask.
  BlockStopSignals();
  LimitHeapRetention();

  CLI::App app(
      "Run the job service: a durable queue (SQLite in the data directory, or PostgreSQL),\n"
      "workers that run jobs in sandboxes, and the REST+SSE API. Stops cleanly on SIGINT or\n"
      "SIGTERM.",
      "warden serve");
  ServeOptions o;
  app.add_option(
         "--listen", o.listen,
         "HOST:PORT to listen on (port 0: any free port); other than loopback only with API keys")
      ->capture_default_str();
  AddJobNodeFlags(app, o.node);
  app.add_option("--max-queued", o.max_queued, "Queued jobs at most; more get 429")
      ->capture_default_str();
  app.add_option("--max-queued-per-key", o.max_queued_per_key,
                 "Queued jobs of one API key at most, so that one key cannot fill the queue; 0: "
                 "only --max-queued")
      ->capture_default_str();
  app.add_option("--max-running-per-key", o.max_running_per_key,
                 "Jobs of one API key running at once at most, so that others find a free "
                 "worker; 0: no bound (workers are still shared fairly)")
      ->capture_default_str();
  app.add_option("--max-workspace-bytes-per-key", o.max_workspace_bytes_per_key,
                 "Disk the kept jobs of one API key may hold in their workspaces; then its new "
                 "jobs get 429 until it deletes some or retention removes them; 0: no bound")
      ->capture_default_str();
  app.add_option("--retention", o.retention, "Remove finished jobs and their files after this")
      ->capture_default_str();
  app.add_flag("--access-log,!--no-access-log", o.access_log,
               "Log a line per request: method, path, route, status, duration, key (default on)");
  app.add_option("--max-upload", o.max_upload,
                 "The largest file a client may upload to a session (PUT "
                 "/v1/sessions/{id}/files/{path}); held in memory while it is written")
      ->capture_default_str();
  ServeHttpFlags http_flags;
  AddServeHttpFlags(app, http_flags);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  auto fail = [](const std::string& message) {
    fmt::print(stderr, "warden serve: {}\n", message);
    return 2;
  };

  size_t colon = o.listen.rfind(':');
  if (colon == std::string::npos) {
    return fail(fmt::format("--listen {}: expected HOST:PORT", o.listen));
  }
  std::string host = o.listen.substr(0, colon);
  if (host.starts_with('[') && host.ends_with(']')) {
    host = host.substr(1, host.size() - 2);
  }
  char* end = nullptr;
  int64_t port = std::strtoll(o.listen.c_str() + colon + 1, &end, 10);
  if (*end != '\0' || port < 0 || port > 65535) {
    return fail(fmt::format("--listen {}: bad port", o.listen));
  }
  auto retention = ParseDuration(o.retention);
  if (!retention.ok()) {
    return fail("--retention: " + retention.error().message());
  }
  auto workspace_quota = ParseBytes(o.max_workspace_bytes_per_key);
  if (!workspace_quota.ok()) {
    return fail("--max-workspace-bytes-per-key: " + workspace_quota.error().message());
  }
  auto max_upload = ParseBytes(o.max_upload);
  if (!max_upload.ok() || *max_upload == 0 || *max_upload > (uint64_t{1} << 30)) {
    return fail(
        fmt::format("--max-upload {}: expected a size from 1 to 1G, such as 8M", o.max_upload));
  }
  // The configuration is read here first for the API keys: refused before anything is opened.
  Result<Config> config =
      o.node.config.empty() ? Config::LoadDefault() : Config::Load(o.node.config);
  if (!config.ok()) {
    return fail(config.error().message());
  }
  // NOLINTNEXTLINE(concurrency-mt-unsafe): read at start-up
  auto auth = api::Auth::Create(*config, std::getenv("WARDEN_API_KEYS"));
  if (!auth.ok()) {
    return fail(auth.error().message());
  }
  if (!IsLoopback(host) && !(*auth)->enabled()) {
    return fail(fmt::format(
        "refusing to listen on {} without API keys: anyone who can reach it could run code on "
        "this machine. Configure keys ([[api.keys]] id = \"NAME\" key = \"...\" in the "
        "configuration file, or WARDEN_API_KEYS=NAME:KEY,...; make a key with `openssl rand -hex "
        "32`), or listen on 127.0.0.1",
        host));
  }
  LogKeys(**auth);
  api::ServerOptions server_options;
  api::ExecApiOptions exec_options;
  if (Status applied = ApplyServeHttpFlags(http_flags, server_options, exec_options);
      !applied.ok()) {
    return fail(applied.error().message());
  }
  if (!IsLoopback(host) && !server_options.tls.enabled()) {
    LOG_WARN(
        "listening on {} without TLS: API keys, code and results travel in clear over the "
        "network. Give --tls-cert and --tls-key, or keep a TLS proxy in front",
        host);
  }

  jobs::StoreOptions store_options;
  store_options.max_queued = o.max_queued;
  store_options.max_queued_per_owner = o.max_queued_per_key;
  store_options.max_running_per_owner = o.max_running_per_key;
  auto node = OpenJobNode(o.node, store_options);
  if (!node.ok()) {
    return fail(node.error().message());
  }
  jobs::JobStore& store = *node->store;
  sandbox::Supervisor& supervisor = *node->supervisor;
  const jobs::WorkerOptions& worker_options = node->worker_options;
  // --workers 0: an API node, whose jobs workers elsewhere (`warden worker`) run.
  std::unique_ptr<jobs::WorkerPool> workers;
  if (worker_options.workers > 0) {
    workers = std::make_unique<jobs::WorkerPool>(store, supervisor, worker_options);
  }

  // The LLM task jobs will use, resolved as the workers resolve it.
  const Config& node_config = node->config;
  jobs::LlmAvailability llm([&node_config](const llm::ProviderFlags& flags) {
    // NOLINTNEXTLINE(concurrency-mt-unsafe): the environment is not changed after start-up
    return llm::ResolveProvider(flags, node_config,
                                [](const char* name) { return std::getenv(name); });
  });
  jobs::LlmAvailability* checked_llm = workers ? &llm : nullptr;
  LogLlm(checked_llm);

  api::Router router;
  api::WorkspaceQuota quota(store, *workspace_quota, *retention);
  api::JobsApiOptions jobs_options;
  jobs_options.bounds = worker_options.bounds;
  jobs_options.quota = &quota;
  jobs_options.llm = checked_llm;
  api::JobsApi jobs_api(store, workers.get(), jobs_options);
  jobs_api.AddRoutes(router);
  exec_options.egress = worker_options.bounds.egress;  // the jobs' bound for "network" too
  exec_options.defaults.wall_time = std::chrono::seconds(30);
  exec_options.ceiling.wall_time = std::chrono::minutes(10);
  exec_options.ceiling.cpu_time = std::chrono::minutes(10);
  exec_options.ceiling.memory_bytes = 4ULL << 30;
  exec_options.ceiling.output_bytes = 64ULL << 20;
  exec_options.ceiling.disk_bytes = 4ULL << 30;
  api::ExecApi exec_api(supervisor, exec_options);
  exec_api.AddRoutes(router);
  api::SessionsApiOptions sessions_options;
  sessions_options.bounds = worker_options.bounds;
  sessions_options.sandbox_uid = worker_options.sandbox_uid;
  // An upload is one request body: the server takes bodies that large (and a little more, so that
  // one just over the cap gets the upload's own 413, which names --max-upload).
  sessions_options.max_upload_bytes = *max_upload;
  server_options.max_body_bytes =
      std::max<size_t>(server_options.max_body_bytes, *max_upload + (size_t{64} << 10));
  sessions_options.quota = &quota;
  sessions_options.llm = checked_llm;
  // Handlers mostly wait: for the store's group commit (a POST returns once its job is on disk,
  // and the jobs of every waiting handler share one flush), or for a session's reply. More threads
  // mean bigger commit groups; they cost little memory while they wait.
  size_t handler_threads = std::max<size_t>(16, worker_options.workers * 2);
  sessions_options.max_waiters = static_cast<int>(handler_threads / 4);
  api::SessionsApi sessions_api(store, sessions_options);
  sessions_api.AddRoutes(router);
  api::MetricsApi metrics_api(store, workers.get());
  metrics_api.AddRoutes(router);
  api::AddDocsRoutes(router);
  auto mcp_options = McpOptionsFrom(*config);
  if (!mcp_options.ok()) {
    return fail(mcp_options.error().message());
  }
  mcp_options->workspace_root = node->workspaces;
  mcp_options->sandbox_uid = node->supervisor_options.root_sandbox_uid;
  mcp_options->jobs.bounds = worker_options.bounds;
  mcp_options->jobs.llm = checked_llm;
  mcp_options->jobs.admit = [&quota](std::string_view owner) {
    return quota.Admit(owner);
  };
  mcp_options->jobs.cancel_running = [&workers](const std::string& id) {
    if (workers) {
      workers->NotifyCancel(id);
    }
  };
  mcp_options->http.scheme = server_options.tls.enabled() ? "https" : "http";
  auto mcp_endpoint = McpEndpoint::Create(supervisor, &store, std::move(*mcp_options));
  if (!mcp_endpoint.ok()) {
    return fail(mcp_endpoint.error().message());
  }
  (*mcp_endpoint)->AddRoutes(router);
  web::DashboardOptions dashboard_options;
  if ((*auth)->enabled()) {
    dashboard_options.check_key = [&auth](std::string_view key) {
      return (*auth)->OwnerOfKey(key);
    };
  }
  dashboard_options.bounds = worker_options.bounds;
  web::Dashboard dashboard(store, dashboard_options);
  dashboard.AddRoutes(router);
  api::Handler handler = (*auth)->Wrap(
      [&router](api::Request& request) { return router.Handle(request); }, web::IsDashboardPath);
  // What cannot block is answered on the I/O threads (--io-threads), with no handoff.
  server_options.quick =
      (*auth)->WrapQuick([&router](api::Request& request) { return router.HandleQuick(request); },
                         web::IsDashboardPath);

  server_options.host = host;
  server_options.port = static_cast<uint16_t>(port);
  server_options.handler_threads = handler_threads;
  // Answered while every handler thread is busy: what orchestrators and monitoring poll.
  server_options.priority_paths = {"/healthz", "/readyz", "/metrics"};
  // Room for one big event (a write_file action carries its content) beyond what a follower is
  // let to have unsent.
  server_options.max_stream_queue_bytes = 8 << 20;
  std::optional<api::AccessLog> access_log;
  if (o.access_log) {
    access_log.emplace();
  }
  server_options.on_request = [&access_log](const api::Request& request, int status,
                                            std::chrono::microseconds latency) {
    metrics::RecordRequest(request.method, request.route.empty() ? "unmatched" : request.route,
                           status, latency);
    if (access_log) {
      access_log->Record(request, status, latency);
    }
  };
  auto server = api::HttpServer::Start(server_options, handler);
  if (!server.ok()) {
    return fail(fmt::format("cannot listen on {}: {}", o.listen, server.error().message()));
  }
  if (workers) {
    workers->Start();
  }
  Sweeper sweeper(store, *retention);
  jobs::LeaseRescuer rescuer(store, jobs::LeaseRescuer::PeriodFor(node->lease));
  // One line on stdout that scripts (and tests) can wait for.
  std::printf("warden serve: listening on %s://%s:%u (data in %s, %zu workers)\n",
              server_options.tls.enabled() ? "https" : "http",
              host.find(':') != std::string::npos ? ("[" + host + "]").c_str() : host.c_str(),
              static_cast<unsigned>((*server)->port()), node->data_dir.c_str(),
              worker_options.workers);
  std::fflush(stdout);  // NOLINT(cert-err33-c): nothing to do when the terminal is gone

  int sig = WaitForStopSignal();
  LOG_INFO("signal {}: stopping", sig);
  exec_api.CancelAll();  // their clients get the results now, not at the end of the grace period
  (*server)->Stop();
  if (workers) {
    workers->Stop();
  }
  return 0;
}

}  // namespace warden::cli
