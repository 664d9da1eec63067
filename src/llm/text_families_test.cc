// The families added after the first set of formats, each with several realistic replies:
// Step-3, DeepSeek V3.2 DSML, Gemma 4, Apertus, Functionary v3.2, Hermes-2-Pro variants and
// DeepSeek R1's section opener without "begin".
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "llm/text_calls.h"
#include "llm/text_test_tools.h"

namespace warden::llm {
namespace {

using ::testing::HasSubstr;

struct Reply {
  const char* what;
  const char* text;
  const char* format;
  // The calls as "name args;name args", args as compact JSON.
  const char* calls;
  const char* prose;
};

std::string Calls(const TextCallParse& p) {
  std::string out;
  for (const TextCall& c : p.calls) {
    out += out.empty() ? "" : ";";
    out += c.name + " " + json::serialize(c.arguments);
  }
  return out;
}

void Check(const Reply& r) {
  TextCallParse p = ParseTextCalls(r.text, AgentToolsForTest());
  EXPECT_EQ(p.error, "") << r.what;
  EXPECT_EQ(Calls(p), r.calls) << r.what;
  for (const TextCall& c : p.calls) {
    EXPECT_EQ(c.format, r.format) << r.what;
  }
  EXPECT_EQ(p.prose, r.prose) << r.what;
}

TEST(TextFamiliesTest, Step3InvokesInsideItsToolCallSection) {
  const Reply replies[] = {
      {"one call",
       "<｜tool_calls_begin｜><｜tool_call_begin｜>function<｜tool_sep｜><steptml:invoke "
       "name=\"run_shell\"><steptml:parameter name=\"command\">ls -la</steptml:parameter>"
       "</steptml:invoke><｜tool_call_end｜><｜tool_calls_end｜>",
       "step3", R"j(run_shell {"command":"ls -la"})j", ""},
      {"typed parameter and prose",
       "I will run the tests.\n<｜tool_calls_begin｜><｜tool_call_begin｜>function<｜tool_sep｜>"
       "<steptml:invoke name=\"run_shell\">\n<steptml:parameter name=\"command\">make test"
       "</steptml:parameter>\n<steptml:parameter name=\"timeout_seconds\">60"
       "</steptml:parameter>\n</steptml:invoke><｜tool_call_end｜><｜tool_calls_end｜>",
       "step3", R"j(run_shell {"command":"make test","timeout_seconds":60})j",
       "I will run the tests."},
      {"two calls",
       "<｜tool_calls_begin｜><｜tool_call_begin｜>function<｜tool_sep｜><steptml:invoke "
       "name=\"read_file\"><steptml:parameter name=\"path\">a.txt</steptml:parameter>"
       "</steptml:invoke><｜tool_call_end｜><｜tool_call_begin｜>function<｜tool_sep｜>"
       "<steptml:invoke name=\"read_file\"><steptml:parameter name=\"path\">b.txt"
       "</steptml:parameter></steptml:invoke><｜tool_call_end｜><｜tool_calls_end｜>",
       "step3", R"j(read_file {"path":"a.txt"};read_file {"path":"b.txt"})j", ""},
  };
  for (const Reply& r : replies) {
    Check(r);
  }
}

TEST(TextFamiliesTest, DeepSeekV32DsmlInvokes) {
  const Reply replies[] = {
      {"string parameter",
       "<｜DSML｜function_calls>\n<｜DSML｜invoke name=\"run_shell\">\n<｜DSML｜parameter "
       "name=\"command\" string=\"true\">git status</｜DSML｜parameter>\n</｜DSML｜invoke>\n"
       "</｜DSML｜function_calls>",
       "deepseek-dsml", R"j(run_shell {"command":"git status"})j", ""},
      {"JSON parameter",
       "Writing the summary.\n\n<｜DSML｜function_calls>\n<｜DSML｜invoke name=\"finish\">\n"
       "<｜DSML｜parameter name=\"summary\" string=\"true\">done</｜DSML｜parameter>\n"
       "<｜DSML｜parameter name=\"files\" string=\"false\">[\"a.py\", \"b.py\"]"
       "</｜DSML｜parameter>\n</｜DSML｜invoke>\n</｜DSML｜function_calls>",
       "deepseek-dsml", R"j(finish {"summary":"done","files":["a.py","b.py"]})j",
       "Writing the summary."},
      {"two invokes, multi-line string",
       "<｜DSML｜function_calls>\n<｜DSML｜invoke name=\"write_file\">\n<｜DSML｜parameter "
       "name=\"path\" string=\"true\">x.py</｜DSML｜parameter>\n<｜DSML｜parameter "
       "name=\"content\" string=\"true\">print(1)\nprint(2)</｜DSML｜parameter>\n"
       "</｜DSML｜invoke>\n<｜DSML｜invoke name=\"run_shell\">\n<｜DSML｜parameter "
       "name=\"command\" string=\"true\">python3 x.py</｜DSML｜parameter>\n</｜DSML｜invoke>\n"
       "</｜DSML｜function_calls>",
       "deepseek-dsml",
       R"j(write_file {"path":"x.py","content":"print(1)\nprint(2)"};run_shell {"command":"python3 x.py"})j",
       ""},
  };
  for (const Reply& r : replies) {
    Check(r);
  }
}

TEST(TextFamiliesTest, DsmlParameterMarkedAsJsonMustBeJson) {
  TextCallParse p = ParseTextCalls(
      "<｜DSML｜function_calls><｜DSML｜invoke name=\"finish\"><｜DSML｜parameter name=\"files\" "
      "string=\"false\">[a.py</｜DSML｜parameter></｜DSML｜invoke></｜DSML｜function_calls>",
      AgentToolsForTest());
  EXPECT_TRUE(p.calls.empty());
  EXPECT_THAT(p.error, HasSubstr("parameter \"files\" is marked as JSON"));
}

TEST(TextFamiliesTest, Gemma4ToolCallWithItsOwnStringQuotes) {
  const Reply replies[] = {
      {"one call", "<|tool_call>call:run_shell{command:<|\"|>ls -la<|\"|>}<tool_call|>", "gemma4",
       R"j(run_shell {"command":"ls -la"})j", ""},
      {"quotes, braces and a number inside",
       "Let me search.<|tool_call>call:run_shell{command:<|\"|>grep -r \"TODO {x}\" src<|\"|>,"
       "timeout_seconds:30}<tool_call|>",
       "gemma4", R"j(run_shell {"command":"grep -r \"TODO {x}\" src","timeout_seconds":30})j",
       "Let me search."},
      {"two calls, a list",
       "<|tool_call>call:read_file{path:<|\"|>a.md<|\"|>}<tool_call|><|tool_call>call:finish{"
       "summary:<|\"|>ok<|\"|>,files:[<|\"|>a.md<|\"|>]}<tool_call|>",
       "gemma4", R"j(read_file {"path":"a.md"};finish {"summary":"ok","files":["a.md"]})j", ""},
  };
  for (const Reply& r : replies) {
    Check(r);
  }
}

TEST(TextFamiliesTest, ApertusToolNameIsTheKey) {
  const Reply replies[] = {
      {"one call", R"j(<|tools_prefix|>[{"run_shell": {"command": "uname -a"}}]<|tools_suffix|>)j",
       "apertus", R"j(run_shell {"command":"uname -a"})j", ""},
      {"two calls after prose",
       "Reading both.\n<|tools_prefix|>[{\"read_file\": {\"path\": \"a\"}}, {\"read_file\": "
       "{\"path\": \"b\"}}]<|tools_suffix|>",
       "apertus", R"j(read_file {"path":"a"};read_file {"path":"b"})j", "Reading both."},
      {"one object without a list, no suffix",
       R"j(<|tools_prefix|>{"run_python": {"code": "print(2+2)"}})j", "apertus",
       R"j(run_python {"code":"print(2+2)"})j", ""},
  };
  for (const Reply& r : replies) {
    Check(r);
  }
}

TEST(TextFamiliesTest, FunctionaryV32Messages) {
  const Reply replies[] = {
      {"first name printed by the template", "run_shell\n{\"command\": \"ls\"}", "functionary-v3.2",
       R"j(run_shell {"command":"ls"})j", ""},
      {"text then a call", "all\nLet me check.\n>>>run_shell\n{\"command\": \"df -h\"}",
       "functionary-v3.2", R"j(run_shell {"command":"df -h"})j", "Let me check."},
      {"two calls", ">>>read_file\n{\"path\": \"a\"}\n>>>read_file\n{\"path\": \"b\"}",
       "functionary-v3.2", R"j(read_file {"path":"a"};read_file {"path":"b"})j", ""},
      {"python takes raw code", ">>>python\nimport os\nprint(os.getcwd())", "functionary-v3.2",
       R"j(run_python {"code":"import os\nprint(os.getcwd())"})j", ""},
  };
  for (const Reply& r : replies) {
    Check(r);
  }
}

TEST(TextFamiliesTest, PythonPromptInProseIsNoFunctionaryCall) {
  TextCallParse p = ParseTextCalls("In the REPL:\n>>> print(1)\n1", AgentToolsForTest());
  EXPECT_TRUE(p.calls.empty());
  EXPECT_EQ(p.error, "");
}

TEST(TextFamiliesTest, HermesTwoProVariants) {
  const Reply replies[] = {
      {"function name attribute", "<function name=\"run_shell\">{\"command\": \"ls\"}</function>",
       "hermes", R"j(run_shell {"command":"ls"})j", ""},
      {"function_call in an xml fence",
       "Running it.\n```xml\n<function_call>\n{\"name\": \"run_shell\", \"arguments\": "
       "{\"command\": \"make\"}}\n</function_call>\n```",
       "hermes", R"j(run_shell {"command":"make"})j", "Running it."},
      {"response in a json fence",
       "```json\n<response>{\"name\": \"read_file\", \"arguments\": {\"path\": \"x\"}}</response>\n"
       "```",
       "hermes", R"j(read_file {"path":"x"})j", ""},
      {"tool_call in an xml fence",
       "```xml\n<tool_call>\n{\"name\": \"run_shell\", \"arguments\": {\"command\": \"pwd\"}}\n"
       "</tool_call>\n```",
       "hermes", R"j(run_shell {"command":"pwd"})j", ""},
  };
  for (const Reply& r : replies) {
    Check(r);
  }
}

TEST(TextFamiliesTest, ResponseTagAroundProseIsProse) {
  TextCallParse p = ParseTextCalls("<response>All done.</response>", AgentToolsForTest());
  EXPECT_TRUE(p.calls.empty());
  EXPECT_EQ(p.error, "");
}

TEST(TextFamiliesTest, DeepSeekR1SectionOpenerWithoutBegin) {
  Check({"opener without begin",
         "<｜tool▁calls｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>run_shell\n```json\n"
         "{\"command\": \"ls\"}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>",
         "deepseek-v3", R"j(run_shell {"command":"ls"})j", ""});
}

}  // namespace
}  // namespace warden::llm
