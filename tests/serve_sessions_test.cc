// Sessions end to end: the real `warden serve`, the fake LLM, real sandboxes. A session's messages
// run one after another in one workspace, each with the earlier turns in view of the model.
#include <algorithm>
#include <chrono>
#include <string>
#include <thread>

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
using ::testing::Not;

class SessionsTest : public ServeTest {
 protected:
  // Points the server at `fake` and starts it.
  void StartWith(const testing::FakeLlm& fake) {
    WriteConfig(fmt::format(
        "[llm]\nprovider = \"openai-compatible\"\nbase_url = \"{}\"\nmodel = \"fake-model\"\n"
        "retry_base_ms = 20\nmax_retries = 1\n",
        fake.BaseUrl()));
    ASSERT_NO_FATAL_FAILURE(Start());
  }

  std::string NewSession() {
    HttpResponse created = client().Post("/v1/sessions", "");
    EXPECT_EQ(created.status, 201) << created.Describe();
    return Str(created.Json(), "id");
  }

  HttpResponse Say(const std::string& session, const std::string& message, int wait_seconds) {
    return client().PostJson(fmt::format("/v1/sessions/{}/messages?wait={}", session, wait_seconds),
                             json::object{{"message", message}});
  }
};

TEST_F(SessionsTest, MessagesShareTheWorkspaceAndSeeEarlierTurns) {
  testing::FakeLlm fake(testing::Wire::kOpenAi);
  fake.Script(
      {testing::TextReply("1. Write notes.txt"),
       testing::ToolCallReply("write_file", R"({"path": "notes.txt", "content": "hello\n"})"),
       testing::ToolCallReply("finish", R"({"summary": "wrote notes.txt"})")});
  ASSERT_NO_FATAL_FAILURE(StartWith(fake));
  std::string session = NewSession();
  ASSERT_TRUE(session.starts_with("s_")) << session;

  HttpResponse first = Say(session, "write notes.txt saying hello", 60);
  ASSERT_EQ(first.status, 201) << first.Describe();
  json::object answer = first.Json();
  EXPECT_EQ(Int(Obj(answer, "turn"), "seq"), 1);
  EXPECT_EQ(Str(Obj(answer, "job"), "session_id"), session);
  json::object reply = Obj(answer, "reply");
  ASSERT_EQ(Str(reply, "state"), "succeeded") << first.body << "\n" << server().Describe();
  EXPECT_EQ(Str(reply, "summary"), "wrote notes.txt");
  json::array actions = Arr(reply, "actions");
  ASSERT_GE(actions.size(), 1U) << first.body;
  json::object write = actions[0].get_object();
  EXPECT_EQ(Str(write, "tool"), "write_file");
  EXPECT_EQ(Str(Obj(write, "arguments"), "path"), "notes.txt");
  EXPECT_TRUE(Obj(write, "observation").at("ok").as_bool()) << first.body;

  // The second message reads the file the first one wrote: one workspace.
  fake.Script({testing::TextReply("1. Show notes.txt"),
               testing::ToolCallReply("run_shell", R"({"command": "cat notes.txt"})"),
               testing::ToolCallReply("finish", R"({"summary": "it says hello"})")});
  size_t requests_before = fake.ChatBodies().size();
  HttpResponse second = Say(session, "what does notes.txt say?", 60);
  ASSERT_EQ(second.status, 201) << second.Describe();
  json::object second_reply = Obj(second.Json(), "reply");
  ASSERT_EQ(Str(second_reply, "state"), "succeeded") << second.body;
  json::object cat = Arr(second_reply, "actions")[0].get_object();
  EXPECT_EQ(Str(Obj(cat, "arguments"), "command"), "cat notes.txt");
  EXPECT_EQ(Int(Obj(cat, "observation"), "exit_code"), 0) << second.body;
  std::string job_id = Str(Obj(second.Json(), "job"), "id");
  EXPECT_EQ(client().Get("/v1/jobs/" + job_id + "/logs").body, "hello\n");

  // The model saw the first turn: its message, what it did and how it ended.
  std::vector<json::value> bodies = fake.ChatBodies();
  ASSERT_GT(bodies.size(), requests_before);
  std::string seen = Conversation(bodies[requests_before]);
  EXPECT_THAT(seen, HasSubstr("[turn 1] User: write notes.txt saying hello"));
  EXPECT_THAT(seen, HasSubstr("You ran write_file: notes.txt"));
  EXPECT_THAT(seen, HasSubstr("wrote notes.txt"));
  EXPECT_THAT(seen, HasSubstr("what does notes.txt say?"));
  // ... but the first turn's model did not see the second message.
  EXPECT_THAT(Conversation(bodies[0]), Not(HasSubstr("what does notes.txt say?")));

  // The session lists both turns, each with its job and reply.
  HttpResponse got = client().Get("/v1/sessions/" + session);
  ASSERT_EQ(got.status, 200) << got.Describe();
  json::array turns = Arr(got.Json(), "turns");
  ASSERT_EQ(turns.size(), 2U) << got.body;
  EXPECT_EQ(Str(turns[0].get_object(), "message"), "write notes.txt saying hello");
  EXPECT_EQ(Str(turns[1].get_object(), "message"), "what does notes.txt say?");
  EXPECT_EQ(Str(Obj(turns[1].get_object(), "job"), "state"), "succeeded");
  EXPECT_EQ(Str(Obj(turns[1].get_object(), "reply"), "summary"), "it says hello");
  // A message's job is not retried as a job of its own: it would run in the session's workspace
  // beside the session's next message.
  HttpResponse retry = client().Post("/v1/jobs/" + job_id + "/retry", "");
  EXPECT_EQ(retry.status, 409) << retry.Describe();
  EXPECT_EQ(retry.ErrorCode(), "session_job");
  // The session's files are downloadable through either job.
  EXPECT_EQ(client().Get("/v1/jobs/" + job_id + "/files/notes.txt").body, "hello\n");
}

// Paths of a manifest, or of a "changes" list.
std::vector<std::string> Paths(const json::array& entries) {
  std::vector<std::string> paths;
  for (const json::value& entry : entries) {
    paths.push_back(entry.is_string() ? std::string(entry.get_string())
                                      : Str(entry.get_object(), "path"));
  }
  std::sort(paths.begin(), paths.end());
  return paths;
}

// Each turn records what it added, modified and deleted; a turn's manifest stays what its job
// left, whatever later turns do to the same files.
TEST_F(SessionsTest, EachTurnRecordsWhatItChangedAndItsManifestStaysAsItEnded) {
  testing::FakeLlm fake(testing::Wire::kOpenAi);
  fake.Script(
      {testing::TextReply("1. Write"),
       testing::ToolCallReply("run_shell",
                              R"({"command": "echo hello > notes.txt; echo x > old.txt"})"),
       testing::ToolCallReply("finish", R"({"summary": "wrote two files"})"),
       testing::TextReply("1. Change"),
       testing::ToolCallReply(
           "run_shell", R"({"command": "echo more >> notes.txt; rm old.txt; echo new > new.txt"})"),
       testing::ToolCallReply("finish", R"({"summary": "changed them"})")});
  ASSERT_NO_FATAL_FAILURE(StartWith(fake));
  std::string session = NewSession();
  HttpResponse first = Say(session, "write two files", 60);
  ASSERT_EQ(first.status, 201) << first.Describe();
  json::object changes = Obj(Obj(first.Json(), "reply"), "changes");
  EXPECT_EQ(Paths(Arr(changes, "added")), (std::vector<std::string>{"notes.txt", "old.txt"}));
  EXPECT_TRUE(Arr(changes, "modified").empty());
  HttpResponse second = Say(session, "change them", 60);
  ASSERT_EQ(second.status, 201) << second.Describe();
  changes = Obj(Obj(second.Json(), "reply"), "changes");
  EXPECT_EQ(Paths(Arr(changes, "added")), (std::vector<std::string>{"new.txt"}));
  EXPECT_EQ(Paths(Arr(changes, "modified")), (std::vector<std::string>{"notes.txt"}));
  EXPECT_EQ(Paths(Arr(changes, "deleted")), (std::vector<std::string>{"old.txt"}));
  EXPECT_EQ(Int(Arr(changes, "modified")[0].get_object(), "size"), 11);

  // The first turn's manifest is as its job left the workspace.
  std::string first_job = Str(Obj(first.Json(), "job"), "id");
  json::array frozen = Arr(client().Get("/v1/jobs/" + first_job + "/files").Json(), "files");
  EXPECT_EQ(Paths(frozen), (std::vector<std::string>{"notes.txt", "old.txt"}));
  for (const json::value& entry : frozen) {
    if (Str(entry.get_object(), "path") == "notes.txt") {
      EXPECT_EQ(Int(entry.get_object(), "size"), 6);
    }
  }
  EXPECT_TRUE(Obj(GetJob(first_job), "result").contains("changes"));
}

TEST_F(SessionsTest, AMessageWhileThePreviousRunsIs409AndCancelFreesTheSession) {
  testing::FakeLlm fake(testing::Wire::kOpenAi);
  fake.Script({testing::TextReply("1. Wait"),
               testing::ToolCallReply("run_shell", R"({"command": "sleep 60"})")});
  ASSERT_NO_FATAL_FAILURE(StartWith(fake));
  std::string session = NewSession();
  HttpResponse first = Say(session, "wait a minute", 0);
  ASSERT_EQ(first.status, 201) << first.Describe();
  std::string job = Str(Obj(first.Json(), "job"), "id");
  EXPECT_FALSE(first.Json().contains("reply"));  // no wait asked for

  HttpResponse busy = Say(session, "are you done?", 0);
  EXPECT_EQ(busy.status, 409) << busy.Describe();
  EXPECT_EQ(busy.ErrorCode(), "session_busy");
  EXPECT_THAT(busy.body, HasSubstr(job));
  EXPECT_EQ(busy.Header("retry-after"), "1");

  ASSERT_TRUE(WaitForEvent(job, "action", "sleep 60", milliseconds(20'000)));
  EXPECT_EQ(client().Post("/v1/jobs/" + job + "/cancel", "").status, 202);
  EXPECT_EQ(Str(WaitForState(job, "cancelled"), "state"), "cancelled");

  fake.Script(
      {testing::TextReply("1. Answer"), testing::ToolCallReply("finish", R"({"summary": "yes"})")});
  HttpResponse after = Say(session, "are you done now?", 60);
  ASSERT_EQ(after.status, 201) << after.Describe();
  EXPECT_EQ(Int(Obj(after.Json(), "turn"), "seq"), 2);  // the refused message left no turn
  EXPECT_EQ(Str(Obj(after.Json(), "reply"), "state"), "succeeded") << after.body;
}

TEST_F(SessionsTest, TheListPagesSessionsNewestFirstWithTheirLastTurn) {
  testing::FakeLlm fake(testing::Wire::kOpenAi);
  fake.Script({testing::TextReply("1. Answer"),
               testing::ToolCallReply("finish", R"({"summary": "hello to you"})")});
  ASSERT_NO_FATAL_FAILURE(StartWith(fake));
  std::string oldest = NewSession();
  std::string talked = NewSession();
  std::string newest = NewSession();
  std::string long_message = "say hello\n" + std::string(300, 'x');
  HttpResponse said = Say(talked, long_message, 60);
  ASSERT_EQ(said.status, 201) << said.Describe();
  ASSERT_EQ(Str(Obj(said.Json(), "reply"), "state"), "succeeded") << said.body;

  HttpResponse first = client().Get("/v1/sessions?limit=2");
  ASSERT_EQ(first.status, 200) << first.Describe();
  json::array page = Arr(first.Json(), "sessions");
  ASSERT_EQ(page.size(), 2U) << first.body;
  EXPECT_EQ(Str(page[0].get_object(), "id"), newest) << first.body;
  EXPECT_EQ(Int(page[0].get_object(), "turns"), 0);
  EXPECT_TRUE(page[0].at("last_turn").is_null()) << first.body;
  json::object with_turn = page[1].get_object();
  EXPECT_EQ(Str(with_turn, "id"), talked) << first.body;
  EXPECT_EQ(Int(with_turn, "turns"), 1);
  json::object last = Obj(with_turn, "last_turn");
  EXPECT_EQ(Str(last, "message"), "say hello…");  // its first line only
  EXPECT_EQ(Str(last, "job_id"), Str(Obj(said.Json(), "job"), "id"));
  EXPECT_EQ(Str(last, "state"), "succeeded");
  EXPECT_GE(Int(with_turn, "last_active_ms"), Int(with_turn, "created_at_ms"));

  std::string cursor = Str(first.Json(), "next_cursor");
  EXPECT_EQ(cursor, talked);
  HttpResponse second = client().Get("/v1/sessions?limit=2&cursor=" + cursor);
  ASSERT_EQ(second.status, 200) << second.Describe();
  json::array rest = Arr(second.Json(), "sessions");
  ASSERT_EQ(rest.size(), 1U) << second.body;
  EXPECT_EQ(Str(rest[0].get_object(), "id"), oldest);
  EXPECT_TRUE(second.Json().at("next_cursor").is_null()) << second.body;

  EXPECT_EQ(client().Get("/v1/sessions?limit=0").ErrorCode(), "invalid_argument");
  EXPECT_EQ(client().Get("/v1/sessions?cursor=j_nope").ErrorCode(), "invalid_argument");
}

TEST_F(SessionsTest, BadSessionRequestsGetJsonErrors) {
  ASSERT_NO_FATAL_FAILURE(Start());
  std::string session = NewSession();
  struct Case {
    std::string target;
    std::string body;
    int status;
    std::string code;
  };
  const Case cases[] = {
      {"/v1/sessions/s_00000000000000000000000000/messages", R"({"message": "hi"})", 404,
       "not_found"},
      {"/v1/sessions/nonsense/messages", R"({"message": "hi"})", 404, "not_found"},
      {"/v1/sessions/" + session + "/messages", "{not json", 400, "invalid_json"},
      {"/v1/sessions/" + session + "/messages", R"({"message": ""})", 400, "invalid_message"},
      {"/v1/sessions/" + session + "/messages", R"({"message": 7})", 400, "invalid_message"},
      {"/v1/sessions/" + session + "/messages", R"({"message": "hi", "extra": 1})", 400,
       "invalid_message"},
      {"/v1/sessions/" + session + "/messages", R"({"message": "hi", "options": {"memory": "x"}})",
       400, "invalid_message"},
      {"/v1/sessions/" + session + "/messages?wait=100000", R"({"message": "hi"})", 400,
       "invalid_argument"},
      {"/v1/sessions", "[1, 2]", 400, "invalid_json"},
  };
  for (const Case& c : cases) {
    HttpResponse response = client().Post(c.target, c.body);
    EXPECT_EQ(response.status, c.status) << c.target << " " << c.body << "\n"
                                         << response.Describe();
    EXPECT_EQ(response.ErrorCode(), c.code) << c.target << " " << c.body;
  }
  EXPECT_EQ(client().Get("/v1/sessions/s_00000000000000000000000000").status, 404);
  HttpResponse huge = client().Post("/v1/sessions/" + session + "/messages",
                                    R"({"message": ")" + std::string(2 << 20, 'a') + R"("})");
  EXPECT_EQ(huge.status, 413) << huge.Describe();
  // None of the refused messages became a turn.
  HttpResponse got = client().Get("/v1/sessions/" + session);
  ASSERT_EQ(got.status, 200);
  EXPECT_TRUE(Arr(got.Json(), "turns").empty()) << got.body;
}

}  // namespace
}  // namespace warden::serve_test
