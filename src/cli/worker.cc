// `warden worker`: claims jobs from a shared job store (PostgreSQL) and runs them in sandboxes.
// Serves nothing: the API nodes (`warden serve --workers 0`) take the requests.
#include "jobs/worker.h"

#include <cstdio>
#include <string>

#include "cli/commands.h"
#include "cli/job_node.h"
#include "cli/serve_http.h"
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "base/log.h"
#include "jobs/lease_rescuer.h"

namespace warden::cli {

int Worker(int argc, char** argv) {
  BlockStopSignals();  // before any thread starts: only WaitForStopSignal takes them
  LimitHeapRetention();
  CLI::App app(
      "Run jobs from a job store shared with API nodes (`warden serve --workers 0`) on this or\n"
      "other machines: claims queued jobs, runs them in sandboxes, renews its leases on them.\n"
      "Serves nothing. Stops cleanly on SIGINT or SIGTERM.",
      "warden worker");
  JobNodeFlags flags;
  flags.shared_store_only = true;
  AddJobNodeFlags(app, flags);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  auto node = OpenJobNode(flags, jobs::StoreOptions{});
  if (!node.ok()) {
    fmt::print(stderr, "warden worker: {}\n", node.error().message());
    return 2;
  }
  if (node->worker_options.workers == 0) {
    fmt::print(stderr, "warden worker: --workers 0 would run nothing; give at least 1\n");
    return 2;
  }
  jobs::WorkerPool workers(*node->store, *node->supervisor, node->worker_options);
  workers.Start();
  jobs::LeaseRescuer rescuer(*node->store, jobs::LeaseRescuer::PeriodFor(node->lease));
  // One line on stdout that scripts (and tests) can wait for.
  std::printf("warden worker: %s runs %zu workers on %s (data in %s)\n",
              node->worker_options.name.c_str(), node->worker_options.workers,
              jobs::DescribeStore(node->location).c_str(), node->data_dir.c_str());
  std::fflush(stdout);  // NOLINT(cert-err33-c): nothing to do when the terminal is gone
  int sig = WaitForStopSignal();
  LOG_INFO("signal {}: stopping; running jobs end failed (server_stopped) or are queued again",
           sig);
  workers.Stop();
  return 0;
}

}  // namespace warden::cli
