// Behaviour of ParseTextCalls across formats (think blocks, several calls, aliases, validation,
// errors, prose) and of CheckCall. Each format on its own: text_formats_test.cc.
#include "llm/text_calls.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "llm/text_test_tools.h"

namespace warden::llm {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TextCallParse Parse(std::string_view text) {
  return ParseTextCalls(text, AgentToolsForTest());
}

std::string Args(const TextCall& call) {
  return json::serialize(call.arguments);
}

TEST(TextCallsTest, CallsInsideThinkBlocksAreIgnored) {
  TextCallParse p = Parse(
      "<think>\nMaybe <tool_call>{\"name\": \"run_shell\", \"arguments\": {\"command\": \"rm -rf "
      "build\"}}</tool_call>? No.\n</think>\nNothing to run yet.");
  EXPECT_TRUE(p.calls.empty());
  EXPECT_EQ(p.error, "");
  EXPECT_EQ(p.prose, "Nothing to run yet.");
}

TEST(TextCallsTest, ThinkingTagIsStrippedToo) {
  TextCallParse p = Parse("<thinking>```bash\nrm -rf /\n```</thinking>\n```bash\nls\n```");
  ASSERT_EQ(p.calls.size(), 1u) << p.error;
  EXPECT_EQ(Args(p.calls[0]), R"({"command":"ls"})");
}

TEST(TextCallsTest, UnopenedLeadingThinkBlockEndsAtItsCloseTag) {
  // The chat template opened <think> before the reply began.
  TextCallParse p = Parse("I could run\n```bash\nrm x\n```\n</think>\n```bash\nls\n```");
  ASSERT_EQ(p.calls.size(), 1u) << p.error;
  EXPECT_EQ(Args(p.calls[0]), R"({"command":"ls"})");
}

TEST(TextCallsTest, UnclosedThinkBlockRunsToTheEnd) {
  TextCallParse p = Parse("Sure.<think>maybe\n```bash\nls\n```");
  EXPECT_TRUE(p.calls.empty());
  EXPECT_EQ(p.error, "");
  EXPECT_EQ(p.prose, "Sure.");
}

TEST(TextCallsTest, GptOssAnalysisChannelIsThinking) {
  TextCallParse p = Parse(
      "<|channel|>analysis<|message|>Maybe ```bash\nrm -rf x\n```<|end|><|start|>assistant"
      "<|channel|>commentary to=functions.run_shell <|constrain|>json<|message|>{\"command\":"
      "\"ls\"}<|call|>");
  ASSERT_EQ(p.calls.size(), 1u) << p.error;
  EXPECT_EQ(Args(p.calls[0]), R"({"command":"ls"})");
  EXPECT_EQ(p.prose, "");
}

TEST(TextCallsTest, SeveralFormatsInOneReplyComeBackInOrder) {
  TextCallParse p = Parse(
      "```python\nprint(1)\n```\n<tool_call>{\"name\": \"read_file\", \"arguments\": {\"path\": "
      "\"a\"}}</tool_call>\nthen {\"name\": \"finish\", \"arguments\": {\"summary\": \"ok\"}}");
  ASSERT_EQ(p.calls.size(), 3u) << p.error;
  EXPECT_EQ(p.calls[0].name, "run_python");
  EXPECT_EQ(p.calls[1].name, "read_file");
  EXPECT_EQ(p.calls[2].name, "finish");
  EXPECT_EQ(p.prose, "then");
}

TEST(TextCallsTest, FenceInsideAToolCallIsNotCountedTwice) {
  TextCallParse p = Parse(
      "<tool_call>\n```json\n{\"name\": \"run_shell\", \"arguments\": {\"command\": \"ls\"}}\n```\n"
      "</tool_call>");
  ASSERT_EQ(p.calls.size(), 1u) << p.error;
  EXPECT_EQ(p.calls[0].format, "hermes");
}

TEST(TextCallsTest, ShellToolAliasesMapToRunShell) {
  for (std::string_view alias : {"bash", "shell", "execute_bash", "execute_command", "run_command",
                                 "terminal", "Run-Shell", "functions.run_shell"}) {
    TextCallParse p =
        Parse(R"x({"name": ")x" + std::string(alias) + R"x(", "arguments": {"command": "ls"}})x");
    ASSERT_EQ(p.calls.size(), 1u) << alias << ": " << p.error;
    EXPECT_EQ(p.calls[0].name, "run_shell") << alias;
  }
}

TEST(TextCallsTest, PythonAndFinishAliases) {
  TextCallParse p = Parse(
      R"x([{"name": "execute_python", "arguments": {"code": "1"}}, {"name": "ipython", "arguments": {"code": "2"}}, {"name": "final_answer", "arguments": {"summary": "s"}}, {"name": "done", "arguments": {"summary": "t"}}, {"name": "submit", "arguments": {"summary": "u"}}])x");
  ASSERT_EQ(p.calls.size(), 5u) << p.error;
  EXPECT_EQ(p.calls[0].name, "run_python");
  EXPECT_EQ(p.calls[1].name, "run_python");
  EXPECT_EQ(p.calls[2].name, "finish");
  EXPECT_EQ(p.calls[3].name, "finish");
  EXPECT_EQ(p.calls[4].name, "finish");
}

TEST(TextCallsTest, AliasIsNotUsedWhenItsToolIsNotOffered) {
  std::vector<ToolSpec> tools = {AgentToolsForTest()[4]};  // finish only
  TextCallParse p = ParseTextCalls(R"x({"name": "bash", "arguments": {"command": "ls"}})x", tools);
  EXPECT_TRUE(p.calls.empty());
  EXPECT_THAT(p.error, HasSubstr(R"(unknown tool "bash"; the tools are: finish)"));
}

TEST(TextCallsTest, ShellArgumentAliasesBecomeCommand) {
  TextCallParse p = Parse(
      R"x([{"name": "run_shell", "arguments": {"cmd": "a"}}, {"name": "run_shell", "arguments": {"script": "b"}}, {"name": "bash", "arguments": {"code": "c"}}, {"name": "run_shell", "arguments": {"commands": ["d", "e"]}}])x");
  ASSERT_EQ(p.calls.size(), 4u) << p.error;
  EXPECT_EQ(Args(p.calls[0]), R"({"command":"a"})");
  EXPECT_EQ(Args(p.calls[1]), R"({"command":"b"})");
  EXPECT_EQ(Args(p.calls[2]), R"({"command":"c"})");
  EXPECT_EQ(Args(p.calls[3]), R"({"command":"d\ne"})");
}

TEST(TextCallsTest, PythonArgumentAliasesBecomeCode) {
  TextCallParse p = Parse(
      R"x([{"name": "run_python", "arguments": {"script": "1"}}, {"name": "python", "arguments": {"source": "2"}}, {"name": "run_python", "arguments": {"command": "3"}}])x");
  ASSERT_EQ(p.calls.size(), 3u) << p.error;
  EXPECT_EQ(Args(p.calls[0]), R"({"code":"1"})");
  EXPECT_EQ(Args(p.calls[1]), R"({"code":"2"})");
  EXPECT_EQ(Args(p.calls[2]), R"({"code":"3"})");
}

TEST(TextCallsTest, FileArgumentAliases) {
  TextCallParse p =
      Parse(R"x({"name": "write_file", "arguments": {"file_path": "a.txt", "contents": "x"}})x");
  ASSERT_EQ(p.calls.size(), 1u) << p.error;
  EXPECT_EQ(Args(p.calls[0]), R"({"path":"a.txt","content":"x"})");
}

TEST(TextCallsTest, CommandGivenAsListOfLinesIsJoined) {
  TextCallParse p = Parse(R"x({"name": "run_shell", "arguments": {"command": ["cd /", "ls"]}})x");
  ASSERT_EQ(p.calls.size(), 1u) << p.error;
  EXPECT_EQ(Args(p.calls[0]), R"({"command":"cd /\nls"})");
}

TEST(TextCallsTest, UnknownToolIsAnErrorListingTheTools) {
  TextCallParse p = Parse(R"x(<tool_call>{"name": "get_weather", "arguments": {}}</tool_call>)x");
  EXPECT_TRUE(p.calls.empty());
  EXPECT_THAT(p.error, HasSubstr(R"(unknown tool "get_weather"; the tools are: run_shell, )"
                                 R"(run_python, write_file, read_file, finish)"));
}

TEST(TextCallsTest, InvalidArgumentsNamePropertyAndQuoteTheSpan) {
  TextCallParse p = Parse(
      R"x(<tool_call>{"name": "run_shell", "arguments": {"command": "sleep 5", "timeout_seconds": "soon"}}</tool_call>)x");
  EXPECT_TRUE(p.calls.empty());
  EXPECT_THAT(p.error,
              HasSubstr(R"(run_shell: property "timeout_seconds": expected integer, got string)"));
  EXPECT_THAT(p.error, HasSubstr(R"x(The text was: <tool_call>{"name": "run_shell")x"));
}

TEST(TextCallsTest, ValidCallIsKeptWhenAnotherFails) {
  TextCallParse p = Parse(
      "<tool_call>{\"name\": \"read_file\", \"arguments\": {\"path\": \"a\"}}</tool_call>\n"
      "<tool_call>{\"name\": \"read_file\", \"arguments\": {}}</tool_call>");
  ASSERT_EQ(p.calls.size(), 1u);
  EXPECT_EQ(Args(p.calls[0]), R"({"path":"a"})");
  EXPECT_THAT(p.error, HasSubstr(R"(read_file: missing required property "path")"));
}

TEST(TextCallsTest, AttemptedButBrokenCallQuotesTheSpan) {
  TextCallParse p = Parse(
      R"x(Running it. <tool_call>{"name": "run_shell", "arguments": {"command": @ls}}</tool_call>)x");
  EXPECT_TRUE(p.calls.empty());
  EXPECT_THAT(p.error, HasSubstr("hermes"));
  EXPECT_THAT(p.error, HasSubstr("offset"));
  EXPECT_THAT(
      p.error,
      HasSubstr(
          R"x(<tool_call>{"name": "run_shell", "arguments": {"command": @ls}}</tool_call>)x"));
  EXPECT_EQ(p.prose, "Running it.");
}

TEST(TextCallsTest, LongSpansAreQuotedCutWithAnEllipsis) {
  std::string content(500, 'x');
  TextCallParse p = Parse("<tool_call>{\"name\": \"write_file\", \"arguments\": {\"content\": \"" +
                          content + "\"}}</tool_call>");
  EXPECT_THAT(p.error, HasSubstr("missing required property \"path\""));
  EXPECT_THAT(p.error, HasSubstr("xxx…"));
  EXPECT_THAT(p.error, Not(HasSubstr("</tool_call>")));
}

TEST(TextCallsTest, ToolCallsMarkerFollowedByProseIsAnError) {
  TextCallParse p = Parse("[TOOL_CALLS] I think we should list the files first.");
  EXPECT_TRUE(p.calls.empty());
  EXPECT_THAT(p.error, HasSubstr("[TOOL_CALLS] is followed by neither"));
}

TEST(TextCallsTest, EmptyToolCallBlockIsAnError) {
  TextCallParse p = Parse("<tool_call>\n</tool_call>");
  EXPECT_TRUE(p.calls.empty());
  EXPECT_THAT(p.error, HasSubstr("the <tool_call> block is empty"));
}

TEST(TextCallsTest, ToolCallBlockWithProseInsideIsAnError) {
  TextCallParse p = Parse("<tool_call>I will now run ls</tool_call>");
  EXPECT_TRUE(p.calls.empty());
  EXPECT_THAT(p.error, HasSubstr("holds no JSON object"));
}

TEST(TextCallsTest, ManyFailuresAreSummarised) {
  std::string text;
  for (int i = 0; i < 8; ++i) {
    text += "<tool_call>{\"name\": \"nope" + std::to_string(i) + "\"}</tool_call>\n";
  }
  TextCallParse p = Parse(text);
  EXPECT_THAT(p.error, HasSubstr(R"(unknown tool "nope4")"));
  EXPECT_THAT(p.error, Not(HasSubstr("nope5")));
  EXPECT_THAT(p.error, HasSubstr("(and 3 more calls that could not be used)"));
}

TEST(TextCallsTest, GlmCallWithAnEmptyArgKeyIsAnError) {
  TextCallParse p = Parse(
      "<tool_call>read_file\n<arg_key></arg_key>\n<arg_value>a.txt</arg_value>\n</tool_call>");
  EXPECT_TRUE(p.calls.empty());
  EXPECT_THAT(p.error, HasSubstr("an <arg_key> is empty"));
}

TEST(TextCallsTest, PlainProseHasNoCallsAndNoError) {
  std::string text = "The tests pass. I changed a.py (the parser) and b.py; see [1] and {x}.";
  TextCallParse p = Parse(text);
  EXPECT_TRUE(p.calls.empty());
  EXPECT_EQ(p.error, "");
  EXPECT_EQ(p.prose, text);
}

TEST(TextCallsTest, EndOfTurnTokensAreNotProse) {
  TextCallParse p = Parse("All done.<|im_end|>");
  EXPECT_EQ(p.prose, "All done.");
}

TEST(CheckCallTest, ValidArgumentsPass) {
  ArgumentCheck c = CheckCall({"id1", "run_shell", R"({"command": "ls"})"}, AgentToolsForTest());
  ASSERT_TRUE(c.ok) << c.error;
  EXPECT_EQ(json::serialize(c.arguments), R"({"command":"ls"})");
}

TEST(CheckCallTest, NearJsonArgumentsAreRepaired) {
  ArgumentCheck c = CheckCall({"id1", "run_shell", "{'command': 'ls', 'timeout_seconds': '9',}"},
                              AgentToolsForTest());
  ASSERT_TRUE(c.ok) << c.error;
  EXPECT_EQ(json::serialize(c.arguments), R"({"command":"ls","timeout_seconds":9})");
}

TEST(CheckCallTest, EmptyArgumentsMeanAnEmptyObject) {
  std::vector<ToolSpec> tools = AgentToolsForTest();
  tools.push_back(ToolForTest("list_jobs", R"({"type": "object", "properties": {}})"));
  ArgumentCheck ok = CheckCall({"id1", "list_jobs", ""}, tools);
  ASSERT_TRUE(ok.ok) << ok.error;
  EXPECT_TRUE(ok.arguments.empty());
  ArgumentCheck missing = CheckCall({"id2", "finish", "  "}, tools);
  EXPECT_FALSE(missing.ok);
  EXPECT_EQ(missing.error, R"(finish: missing required property "summary")");
}

TEST(CheckCallTest, NameAndArgumentAliasesAreMapped) {
  ArgumentCheck c = CheckCall({"id1", "bash", R"({"cmd": "ls"})"}, AgentToolsForTest());
  ASSERT_TRUE(c.ok) << c.error;
  EXPECT_EQ(json::serialize(c.arguments), R"({"command":"ls"})");
}

TEST(CheckCallTest, UnknownToolIsAnError) {
  ArgumentCheck c = CheckCall({"id1", "browse", "{}"}, AgentToolsForTest());
  EXPECT_FALSE(c.ok);
  EXPECT_THAT(c.error, HasSubstr(R"(unknown tool "browse")"));
}

TEST(CheckCallTest, UnrepairableArgumentsGiveTheOffset) {
  ArgumentCheck c = CheckCall({"id1", "run_shell", R"({"command": @})"}, AgentToolsForTest());
  EXPECT_FALSE(c.ok);
  EXPECT_THAT(c.error, HasSubstr("invalid JSON at offset 12"));
}

TEST(CheckCallTest, ArgumentsSerializedTwiceAreDecoded) {
  ArgumentCheck c =
      CheckCall({"id1", "read_file", R"("{\"path\": \"a.txt\"}")"}, AgentToolsForTest());
  ASSERT_TRUE(c.ok) << c.error;
  EXPECT_EQ(json::serialize(c.arguments), R"({"path":"a.txt"})");
}

TEST(CheckCallTest, ArgumentsThatAreNoObjectAreAnError) {
  ArgumentCheck c = CheckCall({"id1", "read_file", "[1, 2]"}, AgentToolsForTest());
  EXPECT_FALSE(c.ok);
  EXPECT_THAT(c.error, HasSubstr("must be a JSON object"));
}

TEST(TextCallsTest, RepairsAreNamed) {
  TextCallParse p = Parse(
      "<tool_call>{'name': 'bash', 'arguments': {'cmd': 'ls', 'timeout_seconds': '5',}}"
      "</tool_call>");
  ASSERT_EQ(p.calls.size(), 1u) << p.error;
  EXPECT_THAT(p.calls[0].repairs,
              ::testing::ElementsAre("tool \"bash\" read as run_shell",
                                     "argument \"cmd\" read as \"command\"",
                                     "arguments coerced to the schema's types"));
}

TEST(TextCallsTest, ACallUsedAsWrittenHasNoRepairs) {
  TextCallParse p = Parse(
      "<tool_call>{\"name\": \"run_shell\", \"arguments\": {\"command\": \"ls\"}}</tool_call>");
  ASSERT_EQ(p.calls.size(), 1u) << p.error;
  EXPECT_TRUE(p.calls[0].repairs.empty());
}

TEST(TextCallsTest, NearJsonArgumentsAreReportedAsRepaired) {
  TextCallParse p = Parse("<function=run_shell>{'command': 'ls',}</function>");
  ASSERT_EQ(p.calls.size(), 1u) << p.error;
  EXPECT_THAT(p.calls[0].repairs, ::testing::ElementsAre("near-JSON arguments repaired"));
}

}  // namespace
}  // namespace warden::llm
