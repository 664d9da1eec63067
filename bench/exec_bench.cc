#include "exec_bench.h"

#include <unistd.h>

#include <span>
#include <string_view>

#include <fmt/format.h>

#include "harness.h"
#include "namespaces.h"
#include "process.h"

namespace warden::bench {
namespace {

constexpr int kWarmupRuns = 5;
constexpr char kPython[] = "/usr/bin/python3";  // Debian's, never a pyenv shim from PATH

// Indexes into the runner list and the rows of one workload.
enum RunnerIndex { kBare = 0, kBwrap = 1, kWarden = 2 };

struct Runner {
  std::string name;
  std::vector<std::string> prefix;  // goes in front of the workload's argv
  std::string skip_reason;          // not empty: this runner's rows are skipped
};

struct Workload {
  std::string name;
  std::vector<std::string> argv;
  int runs = 0;
  std::string skip_reason;
};

struct Row {
  bool ran = false;
  Latency latency;
  Throughput throughput;

  bool Valid() const {
    return ran && latency.failures.count == 0 && throughput.failures.count == 0;
  }
};

// bwrap with the isolation `warden exec` gives: user (explicitly: as root, --unshare-all adds it
// only "if possible"), pid, net, ipc, uts, cgroup and mount namespaces; a read-only /usr with the
// merged-/usr symlinks; fresh /tmp, /proc and /dev; no capabilities; an unprivileged uid like
// Warden's sandbox user; /workspace as the working directory. No argument holds a space.
constexpr char kBwrapArgs[] =
    "--unshare-all --unshare-user --unshare-cgroup --die-with-parent --uid 1000 --gid 1000 "
    "--ro-bind /usr /usr --symlink usr/bin /bin --symlink usr/lib /lib "
    "--symlink usr/lib64 /lib64 --symlink usr/sbin /sbin "
    "--ro-bind /etc/ld.so.cache /etc/ld.so.cache --tmpfs /tmp --proc /proc --dev /dev "
    "--cap-drop ALL --dir /workspace --chdir /workspace --";

std::vector<std::string> BwrapPrefix(const std::string& bwrap) {
  std::vector<std::string> prefix = {bwrap};
  std::string_view rest = kBwrapArgs;
  while (!rest.empty()) {
    size_t space = rest.find(' ');
    prefix.emplace_back(rest.substr(0, space));
    rest = space == std::string_view::npos ? "" : rest.substr(space + 1);
  }
  return prefix;
}

std::vector<Runner> MakeRunners(const CliOptions& options) {
  std::vector<Runner> runners(3);
  runners[kBare] = {"bare", {}, ""};
  runners[kBwrap] = {"bwrap", {}, "bwrap not found on PATH"};
  if (!options.bwrap.empty()) {
    runners[kBwrap] = {"bwrap", BwrapPrefix(options.bwrap), ""};
  }
  runners[kWarden] = {"warden exec", {options.warden, "exec", "--"}, ""};
  if (access(options.warden.c_str(), X_OK) != 0) {
    runners[kWarden].skip_reason = options.warden + " is not an executable file";
  }
  return runners;
}

std::vector<Workload> MakeWorkloads(const CliOptions& options) {
  std::vector<Workload> workloads = {
      {"/bin/true", {"/bin/true"}, options.runs_true, ""},
      {"python3 -c pass", {kPython, "-c", "pass"}, options.runs_python, ""},
  };
  if (access(kPython, X_OK) != 0) {
    workloads[1].skip_reason = std::string(kPython) + " is not installed";
  }
  return workloads;
}

std::vector<std::string> Concat(std::vector<std::string> front,
                                const std::vector<std::string>& back) {
  front.insert(front.end(), back.begin(), back.end());
  return front;
}

std::string SpawnQuietly(const std::vector<std::string>& argv) {
  Result<int> status = RunQuietly(argv);
  return status.ok() ? DescribeFailure(*status) : status.error().ToString();
}

// Prints which namespaces a command run through `runner` gets; returns whether it gets all of
// `required`.
bool CheckIsolation(const Runner& runner, std::span<const std::string_view> required) {
  Result<CapturedRun> run = RunCapturing(Concat(runner.prefix, PrintNamespacesCommand()));
  std::string failure = run.ok() ? DescribeFailure(run->wait_status) : run.error().ToString();
  if (!failure.empty()) {
    fmt::print("  {:<12} isolation check FAILED ({}):\n", runner.name, failure);
    PrintExcerpt(run.ok() ? run->output : "", 8);
    return false;
  }
  NamespaceCheck check = CompareNamespaces(run->output, required);
  fmt::print("  {:<12} {}{}\n", runner.name, DescribeNamespaces(check),
             check.isolated ? "" : "  <- NOT ISOLATED: its comparisons are INVALID");
  return check.isolated;
}

// Whether both sandboxes really isolate: bwrap every namespace this benchmark asks of it, warden
// exec those DESIGN.md section 4 promises.
bool CheckRunnersIsolate(const std::vector<Runner>& runners) {
  fmt::print("isolation check (readlink /proc/self/ns/* inside, against the benchmark's own):\n");
  bool isolated = true;
  if (runners[kBwrap].skip_reason.empty()) {
    isolated = CheckIsolation(runners[kBwrap], kAllNamespaces) && isolated;
  }
  if (runners[kWarden].skip_reason.empty()) {
    isolated = CheckIsolation(runners[kWarden], kWardenNamespaces) && isolated;
  }
  return isolated;
}

Row MeasureRow(const std::vector<std::string>& argv, int runs, int clients) {
  SpawnOnce spawn = [&argv] {
    return SpawnQuietly(argv);
  };
  Row row;
  row.ran = true;
  row.latency = MeasureLatency(runs, kWarmupRuns, spawn);
  row.throughput = MeasureThroughput(clients, runs, spawn);
  return row;
}

void PrintRow(const Workload& workload, const Runner& runner, const Row& row,
              const std::vector<std::string>& argv) {
  if (!row.ran) {
    fmt::print("  {:<16} {:<12} skipped: {}\n", workload.name, runner.name,
               workload.skip_reason.empty() ? runner.skip_reason : workload.skip_reason);
    return;
  }
  Failures failures = row.latency.failures;
  failures.Merge(row.throughput.failures);
  fmt::print("  {:<16} {:<12} {:>5} {:>6} {:>10.3f} {:>9.3f} {:>12.1f}\n", workload.name,
             runner.name, row.latency.runs, failures.count, row.latency.Median(), row.latency.P90(),
             row.throughput.PerSecond());
  if (failures.count > 0) {
    fmt::print("    FAILED {} of {} runs (warm-up included); first: {}\n", failures.count,
               row.latency.runs + row.latency.warmup_runs + row.throughput.runs, failures.first);
    fmt::print("    one more run of `{}` says:\n", JoinArgs(argv));
    Result<CapturedRun> again = RunCapturing(argv);
    PrintExcerpt(again.ok() ? again->output : again.error().ToString(), 6);
  }
}

void CompareRows(const Workload& workload, const std::vector<Row>& rows, int clients, bool isolated,
                 std::vector<TargetCheck>* targets) {
  const Row& bare = rows[kBare];
  const Row& bwrap = rows[kBwrap];
  const Row& warden = rows[kWarden];
  bool valid = isolated;
  for (const Row& row : rows) {
    valid = valid && (!row.ran || row.Valid());
  }
  std::string goal = "warden exec <= bwrap, " + workload.name;
  if (!bwrap.ran || !warden.ran) {
    // Nothing to compare, but a row that failed still fails the benchmark.
    targets->push_back({goal + ", median", "n/a", valid ? Verdict::kSkipped : Verdict::kInvalid});
    return;
  }
  double median = warden.latency.Median() / bwrap.latency.Median();
  double p90 = warden.latency.P90() / bwrap.latency.P90();
  // Time per spawn under load is the inverse of spawns per second.
  double loaded = bwrap.throughput.PerSecond() / warden.throughput.PerSecond();
  fmt::print(
      "  {}: warden/bwrap = {:.2f}x median, {:.2f}x p90, {:.2f}x time per spawn with {} "
      "clients (lower is better)\n",
      workload.name, median, p90, loaded, clients);
  if (bare.ran) {
    fmt::print("  {}: over bare posix_spawn (median): bwrap {:+.3f} ms, warden exec {:+.3f} ms\n",
               workload.name, bwrap.latency.Median() - bare.latency.Median(),
               warden.latency.Median() - bare.latency.Median());
  }
  targets->push_back(
      {goal + ", median", fmt::format("{:.2f}x", median), Judge(valid, median <= 1.0)});
  targets->push_back({fmt::format("{}, {} clients", goal, clients), fmt::format("{:.2f}x", loaded),
                      Judge(valid, loaded <= 1.0)});
}

void RunWorkload(const Workload& workload, const std::vector<Runner>& runners, int clients,
                 bool isolated, std::vector<TargetCheck>* targets) {
  std::vector<Row> rows(runners.size());
  for (size_t i = 0; i < runners.size(); ++i) {
    std::vector<std::string> argv = Concat(runners[i].prefix, workload.argv);
    if (workload.skip_reason.empty() && runners[i].skip_reason.empty()) {
      rows[i] = MeasureRow(argv, workload.runs, clients);
    }
    PrintRow(workload, runners[i], rows[i], argv);
  }
  CompareRows(workload, rows, clients, isolated, targets);
}

}  // namespace

void RunCliComparison(const CliOptions& options, std::vector<TargetCheck>* targets) {
  std::vector<Runner> runners = MakeRunners(options);
  fmt::print("\n== 1. CLI: a new process per run, same command, three ways\n");
  for (const Runner& runner : runners) {
    fmt::print("  {:<12} {}\n", runner.name,
               runner.name == "bare"        ? "posix_spawn + waitpid of the command itself"
               : runner.skip_reason.empty() ? JoinArgs(runner.prefix) + " CMD"
                                            : "skipped: " + runner.skip_reason);
  }
  fmt::print(
      "  mounts: bare: the host's file system; bwrap: /usr ro, /etc/ld.so.cache ro, tmpfs "
      "/tmp, /proc, /dev, an empty /workspace; warden exec: rootfs ro (/usr, /etc files), "
      "one capped tmpfs for /tmp and an empty /workspace, /proc, /dev\n");
  bool isolated = CheckRunnersIsolate(runners);
  fmt::print("\n  {:<16} {:<12} {:>5} {:>6} {:>10} {:>9} {:>12}\n", "workload", "runner", "runs",
             "failed", "median ms", "p90 ms", fmt::format("spawns/s x{}", options.clients));
  for (const Workload& workload : MakeWorkloads(options)) {
    RunWorkload(workload, runners, options.clients, isolated, targets);
  }
}

}  // namespace warden::bench
