// `warden run` on a terminal (a pseudo-terminal here): a spinner with the elapsed time on
// standard error while the model thinks, erased before anything else prints; none with NO_COLOR,
// and none without a terminal.
#include <poll.h>
#include <pty.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "agent_run_util.h"

namespace warden::agent_run {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Runs warden with stdin, stdout and stderr on a pseudo-terminal; returns all it wrote there.
std::string RunOnTerminal(const std::vector<std::string>& args,
                          const std::vector<std::string>& env) {
  // Built before fork(): the child makes only async-signal-safe calls.
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
  int terminal = -1;
  pid_t pid = ::forkpty(&terminal, nullptr, nullptr, nullptr);
  if (pid == 0) {
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  if (pid < 0) {
    ADD_FAILURE() << "forkpty: " << std::strerror(errno);
    return "";
  }
  std::string out;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd p{terminal, POLLIN, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) == 0) {
      ADD_FAILURE() << "warden did not end:\n" << out;
      ::kill(pid, SIGKILL);
      break;
    }
    char buf[4096];
    ssize_t got = ::read(terminal, buf, sizeof buf);
    if (got < 0 && errno == EINTR) {
      continue;
    }
    if (got <= 0) {
      break;  // EIO: every end of the terminal's other side is closed
    }
    out.append(buf, static_cast<size_t>(got));
  }
  ::close(terminal);
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << out;
  return out;
}

// The text a terminal shows after `raw`: a carriage return goes back to the line's start, ESC[K
// erases to its end; other escapes (colours) are dropped.
std::string Screen(const std::string& raw) {
  std::string screen;
  std::string line;
  size_t column = 0;
  for (size_t i = 0; i < raw.size(); ++i) {
    char c = raw[i];
    if (c == '\033' && i + 1 < raw.size() && raw[i + 1] == '[') {
      size_t end = raw.find_first_of("ABCDHJKmsu", i + 2);
      if (end == std::string::npos) {
        break;
      }
      if (raw[end] == 'K') {
        line.resize(column);
      }
      i = end;
    } else if (c == '\r') {
      column = 0;
    } else if (c == '\n') {
      screen += line + "\n";
      line.clear();
      column = 0;
    } else {
      if (column < line.size()) {
        line[column] = c;
      } else {
        line.push_back(c);
      }
      ++column;
    }
  }
  return screen + line;
}

std::vector<std::string> HumanArgs(std::vector<std::string> args) {
  args.erase(std::find(args.begin(), args.end(), "--json"));
  return args;
}

std::vector<FakeReply> SlowPlanScript() {
  FakeReply plan = TextReply("1. Say hi");
  plan.stall = std::chrono::milliseconds(1500);  // the model thinks
  return {plan, ToolCallReply("run_shell", R"({"command": "echo hi"})"),
          ToolCallReply("finish", R"({"summary": "said hi"})")};
}

TEST_F(AgentRunTest, ATerminalShowsASpinnerWhileTheModelThinksAndErasesIt) {
  FakeLlm fake(Wire::kOpenAi);
  fake.Script(SlowPlanScript());
  std::string raw = RunOnTerminal(HumanArgs(RunArgs(fake, Wire::kOpenAi, {}, "say hi")), Env());

  EXPECT_THAT(raw, HasSubstr(" thinking… 1s"));  // drawn, with the time it has waited
  EXPECT_THAT(raw, HasSubstr("\r\033[K"));
  std::string screen = Screen(raw);
  EXPECT_THAT(screen, Not(HasSubstr("thinking")));  // and erased
  EXPECT_THAT(screen, HasSubstr("Plan:\n  1. Say hi\n"));
  EXPECT_THAT(screen, HasSubstr("Done: said hi"));
  EXPECT_THAT(raw, HasSubstr("\033[1;32mDone:"));  // colour, on a terminal
}

TEST_F(AgentRunTest, NoColorMeansNoSpinnerAndNoColourOnATerminal) {
  FakeLlm fake(Wire::kOpenAi);
  fake.Script(SlowPlanScript());
  std::string raw =
      RunOnTerminal(HumanArgs(RunArgs(fake, Wire::kOpenAi, {}, "say hi")), Env({"NO_COLOR=1"}));

  EXPECT_THAT(raw, HasSubstr("Done: said hi"));
  EXPECT_THAT(raw, Not(HasSubstr("thinking")));
  EXPECT_THAT(raw, Not(HasSubstr("\033[")));
}

}  // namespace
}  // namespace warden::agent_run
