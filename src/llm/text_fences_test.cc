// Calls written as Markdown fences, Python-style lists and bare JSON in prose.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "llm/text_calls.h"
#include "llm/text_test_tools.h"

namespace warden::llm {
namespace {

using ::testing::HasSubstr;

TextCallParse Parse(std::string_view text) {
  return ParseTextCalls(text, AgentToolsForTest());
}

std::string Args(const TextCall& call) {
  return json::serialize(call.arguments);
}

TEST(TextFencesTest, BashFenceBecomesRunShell) {
  TextCallParse p = Parse("List the files:\n\n```bash\nls -la /workspace\n```\n");
  ASSERT_EQ(p.calls.size(), 1u) << p.error;
  EXPECT_EQ(p.calls[0].name, "run_shell");
  EXPECT_EQ(p.calls[0].format, "fenced-bash");
  EXPECT_EQ(Args(p.calls[0]), R"({"command":"ls -la /workspace"})");
  EXPECT_EQ(p.calls[0].raw, "```bash\nls -la /workspace\n```\n");
  EXPECT_EQ(p.prose, "List the files:");
}

TEST(TextFencesTest, EveryShellTagIsTaken) {
  for (std::string_view tag : {"sh", "shell", "zsh", "Bash"}) {
    TextCallParse p = Parse("```" + std::string(tag) + "\npwd\n```");
    ASSERT_EQ(p.calls.size(), 1u) << tag;
    EXPECT_EQ(Args(p.calls[0]), R"({"command":"pwd"})") << tag;
  }
}

TEST(TextFencesTest, ConsoleFenceKeepsOnlyThePromptedLines) {
  TextCallParse p = Parse("```console\n$ cd src\n$ make\nmake: Nothing to be done.\n```");
  ASSERT_EQ(p.calls.size(), 1u) << p.error;
  EXPECT_EQ(Args(p.calls[0]), R"({"command":"cd src\nmake"})");
}

TEST(TextFencesTest, BashFenceShowingASessionRunsOnlyTheCommands) {
  TextCallParse p = Parse("```bash\n$ ls\nfile1 file2\n```");
  ASSERT_EQ(p.calls.size(), 1u) << p.error;
  EXPECT_EQ(Args(p.calls[0]), R"({"command":"ls"})");
}

TEST(TextFencesTest, UntaggedFenceThatLooksLikeShellIsNotTaken) {
  TextCallParse p = Parse("Output:\n```\nls -la\ntotal 0\n```");
  EXPECT_TRUE(p.calls.empty());
  EXPECT_EQ(p.error, "");
  EXPECT_EQ(p.prose, "Output:\n```\nls -la\ntotal 0\n```");
}

TEST(TextFencesTest, HeredocInABashFenceIsKeptIntact) {
  std::string script =
      "cat > app.py <<'EOF'\nimport sys\n\nif __name__ == \"__main__\":\n    print(sys.argv)\n"
      "EOF\npython3 app.py a b";
  TextCallParse p = Parse("```bash\n" + script + "\n```");
  ASSERT_EQ(p.calls.size(), 1u) << p.error;
  EXPECT_EQ(p.calls[0].arguments.at("command").as_string(), script);
}

TEST(TextFencesTest, PythonFenceWithBackticksInsideAString) {
  std::string code = "doc = \"use ```bash fences``` and `ls`\"\nprint(doc)";
  TextCallParse p = Parse("```python\n" + code + "\n```\nThat prints it.");
  ASSERT_EQ(p.calls.size(), 1u) << p.error;
  EXPECT_EQ(p.calls[0].name, "run_python");
  EXPECT_EQ(p.calls[0].format, "fenced-python");
  EXPECT_EQ(p.calls[0].arguments.at("code").as_string(), code);
  EXPECT_EQ(p.prose, "That prints it.");
}

TEST(TextFencesTest, LongerFenceHoldsAShorterOne) {
  std::string code = "text = '''\n```\nnot a fence end\n```\n'''\nprint(text)";
  TextCallParse p = Parse("````py\n" + code + "\n````");
  ASSERT_EQ(p.calls.size(), 1u) << p.error;
  EXPECT_EQ(p.calls[0].arguments.at("code").as_string(), code);
}

TEST(TextFencesTest, UnclosedFenceRunsToTheEnd) {
  TextCallParse p = Parse("```bash\nmake test");
  ASSERT_EQ(p.calls.size(), 1u) << p.error;
  EXPECT_EQ(Args(p.calls[0]), R"({"command":"make test"})");
}

TEST(TextFencesTest, OneLineFence) {
  TextCallParse p = Parse("Run ```bash ls -la``` now.\n```bash git status```");
  ASSERT_EQ(p.calls.size(), 1u) << p.error;
  EXPECT_EQ(Args(p.calls[0]), R"({"command":"git status"})");
}

TEST(TextFencesTest, TwoFencesGiveTwoCallsInOrder) {
  TextCallParse p =
      Parse("First:\n```bash\nmkdir out\n```\nThen:\n```python\nprint('hi')\n```\nDone.");
  ASSERT_EQ(p.calls.size(), 2u) << p.error;
  EXPECT_EQ(p.calls[0].name, "run_shell");
  EXPECT_EQ(p.calls[1].name, "run_python");
  EXPECT_EQ(p.prose, "First:\nThen:\nDone.");
}

TEST(TextFencesTest, JsonFenceHoldingACall) {
  TextCallParse p = Parse(
      "```json\n{\"name\": \"write_file\", \"arguments\": {\"path\": \"a.txt\", \"content\": "
      "\"hi\"}}\n```");
  ASSERT_EQ(p.calls.size(), 1u) << p.error;
  EXPECT_EQ(p.calls[0].format, "fenced-json");
  EXPECT_EQ(Args(p.calls[0]), R"({"path":"a.txt","content":"hi"})");
}

TEST(TextFencesTest, JsonFenceHoldingCommands) {
  TextCallParse p = Parse("```json\n{\"commands\": [\"cd /tmp\", \"ls\"]}\n```");
  ASSERT_EQ(p.calls.size(), 1u) << p.error;
  EXPECT_EQ(p.calls[0].name, "run_shell");
  EXPECT_EQ(p.calls[0].format, "commands");
  EXPECT_EQ(Args(p.calls[0]), R"({"command":"cd /tmp\nls"})");
}

TEST(TextFencesTest, JsonFenceWithDataIsNoCall) {
  TextCallParse p = Parse("The config:\n```json\n{\"name\": \"demo\", \"version\": 2}\n```");
  EXPECT_TRUE(p.calls.empty());
  EXPECT_EQ(p.error, "");
}

TEST(TextFencesTest, BrokenJsonCallInAFenceIsAnError) {
  TextCallParse p =
      Parse("```json\n{\"name\": \"run_shell\", \"arguments\": {\"command\": @}}\n```");
  EXPECT_TRUE(p.calls.empty());
  EXPECT_THAT(p.error, HasSubstr("not valid"));
  EXPECT_THAT(p.error, HasSubstr("\"command\": @"));
}

TEST(TextFencesTest, BareCommandsObject) {
  TextCallParse p = Parse(R"x({"commands": ["ls", "pwd"]})x");
  ASSERT_EQ(p.calls.size(), 1u) << p.error;
  EXPECT_EQ(Args(p.calls[0]), R"({"command":"ls\npwd"})");
}

TEST(TextFencesTest, BareJsonCallInProse) {
  TextCallParse p = Parse(
      "I will read it: {\"name\": \"read_file\", \"arguments\": {\"path\": \"a.txt\"}} and then "
      "decide.");
  ASSERT_EQ(p.calls.size(), 1u) << p.error;
  EXPECT_EQ(p.calls[0].format, "json");
  EXPECT_EQ(p.calls[0].raw, R"x({"name": "read_file", "arguments": {"path": "a.txt"}})x");
  EXPECT_EQ(p.prose, "I will read it:  and then decide.");
}

TEST(TextFencesTest, ToolAndArgsVariant) {
  TextCallParse p = Parse(R"x({"tool": "run_shell", "args": {"command": "ls"}})x");
  ASSERT_EQ(p.calls.size(), 1u) << p.error;
  EXPECT_EQ(Args(p.calls[0]), R"({"command":"ls"})");
}

TEST(TextFencesTest, ToolAndInputVariant) {
  TextCallParse p = Parse(R"x({"tool": "read_file", "input": {"path": "x"}})x");
  ASSERT_EQ(p.calls.size(), 1u) << p.error;
  EXPECT_EQ(Args(p.calls[0]), R"({"path":"x"})");
}

TEST(TextFencesTest, OpenAiFunctionObjectWithStringArguments) {
  TextCallParse p = Parse(
      R"x({"type": "function", "function": {"name": "run_shell", "arguments": "{\"command\": \"ls\"}"}})x");
  ASSERT_EQ(p.calls.size(), 1u) << p.error;
  EXPECT_EQ(Args(p.calls[0]), R"({"command":"ls"})");
}

TEST(TextFencesTest, JsonDataInProseIsNoCall) {
  TextCallParse p = Parse(R"x(The record is {"name": "Alice", "age": 3}.)x");
  EXPECT_TRUE(p.calls.empty());
  EXPECT_EQ(p.error, "");
  EXPECT_EQ(p.prose, R"x(The record is {"name": "Alice", "age": 3}.)x");
}

TEST(TextFencesTest, BareCallNamingAKnownToolNeedsNoArgumentsKey) {
  TextCallParse p = Parse(R"x({"name": "finish", "summary": "all done"})x");
  // A known tool named without "arguments": taken as a call, whose missing summary is reported.
  EXPECT_TRUE(p.calls.empty());
  EXPECT_THAT(p.error, HasSubstr(R"(missing required property "summary")"));
}

TEST(TextFencesTest, ListOfJsonCalls) {
  TextCallParse p = Parse(
      R"x([{"name": "read_file", "arguments": {"path": "a"}}, {"name": "read_file", "arguments": {"path": "b"}}])x");
  ASSERT_EQ(p.calls.size(), 2u) << p.error;
  EXPECT_EQ(Args(p.calls[1]), R"({"path":"b"})");
}

TEST(TextFencesTest, PythonicListInProseNeedsAKnownTool) {
  TextCallParse p = Parse("See [note(1)] and [ref(2)] for details.");
  EXPECT_TRUE(p.calls.empty());
  EXPECT_EQ(p.error, "");
}

TEST(TextFencesTest, PythonicListAloneWithAnUnknownToolIsAnError) {
  TextCallParse p = Parse("[get_weather(city='San Francisco', metric='celsius')]");
  EXPECT_TRUE(p.calls.empty());
  EXPECT_THAT(p.error, HasSubstr(R"(unknown tool "get_weather")"));
}

TEST(TextFencesTest, PythonicPositionalArgumentsFillTheSchemaInOrder) {
  TextCallParse p = Parse("[write_file('a.txt', 'hello')]");
  ASSERT_EQ(p.calls.size(), 1u) << p.error;
  EXPECT_EQ(Args(p.calls[0]), R"({"path":"a.txt","content":"hello"})");
}

TEST(TextFencesTest, CallOfAnOfferedToolAloneOnItsLine) {
  TextCallParse p = Parse("Listing:\n  run_shell(command=\"ls -la\")\nThat is all.");
  ASSERT_EQ(p.calls.size(), 1u) << p.error;
  EXPECT_EQ(p.calls[0].format, "pythonic");
  EXPECT_EQ(Args(p.calls[0]), R"({"command":"ls -la"})");
  EXPECT_EQ(p.prose, "Listing:\n  \nThat is all.");
}

TEST(TextFencesTest, CallWrittenInsideASentenceIsNotTaken) {
  TextCallParse p = Parse("I could call run_shell(command=\"ls\") later.");
  EXPECT_TRUE(p.calls.empty());
  EXPECT_EQ(p.error, "");
}

}  // namespace
}  // namespace warden::llm
