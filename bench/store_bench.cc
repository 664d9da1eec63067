// store_bench: the job stores side by side in one run. Durable submissions per second (Create
// returns once its job is committed; PostgreSQL with fsync and synchronous_commit on, SQLite with
// synchronous=FULL) from several threads, and claim latency: from a submission on one node to
// its claim by a worker on another (PostgreSQL: two stores, a NOTIFY between them).
//
//   store_bench [--seconds 3] [--threads 16] [--claims 500]
//
// Starts a private PostgreSQL 15 server (pg_test_server.h); run it as root or as a user that can
// run initdb.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "jobs/pg_store.h"
#include "jobs/pg_test_server.h"
#include "jobs/sqlite_store.h"
#include "sys/fs.h"

namespace warden::jobs {
namespace {

using Clock = std::chrono::steady_clock;

struct Settings {
  double seconds = 3;
  int threads = 16;
  int claims = 500;
};

NewJob Task() {
  NewJob job;
  job.input = {{"steps", json::array{json::object{{"shell", "true"}}}}};
  return job;
}

// Jobs created per second by `threads` threads for `seconds`.
double SubmitRate(JobStore& store, const Settings& settings) {
  std::atomic<int64_t> created = 0;
  std::atomic<bool> failed = false;
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::duration<double>(settings.seconds);
  {
    std::vector<std::jthread> threads(static_cast<size_t>(settings.threads));
    for (std::jthread& thread : threads) {
      thread = std::jthread([&] {
        while (Clock::now() < deadline && !failed) {
          auto job = store.Create(Task());
          if (!job.ok()) {
            std::fprintf(stderr, "create: %s\n", job.error().ToString().c_str());
            failed = true;
            return;
          }
          ++created;
        }
      });
    }
  }
  double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  return failed ? 0 : static_cast<double>(created.load()) / elapsed;
}

struct Latency {
  double p50_ms = 0;
  double p99_ms = 0;
};

// One job at a time: submitted on `api`, claimed by a worker waiting on `worker` (WaitForQueued,
// then ClaimNext); the time from Create's call to ClaimNext's return.
Latency ClaimLatency(JobStore& api, JobStore& worker, int claims) {
  std::vector<double> samples;
  std::atomic<bool> stop = false;
  std::mutex mu;
  std::condition_variable claimed_cv;
  std::map<std::string, Clock::time_point> submitted;
  std::jthread claimer([&] {
    while (!stop) {
      auto waited = worker.WaitForQueued(std::chrono::milliseconds(200));
      if (!waited.ok() || !*waited) {
        continue;
      }
      auto job = worker.ClaimNext("bench-worker");
      if (!job.ok() || !job->has_value()) {
        continue;
      }
      auto claimed = Clock::now();
      // Finished first, outside the lock: the next submission then finds an idle worker.
      (void)worker.Finish((*job)->id, FinishRequest{JobState::kSucceeded, "finished", "", {}, ""});
      std::lock_guard lock(mu);
      auto it = submitted.find((*job)->id);
      if (it != submitted.end()) {
        samples.push_back(std::chrono::duration<double, std::milli>(claimed - it->second).count());
        claimed_cv.notify_one();
      }
    }
  });
  for (int i = 0; i < claims; ++i) {
    auto before = Clock::now();
    {
      // Held across Create: the claimer cannot look the job up before it is recorded.
      std::lock_guard lock(mu);
      auto job = api.Create(Task());
      if (!job.ok()) {
        std::fprintf(stderr, "create: %s\n", job.error().ToString().c_str());
        break;
      }
      submitted[job->id] = before;
    }
    // Let the claim happen before the next submission, so each measures an idle worker waking.
    std::unique_lock lock(mu);
    claimed_cv.wait_for(lock, std::chrono::seconds(5),
                        [&] { return samples.size() > static_cast<size_t>(i); });
  }
  stop = true;
  claimer.join();
  std::sort(samples.begin(), samples.end());
  if (samples.empty()) {
    return {};
  }
  return {samples[samples.size() / 2],
          samples[std::min(samples.size() - 1, samples.size() * 99 / 100)]};
}

int Run(const Settings& settings) {
  PgTestServerOptions pg_options;
  pg_options.durable = true;
  auto server = PgTestServer::Start(pg_options);
  if (!server.ok()) {
    std::fprintf(stderr, "store_bench: %s\n", server.error().ToString().c_str());
    return 1;
  }
  auto dir = sys::TempDir::Create("warden-store-bench-");
  auto url = (*server)->CreateDatabase();
  auto latency_url = (*server)->CreateDatabase();
  if (!dir.ok() || !url.ok() || !latency_url.ok()) {
    std::fprintf(stderr, "store_bench: could not prepare the stores\n");
    return 1;
  }
  PgStoreOptions pg{*url, {}};
  pg.connections = settings.threads;
  auto pg_store = PgStore::Open(pg);
  auto sqlite_store = SqliteStore::Open(SqliteStoreOptions{dir->path() + "/jobs.db", {}, 4});
  if (!pg_store.ok() || !sqlite_store.ok()) {
    std::fprintf(stderr, "store_bench: %s\n",
                 (pg_store.ok() ? sqlite_store.error() : pg_store.error()).ToString().c_str());
    return 1;
  }
  std::printf("durable submissions, %d threads, %.1f s each:\n", settings.threads,
              settings.seconds);
  double sqlite_rate = SubmitRate(**sqlite_store, settings);
  std::printf("  sqlite    %8.0f /s\n", sqlite_rate);
  double pg_rate = SubmitRate(**pg_store, settings);
  std::printf("  postgres  %8.0f /s   (%.2fx sqlite)\n", pg_rate,
              sqlite_rate > 0 ? pg_rate / sqlite_rate : 0.0);

  // Fresh stores: the claimer must find only the jobs it times.
  auto sqlite_latency_store =
      SqliteStore::Open(SqliteStoreOptions{dir->path() + "/latency.db", {}, 4});
  auto api_node = PgStore::Open({*latency_url, {}});
  auto worker_node = PgStore::Open({*latency_url, {}});
  if (!sqlite_latency_store.ok() || !api_node.ok() || !worker_node.ok()) {
    std::fprintf(stderr, "store_bench: could not open the latency stores\n");
    return 1;
  }
  Latency sqlite_latency =
      ClaimLatency(**sqlite_latency_store, **sqlite_latency_store, settings.claims);
  Latency pg_latency = ClaimLatency(**api_node, **worker_node, settings.claims);
  std::printf("claim latency, submit -> claimed by an idle worker (%d jobs):\n", settings.claims);
  std::printf("  sqlite    p50 %6.2f ms  p99 %6.2f ms   (one process)\n", sqlite_latency.p50_ms,
              sqlite_latency.p99_ms);
  std::printf("  postgres  p50 %6.2f ms  p99 %6.2f ms   (two stores, woken by NOTIFY)\n",
              pg_latency.p50_ms, pg_latency.p99_ms);
  return 0;
}

}  // namespace
}  // namespace warden::jobs

int main(int argc, char** argv) {
  warden::jobs::Settings settings;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--seconds") {
      settings.seconds = std::atof(argv[i + 1]);
    } else if (flag == "--threads") {
      settings.threads = std::atoi(argv[i + 1]);
    } else if (flag == "--claims") {
      settings.claims = std::atoi(argv[i + 1]);
    } else {
      std::fprintf(stderr, "usage: store_bench [--seconds S] [--threads N] [--claims N]\n");
      return 2;
    }
  }
  return warden::jobs::Run(settings);
}
