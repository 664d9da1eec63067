#include "agent/history.h"

#include <gtest/gtest.h>

namespace warden::agent {
namespace {

size_t Bytes(const std::vector<llm::Message>& messages) {
  size_t total = 0;
  for (const llm::Message& m : messages) {
    total += m.content.size();
    for (const llm::ToolCall& call : m.tool_calls) {
      total += call.arguments.size();
    }
  }
  return total;
}

void AddStep(History& history, int i, size_t output_bytes) {
  Turn& turn = history.AddTurn(
      "", {{"id" + std::to_string(i), "run_shell",
            "{\"command\": \"step " + std::to_string(i) + " " + std::string(500, 'x') + "\"}"}});
  turn.AddResult("id" + std::to_string(i), "run_shell",
                 "exit code 0\n" + std::string(output_bytes, 'o'));
}

TEST(HistoryTest, KeepsSystemTaskAndPlanFirst) {
  History history("count lines", 100'000);
  history.SetSystem("system prompt");
  history.SetPlan("1. count", "go");
  AddStep(history, 1, 10);
  std::vector<llm::Message> messages = history.Messages();
  ASSERT_EQ(messages.size(), 6u);
  EXPECT_EQ(messages[0].role, llm::Role::kSystem);
  EXPECT_EQ(messages[1].content, "The task: count lines");
  EXPECT_EQ(messages[2].content, "1. count");
  EXPECT_EQ(messages[3].content, "go");
  EXPECT_EQ(messages[4].tool_calls.size(), 1u);
  EXPECT_EQ(messages[5].role, llm::Role::kTool);
  EXPECT_EQ(messages[5].tool_call_id, "id1");
}

TEST(HistoryTest, RequestSizeStaysBoundedAsStepsGrow) {
  History history("a long task", 20'000);
  history.SetSystem(std::string(2'000, 's'));
  history.SetPlan("1. do it", "go");
  size_t largest = 0;
  for (int i = 1; i <= 200; ++i) {
    AddStep(history, i, 5'000);
    largest = std::max(largest, Bytes(history.Messages()));
  }
  // Within the budget, give or take the latest two turns, which are always whole, and the digest
  // lines.
  EXPECT_LT(largest, 20'000u + 2 * 6'000u + 200 * 200u);
  std::vector<llm::Message> messages = history.Messages();
  EXPECT_GT(history.dropped(), 150u);
  // The digest names the early steps, and the newest step is whole.
  EXPECT_NE(messages[3].content.find("summarised"), std::string::npos);
  EXPECT_NE(messages[3].content.find("step 1 "), std::string::npos);
  EXPECT_EQ(messages.back().content.size(), std::string("exit code 0\n").size() + 5'000);
}

TEST(HistoryTest, ShortenedCallsKeepValidJsonArguments) {
  History history("t", 3'000);
  history.SetSystem("s");
  for (int i = 1; i <= 4; ++i) {
    AddStep(history, i, 2'000);
  }
  std::vector<llm::Message> messages = history.Messages();
  for (const llm::Message& m : messages) {
    for (const llm::ToolCall& call : m.tool_calls) {
      boost::system::error_code ec;
      json::value parsed = json::parse(call.arguments, ec);
      EXPECT_FALSE(ec) << call.arguments;
      EXPECT_TRUE(parsed.is_object());
    }
  }
}

TEST(HistoryTest, TextCallResultsAndNotesGoBackAsOneUserMessage) {
  History history("t", 100'000);
  history.SetSystem("s");
  Turn& turn = history.AddTurn("```bash\nls\n```", {});
  turn.AddResult("", "run_shell", "exit code 0");
  turn.AddNote("Some calls were not run");
  std::vector<llm::Message> messages = history.Messages();
  ASSERT_EQ(messages.back().role, llm::Role::kUser);
  EXPECT_EQ(messages.back().content,
            "Result of run_shell:\nexit code 0\n\nSome calls were not run");
}

TEST(HistoryTest, ShrinkHalvesTheBudget) {
  History history("t", 10'000);
  history.Shrink();
  EXPECT_EQ(history.budget(), 5'000u);
}

}  // namespace
}  // namespace warden::agent
