// `warden run` on a terminal (a pseudo-terminal here): a spinner with the elapsed time on
// standard error while the model thinks, erased before anything else prints; none with NO_COLOR,
// and none without a terminal.
#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "agent_run_util.h"
#include "terminal_util.h"

namespace warden::agent_run {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Runs warden on a pseudo-terminal; returns all it wrote there.
std::string RunOnTerminal(const std::vector<std::string>& args,
                          const std::vector<std::string>& env) {
  testing::Terminal terminal(hostile::WardenBinary(), args, env);
  EXPECT_EQ(terminal.Wait(std::chrono::seconds(60)), 0) << terminal.out();
  return terminal.out();
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
  std::string screen = testing::Screen(raw);
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
