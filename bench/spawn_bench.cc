// spawn_bench: how fast Warden starts a sandbox and what a live one costs, side by side with
// bubblewrap and a bare posix_spawn, in one run. Prints tables, ratios and the project's targets;
// exits 1 when any run failed, so a broken sandbox never passes for a fast one. See README.md.
#include <getopt.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>
#include <thread>

#include <fmt/format.h>

#include "exec_bench.h"
#include "host_load.h"
#include "library_bench.h"
#include "memory_bench.h"
#include "process.h"
#include "report.h"
#include "workspace_bench.h"

namespace warden::bench {
namespace {

// Above this share of the CPUs taken by other processes, times are flagged as noisy.
constexpr double kNoisyLoad = 0.10;

struct Options {
  CliOptions cli;
  LibraryOptions library;
  int live_sandboxes = 50;
  bool run_cli = true;
  bool run_workspace = true;
  bool run_library = true;
  bool run_memory = true;
};

constexpr char kUsage[] = R"(usage: spawn_bench [options]
  --runs-true N       sequential /bin/true spawns per CLI runner (default 300); each of the
                      concurrent clients then does as many again
  --runs-python N     the same for /usr/bin/python3 -c pass (default 100)
  --library-runs N    Supervisor::Run(/bin/true) calls, sequential and per client (default 300)
  --clients N         concurrent clients for the spawns/s column (default 2)
  --warm N            warm_sandboxes of the second library row (default 4; 0 skips the row)
  --live N            live sandboxes for the memory row (default 50)
  --only LIST         comma-separated sections to run: cli,workspace,library,memory (default
                      all); workspace: the CLI rows over a host workspace, interleaved
  --warden PATH       the warden binary (default: the one built beside this benchmark)
  --bwrap PATH        bubblewrap (default: bwrap on PATH; without one, bwrap rows are skipped)
)";

bool ParseCount(const char* text, int* value, int min = 1) {
  char* end = nullptr;
  int64_t parsed = std::strtoll(text, &end, 10);
  if (end == text || *end != '\0' || parsed < min || parsed > 1'000'000) {
    return false;
  }
  *value = static_cast<int>(parsed);
  return true;
}

bool ParseSections(std::string_view list, Options* options) {
  options->run_cli = options->run_workspace = options->run_library = options->run_memory = false;
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view name = list.substr(0, comma);
    list = comma == std::string_view::npos ? "" : list.substr(comma + 1);
    bool* flag = name == "cli"         ? &options->run_cli
                 : name == "workspace" ? &options->run_workspace
                 : name == "library"   ? &options->run_library
                 : name == "memory"    ? &options->run_memory
                                       : nullptr;
    if (flag == nullptr) {
      return false;
    }
    *flag = true;
  }
  return true;
}

// Returns false (after printing why) when the command line is wrong.
bool ParseOptions(int argc, char** argv, Options* options) {
  static constexpr option kLongOptions[] = {
      {"runs-true", required_argument, nullptr, 't'},
      {"runs-python", required_argument, nullptr, 'p'},
      {"library-runs", required_argument, nullptr, 'l'},
      {"clients", required_argument, nullptr, 'c'},
      {"live", required_argument, nullptr, 'm'},
      {"warm", required_argument, nullptr, 'W'},
      {"only", required_argument, nullptr, 'o'},
      {"warden", required_argument, nullptr, 'w'},
      {"bwrap", required_argument, nullptr, 'b'},
      {"help", no_argument, nullptr, 'h'},
      {nullptr, 0, nullptr, 0},
  };
  options->cli.warden = WARDEN_BINARY;
  options->cli.bwrap = FindOnPath("bwrap");
  int opt;
  // NOLINTNEXTLINE(concurrency-mt-unsafe): parsed once, before any thread starts.
  while ((opt = getopt_long(argc, argv, "", kLongOptions, nullptr)) != -1) {
    bool ok = true;
    switch (opt) {
      case 't':
        ok = ParseCount(optarg, &options->cli.runs_true);
        break;
      case 'p':
        ok = ParseCount(optarg, &options->cli.runs_python);
        break;
      case 'l':
        ok = ParseCount(optarg, &options->library.runs);
        break;
      case 'c':
        ok = ParseCount(optarg, &options->cli.clients);
        options->library.clients = options->cli.clients;
        break;
      case 'W':
        ok = ParseCount(optarg, &options->library.warm_sandboxes, 0);
        break;
      case 'm':
        ok = ParseCount(optarg, &options->live_sandboxes);
        break;
      case 'o':
        ok = ParseSections(optarg, options);
        break;
      case 'w':
        options->cli.warden = optarg;
        break;
      case 'b':
        options->cli.bwrap = optarg;
        break;
      default:
        ok = false;
        break;
    }
    if (!ok || opt == 'h') {
      if (!ok && opt != '?') {
        fmt::print(stderr, "spawn_bench: bad value for an option: {}\n", optarg ? optarg : "");
      }
      fmt::print(stderr, "{}", kUsage);
      return false;
    }
  }
  if (optind != argc) {
    fmt::print(stderr, "spawn_bench: unexpected argument {}\n{}", argv[optind], kUsage);
    return false;
  }
  return true;
}

void PrintHost(const Options& options) {
  utsname host = {};
  uname(&host);
  std::string bwrap_version = "not found";
  if (!options.cli.bwrap.empty()) {
    Result<CapturedRun> run = RunCapturing({options.cli.bwrap, "--version"});
    bwrap_version = run.ok() ? run->output.substr(0, run->output.find('\n')) : "unknown";
  }
  fmt::print("spawn_bench ({} build): Linux {} {}, {} CPUs, uid {}\n", WARDEN_BUILD_TYPE,
             host.release, host.machine, std::thread::hardware_concurrency(), getuid());
  fmt::print("  warden: {}\n  bwrap:  {} ({})\n", options.cli.warden,
             options.cli.bwrap.empty() ? "-" : options.cli.bwrap, bwrap_version);
  fmt::print(
      "  times are wall clock per spawn (steady_clock, spawn to reaped); every run's exit "
      "is checked\n");
}

// Prints how much CPU other processes took while a section ran, and returns that share.
double PrintLoad(OtherLoad& load) {
  double share = load.Share();
  fmt::print("  (other processes used {:.0f}% of the CPUs meanwhile{})\n", share * 100,
             share > kNoisyLoad ? ": these times are NOISY" : "");
  return share;
}

// The whole benchmark; main() adds the boundary that turns an exception into a message.
int Main(int argc, char** argv) {
  // Line-buffered even into a pipe or file: rows appear as they are measured, and no buffered
  // text is pending when the supervisor forks.
  static_cast<void>(std::setvbuf(stdout, nullptr, _IOLBF, 0));
  Options options;
  if (!ParseOptions(argc, argv, &options)) {
    return 2;
  }
  PrintHost(options);
  std::vector<TargetCheck> targets;
  double worst_load = 0;
  if (options.run_cli) {
    OtherLoad load;
    RunCliComparison(options.cli, &targets);
    worst_load = std::max(worst_load, PrintLoad(load));
  }
  if (options.run_workspace) {
    OtherLoad load;
    RunWorkspaceComparison(options.cli, &targets);
    worst_load = std::max(worst_load, PrintLoad(load));
  }
  if (options.run_library) {
    OtherLoad load;
    RunLibraryLatency(options.library, &targets);
    worst_load = std::max(worst_load, PrintLoad(load));
  }
  if (options.run_memory) {
    OtherLoad load;
    MeasureLiveMemory(options.live_sandboxes, &targets);
    worst_load = std::max(worst_load, PrintLoad(load));
  }
  bool valid = PrintTargets(targets);
  if (worst_load > kNoisyLoad) {
    fmt::print(
        "\nNOISY: other processes used up to {:.0f}% of the CPUs during this run; rerun on "
        "an idle machine before trusting the times.\n",
        worst_load * 100);
  }
  return valid ? 0 : 1;
}

}  // namespace
}  // namespace warden::bench

int main(int argc, char** argv) {
  try {
    return warden::bench::Main(argc, argv);
  } catch (const std::exception& e) {
    fmt::print(stderr, "spawn_bench: {}\n", e.what());
    return 1;
  }
}
