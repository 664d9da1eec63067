// `warden parse` through the real binary: a reply in a file or on stdin, Warden's tools or a
// --tools list, and the JSON report of calls, formats, repairs and errors.
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "base/json.h"

namespace warden {
namespace {

struct ParseRun {
  int exit = -1;
  std::string out;
  json::object report;
};

class CliParseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        std::filesystem::temp_directory_path() / ("warden_cli_parse_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& text) {
    std::filesystem::path path = dir_ / name;
    std::ofstream(path, std::ios::binary) << text;
    return path.string();
  }

  // Runs `warden parse ARGS` through the shell (for a stdin redirect); stderr joins stdout.
  static ParseRun Run(const std::string& args) {
    ParseRun run;
    std::string command = std::string(WARDEN_BINARY) + " parse " + args + " 2>&1";
    FILE* pipe = ::popen(command.c_str(), "r");
    if (pipe == nullptr) {
      return run;
    }
    std::array<char, 4096> buffer{};
    for (size_t n; (n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0;) {
      run.out.append(buffer.data(), n);
    }
    int status = ::pclose(pipe);
    run.exit = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    boost::system::error_code ec;
    json::value v = json::parse(run.out, ec);
    if (!ec && v.is_object()) {
      run.report = v.get_object();
    }
    return run;
  }

  std::filesystem::path dir_;
};

TEST_F(CliParseTest, ReportsTheCallsFormatAndRepairsOfAReplyInAFile) {
  std::string reply =
      Write("reply.txt",
            "<seed:think>maybe <tool_call>{\"name\": \"run_shell\", \"arguments\": {\"command\": "
            "\"rm -rf /\"}}</tool_call></seed:think>Listing.\n<tool_call>{'name': 'bash', "
            "'arguments': {'cmd': 'ls -la',}}</tool_call>");
  ParseRun r = Run(reply);
  ASSERT_EQ(r.exit, 0) << r.out;
  const json::array& calls = r.report.at("calls").as_array();
  ASSERT_EQ(calls.size(), 1u) << r.out;
  const json::object& call = calls[0].as_object();
  EXPECT_EQ(call.at("name"), "run_shell");
  EXPECT_EQ(json::serialize(call.at("arguments")), R"({"command":"ls -la"})");
  EXPECT_EQ(call.at("format"), "hermes");
  EXPECT_EQ(json::serialize(call.at("repairs")),
            R"(["tool \"bash\" read as run_shell","argument \"cmd\" read as \"command\""])");
  EXPECT_EQ(json::serialize(r.report.at("formats")), R"(["hermes"])");
  EXPECT_EQ(r.report.at("prose"), "Listing.");
  EXPECT_FALSE(r.report.contains("error"));
  // The draft inside the thinking block is shown as dropped, never among the calls.
  const json::array& dropped = r.report.at("dropped").as_array();
  ASSERT_EQ(dropped.size(), 1u) << r.out;
  EXPECT_EQ(dropped[0].at("name"), "run_shell");
  EXPECT_EQ(json::serialize(dropped[0].at("arguments")), R"({"command":"rm -rf /"})");
  EXPECT_EQ(dropped[0].at("reason"), "inside a thinking block: a draft, never run");
}

TEST_F(CliParseTest, AReplyWhoseOnlyCallsAreDraftsHasNothingToRun) {
  ParseRun r = Run(Write("drafts.txt",
                         "[THINK]I could run [TOOL_CALLS]run_shell[ARGS]{\"command\": \"ls\"}"
                         "[/THINK]<think>or\n```bash\npwd\n```\n</think>"));
  EXPECT_EQ(r.exit, 1) << r.out;
  EXPECT_TRUE(r.report.at("calls").as_array().empty()) << r.out;
  const json::array& dropped = r.report.at("dropped").as_array();
  ASSERT_EQ(dropped.size(), 2u) << r.out;
  EXPECT_EQ(dropped[0].at("format"), "mistral-v11");
  EXPECT_EQ(json::serialize(dropped[1].at("arguments")), R"({"command":"pwd"})");
  EXPECT_NE(r.report.at("error").as_string().find("the only calls were drafts"), std::string::npos)
      << r.out;
}

TEST_F(CliParseTest, ReadsStdinAndACustomToolList) {
  std::string tools = Write("tools.json",
                            R"([{"type": "function", "function": {"name": "get_weather",
                               "parameters": {"type": "object", "properties":
                               {"city": {"type": "string"}}, "required": ["city"]}}}])");
  std::string reply =
      Write("reply.txt", "<|tool_call>call:get_weather{city:<|\"|>Paris<|\"|>}<tool_call|>");
  ParseRun r = Run("- --tools " + tools + " < " + reply);
  ASSERT_EQ(r.exit, 0) << r.out;
  const json::object& call = r.report.at("calls").as_array().at(0).as_object();
  EXPECT_EQ(call.at("name"), "get_weather");
  EXPECT_EQ(call.at("format"), "gemma4");
  EXPECT_EQ(json::serialize(call.at("arguments")), R"({"city":"Paris"})");
}

TEST_F(CliParseTest, SaysWhyNothingCouldBeUsed) {
  ParseRun unknown = Run(Write("a.txt", "<tool_call>{\"name\": \"launch\", \"arguments\": {}}"));
  EXPECT_EQ(unknown.exit, 1) << unknown.out;
  EXPECT_TRUE(unknown.report.at("calls").as_array().empty());
  EXPECT_NE(unknown.report.at("error").as_string().find("unknown tool \"launch\""),
            std::string::npos)
      << unknown.out;
  ParseRun prose = Run(Write("b.txt", "All done, nothing to run."));
  EXPECT_EQ(prose.exit, 1) << prose.out;
  EXPECT_NE(prose.report.at("error").as_string().find("no tool call found"), std::string::npos);
  EXPECT_TRUE(prose.report.at("dropped").as_array().empty());
}

TEST_F(CliParseTest, BadInputIsAClearErrorAnd2) {
  ParseRun missing = Run((dir_ / "missing.txt").string());
  EXPECT_EQ(missing.exit, 2);
  EXPECT_NE(missing.out.find("cannot read"), std::string::npos) << missing.out;
  ParseRun bad_tools = Run("--tools " + Write("t.json", "{\"name\": 1}") + " " + Write("r", "x"));
  EXPECT_EQ(bad_tools.exit, 2);
  EXPECT_NE(bad_tools.out.find("expected a non-empty JSON list of tools"), std::string::npos)
      << bad_tools.out;
}

}  // namespace
}  // namespace warden
