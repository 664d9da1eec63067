// `warden exec`: run one program or code snippet in a fresh sandbox.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <iostream>
#include <iterator>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "cli/commands.h"
#include "cli/egress_flags.h"
#include "cli/limit_flags.h"
#include "cli/signals.h"
#include "cli/workspace_flags.h"
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "base/config.h"
#include "base/json.h"
#include "base/json_text.h"
#include "base/units.h"
#include "sandbox/result_json.h"
#include "sandbox/sandbox.h"

namespace warden::cli {
namespace {

using sandbox::Outcome;

// Exit codes of `warden exec`, after the conventions of timeout(1) and `docker run`: the program's
// own code, 128+N for signal N, 124 for a timeout, 125 when the sandbox could not be set up; each
// other limit as the signal that conventionally reports it.
int ExitCodeFor(const sandbox::RunResult& r) {
  switch (r.outcome) {
    case Outcome::kExited:
      return r.exit_code;
    case Outcome::kSignaled:
      return 128 + r.signal;
    case Outcome::kTimeout:
      return 124;
    case Outcome::kSetupError:
      return 125;
    case Outcome::kMemoryLimit:
      return 128 + SIGKILL;
    case Outcome::kCpuLimit:
      return 128 + SIGXCPU;
    case Outcome::kOutputLimit:
      return 128 + SIGPIPE;
    case Outcome::kDiskLimit:
      return 128 + SIGXFSZ;
    case Outcome::kCancelled:
      return 128 + SIGINT;
  }
  return 125;
}

void WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n <= 0) {
      if (n < 0 && errno == EINTR) {
        continue;
      }
      return;  // our own stdout is gone: keep running, the result still counts
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
}

std::string ToJson(const sandbox::RunResult& r) {
  return SerializeJson(sandbox::ResultToJson(r));
}

// Passes the program's output through on its own thread: a slow reader of warden's stdout (a
// pager, a full pipe) must not stall the supervisor's monitor, which also enforces the limits.
// What it buffers is bounded by the run's output limit.
class OutputWriter {
 public:
  OutputWriter() = default;
  ~OutputWriter() { Finish(); }
  OutputWriter(const OutputWriter&) = delete;
  OutputWriter& operator=(const OutputWriter&) = delete;

  // Called by the supervisor's monitor, on one thread.
  void Write(int fd, std::string_view data) {
    if (!thread_.joinable()) {
      // Started on the first output: a silent program costs no thread.
      thread_ = std::jthread([this](const std::stop_token& stop) { Loop(stop); });
    }
    {
      std::lock_guard lock(mutex_);
      queue_.emplace_back(fd, std::string(data));
    }
    wake_.notify_one();
  }

  // Writes out what is queued, then stops.
  void Finish() {
    if (thread_.joinable()) {
      {
        // Under the lock: the writer checks for stop and sleeps under it, so the wake-up below
        // cannot fall between the two.
        std::lock_guard lock(mutex_);
        thread_.request_stop();
      }
      wake_.notify_one();
      thread_.join();
    }
  }

 private:
  void Loop(const std::stop_token& stop) {
    std::unique_lock lock(mutex_);
    for (;;) {
      wake_.wait(lock, [&] { return !queue_.empty() || stop.stop_requested(); });
      if (queue_.empty()) {
        return;  // stop requested and everything written
      }
      auto [fd, data] = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      WriteAll(fd, data);
      lock.lock();
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::pair<int, std::string>> queue_;  // guarded by mutex_
  std::jthread thread_;                            // started on the first Write
};

// Options as typed; converted to a Spec once parsing succeeded.
struct ExecOptions {
  std::string memory = "512M";
  std::string timeout = "60s";
  std::string cpu_time = "30s";
  uint32_t pids = 128;
  std::string output_limit = "1M";
  std::string disk_limit = "256M";
  double cpus = 0;
  std::string network = "none";
  EgressFlags egress;
  std::string config;
  std::string workspace;
  std::vector<std::string> env;
  std::vector<std::string> ro_binds;
  bool json = false;
  std::string lang;
  std::string code;
  bool code_given = false;
  bool no_sandbox = false;
  std::vector<std::string> command;
};

Result<sandbox::Spec> ToSpec(const ExecOptions& o) {
  sandbox::Spec spec;
  RETURN_IF_ERROR(SetLimitsFromFlags(
      {o.memory, o.timeout, o.cpu_time, o.output_limit, o.disk_limit}, &spec.limits));
  spec.limits.max_pids = o.pids;
  spec.limits.cpus = o.cpus;
  spec.network = o.network == "host" ? sandbox::NetworkMode::kHost : sandbox::NetworkMode::kNone;
  if (!o.egress.allow.empty() || !o.egress.presets.empty() || !o.egress.deny.empty()) {
    ASSIGN_OR_RETURN(Config config,
                     o.config.empty() ? Config::LoadDefault() : Config::Load(o.config));
    RETURN_IF_ERROR(ApplyEgressFlags(o.egress, config, o.network, &spec.network, &spec.egress));
  }
  if (!o.workspace.empty()) {
    // As `warden run` does: a missing directory is made; an existing one is used as it is.
    ASSIGN_OR_RETURN(spec.workspace,
                     PrepareWorkspace(o.workspace, sandbox::SupervisorOptions{}.root_sandbox_uid));
  }
  for (const std::string& entry : o.env) {
    if (entry.find('=') == std::string::npos || entry[0] == '=') {
      return Error(ErrorCode::kInvalidArgument,
                   fmt::format("--env '{}': expected KEY=VALUE", entry));
    }
    spec.env.push_back(entry);
  }
  ASSIGN_OR_RETURN(spec.ro_binds, ParseRoBinds(o.ro_binds));
  if (!o.lang.empty()) {
    if (!o.command.empty()) {
      return Error(ErrorCode::kInvalidArgument, "give either --lang or a PROGRAM, not both");
    }
    std::string code = o.code;
    if (!o.code_given) {
      if (::isatty(STDIN_FILENO)) {
        return Error(ErrorCode::kInvalidArgument,
                     "--lang without --code reads the code from standard input; pipe it in");
      }
      code.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    }
    if (code.size() > 120 * size_t{1024}) {
      return Error(ErrorCode::kInvalidArgument,
                   "the snippet is over 120K; write it to a file in the workspace and run that");
    }
    if (o.lang == "python") {
      spec.argv = {"/usr/bin/python3", "-c", code};
    } else {
      spec.argv = {o.lang == "bash" ? "/bin/bash" : "/bin/sh", "-c", code};
    }
  } else {
    if (o.command.empty()) {
      return Error(ErrorCode::kInvalidArgument,
                   "nothing to run: give -- PROGRAM [ARGS...] or --lang with --code");
    }
    spec.argv = o.command;
  }
  // A pipe or file on stdin streams into the program, unless it held the snippet itself (then the
  // program reads an empty input); a terminal never crosses into a sandbox.
  bool stdin_was_the_code = !o.lang.empty() && !o.code_given;
  if (!stdin_was_the_code && !::isatty(STDIN_FILENO)) {
    spec.stdin_fd = STDIN_FILENO;
  }
  return spec;
}

}  // namespace

int Exec(int argc, char** argv) {
  CLI::App app(
      "Run a program, or a code snippet, in a fresh sandbox: new user, PID, mount, network, IPC\n"
      "and UTS namespaces, a read-only system, cgroup limits, no capabilities, seccomp.\n"
      "Exit code: the program's; 128+N if killed by signal N; 124 timeout; 125 sandbox setup\n"
      "error; 137 memory limit; 152 CPU limit; 141 output limit; 153 disk limit.",
      "warden exec");
  app.footer(
      "Usage: warden exec [OPTIONS] -- PROGRAM [ARGS...]\n"
      "       warden exec [OPTIONS] --lang python|bash|sh [--code CODE]   (code from stdin without "
      "--code)");
  ExecOptions o;
  app.add_option("--memory", o.memory, "Memory limit (cgroup); OOM ends the run")
      ->capture_default_str();
  app.add_option("--timeout", o.timeout, "Wall time limit")->capture_default_str();
  app.add_option("--cpu-time", o.cpu_time, "CPU time limit, all processes together")
      ->capture_default_str();
  app.add_option("--pids", o.pids, "Processes and threads at once")->capture_default_str();
  app.add_option("--output-limit", o.output_limit, "stdout + stderr bytes; more ends the run")
      ->capture_default_str();
  app.add_option("--disk-limit", o.disk_limit, "Bytes the run may write to /workspace and /tmp")
      ->capture_default_str();
  app.add_option("--cpus", o.cpus, "CPU bandwidth in cores (0: no cap)")->capture_default_str();
  app.add_option("--network", o.network, "none: loopback only; host: the host's network")
      ->check(CLI::IsMember({"none", "host"}))
      ->capture_default_str();
  AddEgressFlags(app, o.egress);
  app.add_option("--config", o.config,
                 "Configuration file, for network.* (default ~/.config/warden/config.toml)");
  app.add_option("--workspace", o.workspace,
                 "Directory mounted read-write at /workspace (default: a fresh one on the run's "
                 "capped tmpfs, gone afterwards)");
  // One value per occurrence: `--env A=1 prog` must not swallow the program's name.
  app.add_option("--env", o.env, "Set KEY=VALUE in the program's environment (repeatable)")
      ->allow_extra_args(false);
  app.add_option("--ro-bind", o.ro_binds, "Make SRC visible read-only at DST (repeatable)")
      ->type_name("SRC[:DST]")
      ->allow_extra_args(false);
  app.add_flag("--json", o.json,
               "Print one JSON object with the result instead of passing output through");
  app.add_option("--lang", o.lang, "Run a snippet in this language")
      ->check(CLI::IsMember({"python", "bash", "sh"}));
  auto* code = app.add_option("--code", o.code, "The snippet (default: read from standard input)");
  app.add_flag("--no-sandbox", o.no_sandbox,
               "DANGEROUS: run without any isolation (rlimits and limits only)");
  // Everything from the first word that is not an option on is the program and its arguments,
  // as with env(1) and sudo(8): `warden exec ls -l` runs `ls -l`.
  app.prefix_command(true);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 125;
  }
  o.code_given = code->count() > 0;
  o.command = app.remaining();
  if (!o.command.empty() && o.command.front() == "--") {
    o.command.erase(o.command.begin());
  } else if (!o.command.empty() && o.command.front().size() > 1 && o.command.front()[0] == '-') {
    fmt::print(stderr,
               "warden exec: unknown option {} (a program whose name starts with '-' goes "
               "after --; see warden exec --help)\n",
               o.command.front());
    return 125;
  }

  auto spec = ToSpec(o);
  if (!spec.ok()) {
    fmt::print(stderr, "warden exec: {}\n", spec.error().message());
    return 125;
  }
  std::optional<OutputWriter> writer;
  if (!o.json) {
    writer.emplace();
    spec->on_output = [&writer](sandbox::Stream stream, std::string_view data) {
      writer->Write(stream == sandbox::Stream::kStdout ? STDOUT_FILENO : STDERR_FILENO, data);
    };
    // A refusal's line ends the run's stderr (the supervisor gives it to on_output then).
  }
  sandbox::SupervisorOptions options;
  options.unsandboxed = o.no_sandbox;
  options.background_cleanup = false;  // one run, then exit
  auto supervisor = sandbox::Supervisor::Create(options);
  if (!supervisor.ok()) {
    fmt::print(stderr, "warden exec: {}\n", supervisor.error().message());
    return 125;
  }
  sandbox::CancelToken cancel;
  CancelOnSignals(&cancel);
  auto result = (*supervisor)->Run(*spec, &cancel);
  CancelOnSignals(nullptr);  // `cancel` ends with this scope
  if (!result.ok()) {
    fmt::print(stderr, "warden exec: {}\n", result.error().message());
    return 125;
  }
  if (writer) {
    writer->Finish();
  }
  if (o.json) {
    std::string text = ToJson(*result);
    text += '\n';
    WriteAll(STDOUT_FILENO, text);
  } else if (result->outcome != Outcome::kExited || result->exec_errno != 0) {
    fmt::print(stderr, "warden: {}\n", result->message);
  }
  if (result->outcome == Outcome::kCancelled && CaughtSignal() != 0) {
    return 128 + CaughtSignal();  // 130 for Ctrl-C, 143 for SIGTERM, as a shell reports them
  }
  return ExitCodeFor(*result);
}

}  // namespace warden::cli
