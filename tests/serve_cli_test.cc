// The client verbs end to end: the real `warden` binary as a user runs it (submit, jobs, status,
// logs, cancel, retry, download, chat, sessions), against the real `warden serve` on loopback.
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

class CliTest : public ServeTest {
 protected:
  // Runs `warden ARGS` in the test's directory against the server, `input` on stdin; its stdout
  // and stderr together in `out`.
  Exit Warden(const std::vector<std::string>& args, const std::string& input = "") {
    std::string input_file = dir() / "cli-input";
    WriteFile(input_file, input);
    Exit exit = RunWarden(args,
                          {"HOME=" + (dir() / "home"),
                           fmt::format("WARDEN_SERVER=http://127.0.0.1:{}", server().port())},
                          milliseconds(60'000), input_file, dir().path());
    exit.out += exit.err;
    return exit;
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

  Exit submitted = Warden({"submit", "--wait", "make", "out.txt"});
  EXPECT_EQ(submitted.code, 0) << submitted.out;
  EXPECT_THAT(submitted.out, HasSubstr("done\n"));  // live output
  EXPECT_THAT(submitted.out, HasSubstr("succeeded"));
  EXPECT_THAT(submitted.out, HasSubstr("made out.txt"));
  json::object listed = json::parse(Warden({"jobs", "--json"}).out).as_object();
  ASSERT_EQ(Arr(listed, "jobs").size(), 1U);
  std::string id = Str(Arr(listed, "jobs")[0].get_object(), "id");
  EXPECT_THAT(Warden({"jobs"}).out, HasSubstr(id + "  succeeded  make out.txt"));

  Exit status = Warden({"status", id, "--json"});
  EXPECT_EQ(status.code, 0);
  EXPECT_EQ(Str(json::parse(status.out).as_object(), "state"), "succeeded") << status.out;
  EXPECT_EQ(Warden({"logs", id}).out, "done\n");

  Exit zip = Warden({"download", id, "-o", "files.zip"});
  EXPECT_EQ(zip.code, 0) << zip.out;
  EXPECT_EQ(Unpack(ReadFile(dir() / "files.zip"), "zip").at("out.txt"), "from-the-task\n");
  Exit tgz = Warden({"download", id, "--format", "tar.gz"});
  EXPECT_EQ(tgz.code, 0) << tgz.out;
  EXPECT_EQ(Unpack(ReadFile(dir() / (id + ".tar.gz")), "tar.gz").at("out.txt"), "from-the-task\n");

  fake.Script({testing::TextReply("1. Again"),
               testing::ToolCallReply("finish", R"({"summary": "again"})")});
  Exit retried = Warden({"retry", id, "--json"});
  EXPECT_EQ(retried.code, 0) << retried.out;
  json::object retry = json::parse(retried.out).as_object();
  EXPECT_EQ(Str(retry, "parent_id"), id);
  EXPECT_EQ(Str(WaitForState(Str(retry, "id"), "succeeded"), "state"), "succeeded");
}

TEST_F(CliTest, DownloadPicksTheFormatFromTheNameOrWritesToStandardOutput) {
  ASSERT_NO_FATAL_FAILURE(Start());
  Exit none = Warden({"jobs"});
  EXPECT_EQ(none.code, 0) << none.out;
  EXPECT_THAT(none.out, HasSubstr("No jobs yet: submit one with `warden submit"));
  Exit no_sessions = Warden({"sessions"});
  EXPECT_EQ(no_sessions.code, 0) << no_sessions.out;
  EXPECT_THAT(no_sessions.out, HasSubstr("No sessions yet: start one with `warden chat`."));
  std::string id = Str(Submit(StepsJob({Shell("echo kept > a.txt")})), "id");
  EXPECT_EQ(Str(WaitForState(id, "succeeded"), "state"), "succeeded");

  Exit tgz = Warden({"download", id, "-o", "files.tgz"});
  EXPECT_EQ(tgz.code, 0) << tgz.out;
  EXPECT_EQ(Unpack(ReadFile(dir() / "files.tgz"), "tar.gz").at("a.txt"), "kept\n");
  Exit piped = Warden({"download", id, "-o", "-"});
  EXPECT_EQ(piped.code, 0);
  EXPECT_EQ(Unpack(piped.out, "zip").at("a.txt"), "kept\n");  // the archive alone, no note

  Exit unknown = Warden({"download", id, "-o", "files.rar"});
  EXPECT_EQ(unknown.code, 2);
  EXPECT_THAT(unknown.out, HasSubstr("end it in .zip or .tar.gz, or give --format"));
  Exit nowhere = Warden({"download", id, "-o", "no/such/dir/files.zip"});
  EXPECT_EQ(nowhere.code, 1);
  EXPECT_THAT(nowhere.out, HasSubstr("cannot write no/such/dir/files.zip: ENOENT (No such file or "
                                     "directory)"));
}

TEST_F(CliTest, CancelStopsARunningJobAndErrorsAreClear) {
  ASSERT_NO_FATAL_FAILURE(Start());
  std::string id = Str(Submit(StepsJob({Shell("sleep 60")})), "id");
  WaitForState(id, "running");
  Exit cancelled = Warden({"cancel", id});
  EXPECT_EQ(cancelled.code, 0) << cancelled.out;
  EXPECT_EQ(Str(WaitForState(id, "cancelled"), "state"), "cancelled");
  Exit again = Warden({"cancel", id});
  EXPECT_EQ(again.code, 1);
  EXPECT_THAT(again.out, HasSubstr("409"));

  Exit unknown = Warden({"status", "j_00000000000000000000000000"});
  EXPECT_EQ(unknown.code, 1);
  EXPECT_THAT(unknown.out, HasSubstr("404: no job j_00000000000000000000000000"));
  Exit usage = Warden({"status"});
  EXPECT_EQ(usage.code, 2) << usage.out;
  Exit away = Warden({"jobs", "--server", "http://127.0.0.1:1"});
  EXPECT_EQ(away.code, 1);
  EXPECT_THAT(away.out, HasSubstr("is `warden serve` running there?"));
}

TEST_F(CliTest, ChatStartsASessionAndResumesItWithTheEarlierTurnsInView) {
  testing::FakeLlm fake(testing::Wire::kOpenAi);
  fake.Script({testing::TextReply("1. Write it"),
               testing::ToolCallReply("write_file", R"({"path": "n.txt", "content": "42\n"})"),
               testing::ToolCallReply("finish", R"({"summary": "saved 42 in n.txt"})")});
  ASSERT_NO_FATAL_FAILURE(StartWith(fake));

  Exit first = Warden({"chat", "-m", "remember 42 in n.txt"});
  EXPECT_EQ(first.code, 0) << first.out;
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
  Exit second = Warden({"chat", session}, "what number did I ask you to remember?\n");
  EXPECT_EQ(second.code, 0) << second.out;
  EXPECT_THAT(second.out, HasSubstr("1 earlier message"));
  EXPECT_THAT(second.out, HasSubstr("42\n"));  // the live output of cat
  EXPECT_THAT(second.out, HasSubstr("✓ the number is 42"));
  std::vector<json::value> bodies = fake.ChatBodies();
  ASSERT_GE(bodies.size(), 4U);
  EXPECT_THAT(json::serialize(bodies[3]), HasSubstr("remember 42 in n.txt"));

  HttpResponse got = client().Get("/v1/sessions/" + session);
  EXPECT_EQ(Arr(got.Json(), "turns").size(), 2U) << got.body;

  // `warden sessions` lists it: two turns, the last message and how it ended.
  Exit listed = Warden({"sessions"});
  EXPECT_EQ(listed.code, 0) << listed.out;
  EXPECT_THAT(listed.out, HasSubstr(session + "    2 turns"));
  EXPECT_THAT(listed.out, HasSubstr("succeeded \"what number did I ask you to remember?\""));
  Exit listed_json = Warden({"sessions", "--json"});
  EXPECT_EQ(Str(Arr(json::parse(listed_json.out).as_object(), "sessions")[0].as_object(), "id"),
            session)
      << listed_json.out;
  Exit missing = Warden({"chat", "s_00000000000000000000000000", "-m", "hi"});
  EXPECT_EQ(missing.code, 1);
  EXPECT_THAT(missing.out, HasSubstr("404"));
  EXPECT_EQ(Trim(Warden({"chat", "--json", session}, "").out), "");
}

}  // namespace
}  // namespace warden::serve_test
