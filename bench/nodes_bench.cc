// nodes_bench: many nodes on one PostgreSQL, with real worker processes. This process is the API
// node (it submits through its own PgStore); `warden worker` processes claim and run the jobs in
// sandboxes.
//
//   nodes_bench [--jobs 400] [--latency-jobs 100] [--processes 2] [--workers 2]
//
// - claim latency: one job at a time, workers idle: from the job's commit on this node
//   (created_at_ms) to its claim on a worker (started_at_ms), as the store recorded them (ms).
// - one-step jobs completed per second: --jobs jobs of one `true` step, submitted at once; from
//   the first submission to the last job's end.
//
// Starts a private PostgreSQL 15 server (pg_test_server.h); run it as root (the workers' sandboxes
// need it), on an otherwise idle machine.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "jobs/pg_store.h"
#include "jobs/pg_test_server.h"
#include "sys/fs.h"

extern char** environ;  // NOLINT(readability-redundant-declaration): posix_spawn's environment

namespace warden::jobs {
namespace {

using SteadyClock = std::chrono::steady_clock;

struct Settings {
  int jobs = 400;
  int latency_jobs = 100;
  int processes = 2;
  int workers = 2;
};

NewJob OneStep() {
  NewJob job;
  job.kind = JobKind::kSteps;
  job.input = {{"steps", json::array{json::object{{"shell", "true"}}}}};
  return job;
}

// `warden worker` processes, stopped with SIGTERM when this goes.
class Workers {
 public:
  // Their stderr goes to `log`.
  Workers(const Settings& settings, const std::string& url, const std::string& data_dir,
          const std::string& log) {
    for (int i = 0; i < settings.processes; ++i) {
      std::vector<std::string> args = {WARDEN_BINARY, "worker",
                                       "--store",     url,
                                       "--data-dir",  data_dir,
                                       "--workers",   std::to_string(settings.workers),
                                       "--name",      "bench-" + std::to_string(i)};
      std::vector<char*> argv;
      for (std::string& arg : args) {
        argv.push_back(arg.data());
      }
      argv.push_back(nullptr);
      posix_spawn_file_actions_t actions;
      posix_spawn_file_actions_init(&actions);
      posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
      posix_spawn_file_actions_addopen(&actions, 2, log.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                       0600);
      pid_t pid = 0;
      if (posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ) == 0) {
        pids_.push_back(pid);
      }
      posix_spawn_file_actions_destroy(&actions);
    }
  }
  ~Workers() {
    for (pid_t pid : pids_) {
      ::kill(pid, SIGTERM);
    }
    for (pid_t pid : pids_) {
      int status = 0;
      ::waitpid(pid, &status, 0);
    }
  }
  size_t started() const { return pids_.size(); }

 private:
  std::vector<pid_t> pids_;
};

// Waits until `id` has ended; returns it.
Result<Job> WaitUntilEnded(JobStore& store, const std::string& id) {
  for (;;) {
    ASSIGN_OR_RETURN(Job job, store.Get(id, kAnyOwner));
    if (IsFinal(job.state)) {
      return job;
    }
    ASSIGN_OR_RETURN(bool more,
                     store.WaitForEvents(id, job.last_event_seq, std::chrono::seconds(30)));
    if (!more) {
      return Error(ErrorCode::kDeadlineExceeded, "job " + id + " did not end within 30 s");
    }
  }
}

int Percentile(std::vector<int64_t> samples, double share) {
  std::sort(samples.begin(), samples.end());
  return samples.empty() ? -1
                         : static_cast<int>(samples[std::min(
                               samples.size() - 1, static_cast<size_t>(samples.size() * share))]);
}

int Run(const Settings& settings) {
  PgTestServerOptions pg_options;
  pg_options.durable = true;
  auto server = PgTestServer::Start(pg_options);
  auto dir = sys::TempDir::Create("warden-nodes-bench-");
  if (!server.ok() || !dir.ok()) {
    std::fprintf(stderr, "nodes_bench: %s\n",
                 (server.ok() ? dir.error() : server.error()).ToString().c_str());
    return 1;
  }
  auto url = (*server)->CreateDatabase();
  if (!url.ok()) {
    std::fprintf(stderr, "nodes_bench: %s\n", url.error().ToString().c_str());
    return 1;
  }
  const std::string data_dir = dir->path() + "/data";
  PgStoreOptions options{*url, {}};
  options.store.workspace_root = data_dir + "/workspaces";
  auto store = PgStore::Open(options);
  if (!store.ok()) {
    std::fprintf(stderr, "nodes_bench: %s\n", store.error().ToString().c_str());
    return 1;
  }
  const std::string log = dir->path() + "/workers.log";
  Workers workers(settings, *url, data_dir, log);
  // Warm-up: every worker process is up once a job has run on each of them.
  for (int i = 0; i < settings.processes * settings.workers * 2; ++i) {
    auto job = (*store)->Create(OneStep());
    if (!job.ok() || !WaitUntilEnded(**store, job->id).ok()) {
      Result<std::string> said = sys::ReadFile(log);
      std::fprintf(stderr, "nodes_bench: the workers do not run jobs; they said:\n%s\n",
                   said.ok() ? said->c_str() : "");
      return 1;
    }
  }

  std::vector<int64_t> latencies;
  for (int i = 0; i < settings.latency_jobs; ++i) {
    auto job = (*store)->Create(OneStep());
    auto ended = job.ok() ? WaitUntilEnded(**store, job->id) : Result<Job>(job.error());
    if (!ended.ok() || !ended->started_at_ms) {
      std::fprintf(stderr, "nodes_bench: %s\n", ended.error().ToString().c_str());
      return 1;
    }
    latencies.push_back(*ended->started_at_ms - ended->created_at_ms);
  }
  std::printf(
      "claim latency, submit on this node -> claimed by an idle worker process (%d jobs, "
      "ms resolution): p50 %d ms, p90 %d ms\n",
      settings.latency_jobs, Percentile(latencies, 0.5), Percentile(latencies, 0.9));

  auto start = SteadyClock::now();
  std::vector<std::string> ids;
  for (int i = 0; i < settings.jobs; ++i) {
    auto job = (*store)->Create(OneStep());
    if (!job.ok()) {
      std::fprintf(stderr, "nodes_bench: %s\n", job.error().ToString().c_str());
      return 1;
    }
    ids.push_back(job->id);
  }
  int failed = 0;
  for (const std::string& id : ids) {
    auto ended = WaitUntilEnded(**store, id);
    failed += ended.ok() && ended->state == JobState::kSucceeded ? 0 : 1;
  }
  double seconds = std::chrono::duration<double>(SteadyClock::now() - start).count();
  std::printf(
      "one-step jobs completed, %zu worker processes x %d workers: %d in %.2f s = %.0f/s"
      "%s\n",
      workers.started(), settings.workers, settings.jobs, seconds, settings.jobs / seconds,
      failed > 0 ? (" (" + std::to_string(failed) + " did not succeed)").c_str() : "");
  return failed > 0 ? 1 : 0;
}

}  // namespace
}  // namespace warden::jobs

int main(int argc, char** argv) {
  warden::jobs::Settings settings;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    int value = std::atoi(argv[i + 1]);
    if (flag == "--jobs") {
      settings.jobs = value;
    } else if (flag == "--latency-jobs") {
      settings.latency_jobs = value;
    } else if (flag == "--processes") {
      settings.processes = value;
    } else if (flag == "--workers") {
      settings.workers = value;
    } else {
      std::fprintf(stderr,
                   "usage: nodes_bench [--jobs N] [--latency-jobs N] [--processes N] "
                   "[--workers N]\n");
      return 2;
    }
  }
  return warden::jobs::Run(settings);
}
