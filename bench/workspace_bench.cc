#include "workspace_bench.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

#include <fmt/format.h>

#include "harness.h"
#include "process.h"

namespace warden::bench {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kWarmupRounds = 5;
constexpr char kPython[] = "/usr/bin/python3";  // Debian's, never a pyenv shim from PATH
// The project tree: kDirs directories of kFilesPerDir small files, like a small repository.
constexpr int kDirs = 20;
constexpr int kFilesPerDir = 10;
constexpr uid_t kSandboxUid = 1000;

struct Runner {
  std::string name;
  std::string mounts;  // what the program sees, for the reader
  std::vector<std::string> prefix;
};

// bwrap as section 1 runs it, with the workspace bound read-write at /workspace instead of an
// empty directory there.
std::vector<std::string> BwrapPrefix(const std::string& bwrap, const std::string& workspace) {
  return {bwrap,
          "--unshare-all",
          "--unshare-user",
          "--unshare-cgroup",
          "--die-with-parent",
          "--uid",
          "1000",
          "--gid",
          "1000",
          "--ro-bind",
          "/usr",
          "/usr",
          "--symlink",
          "usr/bin",
          "/bin",
          "--symlink",
          "usr/lib",
          "/lib",
          "--symlink",
          "usr/lib64",
          "/lib64",
          "--symlink",
          "usr/sbin",
          "/sbin",
          "--ro-bind",
          "/etc/ld.so.cache",
          "/etc/ld.so.cache",
          "--tmpfs",
          "/tmp",
          "--proc",
          "/proc",
          "--dev",
          "/dev",
          "--cap-drop",
          "ALL",
          "--bind",
          workspace,
          "/workspace",
          "--chdir",
          "/workspace",
          "--"};
}

std::vector<Runner> MakeRunners(const CliOptions& options, const std::string& workspace) {
  std::vector<Runner> runners;
  runners.push_back({"bare", "no sandbox: the host's file system", {}});
  if (!options.bwrap.empty()) {
    runners.push_back({"bwrap --bind",
                       "/usr ro, /etc/ld.so.cache ro, tmpfs /tmp, /proc, /dev; workspace rw "
                       "bind at /workspace",
                       BwrapPrefix(options.bwrap, workspace)});
  }
  runners.push_back({"warden --workspace",
                     "rootfs ro (/usr, /etc files), capped tmpfs /tmp, /proc, /dev; workspace "
                     "rw bind at /workspace",
                     {options.warden, "exec", "--workspace", workspace, "--"}});
  return runners;
}

// The project tree; "" when it could not be made.
std::string MakeProjectTree() {
  char pattern[] = "/tmp/warden-bench-workspace-XXXXXX";
  if (::mkdtemp(pattern) == nullptr) {
    return "";
  }
  std::string root = pattern;
  std::error_code error;
  for (int d = 0; d < kDirs && !error; ++d) {
    std::string dir = fmt::format("{}/dir{}", root, d);
    std::filesystem::create_directory(dir, error);
    for (int f = 0; f < kFilesPerDir && !error; ++f) {
      std::ofstream(fmt::format("{}/file{}.py", dir, f)) << "print('hello')\n";
    }
  }
  if (::geteuid() == 0) {
    // The sandbox user is uid 1000 in both sandboxes; as root, Warden maps it to the owner.
    for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) {
      static_cast<void>(::lchown(entry.path().c_str(), kSandboxUid, kSandboxUid));
    }
    static_cast<void>(::chown(root.c_str(), kSandboxUid, kSandboxUid));
  }
  // mkdtemp's 0700 would shut out bwrap's sandbox user, which is the caller's uid outside.
  static_cast<void>(::chmod(root.c_str(), 0755));
  return error ? "" : root;
}

// Times `argv` behind every runner, one run of each in turn.
std::vector<Latency> MeasureInterleaved(const std::vector<Runner>& runners,
                                        const std::vector<std::string>& argv, int runs) {
  std::vector<Latency> rows(runners.size());
  for (int round = 0; round < kWarmupRounds + runs; ++round) {
    for (size_t i = 0; i < runners.size(); ++i) {
      std::vector<std::string> command = runners[i].prefix;
      command.insert(command.end(), argv.begin(), argv.end());
      Clock::time_point start = Clock::now();
      Result<int> status = RunQuietly(command);
      double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
      std::string why = status.ok() ? DescribeFailure(*status) : status.error().ToString();
      bool warmup = round < kWarmupRounds;
      rows[i].warmup_runs += warmup ? 1 : 0;
      rows[i].runs += warmup ? 0 : 1;
      if (!why.empty()) {
        rows[i].failures.Add(why);
      } else if (!warmup) {
        rows[i].ms.push_back(ms);
      }
    }
  }
  return rows;
}

void MeasureWorkload(const std::string& name, const std::vector<std::string>& argv, int runs,
                     const std::vector<Runner>& runners, std::vector<TargetCheck>* targets) {
  std::vector<Latency> rows = MeasureInterleaved(runners, argv, runs);
  bool valid = true;
  for (size_t i = 0; i < runners.size(); ++i) {
    const Latency& row = rows[i];
    valid = valid && row.failures.count == 0;
    fmt::print("  {:<16} {:<19} {:>5} {:>6} {:>10.3f} {:>9.3f}\n", name, runners[i].name, row.runs,
               row.failures.count, row.Median(), row.P90());
    if (row.failures.count > 0) {
      fmt::print("    FAILED {} runs; first: {}\n", row.failures.count, row.failures.first);
    }
  }
  std::string goal = "warden --workspace <= bwrap --bind, " + name + ", median";
  if (runners.size() < 3) {
    targets->push_back({goal, "n/a", valid ? Verdict::kSkipped : Verdict::kInvalid});
    return;
  }
  double ratio = rows[2].Median() / rows[1].Median();
  fmt::print(
      "  {}: warden/bwrap = {:.2f}x median, {:.2f}x p90; over bare: bwrap {:+.3f} ms, "
      "warden {:+.3f} ms\n",
      name, ratio, rows[2].P90() / rows[1].P90(), rows[1].Median() - rows[0].Median(),
      rows[2].Median() - rows[0].Median());
  targets->push_back({goal, fmt::format("{:.2f}x", ratio), Judge(valid, ratio <= 1.0)});
}

}  // namespace

void RunWorkspaceComparison(const CliOptions& options, std::vector<TargetCheck>* targets) {
  fmt::print("\n== 1b. CLI over a host workspace ({} directories of {} files), runs interleaved\n",
             kDirs, kFilesPerDir);
  std::string workspace = MakeProjectTree();
  if (workspace.empty()) {
    fmt::print("  FAILED: cannot make the workspace tree under /tmp\n");
    targets->push_back({"warden --workspace <= bwrap --bind", "n/a", Verdict::kInvalid});
    return;
  }
  std::vector<Runner> runners = MakeRunners(options, workspace);
  for (const Runner& runner : runners) {
    fmt::print("  {:<19} mounts: {}\n", runner.name, runner.mounts);
  }
  fmt::print("\n  {:<16} {:<19} {:>5} {:>6} {:>10} {:>9}\n", "workload", "runner", "runs", "failed",
             "median ms", "p90 ms");
  MeasureWorkload("/bin/true", {"/bin/true"}, options.runs_true, runners, targets);
  if (::access(kPython, X_OK) == 0) {
    MeasureWorkload("python3 -c pass", {kPython, "-c", "pass"}, options.runs_python, runners,
                    targets);
  }
  std::error_code ignored;
  std::filesystem::remove_all(workspace, ignored);
}

}  // namespace warden::bench
