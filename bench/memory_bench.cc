#include "memory_bench.h"

#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include <fmt/format.h>

#include "harness.h"
#include "library_bench.h"
#include "procfs.h"
#include "sandbox/sandbox.h"

namespace warden::bench {
namespace {

using Clock = std::chrono::steady_clock;

// The sandboxed program once `sh` has exec'd it: excluded from the supervisor's memory.
constexpr char kProgramComm[] = "sleep";
constexpr std::chrono::seconds kStartDeadline(60);
constexpr std::chrono::seconds kSettleDeadline(10);
constexpr std::chrono::milliseconds kPollInterval(50);
constexpr int kStablePolls = 10;
constexpr double kTargetMb = 1.0;
constexpr char kGoal[] = "supervisor memory per live sandbox <= 1 MB";

double Megabytes(double kib) {
  return kib * 1024 / 1e6;
}

// Counts sandboxes that said "up" or ended without saying it. Thread-safe.
class ReadyCounter {
 public:
  void Up() { Bump(&up_); }
  void Ended() { Bump(&ended_); }

  // Waits until `count` sandboxes are up or ended, or `deadline`; returns how many are up.
  int Wait(int count, Clock::time_point deadline) {
    std::unique_lock lock(mutex_);
    changed_.wait_until(lock, deadline, [&] { return up_ + ended_ >= count; });
    return up_;
  }

 private:
  void Bump(int* counter) {
    {
      std::lock_guard lock(mutex_);
      ++*counter;
    }
    changed_.notify_all();
  }

  std::mutex mutex_;
  std::condition_variable changed_;
  int up_ = 0;
  int ended_ = 0;
};

// One sandbox kept running until cancelled; `thread` blocks in Run(). Members are destroyed in
// reverse order, so the thread is joined before the token and the result go away.
struct LiveSandbox {
  sandbox::CancelToken cancel;
  bool up = false;  // touched only by `thread`, in the output callback
  std::optional<Result<sandbox::RunResult>> result;
  std::jthread thread;
};

std::vector<std::unique_ptr<LiveSandbox>> StartSandboxes(sandbox::Supervisor& supervisor, int live,
                                                         ReadyCounter& ready) {
  std::vector<std::unique_ptr<LiveSandbox>> sandboxes;
  for (int i = 0; i < live; ++i) {
    auto box = std::make_unique<LiveSandbox>();
    box->thread = std::jthread([&supervisor, &ready, b = box.get()] {
      sandbox::Spec spec;
      spec.argv = {"/bin/sh", "-c", "echo up; exec sleep 300"};
      spec.limits.wall_time = std::chrono::minutes(5);
      spec.on_output = [&ready, b](sandbox::Stream stream, std::string_view) {
        if (stream == sandbox::Stream::kStdout && !b->up) {
          b->up = true;
          ready.Up();
        }
      };
      b->result = supervisor.Run(spec, &b->cancel);
      if (!b->up) {
        ready.Ended();
      }
    });
    sandboxes.push_back(std::move(box));
  }
  return sandboxes;
}

// The memory of this process and of every process below it except the sandboxed programs.
struct Snapshot {
  MemoryUsage self;
  MemoryUsage helpers;
  std::map<std::string, int> helper_names;  // comm -> how many
  int helper_count = 0;
  int idle_helpers = 0;         // helpers with no program as their child
  std::vector<pid_t> programs;  // processes named kProgramComm
  std::set<pid_t> pids;         // every process below this one
};

Snapshot TakeSnapshot() {
  Snapshot snapshot;
  snapshot.self = ReadMemoryUsage(getpid()).value();
  std::vector<ProcessInfo> descendants = ListDescendants(getpid());
  std::set<pid_t> program_parents;
  for (const ProcessInfo& process : descendants) {
    snapshot.pids.insert(process.pid);
    if (process.comm == kProgramComm) {
      snapshot.programs.push_back(process.pid);
      program_parents.insert(process.ppid);
    }
  }
  for (const ProcessInfo& process : descendants) {
    if (process.comm == kProgramComm) {
      continue;
    }
    if (Result<MemoryUsage> usage = ReadMemoryUsage(process.pid); usage.ok()) {
      snapshot.helpers += *usage;
      ++snapshot.helper_names[process.comm];
      ++snapshot.helper_count;
      snapshot.idle_helpers += program_parents.count(process.pid) == 0 ? 1 : 0;
    }
  }
  return snapshot;
}

// Polls /proc until no process below this one has come or gone for a while and `programs` of
// them are `sleep`. A program that said "up" still has to exec `sleep`, and a supervisor may keep a
// pool of ready sandboxes that a background thread refills; there is nothing to wait on for either.
Snapshot WaitUntilSettled(int programs, Clock::time_point deadline) {
  Snapshot snapshot = TakeSnapshot();
  int stable_polls = 0;
  while (stable_polls < kStablePolls && Clock::now() < deadline) {
    std::this_thread::sleep_for(kPollInterval);
    Snapshot next = TakeSnapshot();
    bool stable = next.pids == snapshot.pids && static_cast<int>(next.programs.size()) >= programs;
    stable_polls = stable ? stable_polls + 1 : 0;
    snapshot = std::move(next);
  }
  return snapshot;
}

// How many of the programs sit in memory and pids cgroups other than this process's: the runs'
// limits are real.
int CountInOwnCgroups(const Snapshot& snapshot) {
  int own = 0;
  for (pid_t pid : snapshot.programs) {
    bool separate = true;
    for (std::string_view controller : {"memory", "pids"}) {
      std::string theirs = ReadCgroupPath(pid, controller);
      separate = separate && !theirs.empty() && theirs != ReadCgroupPath(getpid(), controller);
    }
    own += separate ? 1 : 0;
  }
  return own;
}

// Cancels every sandbox, waits for every Run() to return and counts those that did not end as
// cancelled.
Failures StopSandboxes(std::vector<std::unique_ptr<LiveSandbox>>& sandboxes) {
  for (auto& box : sandboxes) {
    box->cancel.Cancel();
  }
  Failures failures;
  for (auto& box : sandboxes) {
    box->thread.join();
    if (std::string why = DescribeRunFailure(*box->result, sandbox::Outcome::kCancelled);
        !why.empty()) {
      failures.Add(why);
    }
  }
  return failures;
}

std::string Names(const std::map<std::string, int>& names) {
  std::string text;
  for (const auto& [name, count] : names) {
    text += fmt::format("{}{} x {}", text.empty() ? "" : ", ", count, name);
  }
  return text.empty() ? "none" : text;
}

// Prints what the live sandboxes cost and returns the supervisor's memory per sandbox in MB.
double PrintMemory(const Snapshot& before, const Snapshot& after, int up, int in_own_cgroups,
                   int live) {
  auto grown = [](uint64_t then, uint64_t now) {
    return Megabytes(static_cast<double>(now) - static_cast<double>(then));
  };
  double self_pss = grown(before.self.pss_kb, after.self.pss_kb);
  double helpers_pss = grown(before.helpers.pss_kb, after.helpers.pss_kb);
  double per_sandbox = (self_pss + helpers_pss) / live;
  fmt::print(
      "  {:<28} {} of {} said \"up\"; {} `{}` running, {} in their own memory and pids "
      "cgroups\n",
      "sandboxes", up, live, after.programs.size(), kProgramComm, in_own_cgroups);
  fmt::print(
      "  {:<28} RSS {:+.2f} MB, PSS {:+.2f} MB (PSS can fall: forked helpers share its "
      "pages)\n",
      "this process", grown(before.self.rss_kb, after.self.rss_kb), self_pss);
  fmt::print("  {:<28} {} (before: {}), {} without a program below\n", "helper processes",
             Names(after.helper_names), Names(before.helper_names), after.idle_helpers);
  fmt::print("  {:<28} PSS {:+.2f} MB; page tables {:+.2f} MB (kernel memory, not in PSS)\n", "",
             helpers_pss, grown(before.helpers.page_tables_kb, after.helpers.page_tables_kb));
  fmt::print("  {:<28} {:.3f} MB = (this process's PSS growth + helpers' PSS) / {}\n",
             "per live sandbox", per_sandbox, live);
  return per_sandbox;
}

// Cancels every sandbox and reports whether all ended as cancelled, leaving no program and no more
// helper processes than `before`.
bool CancelAll(std::vector<std::unique_ptr<LiveSandbox>>& sandboxes, const Snapshot& before) {
  Clock::time_point start = Clock::now();
  Failures failures = StopSandboxes(sandboxes);
  double cancel_ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  Snapshot end = WaitUntilSettled(0, Clock::now() + kSettleDeadline);
  fmt::print("  {:<28} {} of {} ended as cancelled, in {:.1f} ms; then {} programs, {} helpers\n",
             "cancel all", sandboxes.size() - failures.count, sandboxes.size(), cancel_ms,
             end.programs.size(), end.helper_count);
  if (failures.count > 0) {
    fmt::print("    FAILED: {} runs did not end as cancelled; first: {}\n", failures.count,
               failures.first);
  }
  return failures.count == 0 && end.programs.empty() && end.helper_count <= before.helper_count;
}

}  // namespace

void MeasureLiveMemory(int live, std::vector<TargetCheck>* targets) {
  fmt::print(
      "\n== 3. Memory: {} live sandboxes through Run() (default SupervisorOptions), each sh -c "
      "'echo up; exec sleep 300'\n",
      live);
  auto created = sandbox::Supervisor::Create({});
  if (!created.ok()) {
    fmt::print("  FAILED: Supervisor::Create: {}\n", created.error().ToString());
    targets->push_back({kGoal, "n/a", Verdict::kInvalid});
    return;
  }
  sandbox::Supervisor& supervisor = **created;
  Snapshot before = WaitUntilSettled(0, Clock::now() + kSettleDeadline);
  ReadyCounter ready;
  Clock::time_point deadline = Clock::now() + kStartDeadline;
  std::vector<std::unique_ptr<LiveSandbox>> sandboxes = StartSandboxes(supervisor, live, ready);
  int up = ready.Wait(live, deadline);
  Snapshot after = WaitUntilSettled(up, deadline);
  int in_own_cgroups = CountInOwnCgroups(after);
  double per_sandbox = PrintMemory(before, after, up, in_own_cgroups, live);

  bool ended = CancelAll(sandboxes, before);
  bool valid = ended && up == live && static_cast<int>(after.programs.size()) == live &&
               in_own_cgroups == live;
  if (!valid) {
    fmt::print(
        "    FAILED: the measurement needs all {} sandboxes up in their own cgroups, then "
        "all ended by cancel, no program left and no more helpers than before\n",
        live);
  }
  targets->push_back(
      {kGoal, fmt::format("{:.3f} MB", per_sandbox), Judge(valid, per_sandbox <= kTargetMb)});
}

}  // namespace warden::bench
