// Helpers of the `warden run` end-to-end tests (agent_run_test.cc, agent_run_formats_test.cc):
// the warden binary started with a clean environment and its output read as it comes, a fixture
// with a private HOME, configuration and workspace, and readers for the JSON-line events and for
// the requests FakeLlm recorded. Header-only: the test target lists its sources alone.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "base/json.h"
#include "fake_llm.h"
#include "hostile_harness.h"

namespace warden::agent_run {

using testing::FakeLlm;
using testing::FakeReply;
using testing::TextReply;
using testing::ToolCallReply;
using testing::Wire;

inline std::string WireName(Wire wire) {
  switch (wire) {
    case Wire::kOpenAi:
      return "OpenAi";
    case Wire::kOllama:
      return "Ollama";
    case Wire::kAnthropic:
      return "Anthropic";
  }
  return "Unknown";
}

// How a warden process ended, with everything it printed.
struct Finished {
  int exit_code = -1;  // -1 when a signal ended it
  int signal = 0;
  bool deadline_hit = false;
  std::string out;
  std::string err;
  std::vector<json::object> events;  // stdout's JSON lines (--json); empty otherwise

  std::string Describe() const {
    return fmt::format("warden exit {} signal {}{}\n--- stdout ---\n{}\n--- stderr ---\n{}",
                       exit_code, signal, deadline_hit ? " (killed at the test's deadline)" : "",
                       out.substr(0, 20000), err.substr(0, 8000));
  }
};

// Every line of `out` that is a JSON object; a line that is not one fails the test.
inline std::vector<json::object> ParseEvents(const std::string& out) {
  std::vector<json::object> events;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    boost::system::error_code ec;
    json::value value = json::parse(line, ec);
    if (ec || !value.is_object()) {
      ADD_FAILURE() << "not a JSON event: " << line;
      continue;
    }
    events.push_back(std::move(value.as_object()));
  }
  return events;
}

// The warden binary with exactly `env` (plus PATH) as its environment, stdin /dev/null, in a
// session of its own (so it has no controlling terminal), stdout and stderr piped to the test.
// The destructor kills and reaps it if Wait() was not called.
class RunningWarden {
 public:
  RunningWarden(const std::vector<std::string>& args, const std::vector<std::string>& env) {
    // Everything the child uses is built before fork(): afterwards it makes only
    // async-signal-safe calls (FakeLlm's threads may hold locks).
    std::vector<std::string> argv_storage = {hostile::WardenBinary()};
    argv_storage.insert(argv_storage.end(), args.begin(), args.end());
    std::vector<std::string> env_storage = {"PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"};
    env_storage.insert(env_storage.end(), env.begin(), env.end());
    std::vector<char*> argv;
    for (std::string& arg : argv_storage) {
      argv.push_back(arg.data());
    }
    argv.push_back(nullptr);
    std::vector<char*> envp;
    for (std::string& entry : env_storage) {
      envp.push_back(entry.data());
    }
    envp.push_back(nullptr);
    int out[2];
    int err[2];
    if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) {
      ADD_FAILURE() << "pipe2: " << std::strerror(errno);
      return;
    }
    int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::setsid();
      ::dup2(null_fd, 0);
      ::dup2(out[1], 1);
      ::dup2(err[1], 2);
      ::execve(argv[0], argv.data(), envp.data());
      ::_exit(127);
    }
    ::close(null_fd);
    ::close(out[1]);
    ::close(err[1]);
    fds_[0] = out[0];
    fds_[1] = err[0];
    if (pid_ < 0) {
      ADD_FAILURE() << "fork: " << std::strerror(errno);
    }
  }

  ~RunningWarden() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    for (int fd : fds_) {
      if (fd >= 0) {
        ::close(fd);
      }
    }
  }
  RunningWarden(const RunningWarden&) = delete;
  RunningWarden& operator=(const RunningWarden&) = delete;

  pid_t pid() const { return pid_; }

  // Reads until stdout holds `needle`; false when it does not within `timeout`.
  bool WaitForStdout(std::string_view needle, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (out_.find(needle) == std::string::npos) {
      if (std::chrono::steady_clock::now() >= deadline || !Pump(deadline)) {
        return out_.find(needle) != std::string::npos;
      }
    }
    return true;
  }

  // Reads until warden closes its output, then reaps it. Killed at `timeout`.
  Finished Wait(std::chrono::milliseconds timeout) {
    Finished finished;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (Pump(deadline)) {
      if (std::chrono::steady_clock::now() >= deadline) {
        finished.deadline_hit = true;
        ::kill(pid_, SIGKILL);
        break;
      }
    }
    int status = 0;
    while (pid_ > 0 && ::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    finished.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    finished.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    finished.out = out_;
    finished.err = err_;
    if (out_.starts_with("{")) {
      finished.events = ParseEvents(out_);
    }
    return finished;
  }

 private:
  // Reads what arrives before `deadline`; false once both pipes are closed.
  bool Pump(std::chrono::steady_clock::time_point deadline) {
    if (fds_[0] < 0 && fds_[1] < 0) {
      return false;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd p[2] = {{fds_[0], POLLIN, 0}, {fds_[1], POLLIN, 0}};
    int n = ::poll(p, 2, static_cast<int>(std::max<int64_t>(left.count(), 0)));
    if (n < 0 && errno != EINTR) {
      return false;
    }
    std::string* sinks[2] = {&out_, &err_};
    for (int i = 0; i < 2; ++i) {
      if (fds_[i] < 0 || (p[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) {
        continue;
      }
      char buf[65536];
      ssize_t got = ::read(fds_[i], buf, sizeof(buf));
      if (got > 0) {
        sinks[i]->append(buf, static_cast<size_t>(got));
      } else if (got == 0 || errno != EINTR) {
        ::close(fds_[i]);
        fds_[i] = -1;
      }
    }
    return fds_[0] >= 0 || fds_[1] >= 0;
  }

  pid_t pid_ = -1;
  int fds_[2] = {-1, -1};
  std::string out_;
  std::string err_;
};

inline Finished RunWarden(const std::vector<std::string>& args, const std::vector<std::string>& env,
                          std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
  return RunningWarden(args, env).Wait(timeout);
}

// --- Events ---------------------------------------------------------------------------------

inline std::vector<json::object> OfType(const Finished& run, std::string_view type) {
  std::vector<json::object> out;
  for (const json::object& event : run.events) {
    const json::value* t = event.if_contains("type");
    if (t != nullptr && t->is_string() && t->get_string() == type) {
      out.push_back(event);
    }
  }
  return out;
}

inline std::string Str(const json::object& object, std::string_view key) {
  const json::value* value = object.if_contains(key);
  return value != nullptr && value->is_string() ? std::string(value->get_string()) : "";
}

inline int64_t Int(const json::object& object, std::string_view key) {
  const json::value* value = object.if_contains(key);
  return value != nullptr && value->is_number() ? value->to_number<int64_t>() : -1;
}

// The one final event, which must be the last; an empty object (and a failure) otherwise.
inline json::object Final(const Finished& run) {
  std::vector<json::object> finals = OfType(run, "final");
  if (finals.size() != 1 || Str(run.events.back(), "type") != "final") {
    ADD_FAILURE() << "want exactly one final event, at the end:\n" << run.Describe();
    return {};
  }
  return finals[0];
}

// What the actions of `step` printed on stdout, the output events joined.
inline std::string StdoutOf(const Finished& run, int64_t step) {
  std::string text;
  for (const json::object& event : OfType(run, "output")) {
    if (Int(event, "step") == step && Str(event, "stream") == "stdout") {
      text += Str(event, "text");
    }
  }
  return text;
}

// --- Requests -------------------------------------------------------------------------------

inline void CollectStrings(const json::value& value, std::vector<std::string>& out) {
  if (value.is_string()) {
    out.emplace_back(value.get_string());
  } else if (value.is_array()) {
    for (const json::value& item : value.get_array()) {
      CollectStrings(item, out);
    }
  } else if (value.is_object()) {
    for (const auto& [key, item] : value.get_object()) {
      CollectStrings(item, out);
    }
  }
}

// Every text the model reads in a chat request, on any wire: the system prompt (Anthropic's
// top-level "system" too) and each message's content, tool results and calls included.
inline std::vector<std::string> Texts(const json::value& body) {
  std::vector<std::string> out;
  if (!body.is_object()) {
    return out;
  }
  for (const char* key : {"system", "messages"}) {
    if (const json::value* value = body.get_object().if_contains(key)) {
      CollectStrings(*value, out);
    }
  }
  return out;
}

// One text of the request holds every one of `needles`.
inline bool Says(const json::value& body, const std::vector<std::string>& needles) {
  for (const std::string& text : Texts(body)) {
    bool all = true;
    for (const std::string& needle : needles) {
      all = all && text.find(needle) != std::string::npos;
    }
    if (all) {
      return true;
    }
  }
  return false;
}

// Host processes whose command line is exactly `argv`.
inline std::vector<pid_t> ProcessesWithArgv(const std::vector<std::string>& argv) {
  std::string wanted;
  for (const std::string& arg : argv) {
    wanted += arg;
    wanted += '\0';
  }
  std::vector<pid_t> found;
  std::error_code ec;
  for (std::filesystem::directory_iterator it("/proc", ec), end; !ec && it != end;
       it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) {
      continue;
    }
    if (hostile::ReadFile(it->path().string() + "/cmdline") == wanted) {
      found.push_back(static_cast<pid_t>(std::stol(name)));
    }
  }
  return found;
}

// --- Fixture --------------------------------------------------------------------------------

// A private HOME and configuration (short retries, so a failing request ends fast), and a
// workspace path that does not exist yet: warden creates it and gives it to the sandbox user.
class AgentRunTest : public ::testing::Test {
 protected:
  AgentRunTest() : dir_("agent-run-") {
    std::filesystem::create_directory(home());
    hostile::WriteFile(config(), "[llm]\nretry_base_ms = 20\nmax_retries = 1\n");
  }

  std::string home() const { return dir_ / "home"; }
  std::string config() const { return dir_ / "config.toml"; }
  std::string workspace() const { return dir_ / "workspace"; }

  // The content of a workspace file; nullopt when it is missing.
  std::optional<std::string> WorkspaceFile(const std::string& name) const {
    std::string path = workspace() + "/" + name;
    if (!std::filesystem::is_regular_file(path)) {
      return std::nullopt;
    }
    return hostile::ReadFile(path);
  }

  std::vector<std::string> Env(std::vector<std::string> extra = {}) const {
    extra.push_back("HOME=" + home());
    extra.push_back("WARDEN_CONFIG=" + config());
    return extra;
  }

  // `warden run` against `fake`, in the workspace, with --json and --approve never unless
  // `flags` says otherwise.
  std::vector<std::string> RunArgs(const FakeLlm& fake, Wire wire,
                                   const std::vector<std::string>& flags,
                                   const std::string& task) const {
    const char* provider = wire == Wire::kOpenAi   ? "openai-compatible"
                           : wire == Wire::kOllama ? "ollama"
                                                   : "anthropic";
    std::vector<std::string> args = {"run",          "--provider", provider,     "--base-url",
                                     fake.BaseUrl(), "--model",    "fake-model", "--workspace",
                                     workspace(),    "--json"};
    if (std::find(flags.begin(), flags.end(), "--approve") == flags.end()) {
      args.insert(args.end(), {"--approve", "never"});
    }
    args.insert(args.end(), flags.begin(), flags.end());
    args.push_back(task);
    return args;
  }

  Finished Run(const FakeLlm& fake, Wire wire, const std::vector<std::string>& flags,
               const std::string& task, std::vector<std::string> env = {}) const {
    if (wire == Wire::kAnthropic) {
      env.push_back("ANTHROPIC_API_KEY=test-key");
    }
    return RunWarden(RunArgs(fake, wire, flags, task), Env(std::move(env)));
  }

 private:
  hostile::HostDir dir_;
};

}  // namespace warden::agent_run
