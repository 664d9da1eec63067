#include "agent/prompts.h"

#include <gtest/gtest.h>

#include "agent/tools.h"

namespace warden::agent {
namespace {

using Steps = std::vector<std::string>;

TEST(PromptsTest, PlanStepsFromNumberedAndBulletedLists) {
  EXPECT_EQ(PlanSteps("Here is the plan:\n1. List the files\n2) Sort them by size\n 3. Write "
                      "the CSV\n\nThat's it."),
            (Steps{"List the files", "Sort them by size", "Write the CSV"}));
  EXPECT_EQ(PlanSteps("- find files\n* count lines\n"), (Steps{"find files", "count lines"}));
  EXPECT_EQ(PlanSteps("Just run ls.\r\nThen finish."), (Steps{"Just run ls.", "Then finish."}));
  EXPECT_TRUE(PlanSteps("\n  \n").empty());
}

TEST(PromptsTest, SystemPromptDescribesToolsOnlyWithoutNativeCalls) {
  sandbox::Limits limits;
  std::string native = SystemPrompt(limits, sandbox::NetworkMode::kNone, true, ToolSpecs());
  std::string text = SystemPrompt(limits, sandbox::NetworkMode::kHost, false, ToolSpecs());
  EXPECT_NE(native.find("/workspace"), std::string::npos);
  EXPECT_NE(native.find("no network"), std::string::npos);
  EXPECT_EQ(native.find("<tool_call>"), std::string::npos);
  EXPECT_NE(text.find("<tool_call>"), std::string::npos);
  EXPECT_NE(text.find("run_shell(command: string, timeout_seconds?: integer)"), std::string::npos)
      << text;
  EXPECT_NE(text.find("network is available"), std::string::npos);
}

TEST(PromptsTest, FormatErrorQuotesTheProblemAndShowsAnExample) {
  std::string prompt = FormatErrorPrompt("run_shell is missing \"command\"");
  EXPECT_NE(prompt.find("run_shell is missing \"command\""), std::string::npos);
  EXPECT_NE(prompt.find("{\"name\": \"run_shell\", \"arguments\": {\"command\":"),
            std::string::npos);
}

TEST(PromptsTest, FailureReminderKeepsTheTaskInView) {
  EXPECT_NE(FailureReminder("count the lines").find("\"count the lines\""), std::string::npos);
}

TEST(PromptsTest, HeadAndTailKeepBothEndsAndSayWhatWasLeftOut) {
  std::string text = std::string(1000, 'a') + std::string(1000, 'b') + std::string(1000, 'c');
  std::string cut = HeadAndTail(text, 300);
  EXPECT_TRUE(cut.starts_with(std::string(100, 'a')));
  EXPECT_TRUE(cut.ends_with(std::string(200, 'c')));
  EXPECT_NE(cut.find("[... 2700 bytes left out ...]"), std::string::npos);
  EXPECT_EQ(HeadAndTail("short", 300), "short");
}

TEST(PromptsTest, HeadAndTailNeverCutsACharacterInTwo) {
  const std::string euro = "\xE2\x82\xAC";
  std::string text;
  for (int i = 0; i < 1000; ++i) {
    text += euro;
  }
  for (size_t limit : {299U, 300U, 301U, 302U}) {
    std::string cut = HeadAndTail(text, limit);
    size_t marker = cut.find("\n[... ");
    ASSERT_NE(marker, std::string::npos);
    EXPECT_EQ(marker % 3, 0U) << limit;
    EXPECT_EQ((cut.size() - cut.find(" ...]\n") - 6) % 3, 0U) << limit;
  }
}

}  // namespace
}  // namespace warden::agent
