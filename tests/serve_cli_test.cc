// The client verbs end to end: the real `warden` binary as a user runs it (submit, jobs, status,
// logs, cancel, retry, download, chat), against the real `warden serve` on loopback.
#include <sys/wait.h>

#include <cstdio>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/json.h"
#include "fake_llm.h"
#include "serve_fixture.h"
#include "serve_util.h"

namespace warden::serve_test {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

struct CliResult {
  int exit_code = -1;
  std::string out;  // stdout and stderr together
};

// 'text' for the shell.
std::string Quote(const std::string& text) {
  std::string quoted = "'";
  for (char c : text) {
    quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  }
  return quoted + "'";
}

class CliTest : public ServeTest {
 protected:
  // Runs `warden ARGS` in the test's directory against the server, `input` on stdin.
  CliResult Warden(const std::vector<std::string>& args, const std::string& input = "") {
    std::string input_file = dir() / "cli-input";
    WriteFile(input_file, input);
    std::string command = fmt::format(
        "cd {} && env -i PATH=/usr/bin:/bin HOME={} WARDEN_SERVER={} {}", Quote(dir().path()),
        Quote(dir() / "home"), Quote(fmt::format("http://127.0.0.1:{}", server().port())),
        Quote(WARDEN_BINARY));
    for (const std::string& arg : args) {
      command += " " + Quote(arg);
    }
    command += " < " + Quote(input_file) + " 2>&1";
    CliResult result;
    FILE* pipe = ::popen(command.c_str(), "r");
    if (pipe == nullptr) {
      ADD_FAILURE() << "popen: " << ErrnoText();
      return result;
    }
    char buffer[4096];
    size_t got = 0;
    while ((got = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0) {
      result.out.append(buffer, got);
    }
    int status = ::pclose(pipe);
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return result;
  }

  void StartWith(const testing::FakeLlm& fake) {
    WriteConfig(fmt::format(
        "[llm]\nprovider = \"openai-compatible\"\nbase_url = \"{}\"\nmodel = \"fake-model\"\n"
        "retry_base_ms = 20\nmax_retries = 1\n",
        fake.BaseUrl()));
    ASSERT_NO_FATAL_FAILURE(Start());
  }
};

std::string Trim(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) {
    text.pop_back();
  }
  return text;
}

TEST_F(CliTest, SubmitFollowListShowLogsRetryAndDownload) {
  testing::FakeLlm fake(testing::Wire::kOpenAi);
  fake.Script({testing::TextReply("1. Make out.txt"),
               testing::ToolCallReply("run_shell",
                                      R"({"command": "echo from-the-task > out.txt; echo done"})"),
               testing::ToolCallReply("finish", R"({"summary": "made out.txt"})")});
  ASSERT_NO_FATAL_FAILURE(StartWith(fake));

  CliResult submitted = Warden({"submit", "--wait", "make", "out.txt"});
  EXPECT_EQ(submitted.exit_code, 0) << submitted.out;
  EXPECT_THAT(submitted.out, HasSubstr("done\n"));  // live output
  EXPECT_THAT(submitted.out, HasSubstr("succeeded"));
  EXPECT_THAT(submitted.out, HasSubstr("made out.txt"));
  json::object listed = json::parse(Warden({"jobs", "--json"}).out).as_object();
  ASSERT_EQ(Arr(listed, "jobs").size(), 1U);
  std::string id = Str(Arr(listed, "jobs")[0].get_object(), "id");
  EXPECT_THAT(Warden({"jobs"}).out, HasSubstr(id + "  succeeded  make out.txt"));

  CliResult status = Warden({"status", id, "--json"});
  EXPECT_EQ(status.exit_code, 0);
  EXPECT_EQ(Str(json::parse(status.out).as_object(), "state"), "succeeded") << status.out;
  EXPECT_EQ(Warden({"logs", id}).out, "done\n");

  CliResult zip = Warden({"download", id, "-o", "files.zip"});
  EXPECT_EQ(zip.exit_code, 0) << zip.out;
  EXPECT_EQ(Unpack(ReadFile(dir() / "files.zip"), "zip").at("out.txt"), "from-the-task\n");
  CliResult tgz = Warden({"download", id, "--format", "tar.gz"});
  EXPECT_EQ(tgz.exit_code, 0) << tgz.out;
  EXPECT_EQ(Unpack(ReadFile(dir() / (id + ".tar.gz")), "tar.gz").at("out.txt"), "from-the-task\n");

  fake.Script({testing::TextReply("1. Again"),
               testing::ToolCallReply("finish", R"({"summary": "again"})")});
  CliResult retried = Warden({"retry", id, "--json"});
  EXPECT_EQ(retried.exit_code, 0) << retried.out;
  json::object retry = json::parse(retried.out).as_object();
  EXPECT_EQ(Str(retry, "parent_id"), id);
  EXPECT_EQ(Str(WaitForState(Str(retry, "id"), "succeeded"), "state"), "succeeded");
}

TEST_F(CliTest, CancelStopsARunningJobAndErrorsAreClear) {
  ASSERT_NO_FATAL_FAILURE(Start());
  std::string id = Str(Submit(StepsJob({Shell("sleep 60")})), "id");
  WaitForState(id, "running");
  CliResult cancelled = Warden({"cancel", id});
  EXPECT_EQ(cancelled.exit_code, 0) << cancelled.out;
  EXPECT_EQ(Str(WaitForState(id, "cancelled"), "state"), "cancelled");
  CliResult again = Warden({"cancel", id});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_THAT(again.out, HasSubstr("409"));

  CliResult unknown = Warden({"status", "j_00000000000000000000000000"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_THAT(unknown.out, HasSubstr("404: no job j_00000000000000000000000000"));
  CliResult usage = Warden({"status"});
  EXPECT_EQ(usage.exit_code, 2) << usage.out;
  CliResult away = Warden({"jobs", "--server", "http://127.0.0.1:1"});
  EXPECT_EQ(away.exit_code, 1);
  EXPECT_THAT(away.out, HasSubstr("is `warden serve` running there?"));
}

TEST_F(CliTest, ChatStartsASessionAndResumesItWithTheEarlierTurnsInView) {
  testing::FakeLlm fake(testing::Wire::kOpenAi);
  fake.Script({testing::TextReply("1. Write it"),
               testing::ToolCallReply("write_file", R"({"path": "n.txt", "content": "42\n"})"),
               testing::ToolCallReply("finish", R"({"summary": "saved 42 in n.txt"})")});
  ASSERT_NO_FATAL_FAILURE(StartWith(fake));

  CliResult first = Warden({"chat", "-m", "remember 42 in n.txt"});
  EXPECT_EQ(first.exit_code, 0) << first.out;
  EXPECT_THAT(first.out, HasSubstr("new session s_"));
  EXPECT_THAT(first.out, HasSubstr("write_file"));
  EXPECT_THAT(first.out, HasSubstr("✓ saved 42 in n.txt"));
  size_t at = first.out.find("warden chat s_");
  ASSERT_NE(at, std::string::npos) << first.out;
  std::string session = first.out.substr(at + 12, 28);
  ASSERT_THAT(session, StartsWith("s_"));

  // Resumed, with the message on stdin as from a pipe.
  fake.Script({testing::TextReply("1. Read it"),
               testing::ToolCallReply("run_shell", R"({"command": "cat n.txt"})"),
               testing::ToolCallReply("finish", R"({"summary": "the number is 42"})")});
  CliResult second = Warden({"chat", session}, "what number did I ask you to remember?\n");
  EXPECT_EQ(second.exit_code, 0) << second.out;
  EXPECT_THAT(second.out, HasSubstr("1 earlier message"));
  EXPECT_THAT(second.out, HasSubstr("42\n"));  // the live output of cat
  EXPECT_THAT(second.out, HasSubstr("✓ the number is 42"));
  std::vector<json::value> bodies = fake.ChatBodies();
  ASSERT_GE(bodies.size(), 4U);
  EXPECT_THAT(json::serialize(bodies[3]), HasSubstr("remember 42 in n.txt"));

  HttpResponse got = client().Get("/v1/sessions/" + session);
  EXPECT_EQ(Arr(got.Json(), "turns").size(), 2U) << got.body;
  CliResult missing = Warden({"chat", "s_00000000000000000000000000", "-m", "hi"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.out, HasSubstr("404"));
  EXPECT_EQ(Trim(Warden({"chat", "--json", session}, "").out), "");
}

}  // namespace
}  // namespace warden::serve_test
