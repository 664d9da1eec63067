// Drafts never run, end to end: a model that writes a tool call inside its thinking (in any of the
// thinking forms of docs/model-formats.md, or in the wire's separate reasoning field) and then the
// real call after it gets exactly the real call run, over every wire; and a model whose only call
// was a draft is told where the call belongs instead of having it run.
#include <string>
#include <tuple>

#include <gtest/gtest.h>

#include "agent_run_util.h"

namespace warden::agent_run {
namespace {

constexpr char kDraftCall[] =
    "<tool_call>{\"name\": \"run_shell\", \"arguments\": {\"command\": \"echo DRAFT > "
    "draft_ran.txt\"}}</tool_call>";
constexpr char kRealCall[] =
    "<tool_call>{\"name\": \"run_shell\", \"arguments\": {\"command\": \"echo REAL > "
    "real.txt\"}}</tool_call>";
constexpr char kTextFinish[] =
    "<tool_call>{\"name\": \"finish\", \"arguments\": {\"summary\": \"done\"}}</tool_call>";

struct Thinking {
  const char* name;
  const char* open;
  const char* close;
};

const Thinking kThinking[] = {
    {"think", "<think>", "</think>"},
    {"thinking", "<thinking>", "</thinking>"},
    {"seed", "<seed:think>", "</seed:think>"},
    {"magistral", "[THINK]", "[/THINK]"},
    {"gemma4", "<|channel>thought\n", "<channel|>"},
    {"apertus", "<|inner_prefix|>", "<|inner_suffix|>"},
    {"kimi_vl", "◁think▷", "◁/think▷"},
    {"command_a", "<|START_THINKING|>", "<|END_THINKING|>"},
    {"harmony", "<|channel|>analysis<|message|>",
     "<|end|><|start|>assistant<|channel|>final"
     "<|message|>"},
};

void PrintTo(const Thinking& thinking, std::ostream* os) {
  *os << thinking.name;
}

using ThinkingOnWire = std::tuple<Thinking, Wire>;

class AgentRunDraftTest : public AgentRunTest,
                          public ::testing::WithParamInterface<ThinkingOnWire> {
 protected:
  bool DraftRan() const { return WorkspaceFile("draft_ran.txt").has_value(); }
};

TEST_P(AgentRunDraftTest, OnlyTheCallAfterTheThinkingRuns) {
  const auto& [thinking, wire] = GetParam();
  FakeLlm fake(wire);
  std::string reply = std::string(thinking.open) + "Maybe this: " + kDraftCall +
                      " No, the file should say REAL." + thinking.close + "\n" + kRealCall;
  fake.Script({TextReply(reply), TextReply(kTextFinish)});

  Finished r = Run(fake, wire, {"--no-plan"}, "write real.txt");

  ASSERT_EQ(r.exit_code, 0) << reply << "\n" << r.Describe();
  EXPECT_EQ(WorkspaceFile("real.txt"), "REAL\n");
  EXPECT_FALSE(DraftRan()) << "the draft inside " << thinking.open << " ran";
  EXPECT_EQ(OfType(r, "action").size(), 1u) << r.Describe();
}

TEST_P(AgentRunDraftTest, AReplyWhoseOnlyCallIsADraftRunsNothingAndSaysWhere) {
  const auto& [thinking, wire] = GetParam();
  FakeLlm fake(wire);
  std::string draft_only = std::string(thinking.open) + kDraftCall + thinking.close + "Done.";
  fake.Script({TextReply(draft_only), TextReply(kRealCall), TextReply(kTextFinish)});

  Finished r = Run(fake, wire, {"--no-plan"}, "write real.txt");

  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_FALSE(DraftRan());
  EXPECT_EQ(WorkspaceFile("real.txt"), "REAL\n");
  std::vector<json::value> bodies = fake.ChatBodies();
  ASSERT_EQ(bodies.size(), 3u) << r.Describe();
  EXPECT_TRUE(Says(bodies[1],
                   {"was inside a thinking block", "write the call after the thinking block ends"}))
      << json::serialize(bodies[1]);
}

INSTANTIATE_TEST_SUITE_P(Thinking, AgentRunDraftTest,
                         ::testing::Combine(::testing::ValuesIn(kThinking),
                                            ::testing::Values(Wire::kOpenAi, Wire::kOllama,
                                                              Wire::kAnthropic)),
                         [](const ::testing::TestParamInfo<ThinkingOnWire>& param) {
                           return std::string(std::get<0>(param.param).name) + "_" +
                                  WireName(std::get<1>(param.param));
                         });

// Reasoning that the server separates from the reply (OpenAI `reasoning_content`, Ollama
// `thinking`, Anthropic thinking blocks) is never read for calls.
class AgentRunReasoningTest : public AgentRunTest, public ::testing::WithParamInterface<Wire> {};

TEST_P(AgentRunReasoningTest, CallsInTheReasoningFieldNeverRun) {
  Wire wire = GetParam();
  FakeLlm fake(wire);
  FakeReply reply = TextReply(kRealCall);
  reply.reasoning = std::string("First I might try ") + kDraftCall;
  fake.Script({reply, TextReply(kTextFinish)});

  Finished r = Run(fake, wire, {"--no-plan"}, "write real.txt");

  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_EQ(WorkspaceFile("real.txt"), "REAL\n");
  EXPECT_FALSE(WorkspaceFile("draft_ran.txt").has_value());
}

INSTANTIATE_TEST_SUITE_P(Wires, AgentRunReasoningTest,
                         ::testing::Values(Wire::kOpenAi, Wire::kOllama, Wire::kAnthropic),
                         [](const ::testing::TestParamInfo<Wire>& param) {
                           return WireName(param.param);
                         });

}  // namespace
}  // namespace warden::agent_run
