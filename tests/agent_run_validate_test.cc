// `warden run --validate`: the model reviews each command before it runs. APPROVE runs it, REJECT
// stops it (the model is told why), and an answer that is neither is said to be unclear, with
// what was done about it.
#include <filesystem>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "agent_run_util.h"

namespace warden::agent_run {
namespace {

using ::testing::HasSubstr;

class AgentRunValidateTest : public AgentRunTest {};

TEST_F(AgentRunValidateTest, EachReviewVerdictIsActedOnAndAnUnclearOneIsSaid) {
  FakeLlm fake(Wire::kOpenAi);
  fake.Script({ToolCallReply("run_shell", R"({"command": "echo one > approved.txt"})"),
               TextReply("APPROVE"),
               ToolCallReply("run_shell", R"({"command": "echo two > rejected.txt"})"),
               TextReply("REJECT: it writes outside the plan"),
               ToolCallReply("run_shell", R"({"command": "echo three > unclear.txt"})"),
               TextReply("Looks fine to me."),
               ToolCallReply("finish", R"({"summary": "two of three written"})")});

  Finished r = Run(fake, Wire::kOpenAi, {"--no-plan", "--validate"}, "write three files");

  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_TRUE(std::filesystem::exists(workspace() + "/approved.txt"));
  EXPECT_FALSE(std::filesystem::exists(workspace() + "/rejected.txt"));
  EXPECT_TRUE(std::filesystem::exists(workspace() + "/unclear.txt"));
  std::vector<json::object> verdicts = OfType(r, "approval");
  ASSERT_EQ(verdicts.size(), 2u) << r.Describe();
  EXPECT_EQ(Str(verdicts[0], "decision"), "rejected");
  EXPECT_EQ(Str(verdicts[0], "reason"), "it writes outside the plan");
  EXPECT_EQ(Str(verdicts[1], "decision"), "unclear");
  EXPECT_THAT(Str(verdicts[1], "reason"),
              HasSubstr("neither APPROVE nor REJECT (\"Looks fine to me.\")"));
  EXPECT_THAT(Str(verdicts[1], "reason"), HasSubstr("ran on the policy's verdict alone"));
  // The model learns of the rejection and its reason.
  std::vector<json::value> bodies = fake.ChatBodies();
  ASSERT_EQ(bodies.size(), 7u);
  EXPECT_TRUE(Says(bodies[4], {"the review rejected this action", "it writes outside the plan"}))
      << json::serialize(bodies[4]);
}

}  // namespace
}  // namespace warden::agent_run
