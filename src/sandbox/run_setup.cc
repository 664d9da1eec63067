#include "sandbox/run_setup.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>

#include <fmt/format.h>

namespace warden::sandbox {
namespace {

constexpr std::string_view kDefaultPath = "/usr/local/bin:/usr/bin:/bin";

bool IsSafeAbsolutePath(std::string_view path) {
  if (path.empty() || path[0] != '/') {
    return false;
  }
  for (size_t start = 1; start <= path.size();) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) {
      end = path.size();
    }
    std::string_view part = path.substr(start, end - start);
    if (part == "..") {
      return false;
    }
    start = end + 1;
  }
  return true;
}

// The environment: defaults, then the caller's entries replacing same-named ones.
std::vector<std::string> BuildEnv(const std::vector<std::string>& extra, NetworkMode network) {
  // Caches and settings go to /tmp whatever HOME a caller sets: under a read-only one matplotlib
  // and fontconfig warn and lose their caches. Plots go to files: there is no display.
  std::vector<std::string> env = {
      fmt::format("PATH={}", kDefaultPath),
      "HOME=/tmp",
      "LANG=C.UTF-8",
      "TMPDIR=/tmp",
      "USER=sandbox",
      "LOGNAME=sandbox",
      "PWD=/workspace",
      "XDG_CACHE_HOME=/tmp/.cache",
      "MPLCONFIGDIR=/tmp/.config/matplotlib",
      "MPLBACKEND=Agg",
  };
  if (network == NetworkMode::kProxy) {
    // Both spellings: curl reads only the lower-case http_proxy, Python and pip read either.
    std::string proxy = fmt::format("http://127.0.0.1:{}", kEgressProxyPort);
    for (std::string_view name : {"HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"}) {
      env.push_back(fmt::format("{}={}", name, proxy));
    }
    env.emplace_back("NO_PROXY=localhost,127.0.0.1,::1");
    env.emplace_back("no_proxy=localhost,127.0.0.1,::1");
  }
  for (const std::string& entry : extra) {
    std::string_view key = std::string_view{entry}.substr(0, entry.find('='));
    auto same = std::find_if(env.begin(), env.end(), [&](const std::string& e) {
      return e.size() > key.size() && e.compare(0, key.size(), key) == 0 && e[key.size()] == '=';
    });
    if (same != env.end()) {
      *same = entry;
    } else {
      env.push_back(entry);
    }
  }
  return env;
}

std::vector<std::string> ExecPaths(const std::string& program,
                                   const std::vector<std::string>& env) {
  if (program.find('/') != std::string::npos) {
    return {program};
  }
  std::string path(kDefaultPath);
  for (const std::string& entry : env) {
    if (entry.rfind("PATH=", 0) == 0) {
      path = entry.substr(5);
    }
  }
  std::vector<std::string> paths;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = std::min(path.find(':', start), path.size());
    std::string dir = path.substr(start, end - start);
    paths.push_back((dir.empty() ? "." : dir) + "/" + program);
    start = end + 1;
  }
  return paths;
}

std::vector<const char*> Pointers(const std::vector<std::string>& strings) {
  std::vector<const char*> p;
  p.reserve(strings.size() + 1);
  for (const std::string& s : strings) {
    p.push_back(s.c_str());
  }
  p.push_back(nullptr);
  return p;
}

}  // namespace

Result<Pipe> MakePipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    return ErrnoError("pipe2");
  }
  return Pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

CommandLine::CommandLine(const Spec& spec)
    : env(BuildEnv(spec.env, spec.network)),
      exec_paths(ExecPaths(spec.argv[0], env)),
      argv_ptrs(Pointers(spec.argv)),
      env_ptrs(Pointers(env)),
      exec_ptrs(Pointers(exec_paths)) {}

std::vector<ChildPlan::Rlimit> MakeRlimits(const Limits& limits) {
  std::vector<ChildPlan::Rlimit> rlimits = {{RLIMIT_CORE, {0, 0}}};
  if (limits.disk_bytes > 0) {
    rlimits.push_back({RLIMIT_FSIZE, {limits.disk_bytes, limits.disk_bytes}});
  }
  if (limits.open_files > 0) {
    rlimits.push_back({RLIMIT_NOFILE, {limits.open_files, limits.open_files}});
  }
  if (limits.cpu_time.count() > 0) {
    // Per process, a backstop to the cgroup's total: SIGXCPU at the limit, SIGKILL a second later.
    auto seconds =
        static_cast<rlim_t>(std::ceil(static_cast<double>(limits.cpu_time.count()) / 1000));
    rlimits.push_back({RLIMIT_CPU, {seconds, seconds + 1}});
  }
  return rlimits;
}

// `feeds_stdin`: the supervisor will write the program's input (else the program reads EOF).
Result<RunPipes> MakePipes(bool feeds_stdin) {
  RunPipes pipes;
  ASSIGN_OR_RETURN(pipes.sync, MakePipe());
  ASSIGN_OR_RETURN(pipes.report, MakePipe());
  ASSIGN_OR_RETURN(pipes.out, MakePipe());
  ASSIGN_OR_RETURN(pipes.err, MakePipe());
  ASSIGN_OR_RETURN(pipes.in, MakePipe());
  pipes.child_stdin = pipes.in->read.get();
  if (feeds_stdin) {
    ::fcntl(pipes.in->write.get(), F_SETFL, O_NONBLOCK);
  } else {
    pipes.in->write.reset();  // the program reads EOF at once
  }
  ::fcntl(pipes.out.read.get(), F_SETFL, O_NONBLOCK);
  ::fcntl(pipes.err.read.get(), F_SETFL, O_NONBLOCK);
  return pipes;
}

bool FeedsStdin(const Spec& spec) {
  return !spec.stdin_data.empty() || spec.stdin_fd >= 0;
}

// The descriptors the child keeps (its ends of the pipes), sorted.
std::vector<int> ChildFds(const RunPipes& pipes) {
  std::vector<int> keep = {pipes.sync.read.get(), pipes.report.write.get(), pipes.child_stdin,
                           pipes.out.write.get(), pipes.err.write.get()};
  std::sort(keep.begin(), keep.end());
  return keep;
}

Status ValidateSpec(const Spec& spec, bool isolated) {
  if (spec.argv.empty() || spec.argv[0].empty()) {
    return Error(ErrorCode::kInvalidArgument, "no program to run");
  }
  if (spec.network == NetworkMode::kProxy && !isolated) {
    return Error(ErrorCode::kInvalidArgument,
                 "an allow-list of hosts needs the sandbox's own network namespace: without the "
                 "sandbox the program has the host's whole network; drop --no-sandbox");
  }
  if (!spec.workspace.empty() && !IsSafeAbsolutePath(spec.workspace)) {
    return Error(
        ErrorCode::kInvalidArgument,
        fmt::format("workspace '{}' must be an absolute path without '..'", spec.workspace));
  }
  for (const BindMount& bind : spec.ro_binds) {
    // Targets go on the sandbox's own root, never into a directory the program (or the host)
    // can fill with symlinks before init creates the mount point.
    bool reserved = false;
    for (std::string_view dir :
         {"/workspace", "/tmp", "/proc", "/dev", "/.oldroot", "/.scratch", "/.stage", "/.lower"}) {
      reserved |= bind.target == dir ||
                  (bind.target.size() > dir.size() &&
                   bind.target.compare(0, dir.size(), dir) == 0 && bind.target[dir.size()] == '/');
    }
    if (reserved) {
      return Error(ErrorCode::kInvalidArgument,
                   fmt::format("--ro-bind target {} is inside /workspace, /tmp, /proc or /dev; "
                               "choose another path, e.g. /opt/data",
                               bind.target));
    }
    if (!IsSafeAbsolutePath(bind.source) || !IsSafeAbsolutePath(bind.target) ||
        bind.target == "/") {
      return Error(ErrorCode::kInvalidArgument,
                   fmt::format("--ro-bind {}:{}: both paths must be absolute, without '..', and "
                               "the target must not be /",
                               bind.source, bind.target));
    }
  }
  return OkStatus();
}

RunResult SetupErrorResult(std::string step, int err) {
  RunResult result;
  result.outcome = Outcome::kSetupError;
  result.setup_step = std::move(step);
  result.setup_errno = err;
  result.message =
      fmt::format("sandbox setup failed at '{}': {}", result.setup_step, ErrnoDescription(err));
  return result;
}

}  // namespace warden::sandbox
