#include "library_bench.h"

#include <unistd.h>

#include <chrono>
#include <memory>
#include <thread>

#include <fmt/format.h>

#include "harness.h"
#include "namespaces.h"
#include "procfs.h"

namespace warden::bench {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kWarmupRuns = 5;
constexpr double kTargetMs = 1.5;
constexpr std::chrono::seconds kRefillDeadline(2);

// Which namespaces a program started by Run() gets, for the report, and whether it gets every one
// that DESIGN.md section 4 promises.
bool CheckIsolation(sandbox::Supervisor& supervisor, std::string* report) {
  sandbox::Spec spec;
  spec.argv = PrintNamespacesCommand();
  Result<sandbox::RunResult> run = supervisor.Run(spec);
  if (std::string why = DescribeRunFailure(run, sandbox::Outcome::kExited); !why.empty()) {
    *report = "isolation check FAILED: " + why;
    return false;
  }
  NamespaceCheck check = CompareNamespaces(run->stdout_data, kWardenNamespaces);
  *report = "isolation: " + DescribeNamespaces(check) +
            (check.isolated ? "" : "  <- NOT ISOLATED: this row is INVALID");
  return check.isolated;
}

// Processes below this one with no child: the idle init processes of a warm pool.
int CountIdleHelpers() {
  std::vector<ProcessInfo> below = ListDescendants(getpid());
  int idle = 0;
  for (const ProcessInfo& process : below) {
    bool has_child = false;
    for (const ProcessInfo& other : below) {
      has_child = has_child || other.ppid == process.pid;
    }
    idle += has_child ? 0 : 1;
  }
  return idle;
}

// Before each timed run of the warm row: waits (untimed) until the pool's background thread has
// refilled it, so that the row shows the latency of a run that finds a ready sandbox, not the
// pool's refill rate (the spawns/s column shows that). Gives up waiting for good when the pool
// does not refill within kRefillDeadline.
class RefillWaiter {
 public:
  explicit RefillWaiter(int pool_size) : pool_size_(pool_size) {}

  void operator()() {
    Clock::time_point deadline = Clock::now() + kRefillDeadline;
    while (!gave_up_ && CountIdleHelpers() < pool_size_) {
      if (Clock::now() > deadline) {
        gave_up_ = true;
        fmt::print("  (the warm pool did not refill within {} s; runs are no longer paced)\n",
                   kRefillDeadline.count());
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }

 private:
  int pool_size_;
  bool gave_up_ = false;
};

// Creates a supervisor, checks its isolation, times one row and judges it.
void MeasureRow(const std::string& name, const sandbox::SupervisorOptions& supervisor_options,
                const LibraryOptions& options, const std::function<void()>& before_each,
                std::vector<TargetCheck>* targets) {
  std::string goal = fmt::format("library Run(/bin/true) <= 1.5 ms, {}", name);
  auto supervisor = sandbox::Supervisor::Create(supervisor_options);
  if (!supervisor.ok()) {
    fmt::print("  {:<29} FAILED: Supervisor::Create: {}\n", name, supervisor.error().ToString());
    targets->push_back({goal, "n/a", Verdict::kInvalid});
    return;
  }
  std::string isolation;
  bool isolated = CheckIsolation(**supervisor, &isolation);
  sandbox::Spec spec;
  spec.argv = {"/bin/true"};
  SpawnOnce spawn = [&supervisor, &spec] {
    return DescribeRunFailure((*supervisor)->Run(spec), sandbox::Outcome::kExited);
  };
  Latency latency = MeasureLatency(options.runs, kWarmupRuns, spawn, before_each);
  Throughput throughput = MeasureThroughput(options.clients, options.runs, spawn);
  Failures failures = latency.failures;
  failures.Merge(throughput.failures);
  fmt::print("  {:<29} {:>5} {:>6} {:>10.3f} {:>9.3f} {:>12.1f}\n", name, latency.runs,
             failures.count, latency.Median(), latency.P90(), throughput.PerSecond());
  fmt::print("    {}\n", isolation);
  if (failures.count > 0) {
    fmt::print("    FAILED {} of {} runs (warm-up included); first: {}\n", failures.count,
               latency.runs + latency.warmup_runs + throughput.runs, failures.first);
  }
  targets->push_back({goal, fmt::format("{:.3f} ms", latency.Median()),
                      Judge(failures.count == 0 && isolated, latency.Median() <= kTargetMs)});
}

}  // namespace

std::string DescribeRunFailure(const Result<sandbox::RunResult>& result,
                               sandbox::Outcome expected) {
  if (!result.ok()) {
    return "Run() error: " + result.error().ToString();
  }
  const sandbox::RunResult& run = *result;
  if (run.outcome == expected && (expected != sandbox::Outcome::kExited || run.exit_code == 0)) {
    return "";
  }
  std::string why = fmt::format("outcome {}", sandbox::OutcomeName(run.outcome));
  if (run.outcome == sandbox::Outcome::kExited) {
    why += fmt::format(" with exit code {}", run.exit_code);
  }
  if (run.outcome == sandbox::Outcome::kSetupError) {
    why += fmt::format(" at \"{}\": {}", run.setup_step, ErrnoName(run.setup_errno));
  }
  if (!run.message.empty()) {
    why += " (" + run.message + ")";
  }
  if (!run.stderr_data.empty()) {
    why += "; stderr: " + run.stderr_data.substr(0, 200);
  }
  return why;
}

void RunLibraryLatency(const LibraryOptions& options, std::vector<TargetCheck>* targets) {
  fmt::print(
      "\n== 2. Library: Supervisor::Run() of /bin/true in this process (default Spec: full "
      "isolation, cgroup limits)\n  mounts: rootfs ro (/usr, /etc files), one capped tmpfs for "
      "/tmp and an empty /workspace, /proc, /dev\n");
  fmt::print("  {:<29} {:>5} {:>6} {:>10} {:>9} {:>12}\n", "supervisor", "runs", "failed",
             "median ms", "p90 ms", fmt::format("spawns/s x{}", options.clients));
  MeasureRow("cold (no warm pool)", {}, options, nullptr, targets);
  if (options.warm_sandboxes > 0) {
    sandbox::SupervisorOptions warm;
    warm.warm_sandboxes = static_cast<size_t>(options.warm_sandboxes);
    MeasureRow(fmt::format("warm pool of {}, paced", options.warm_sandboxes), warm, options,
               RefillWaiter(options.warm_sandboxes), targets);
  }
}

}  // namespace warden::bench
