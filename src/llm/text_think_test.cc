// Drafts never run: for each thinking form the supported families print, a call inside a closed
// block is not run and the real call after it is. The exception: Kimi-K2-Thinking and DeepSeek
// V3.1 put complete tool-call sections inside a block the model never closes, and those run.
#include <string>

#include <gtest/gtest.h>

#include "llm/text_calls.h"
#include "llm/text_test_tools.h"

namespace warden::llm {
namespace {

TextCallParse Parse(std::string_view text) {
  return ParseTextCalls(text, AgentToolsForTest());
}

struct ThinkCase {
  const char* family;
  const char* open;
  const char* close;
};

constexpr ThinkCase kThinkForms[] = {
    {"qwen3-deepseek-r1", "<think>", "</think>"},
    {"claude-style", "<thinking>", "</thinking>"},
    {"seed-oss", "<seed:think>", "</seed:think>"},
    {"magistral", "[THINK]", "[/THINK]"},
    {"gemma4", "<|channel>thought\n", "<channel|>"},
    {"apertus", "<|inner_prefix|>", "<|inner_suffix|>"},
    {"kimi-vl", "◁think▷", "◁/think▷"},
    {"command-a", "<|START_THINKING|>", "<|END_THINKING|>"},
    {"gpt-oss", "<|channel|>analysis<|message|>", "<|end|>"},
};

constexpr const char* kDraft =
    "<tool_call>{\"name\": \"run_shell\", \"arguments\": {\"command\": \"rm -rf /work\"}}"
    "</tool_call>";
constexpr const char* kReal =
    "<tool_call>{\"name\": \"run_shell\", \"arguments\": {\"command\": \"ls\"}}</tool_call>";

TEST(TextThinkTest, ADraftInsideClosedThinkingNeverRunsAndTheRealCallAfterItDoes) {
  for (const ThinkCase& c : kThinkForms) {
    std::string reply = std::string(c.open) + "Maybe " + kDraft + "? No, first look.\n" + c.close +
                        "\nLet me look first.\n" + kReal;
    TextCallParse p = Parse(reply);
    ASSERT_EQ(p.calls.size(), 1u) << c.family << ": " << p.error;
    EXPECT_EQ(p.calls[0].arguments.at("command").as_string(), "ls") << c.family;
    EXPECT_EQ(p.error, "") << c.family;
    EXPECT_EQ(p.prose, "Let me look first.") << c.family;
  }
}

TEST(TextThinkTest, AFencedDraftInsideClosedThinkingNeverRuns) {
  for (const ThinkCase& c : kThinkForms) {
    std::string reply =
        std::string(c.open) + "```bash\nrm -rf build\n```\n" + c.close + "\n```bash\nmake\n```";
    TextCallParse p = Parse(reply);
    ASSERT_EQ(p.calls.size(), 1u) << c.family << ": " << p.error;
    EXPECT_EQ(p.calls[0].arguments.at("command").as_string(), "make") << c.family;
  }
}

TEST(TextThinkTest, ABlockTheTemplateOpenedEndsAtItsCloseTag) {
  // Seed-OSS and Gemma 4 templates may open the block before the reply begins.
  for (const char* close : {"</seed:think>", "<channel|>", "<|inner_suffix|>"}) {
    std::string reply = std::string("maybe ") + kDraft + "\n" + close + "\n" + kReal;
    TextCallParse p = Parse(reply);
    ASSERT_EQ(p.calls.size(), 1u) << close << ": " << p.error;
    EXPECT_EQ(p.calls[0].arguments.at("command").as_string(), "ls") << close;
  }
}

TEST(TextThinkTest, KimiThinkingSectionInsideAnUnclosedBlockRuns) {
  TextCallParse p = Parse(
      "<think>I should list the files. <|tool_calls_section_begin|><|tool_call_begin|>"
      "functions.run_shell:0<|tool_call_argument_begin|>{\"command\": \"ls\"}<|tool_call_end|>"
      "<|tool_calls_section_end|>");
  ASSERT_EQ(p.calls.size(), 1u) << p.error;
  EXPECT_EQ(p.calls[0].format, "kimi-k2");
  EXPECT_EQ(p.calls[0].arguments.at("command").as_string(), "ls");
  EXPECT_EQ(p.prose, "");
}

TEST(TextThinkTest, DeepSeekV31SectionInsideAnUnclosedBlockRuns) {
  TextCallParse p = Parse(
      "<think>Read it first.\n<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>read_file<｜tool▁sep｜>"
      "{\"path\": \"a.txt\"}<｜tool▁call▁end｜><｜tool▁calls▁end｜>");
  ASSERT_EQ(p.calls.size(), 1u) << p.error;
  EXPECT_EQ(p.calls[0].format, "deepseek-v31");
  EXPECT_EQ(p.calls[0].arguments.at("path").as_string(), "a.txt");
}

TEST(TextThinkTest, ASectionInsideAClosedBlockIsStillADraft) {
  TextCallParse p = Parse(
      "<think><|tool_calls_section_begin|><|tool_call_begin|>functions.run_shell:0"
      "<|tool_call_argument_begin|>{\"command\": \"rm -rf /\"}<|tool_call_end|>"
      "<|tool_calls_section_end|></think>Done.");
  EXPECT_TRUE(p.calls.empty());
  EXPECT_EQ(p.prose, "Done.");
}

TEST(TextThinkTest, AnUnfinishedSectionInsideAnUnclosedBlockDoesNotRun) {
  TextCallParse p = Parse(
      "<think>maybe <|tool_calls_section_begin|><|tool_call_begin|>functions.run_shell:0"
      "<|tool_call_argument_begin|>{\"command\": \"rm -rf /\"}");
  EXPECT_TRUE(p.calls.empty());
  EXPECT_EQ(p.error, "");
}

TEST(TextThinkTest, OtherCallsInsideAnUnclosedBlockDoNotRun) {
  TextCallParse p = Parse(std::string("<seed:think>draft: ") + kDraft);
  EXPECT_TRUE(p.calls.empty());
  EXPECT_EQ(p.error, "");
}

}  // namespace
}  // namespace warden::llm
