// One test per raw format of shared/reference/llm-output-formats.md, with the reference's example
// adapted to the agent's tools. Behaviour across formats (think blocks, aliases, errors) is in
// text_calls_test.cc; fences and bare JSON in text_fences_test.cc.
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

TEST(TextFormatsTest, HermesToolCallTag) {
  TextCallParse p = Parse(
      "<tool_call>\n{\"name\": \"run_shell\", \"arguments\": {\"command\": \"ls -la\"}}\n"
      "</tool_call>");
  ASSERT_EQ(p.calls.size(), 1u) << p.error;
  EXPECT_EQ(p.calls[0].name, "run_shell");
  EXPECT_EQ(p.calls[0].format, "hermes");
  EXPECT_EQ(Args(p.calls[0]), R"({"command":"ls -la"})");
  EXPECT_EQ(p.error, "");
  EXPECT_EQ(p.prose, "");
}

TEST(TextFormatsTest, HermesWithoutClosingTagAtTheEnd) {
  TextCallParse p = Parse(
      "Let me look.\n<tool_call>\n{\"name\": \"read_file\", \"arguments\": {\"path\": "
      "\"README.md\"}}");
  ASSERT_EQ(p.calls.size(), 1u) << p.error;
  EXPECT_EQ(p.calls[0].name, "read_file");
  EXPECT_EQ(Args(p.calls[0]), R"({"path":"README.md"})");
  EXPECT_EQ(p.prose, "Let me look.");
}

TEST(TextFormatsTest, HermesArgumentsSerializedAsAStringAreDecoded) {
  TextCallParse p = Parse(
      R"x(<tool_call>{"name": "run_shell", "arguments": "{\"command\": \"ls\"}"}</tool_call>)x");
  ASSERT_EQ(p.calls.size(), 1u) << p.error;
  EXPECT_EQ(Args(p.calls[0]), R"({"command":"ls"})");
}

TEST(TextFormatsTest, HermesTruncatedJsonIsClosed) {
  TextCallParse p = Parse(R"x(<tool_call>{"name": "run_shell", "arguments": {"command": "ls)x");
  ASSERT_EQ(p.calls.size(), 1u) << p.error;
  EXPECT_EQ(Args(p.calls[0]), R"({"command":"ls"})");
}

TEST(TextFormatsTest, Qwen3CoderXmlParameters) {
  TextCallParse p = Parse(
      "<tool_call>\n<function=run_shell>\n<parameter=command>\nls -la\n</parameter>\n"
      "<parameter=timeout_seconds>\n30\n</parameter>\n</function>\n</tool_call>");
  ASSERT_EQ(p.calls.size(), 1u) << p.error;
  EXPECT_EQ(p.calls[0].format, "qwen3-xml");
  // The integer arrives as text and is coerced to the schema's type.
  EXPECT_EQ(Args(p.calls[0]), R"({"command":"ls -la","timeout_seconds":30})");
  EXPECT_EQ(p.prose, "");
}

TEST(TextFormatsTest, Qwen3CoderValueKeepsItsInnerNewlines) {
  TextCallParse p = Parse(
      "<tool_call>\n<function=write_file>\n<parameter=path>\nmain.py\n</parameter>\n"
      "<parameter=content>\nimport os\n\nprint(os.getcwd())\n\n</parameter>\n</function>\n"
      "</tool_call>");
  ASSERT_EQ(p.calls.size(), 1u) << p.error;
  EXPECT_EQ(p.calls[0].arguments.at("content").as_string(), "import os\n\nprint(os.getcwd())\n");
  EXPECT_EQ(p.calls[0].arguments.at("path").as_string(), "main.py");
}

TEST(TextFormatsTest, Qwen3CoderMissingParameterCloseTag) {
  TextCallParse p = Parse(
      "<tool_call>\n<function=run_shell>\n<parameter=command>\nls\n</function>\n</tool_call>");
  ASSERT_EQ(p.calls.size(), 1u) << p.error;
  EXPECT_EQ(Args(p.calls[0]), R"({"command":"ls"})");
}

TEST(TextFormatsTest, Llama3JsonWithParameters) {
  TextCallParse p =
      Parse(R"x({"name": "run_shell", "parameters": {"command": "uname -a"}}<|eot_id|>)x");
  ASSERT_EQ(p.calls.size(), 1u) << p.error;
  EXPECT_EQ(p.calls[0].format, "llama-json");
  EXPECT_EQ(Args(p.calls[0]), R"({"command":"uname -a"})");
  EXPECT_EQ(p.prose, "");
}

TEST(TextFormatsTest, Llama3PythonTagJson) {
  TextCallParse p = Parse(
      R"x(<|python_tag|>{"name": "read_file", "arguments": {"path": "/etc/os-release"}}<|eom_id|>)x");
  ASSERT_EQ(p.calls.size(), 1u) << p.error;
  EXPECT_EQ(p.calls[0].format, "llama-python-tag");
  EXPECT_EQ(Args(p.calls[0]), R"({"path":"/etc/os-release"})");
  EXPECT_EQ(p.prose, "");
}

TEST(TextFormatsTest, Llama3BuiltinToolIsRecognisedButNotOffered) {
  TextCallParse p = Parse(R"x(<|python_tag|>brave_search.call(query="weather Paris")<|eom_id|>)x");
  EXPECT_TRUE(p.calls.empty());
  EXPECT_THAT(p.error, HasSubstr(R"(unknown tool "brave_search")"));
  EXPECT_THAT(p.error, HasSubstr("run_shell, run_python, write_file, read_file, finish"));
}

TEST(TextFormatsTest, LlamaFunctionTagWithJson) {
  TextCallParse p = Parse(R"x(<function=run_shell>{"command": "df -h"}</function>)x");
  ASSERT_EQ(p.calls.size(), 1u) << p.error;
  EXPECT_EQ(p.calls[0].format, "llama-function");
  EXPECT_EQ(Args(p.calls[0]), R"({"command":"df -h"})");
}

TEST(TextFormatsTest, PythonicListOfTwoCalls) {
  TextCallParse p =
      Parse(R"x([run_shell(command='ls', timeout_seconds=10), read_file(path="notes.txt")])x");
  ASSERT_EQ(p.calls.size(), 2u) << p.error;
  EXPECT_EQ(p.calls[0].format, "pythonic");
  EXPECT_EQ(Args(p.calls[0]), R"({"command":"ls","timeout_seconds":10})");
  EXPECT_EQ(p.calls[1].name, "read_file");
  EXPECT_EQ(Args(p.calls[1]), R"({"path":"notes.txt"})");
}

TEST(TextFormatsTest, MistralJsonListAfterToolCalls) {
  TextCallParse p = Parse(
      R"x([TOOL_CALLS] [{"name": "run_shell", "arguments": {"command": "pwd"}, "id": "abcDEF123"}])x");
  ASSERT_EQ(p.calls.size(), 1u) << p.error;
  EXPECT_EQ(p.calls[0].format, "mistral");
  EXPECT_EQ(Args(p.calls[0]), R"({"command":"pwd"})");
  EXPECT_EQ(p.prose, "");
}

TEST(TextFormatsTest, MistralV11NameArgs) {
  TextCallParse p = Parse(R"x([TOOL_CALLS]run_shell[ARGS]{"command": "pwd"})x");
  ASSERT_EQ(p.calls.size(), 1u) << p.error;
  EXPECT_EQ(p.calls[0].format, "mistral-v11");
  EXPECT_EQ(Args(p.calls[0]), R"({"command":"pwd"})");
}

TEST(TextFormatsTest, MistralV11WithCallIdAndTwoCalls) {
  TextCallParse p = Parse(
      R"x([TOOL_CALLS]read_file[CALL_ID]a1b2c3d4e[ARGS]{"path": "a.txt"}[TOOL_CALLS]read_file[ARGS]{"path": "b.txt"})x");
  ASSERT_EQ(p.calls.size(), 2u) << p.error;
  EXPECT_EQ(Args(p.calls[0]), R"({"path":"a.txt"})");
  EXPECT_EQ(Args(p.calls[1]), R"({"path":"b.txt"})");
}

TEST(TextFormatsTest, MistralWithSpecialTokensSkipped) {
  TextCallParse p = Parse(R"x(run_shell{"command": "pwd"})x");
  ASSERT_EQ(p.calls.size(), 1u) << p.error;
  EXPECT_EQ(p.calls[0].format, "mistral-bare");
  EXPECT_EQ(Args(p.calls[0]), R"({"command":"pwd"})");
}

TEST(TextFormatsTest, DeepSeekV3WithFencedArgumentsIsOneCall) {
  TextCallParse p = Parse(
      "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>run_shell\n```json\n"
      "{\"command\": \"ls\"}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>");
  // The ```json fence inside the call is not counted again as a fenced call.
  ASSERT_EQ(p.calls.size(), 1u) << p.error;
  EXPECT_EQ(p.calls[0].format, "deepseek-v3");
  EXPECT_EQ(Args(p.calls[0]), R"({"command":"ls"})");
  EXPECT_EQ(p.error, "");
  EXPECT_EQ(p.prose, "");
}

TEST(TextFormatsTest, DeepSeekR1AfterItsThinking) {
  TextCallParse p = Parse(
      "<think>The user wants files. <tool_call>{\"name\": \"finish\", \"arguments\": "
      "{\"summary\": \"x\"}}</tool_call></think>\n\n<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>"
      "function<｜tool▁sep｜>read_file\n```json\n{\"path\": \"a\"}\n```<｜tool▁call▁end｜>"
      "<｜tool▁calls▁end｜><｜end▁of▁sentence｜>");
  ASSERT_EQ(p.calls.size(), 1u) << p.error;
  EXPECT_EQ(p.calls[0].name, "read_file");
  EXPECT_EQ(p.prose, "");
}

TEST(TextFormatsTest, DeepSeekV31) {
  TextCallParse p = Parse(
      "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>run_shell<｜tool▁sep｜>{\"command\": \"ls\"}"
      "<｜tool▁call▁end｜><｜tool▁call▁begin｜>read_file<｜tool▁sep｜>{\"path\": \"x\"}"
      "<｜tool▁call▁end｜><｜tool▁calls▁end｜>");
  ASSERT_EQ(p.calls.size(), 2u) << p.error;
  EXPECT_EQ(p.calls[0].format, "deepseek-v31");
  EXPECT_EQ(Args(p.calls[0]), R"({"command":"ls"})");
  EXPECT_EQ(Args(p.calls[1]), R"({"path":"x"})");
}

TEST(TextFormatsTest, DeepSeekWithAsciiBars) {
  TextCallParse p = Parse(
      "<|tool▁calls▁begin|><|tool▁call▁begin|>run_shell<|tool▁sep|>{\"command\": \"ls\"}"
      "<|tool▁call▁end|><|tool▁calls▁end|>");
  ASSERT_EQ(p.calls.size(), 1u) << p.error;
  EXPECT_EQ(Args(p.calls[0]), R"({"command":"ls"})");
}

TEST(TextFormatsTest, GptOssHarmony) {
  std::string text =
      R"x(<|start|>assistant<|channel|>commentary to=functions.run_shell <|constrain|>json<|message|>{"command":"ls"}<|call|>)x";
  TextCallParse p = Parse(text);
  ASSERT_EQ(p.calls.size(), 1u) << p.error;
  EXPECT_EQ(p.calls[0].format, "harmony");
  EXPECT_EQ(Args(p.calls[0]), R"({"command":"ls"})");
  EXPECT_EQ(p.calls[0].raw, text);
  EXPECT_EQ(p.prose, "");
}

TEST(TextFormatsTest, GptOssHarmonyWithoutMessageIsAnError) {
  TextCallParse p = Parse("<|channel|>commentary to=functions.run_shell <|constrain|>json");
  EXPECT_TRUE(p.calls.empty());
  EXPECT_THAT(p.error, HasSubstr("has no <|message|>"));
}

TEST(TextFormatsTest, KimiK2) {
  TextCallParse p = Parse(
      R"x(<|tool_calls_section_begin|><|tool_call_begin|>functions.read_file:0<|tool_call_argument_begin|>{"path": "a.txt"}<|tool_call_end|><|tool_calls_section_end|>)x");
  ASSERT_EQ(p.calls.size(), 1u) << p.error;
  EXPECT_EQ(p.calls[0].format, "kimi-k2");
  EXPECT_EQ(p.calls[0].name, "read_file");
  EXPECT_EQ(Args(p.calls[0]), R"({"path":"a.txt"})");
  EXPECT_EQ(p.prose, "");
}

TEST(TextFormatsTest, Glm45ArgKeysAndValues) {
  TextCallParse p = Parse(
      "<tool_call>write_file\n<arg_key>path</arg_key>\n<arg_value>a.txt</arg_value>\n"
      "<arg_key>content</arg_key>\n<arg_value>hello\nworld</arg_value>\n</tool_call>");
  ASSERT_EQ(p.calls.size(), 1u) << p.error;
  EXPECT_EQ(p.calls[0].format, "glm");
  EXPECT_EQ(Args(p.calls[0]), R"({"path":"a.txt","content":"hello\nworld"})");
}

TEST(TextFormatsTest, GraniteToolCallList) {
  TextCallParse p =
      Parse(R"x(<|tool_call|>[{"name": "run_shell", "arguments": {"command": "ls"}}])x");
  ASSERT_EQ(p.calls.size(), 1u) << p.error;
  EXPECT_EQ(p.calls[0].format, "granite");
  EXPECT_EQ(Args(p.calls[0]), R"({"command":"ls"})");
}

TEST(TextFormatsTest, MiniMaxInvoke) {
  TextCallParse p = Parse(
      R"x(<minimax:tool_call><invoke name="run_shell"><parameter name="command">ls</parameter><parameter name="timeout_seconds">5</parameter></invoke></minimax:tool_call>)x");
  ASSERT_EQ(p.calls.size(), 1u) << p.error;
  EXPECT_EQ(p.calls[0].format, "minimax");
  EXPECT_EQ(Args(p.calls[0]), R"({"command":"ls","timeout_seconds":5})");
  EXPECT_EQ(p.prose, "");
}

TEST(TextFormatsTest, ClaudeStyleInvokeInFunctionCalls) {
  TextCallParse p = Parse(
      "I'll check.\n<function_calls>\n<invoke name=\"read_file\">\n<parameter name=\"path\">"
      "setup.py</parameter>\n</invoke>\n</function_calls>");
  ASSERT_EQ(p.calls.size(), 1u) << p.error;
  EXPECT_EQ(p.calls[0].format, "invoke");
  EXPECT_EQ(Args(p.calls[0]), R"({"path":"setup.py"})");
  EXPECT_EQ(p.prose, "I'll check.");
}

TEST(TextFormatsTest, GemmaToolCodeFence) {
  TextCallParse p = Parse("```tool_code\nrun_shell(command=\"ls\")\n```");
  ASSERT_EQ(p.calls.size(), 1u) << p.error;
  EXPECT_EQ(p.calls[0].format, "tool-code");
  EXPECT_EQ(Args(p.calls[0]), R"({"command":"ls"})");
}

TEST(TextFormatsTest, GemmaToolCodeWithPrintAndDefaultApi) {
  TextCallParse p = Parse("```tool_code\nprint(default_api.read_file(path='a.txt'))\n```");
  ASSERT_EQ(p.calls.size(), 1u) << p.error;
  EXPECT_EQ(p.calls[0].name, "read_file");
  EXPECT_EQ(Args(p.calls[0]), R"({"path":"a.txt"})");
}

TEST(TextFormatsTest, FunctionGemma) {
  TextCallParse p = Parse(
      "<start_function_call>call:run_shell{command:<escape>echo \"a, b\"<escape>,"
      "timeout_seconds:5}<end_function_call>");
  ASSERT_EQ(p.calls.size(), 1u) << p.error;
  EXPECT_EQ(p.calls[0].format, "functiongemma");
  EXPECT_EQ(Args(p.calls[0]), R"({"command":"echo \"a, b\"","timeout_seconds":5})");
}

TEST(TextFormatsTest, Olmo3FunctionCallsLines) {
  TextCallParse p = Parse(
      "<function_calls>\nrun_shell(command=\"ls\")\nread_file(path=\"a.txt\")\n</function_calls>");
  ASSERT_EQ(p.calls.size(), 2u) << p.error;
  EXPECT_EQ(p.calls[0].format, "olmo");
  EXPECT_EQ(Args(p.calls[0]), R"({"command":"ls"})");
  EXPECT_EQ(Args(p.calls[1]), R"({"path":"a.txt"})");
  EXPECT_EQ(p.prose, "");
}

TEST(TextFormatsTest, Lfm2ToolCallStart) {
  TextCallParse p = Parse("<|tool_call_start|>[read_file(path='a.txt')]<|tool_call_end|>");
  ASSERT_EQ(p.calls.size(), 1u) << p.error;
  EXPECT_EQ(p.calls[0].format, "lfm2");
  EXPECT_EQ(Args(p.calls[0]), R"({"path":"a.txt"})");
  EXPECT_EQ(p.prose, "");
}

TEST(TextFormatsTest, OpenHandsFunctionParameters) {
  TextCallParse p =
      Parse("<function=run_shell>\n<parameter=command>ls -la</parameter>\n</function>");
  ASSERT_EQ(p.calls.size(), 1u) << p.error;
  EXPECT_EQ(p.calls[0].format, "function-xml");
  EXPECT_EQ(Args(p.calls[0]), R"({"command":"ls -la"})");
}

TEST(TextFormatsTest, LlamaCppGenericToolCallObject) {
  TextCallParse p =
      Parse(R"x({"tool_call": {"name": "run_shell", "arguments": {"command": "ls"}}})x");
  ASSERT_EQ(p.calls.size(), 1u) << p.error;
  EXPECT_EQ(p.calls[0].format, "json");
  EXPECT_EQ(Args(p.calls[0]), R"({"command":"ls"})");
}

}  // namespace
}  // namespace warden::llm
