#include "hostile_harness.h"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

extern char** environ;

namespace warden::hostile {
namespace {

namespace fs = std::filesystem;

const json::value* Field(const json::object& object, const char* key) {
  auto it = object.find(key);
  return it == object.end() ? nullptr : &it->value();
}

int64_t IntField(const json::object& object, const char* key) {
  const json::value* v = Field(object, key);
  if (v == nullptr)
    return -1;
  if (v->is_int64())
    return v->as_int64();
  if (v->is_uint64())
    return static_cast<int64_t>(v->as_uint64());
  if (v->is_double())
    return static_cast<int64_t>(v->as_double());  // wall_ms, cpu_ms
  return -1;
}

std::string StringField(const json::object& object, const char* key) {
  const json::value* v = Field(object, key);
  if (v == nullptr || !v->is_string())
    return "";
  return std::string(v->as_string());
}

bool BoolField(const json::object& object, const char* key) {
  const json::value* v = Field(object, key);
  return v != nullptr && v->is_bool() && v->as_bool();
}

// Reads a /proc file whole; empty when unreadable (the process is gone).
std::string ReadProcFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

void CollectCgroups(const fs::path& dir, int depth, std::set<std::string>& out) {
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (!it->is_directory(ec) || it->is_symlink(ec))
      continue;
    const std::string path = it->path().string();
    if (path.find("warden") != std::string::npos)
      out.insert(path);
    if (depth > 1)
      CollectCgroups(it->path(), depth - 1, out);
  }
}

std::vector<pid_t>& MutableStartedWardens() {
  static std::vector<pid_t> pids;
  return pids;
}

// A cgroup directory named after one of `pids` ("run-<pid>-<n>").
bool NamedAfter(const std::string& dir, const std::vector<pid_t>& pids) {
  const std::string name = fs::path(dir).filename().string();
  for (pid_t pid : pids) {
    if (name.find("-" + std::to_string(pid) + "-") != std::string::npos)
      return true;
  }
  return false;
}

bool CgroupHasProcesses(const std::string& dir) {
  std::ifstream procs(dir + "/cgroup.procs");
  std::string line;
  return static_cast<bool>(std::getline(procs, line)) && !line.empty();
}

// Runs `id -u` and reads uid_map in a sandbox: the suite's precondition.
SandboxFacts ProbeSandbox() {
  SandboxFacts facts;
  WardenOptions options;
  options.deadline = std::chrono::seconds(30);
  options.args = {"exec", "--json", "--timeout", "10s", "--", "/usr/bin/id", "-u"};
  WardenResult id = RunWarden(options);
  if (id.status() != "exited" || id.exit_code() != 0 || id.out() != "1000\n") {
    facts.why = "`warden exec --json -- /usr/bin/id -u` did not print 1000: " + id.Describe();
    return facts;
  }
  options.args = {"exec", "--json", "--timeout", "10s", "--", "/bin/cat", "/proc/self/uid_map"};
  WardenResult map = RunWarden(options);
  std::istringstream lines(map.out());
  for (std::string line; std::getline(lines, line);) {
    unsigned long inside = 0, outside = 0, count = 0;
    if (std::sscanf(line.c_str(), "%lu %lu %lu", &inside, &outside, &count) != 3)
      continue;
    if (outside == 0) {
      facts.why = "the sandbox's uid_map maps host root: " + map.out();
      return facts;
    }
    if (inside == 1000)
      facts.host_uid = static_cast<uid_t>(outside);
  }
  if (facts.host_uid == 0) {
    facts.why = "no uid_map line for the sandbox user: " + map.Describe();
    return facts;
  }
  facts.isolated = true;
  return facts;
}

}  // namespace

std::string WardenBinary() {
  // HOSTILE_WARDEN runs the suite against another binary with the same CLI (to check that the
  // tests fail against a weaker sandbox).
  const char* other = std::getenv("HOSTILE_WARDEN");
  return other != nullptr && other[0] == '/' ? other : WARDEN_BINARY;
}
std::string HostileDir() {
  return HOSTILE_DIR;
}

std::string WardenResult::status() const {
  return StringField(json, "status");
}
int64_t WardenResult::exit_code() const {
  return IntField(json, "exit_code");
}
int64_t WardenResult::signal() const {
  return IntField(json, "signal");
}
int64_t WardenResult::wall_ms() const {
  return IntField(json, "wall_ms");
}
int64_t WardenResult::cpu_ms() const {
  return IntField(json, "cpu_ms");
}
int64_t WardenResult::peak_memory_bytes() const {
  return IntField(json, "peak_memory_bytes");
}
std::string WardenResult::out() const {
  return StringField(json, "stdout");
}
std::string WardenResult::err() const {
  return StringField(json, "stderr");
}
bool WardenResult::stdout_truncated() const {
  return BoolField(json, "stdout_truncated");
}
bool WardenResult::stderr_truncated() const {
  return BoolField(json, "stderr_truncated");
}
int64_t WardenResult::setup_errno() const {
  return IntField(json, "setup_errno");
}

std::string WardenResult::Describe() const {
  std::ostringstream s;
  s << "warden exit " << warden_exit << (warden_signal != 0 ? " signal " : "")
    << (warden_signal != 0 ? std::to_string(warden_signal) : "")
    << (deadline_hit ? " (killed by the test's deadline)" : "") << "\n";
  constexpr size_t kMax = 6000;
  auto clip = [](const std::string& text) {
    return text.size() > kMax
               ? text.substr(0, kMax) + "...[" + std::to_string(text.size()) + " bytes]"
               : text;
  };
  if (json_ok) {
    json::object brief = json;
    brief["stdout"] = clip(out());
    brief["stderr"] = clip(err());
    s << "result: " << json::serialize(brief) << "\n";
  } else {
    s << "warden stdout (not JSON): " << clip(raw_stdout) << "\n";
  }
  s << "warden stderr: " << clip(raw_stderr);
  return s.str();
}

WardenProcess::WardenProcess(const WardenOptions& options) {
  deadline_ = std::chrono::steady_clock::now() + options.deadline;
  // Everything the child needs is built here: after fork() it only calls async-signal-safe
  // functions.
  std::vector<std::string> args = {WardenBinary()};
  args.insert(args.end(), options.args.begin(), options.args.end());
  std::vector<size_t> pid_slots;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == kWardenPidToken) {
      args[i].assign(24, '\0');
      pid_slots.push_back(i);
    }
  }
  std::vector<char*> argv;
  for (std::string& arg : args)
    argv.push_back(arg.data());
  argv.push_back(nullptr);
  // Warden's environment: the test's, with TMPDIR and options.env first (getenv() takes the
  // first match).
  std::vector<std::string> env_storage = {"TMPDIR=" + WardenTmpDir()};
  env_storage.insert(env_storage.end(), options.env.begin(), options.env.end());
  std::vector<char*> envp;
  for (std::string& e : env_storage)
    envp.push_back(e.data());
  for (char** e = environ; *e != nullptr; ++e)
    envp.push_back(*e);
  envp.push_back(nullptr);

  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) {
    ADD_FAILURE() << "pipe2: " << std::strerror(errno);
    return;
  }
  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  pid_ = ::fork();
  if (pid_ == 0) {
    if (options.controlling_tty >= 0) {
      ::setsid();
      ::ioctl(options.controlling_tty, TIOCSCTTY, 0);
    }
    for (size_t slot : pid_slots) {
      std::snprintf(argv[slot], 24, "%d", static_cast<int>(::getpid()));
    }
    ::dup2(null_fd, 0);
    ::dup2(out[1], 1);
    ::dup2(err[1], 2);
    for (const auto& [from, to] : options.leak_fds) {
      ::dup2(from, to);  // dup2() clears FD_CLOEXEC on `to`: warden inherits it
      if (from == to)
        ::fcntl(to, F_SETFD, 0);
    }
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  ::close(null_fd);
  ::close(out[1]);
  ::close(err[1]);
  stdout_fd_ = out[0];
  stderr_fd_ = err[0];
  if (pid_ < 0) {
    ADD_FAILURE() << "fork: " << std::strerror(errno);
    return;
  }
  MutableStartedWardens().push_back(pid_);
}

WardenProcess::~WardenProcess() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  if (stdout_fd_ >= 0)
    ::close(stdout_fd_);
  if (stderr_fd_ >= 0)
    ::close(stderr_fd_);
}

WardenResult WardenProcess::Wait() {
  WardenResult result;
  if (pid_ <= 0)
    return result;
  std::string* sinks[2] = {&result.raw_stdout, &result.raw_stderr};
  int fds[2] = {stdout_fd_, stderr_fd_};
  char buf[65536];
  while (fds[0] >= 0 || fds[1] >= 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline_ - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      result.deadline_hit = true;
      ::kill(pid_, SIGKILL);
      break;
    }
    pollfd p[2] = {{fds[0], POLLIN, 0}, {fds[1], POLLIN, 0}};
    int n = ::poll(p, 2, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR)
      continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i] < 0 || (p[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0)
        continue;
      ssize_t got = ::read(fds[i], buf, sizeof(buf));
      if (got > 0) {
        sinks[i]->append(buf, static_cast<size_t>(got));
      } else if (got == 0 || errno != EINTR) {
        fds[i] = -1;
      }
    }
  }
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
  if (WIFEXITED(status))
    result.warden_exit = WEXITSTATUS(status);
  if (WIFSIGNALED(status))
    result.warden_signal = WTERMSIG(status);
  boost::system::error_code ec;
  json::value parsed = json::parse(result.raw_stdout, ec);
  if (!ec && parsed.is_object()) {
    result.json = parsed.as_object();
    result.json_ok = true;
  }
  return result;
}

WardenResult RunWarden(const WardenOptions& options) {
  return WardenProcess(options).Wait();
}

const std::string& WardenTmpDir() {
  // Removed when the test process exits (a leak in it has been reported by then).
  struct PrivateDir {
    PrivateDir() {
      path = "/tmp/hostile-warden-tmp-XXXXXX";
      if (::mkdtemp(path.data()) == nullptr)
        std::abort();
      ::chmod(path.c_str(), 0711);
    }
    ~PrivateDir() {
      std::error_code ec;
      fs::remove_all(path, ec);
    }
    std::string path;
  };
  static const PrivateDir dir;
  return dir.path;
}

const std::vector<pid_t>& StartedWardens() {
  return MutableStartedWardens();
}
void ClearStartedWardens() {
  MutableStartedWardens().clear();
}

::testing::AssertionResult HasStatus(const WardenResult& result, const std::string& status) {
  if (!result.json_ok)
    return ::testing::AssertionFailure() << "no JSON: " << result.Describe();
  if (result.status() != status) {
    return ::testing::AssertionFailure()
           << "status is \"" << result.status() << "\", want \"" << status << "\"\n"
           << result.Describe();
  }
  int want_exit = -1;
  if (status == "exited")
    want_exit = static_cast<int>(result.exit_code());
  if (status == "signaled")
    want_exit = 128 + static_cast<int>(result.signal());
  if (status == "timeout")
    want_exit = 124;
  if (status == "setup_error")
    want_exit = 125;
  if (status == "cancelled")
    want_exit = 130;
  if (status == "memory_limit")
    want_exit = 137;
  if (status == "output_limit")
    want_exit = 141;
  if (status == "cpu_limit")
    want_exit = 152;
  if (status == "disk_limit")
    want_exit = 153;
  if (result.warden_exit != want_exit) {
    return ::testing::AssertionFailure() << "warden exited " << result.warden_exit << ", want "
                                         << want_exit << " for status " << status << "\n"
                                         << result.Describe();
  }
  return ::testing::AssertionSuccess();
}

void ExpectContained(const WardenResult& result, const std::vector<std::string>& expected) {
  EXPECT_TRUE(HasStatus(result, "exited"));
  EXPECT_EQ(result.exit_code(), 0) << "the attack was not contained (3: it succeeded; 2: the "
                                      "program saw something unexpected; 99: the guard refused)\n"
                                   << result.Describe();
  const std::string out = result.out();
  EXPECT_EQ(out.find("SUCCEEDED"), std::string::npos) << "an attempt succeeded:\n" << out;
  EXPECT_EQ(out.find("UNEXPECTED"), std::string::npos) << out;
  for (const std::string& line : expected) {
    EXPECT_NE(out.find(line), std::string::npos) << "missing \"" << line << "\" in:\n" << out;
  }
}

HostSnapshot TakeHostSnapshot() {
  HostSnapshot snapshot;
  std::error_code ec;
  for (fs::directory_iterator it("/sys/fs/cgroup", ec), end; !ec && it != end; it.increment(ec)) {
    CollectCgroups(it->path(), 6, snapshot.cgroups);  // runs nest below warden's own cgroup
  }
  for (fs::directory_iterator it(WardenTmpDir(), ec), end; !ec && it != end; it.increment(ec)) {
    snapshot.temp_entries.insert(it->path());
  }
  for (const char* dir : {"/dev/shm", "/run"}) {
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      const std::string name = it->path().filename().string();
      if (name.find("warden") != std::string::npos)
        snapshot.temp_entries.insert(it->path());
    }
  }
  std::istringstream mountinfo(ReadProcFile("/proc/self/mountinfo"));
  for (std::string line; std::getline(mountinfo, line);) {
    std::istringstream fields(line);
    std::string id, parent, devno, root, mount_point;
    fields >> id >> parent >> devno >> root >> mount_point;
    snapshot.mounts.insert(mount_point);
  }
  return snapshot;
}

std::vector<std::string> LeftBehind(const HostSnapshot& before) {
  const HostSnapshot after = TakeHostSnapshot();
  std::vector<std::string> leaks;
  for (const std::string& dir : after.cgroups) {
    if (before.cgroups.count(dir) == 0 && NamedAfter(dir, StartedWardens()) &&
        !CgroupHasProcesses(dir)) {
      leaks.push_back("cgroup " + dir);
    }
  }
  for (const std::string& entry : after.temp_entries) {
    if (before.temp_entries.count(entry) == 0 || entry.rfind(WardenTmpDir() + "/", 0) == 0) {
      leaks.push_back("temp entry " + entry);
    }
  }
  for (const std::string& mount : after.mounts) {
    if (before.mounts.count(mount) == 0)
      leaks.push_back("mount " + mount);
  }
  return leaks;
}

std::vector<pid_t> ProcessesWithMarker(const std::string& marker) {
  std::vector<pid_t> found;
  const pid_t self = ::getpid();
  std::error_code ec;
  for (fs::directory_iterator it("/proc", ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.empty() || name[0] < '0' || name[0] > '9')
      continue;
    const pid_t pid = static_cast<pid_t>(std::stol(name));
    if (pid == self)
      continue;
    const std::string base = "/proc/" + name;
    if (ReadProcFile(base + "/cmdline").find(marker) != std::string::npos ||
        ReadProcFile(base + "/environ").find(marker) != std::string::npos) {
      found.push_back(pid);
    }
  }
  return found;
}

bool WaitForFile(const std::string& path, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int inotify = ::inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (inotify < 0)
    return false;
  ::inotify_add_watch(inotify, fs::path(path).parent_path().c_str(), IN_CREATE | IN_MOVED_TO);
  bool found = ::access(path.c_str(), F_OK) == 0;
  while (!found) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      break;
    pollfd p = {inotify, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) > 0) {
      char buf[4096];
      while (::read(inotify, buf, sizeof(buf)) > 0) {
      }
    }
    found = ::access(path.c_str(), F_OK) == 0;
  }
  ::close(inotify);
  return found;
}

bool WaitForExit(const std::vector<pid_t>& pids, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (pid_t pid : pids) {
    int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    if (pidfd < 0)
      continue;  // already gone
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd p = {pidfd, POLLIN, 0};
    const bool exited = ::poll(&p, 1, static_cast<int>(std::max<int64_t>(left.count(), 0))) > 0;
    ::close(pidfd);
    if (!exited)
      return false;
  }
  return true;
}

HostDir::HostDir(const std::string& prefix) {
  const char* tmpdir = std::getenv("TMPDIR");
  std::string path = std::string(tmpdir != nullptr && tmpdir[0] == '/' ? tmpdir : "/tmp") + "/" +
                     prefix + "XXXXXX";
  if (::mkdtemp(path.data()) == nullptr || ::chmod(path.c_str(), 0777) != 0) {
    ADD_FAILURE() << "mkdtemp(" << path << "): " << std::strerror(errno);
    return;
  }
  path_ = path;
}

HostDir::~HostDir() {
  if (path_.empty())
    return;
  std::error_code ec;
  fs::remove_all(path_, ec);  // does not follow symlinks
}

void WriteFile(const std::string& path, const std::string& data, mode_t mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
  ASSERT_GE(fd, 0) << "open(" << path << "): " << std::strerror(errno);
  ASSERT_EQ(::write(fd, data.data(), data.size()), static_cast<ssize_t>(data.size()));
  ::fchmod(fd, mode);
  ::close(fd);
}

std::string ReadFile(const std::string& path) {
  return ReadProcFile(path);
}

Canary::Canary(uid_t uid) {
  pid_ = ::fork();
  if (pid_ == 0) {
    ::setgroups(0, nullptr);
    if (::setresgid(uid, uid, uid) != 0 || ::setresuid(uid, uid, uid) != 0)
      ::_exit(1);
    ::alarm(60);
    for (;;)
      ::pause();
  }
}

Canary::~Canary() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
}

bool Canary::Alive() {
  int status = 0;
  return pid_ > 0 && ::waitpid(pid_, &status, WNOHANG) == 0;
}

const SandboxFacts& Facts() {
  static const SandboxFacts facts = ProbeSandbox();
  return facts;
}

void HostileTest::SetUp() {
  const SandboxFacts& facts = Facts();
  ASSERT_TRUE(facts.isolated) << "the sandbox does not isolate; no hostile program is run: "
                              << facts.why;
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  marker_ = std::string("hostile-") + info->name() + "-" + std::to_string(::getpid());
  before_ = TakeHostSnapshot();
  ClearStartedWardens();
}

void HostileTest::TearDown() {
  if (marker_.empty())
    return;
  std::vector<pid_t> left = ProcessesWithMarker(marker_);
  if (!left.empty()) {
    std::string pids;
    for (pid_t pid : left) {
      pids += " " + std::to_string(pid) + " (" +
              ReadProcFile("/proc/" + std::to_string(pid) + "/comm") + ")";
      ::kill(pid, SIGKILL);  // never leave a hostile program running on the machine
    }
    ADD_FAILURE() << "processes of the run survived it:" << pids;
  }
  for (const std::string& leak : LeftBehind(before_)) {
    ADD_FAILURE() << "left behind on the host: " << leak;
  }
}

WardenOptions HostileTest::Options(const std::vector<std::string>& flags,
                                   const std::vector<std::string>& argv) const {
  WardenOptions options;
  options.args = {"exec", "--json"};
  options.args.insert(options.args.end(), flags.begin(), flags.end());
  options.args.insert(options.args.end(), {"--ro-bind", HostileDir() + ":" + kSandboxDir, "--env",
                                           "WARDEN_HOSTILE_RUN=" + marker_, "--"});
  options.args.insert(options.args.end(), argv.begin(), argv.end());
  // A secret only warden itself has: no sandboxed process may see it.
  options.env = {"WARDEN_HOSTILE_SECRET=" + marker_};
  return options;
}

WardenResult HostileTest::RunInSandbox(const std::vector<std::string>& flags,
                                       const std::vector<std::string>& argv,
                                       WardenOptions options) {
  WardenOptions full = Options(flags, argv);
  full.env.insert(full.env.end(), options.env.begin(), options.env.end());
  full.leak_fds = options.leak_fds;
  full.controlling_tty = options.controlling_tty;
  WardenResult result = RunWarden(full);
  if (std::getenv("HOSTILE_VERBOSE") != nullptr) {
    std::fprintf(stderr, "%s\n", result.Describe().c_str());
  }
  EXPECT_FALSE(result.deadline_hit) << "warden hung: " << result.Describe();
  EXPECT_EQ(result.warden_signal, 0) << "warden itself crashed: " << result.Describe();
  EXPECT_TRUE(result.json_ok) << "warden --json did not print one JSON object: "
                              << result.Describe();
  return result;
}

WardenResult HostileTest::RunHostile(const std::vector<std::string>& flags,
                                     const std::string& program,
                                     const std::vector<std::string>& args) {
  std::vector<std::string> argv = {std::string(kSandboxDir) + "/" + program};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunInSandbox(flags, argv);
}

}  // namespace warden::hostile
