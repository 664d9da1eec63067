// `warden run` keeps each run's transcript (its event lines, as --json prints them) and record,
// and `warden runs` lists the recent runs, newest first.
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "agent_run_util.h"

namespace warden::agent_run {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

std::vector<FakeReply> SayScript(const std::string& word) {
  return {TextReply("1. Say " + word),
          ToolCallReply("run_shell", R"({"command": "echo )" + word + R"("})"),
          ToolCallReply("finish", R"({"summary": "said )" + word + R"("})")};
}

TEST_F(AgentRunTest, EachRunKeepsItsTranscriptAndRunsListsThemNewestFirst) {
  FakeLlm fake(Wire::kOpenAi);
  fake.Script(SayScript("one"));
  Finished first = Run(fake, Wire::kOpenAi, {}, "first task");
  ASSERT_EQ(first.exit_code, 0) << first.Describe();
  fake.Script(SayScript("two"));
  Finished second = Run(fake, Wire::kOpenAi, {}, "second task");
  ASSERT_EQ(second.exit_code, 0) << second.Describe();

  Finished listed = RunWarden({"runs", "--json"}, Env());
  ASSERT_EQ(listed.exit_code, 0) << listed.Describe();
  json::array runs = json::parse(listed.out).as_object().at("runs").as_array();
  ASSERT_EQ(runs.size(), 2U) << listed.out;
  const json::object& newest = runs[0].as_object();
  const json::object& oldest = runs[1].as_object();
  EXPECT_EQ(Str(newest, "task"), "second task");
  EXPECT_EQ(Str(oldest, "task"), "first task");
  EXPECT_EQ(Str(oldest, "state"), "succeeded");
  EXPECT_EQ(Str(oldest, "summary"), "said one");
  EXPECT_EQ(Str(oldest, "workspace"), workspace());
  // The transcript is the run's event lines, exactly as --json printed them.
  std::string transcript = Str(oldest, "transcript");
  ASSERT_THAT(transcript, StartsWith(home() + "/.local/state/warden/runs/"));
  EXPECT_EQ(hostile::ReadFile(transcript), first.out);
  EXPECT_EQ(ParseEvents(hostile::ReadFile(Str(newest, "transcript"))).size(), second.events.size());

  Finished shown = RunWarden({"runs"}, Env());
  ASSERT_EQ(shown.exit_code, 0) << shown.Describe();
  EXPECT_THAT(shown.out, StartsWith(Str(newest, "id") + "  succeeded  "));
  EXPECT_THAT(shown.out, HasSubstr("  second task  in " + workspace() + "\n" + Str(oldest, "id") +
                                   "  succeeded  "));
  EXPECT_THAT(shown.out, HasSubstr("  first task  in " + workspace() + "\n"));
}

}  // namespace
}  // namespace warden::agent_run
