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
#include "terminal_util.h"

namespace warden::serve_test {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
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

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) {
      end = text.size();
    }
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

std::string Trim(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) {
    text.pop_back();
  }
  return text;
}

TEST_F(CliTest, SubmitWaitStatusAndLogsShowTheJobAsRunShowsATask) {
  testing::FakeLlm fake(testing::Wire::kOpenAi);
  fake.Script({testing::TextReply("1. Make out.txt"),
               testing::ToolCallReply("run_shell",
                                      R"({"command": "echo from-the-task > out.txt; echo done"})"),
               testing::ToolCallReply("finish", R"({"summary": "made out.txt"})")});
  ASSERT_NO_FATAL_FAILURE(StartWith(fake));

  Exit submitted = Warden({"submit", "--wait", "make", "out.txt"});
  EXPECT_EQ(submitted.code, 0) << submitted.out;
  json::object listed = json::parse(Warden({"jobs", "--json"}).out).as_object();
  ASSERT_EQ(Arr(listed, "jobs").size(), 1U);
  std::string id = Str(Arr(listed, "jobs")[0].get_object(), "id");
  // The plan, the action with its command, its live output, ✓, then the outcome with the files.
  const std::string shown =
      "Plan:\n  1. Make out.txt\n"
      "▶ step 1 run_shell\n    echo from-the-task > out.txt; echo done\n"
      "  │ done\n"
      "  ✓ ";
  const std::string outcome =
      "\nDone: made out.txt\nFiles (get them with `warden download " + id + "` or ";
  EXPECT_THAT(submitted.out, HasSubstr(shown));
  EXPECT_THAT(submitted.out, HasSubstr(outcome));
  EXPECT_THAT(submitted.out, HasSubstr("/v1/jobs/" + id + "/archive):\n  out.txt "));
  EXPECT_THAT(submitted.out, HasSubstr("2 steps, "));
  EXPECT_THAT(submitted.out, Not(HasSubstr("\033[")));     // no colour without a terminal
  EXPECT_THAT(submitted.out, Not(HasSubstr("thinking")));  // no spinner either

  // `logs -f` of the ended job shows the same; `status` its outcome block.
  Exit followed = Warden({"logs", "-f", id});
  EXPECT_EQ(followed.code, 0) << followed.out;
  EXPECT_THAT(followed.out, HasSubstr(shown));
  EXPECT_THAT(followed.out, HasSubstr(outcome));
  Exit status = Warden({"status", id});
  EXPECT_EQ(status.code, 0) << status.out;
  EXPECT_THAT(status.out, StartsWith(id + "  succeeded  make out.txt\n"));
  EXPECT_THAT(status.out, HasSubstr(outcome));
  EXPECT_THAT(status.out, HasSubstr("  out.txt "));
  EXPECT_THAT(status.out, HasSubstr(" tokens ("));
  EXPECT_THAT(Warden({"jobs"}).out, HasSubstr(id + "  succeeded  make out.txt"));

  Exit status_json = Warden({"status", id, "--json"});
  EXPECT_EQ(status_json.code, 0);
  EXPECT_EQ(Str(json::parse(status_json.out).as_object(), "state"), "succeeded") << status_json.out;
  EXPECT_EQ(Warden({"logs", id}).out, "done\n");
  // --json: the API's event objects, one per line, the same whether followed or not.
  Exit events = Warden({"logs", id, "--json"});
  EXPECT_EQ(events.code, 0) << events.out;
  EXPECT_EQ(events.out, Warden({"logs", "-f", id, "--json"}).out);
  std::vector<std::string> types;
  for (const std::string& line : Lines(events.out)) {
    types.push_back(Str(json::parse(line).as_object(), "type"));
  }
  EXPECT_THAT(types, ::testing::IsSupersetOf({"plan", "action", "output", "observation", "final"}));

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

TEST_F(CliTest, LongOutputsAndFileListsAreCutWithANoteButNotInJson) {
  testing::FakeLlm fake(testing::Wire::kOpenAi);
  fake.Script(
      {testing::TextReply("1. Count"),
       testing::ToolCallReply(
           "run_shell", R"({"command": "seq 1 100; for i in $(seq 1 25); do : > f$i; done"})"),
       testing::ToolCallReply("finish", R"({"summary": "counted"})")});
  ASSERT_NO_FATAL_FAILURE(StartWith(fake));

  Exit shown = Warden({"submit", "--wait", "count"});
  EXPECT_EQ(shown.code, 0) << shown.out;
  std::string id = Str(
      Arr(json::parse(Warden({"jobs", "--json"}).out).as_object(), "jobs")[0].get_object(), "id");
  EXPECT_THAT(shown.out,
              HasSubstr("  │ 40\n  │ … 60 more lines not shown (all of it: `warden logs " + id +
                        "`)\n  ✓ "));
  EXPECT_THAT(shown.out, Not(HasSubstr("  │ 41\n")));
  EXPECT_THAT(shown.out, HasSubstr("  … and 5 more files (all of them: `warden download " + id));
  EXPECT_THAT(Warden({"logs", id}).out, HasSubstr("\n99\n100\n"));  // the whole is there
  // JSON is never cut.
  std::string output;
  for (const std::string& line : Lines(Warden({"logs", "-f", id, "--json"}).out)) {
    json::object event = json::parse(line).as_object();
    if (Str(event, "type") == "output") {
      output += Str(Obj(event, "data"), "text");
    }
  }
  EXPECT_THAT(output, HasSubstr("\n40\n41\n"));
  EXPECT_THAT(output, HasSubstr("\n99\n100\n"));
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
  ASSERT_TRUE(WaitForEvent(id, "action", "sleep 60", milliseconds(20'000)));
  Exit running = Warden({"status", id});
  EXPECT_EQ(running.code, 0) << running.out;
  EXPECT_THAT(running.out, HasSubstr(id +
                                     "  running  (steps)\n  now: step 1, run_shell: sleep 60\n"
                                     "  follow it: warden logs -f " +
                                     id + "\n"));
  Exit cancelled = Warden({"cancel", id});
  EXPECT_EQ(cancelled.code, 0) << cancelled.out;
  EXPECT_EQ(Str(WaitForState(id, "cancelled"), "state"), "cancelled");
  Exit again = Warden({"cancel", id});
  EXPECT_EQ(again.code, 1);
  EXPECT_THAT(again.out, HasSubstr("409"));
  // One line per job, with why it ended.
  EXPECT_EQ(Warden({"jobs"}).out, id + "  cancelled  (steps)  (cancelled)\n");

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
  EXPECT_THAT(first.out, HasSubstr("▶ step 1 write_file\n    n.txt (3)\n"));
  EXPECT_THAT(first.out, HasSubstr("Done: saved 42 in n.txt\n"));
  // The turn's job, and the file it made with where to get it.
  size_t job_at = first.out.find("job j_");
  ASSERT_NE(job_at, std::string::npos) << first.out;
  std::string job = first.out.substr(job_at + 4, 28);
  EXPECT_THAT(first.out, HasSubstr("job " + job + " (warden status " + job + ")\n"));
  EXPECT_THAT(first.out,
              HasSubstr("Files it made (get them with `warden download " + job + "` or "));
  EXPECT_THAT(first.out, HasSubstr("/v1/jobs/" + job + "/archive):\n  n.txt "));
  size_t at = first.out.find("warden chat s_");
  ASSERT_NE(at, std::string::npos) << first.out;
  std::string session = first.out.substr(at + 12, 28);
  ASSERT_THAT(session, StartsWith("s_"));

  // Resumed, with the message on stdin as from a pipe.
  fake.Script({testing::TextReply("1. Read it"),
               testing::ToolCallReply("run_shell", R"({"command": "cat n.txt; rm n.txt"})"),
               testing::ToolCallReply("finish", R"({"summary": "the number is 42"})")});
  Exit second = Warden({"chat", session}, "what number did I ask you to remember?\n");
  EXPECT_EQ(second.code, 0) << second.out;
  EXPECT_THAT(second.out, HasSubstr("1 earlier message"));
  EXPECT_THAT(second.out, HasSubstr("  │ 42\n"));  // the live output of cat
  EXPECT_THAT(second.out,
              HasSubstr("Done: the number is 42\nNo files made or changed\nDeleted: n.txt\n"));
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

TEST_F(CliTest, SubmitWaitOnATerminalAsksBeforeARiskyActionAndShowsTheRest) {
  testing::FakeLlm fake(testing::Wire::kOpenAi);
  fake.Script({testing::TextReply("1. Clean"),
               testing::ToolCallReply("run_shell", R"({"command": "rm -rf old && echo cleaned"})"),
               testing::ToolCallReply("finish", R"({"summary": "cleaned up"})")});
  ASSERT_NO_FATAL_FAILURE(StartWith(fake));
  testing::Terminal terminal(WARDEN_BINARY, {"submit", "--wait", "clean", "up"},
                             {"HOME=" + (dir() / "home"),
                              fmt::format("WARDEN_SERVER=http://127.0.0.1:{}", server().port())});
  ASSERT_TRUE(terminal.WaitFor("Run it? [y/N/a", milliseconds(20'000))) << terminal.out();
  terminal.Type("y\r");
  EXPECT_EQ(terminal.Wait(milliseconds(30'000)), 0) << terminal.out();
  std::string screen = testing::Screen(terminal.out());
  EXPECT_THAT(screen, HasSubstr("Approve run_shell"));
  EXPECT_THAT(screen, HasSubstr("  │ cleaned\n"));
  EXPECT_THAT(screen, HasSubstr("Done: cleaned up\n"));
}

TEST_F(CliTest, ChatOnATerminalEditsTheLineAndRecallsTheLastOne) {
  testing::FakeLlm fake(testing::Wire::kOpenAi);
  fake.Script({testing::TextReply("1. Answer"),
               testing::ToolCallReply("finish", R"({"summary": "answered"})"),
               testing::TextReply("1. Again"),
               testing::ToolCallReply("finish", R"({"summary": "answered again"})")});
  ASSERT_NO_FATAL_FAILURE(StartWith(fake));
  testing::Terminal terminal(WARDEN_BINARY, {"chat"},
                             {"HOME=" + (dir() / "home"), "TERM=xterm",
                              fmt::format("WARDEN_SERVER=http://127.0.0.1:{}", server().port())});
  ASSERT_TRUE(terminal.WaitFor("you> ", milliseconds(20'000))) << terminal.out();
  terminal.Type("world\x01hello \r");  // Ctrl-A: to the start of the line
  ASSERT_TRUE(terminal.WaitFor("you> ", milliseconds(30'000), 2)) << terminal.out();
  terminal.Type("\x10\r");  // Ctrl-P: the line before
  ASSERT_TRUE(terminal.WaitFor("you> ", milliseconds(30'000), 3)) << terminal.out();
  terminal.Type("\x04");  // Ctrl-D: the end
  EXPECT_EQ(terminal.Wait(milliseconds(20'000)), 0) << terminal.out();

  size_t at = terminal.out().find("new session s_");
  ASSERT_NE(at, std::string::npos) << terminal.out();
  HttpResponse got = client().Get("/v1/sessions/" + terminal.out().substr(at + 12, 28));
  json::array turns = Arr(got.Json(), "turns");
  ASSERT_EQ(turns.size(), 2U) << got.body;
  EXPECT_EQ(Str(turns[0].as_object(), "message"), "hello world");
  EXPECT_EQ(Str(turns[1].as_object(), "message"), "hello world");
  // The history is kept for the next chat.
  EXPECT_THAT(ReadFile(dir() / "home/.local/state/warden/chat_history"),
              HasSubstr("\nhello\\040world\n"));  // libedit's escapes
}

}  // namespace
}  // namespace warden::serve_test
