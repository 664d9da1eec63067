// Approvals of server jobs end to end: the real `warden serve` (risky by default, like `warden
// run`), the fake LLM, real sandboxes. A risky action waits, with an "approval" event naming it,
// until POST /v1/jobs/{id}/approvals approves it, denies it (the model is told why), or it
// expires as denied; "always" covers later actions of the same risk in the job and its session.
#include <string>
#include <thread>
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

class ApprovalsTest : public ServeTest {
 protected:
  void StartWith(const testing::FakeLlm& fake, std::string_view agent_toml = "") {
    WriteConfig(fmt::format(
        "[llm]\nprovider = \"openai-compatible\"\nbase_url = \"{}\"\nmodel = \"fake-model\"\n"
        "retry_base_ms = 20\nmax_retries = 1\n{}",
        fake.BaseUrl(), agent_toml));
    ASSERT_NO_FATAL_FAILURE(Start());
  }

  // Waits until the job asks approval `count` (1 = its first); returns GET .../approvals.
  json::object WaitForPending(const std::string& id, size_t count = 1) {
    json::object approvals;
    for (Deadline deadline = After(milliseconds(20'000));
         std::chrono::steady_clock::now() < deadline;
         std::this_thread::sleep_for(milliseconds(50))) {
      HttpResponse response = client().Get("/v1/jobs/" + id + "/approvals");
      EXPECT_EQ(response.status, 200) << response.Describe();
      approvals = response.Json();
      if (approvals.at("pending").is_object() && Arr(approvals, "approvals").size() == count) {
        return approvals;
      }
    }
    ADD_FAILURE() << "job " << id << " asked no approval " << count << ": "
                  << json::serialize(approvals) << "\n"
                  << server().Describe();
    return approvals;
  }

  HttpResponse Answer(const std::string& id, json::object answer) {
    return client().PostJson("/v1/jobs/" + id + "/approvals", answer);
  }
};

TEST_F(ApprovalsTest, ARiskyActionWaitsVisiblyAndRunsOnceApproved) {
  testing::FakeLlm fake(testing::Wire::kOpenAi);
  fake.Script({testing::TextReply("1. Clean up and mark"),
               testing::ToolCallReply(
                   "run_shell", R"({"command": "mkdir -p old && rm -rf old && echo ok > marker"})"),
               testing::ToolCallReply("finish", R"({"summary": "cleaned"})")});
  ASSERT_NO_FATAL_FAILURE(StartWith(fake));
  std::string id = Str(Submit(json::object{{"task", "clean up"}}), "id");

  json::object approvals = WaitForPending(id);
  json::object pending = approvals.at("pending").as_object();
  EXPECT_EQ(Str(pending, "state"), "pending");
  EXPECT_EQ(Str(pending, "tool"), "run_shell");
  EXPECT_EQ(Str(pending, "reason"), "it deletes recursively");
  EXPECT_THAT(Str(Obj(pending, "arguments"), "command"), HasSubstr("rm -rf old"));
  EXPECT_GT(Int(pending, "expires_at"), Int(pending, "requested_at"));
  EXPECT_EQ(Str(GetJob(id), "state"), "running");
  // The request is an event of the job, for every follower; nothing ran yet.
  EXPECT_TRUE(WaitForEvent(id, "approval", "\"pending\"", milliseconds(5'000)));
  EXPECT_EQ(client().Get("/v1/jobs/" + id + "/files/marker").status, 404);

  // A malformed answer, or one for an approval never asked, changes nothing.
  HttpResponse bad = Answer(id, json::object{{"decision", "perhaps"}});
  EXPECT_EQ(bad.status, 400) << bad.Describe();
  EXPECT_EQ(bad.ErrorCode(), "invalid_answer");
  EXPECT_EQ(Answer(id, json::object{{"decision", "approve"}, {"id", 999999}}).status, 404);

  HttpResponse approved =
      Answer(id, json::object{{"decision", "approve"}, {"id", Int(pending, "id")}});
  ASSERT_EQ(approved.status, 200) << approved.Describe();
  EXPECT_EQ(Str(approved.Json(), "decision"), "approved");
  EXPECT_EQ(Str(approved.Json(), "by"), "operator");

  json::object job = WaitForState(id, "succeeded");
  EXPECT_EQ(Str(job, "state"), "succeeded") << json::serialize(job);
  EXPECT_EQ(Str(job, "reason"), "finished");
  EXPECT_EQ(client().Get("/v1/jobs/" + id + "/files/marker").body, "ok\n");

  // Answered once: a second answer, and an answer to a job that ended, are 409 saying why.
  HttpResponse again = Answer(id, json::object{{"decision", "deny"}, {"id", Int(pending, "id")}});
  EXPECT_EQ(again.status, 409) << again.Describe();
  EXPECT_EQ(Answer(id, json::object{{"decision", "approve"}}).status, 409);
  json::array listed = Arr(client().Get("/v1/jobs/" + id + "/approvals").Json(), "approvals");
  ASSERT_EQ(listed.size(), 1U);
  EXPECT_EQ(Str(listed[0].as_object(), "state"), "approved");
  EXPECT_EQ(Str(Obj(listed[0].as_object(), "answer"), "by"), "operator");
}

TEST_F(ApprovalsTest, ADeniedActionIsNotRunAndTheModelIsToldWhy) {
  testing::FakeLlm fake(testing::Wire::kOpenAi);
  fake.Script({testing::TextReply("1. Install"),
               testing::ToolCallReply("run_shell", R"({"command": "pip install leftpad > mark"})"),
               testing::ToolCallReply("finish", R"({"summary": "could not install"})"),
               testing::TextReply("1. Install"),
               testing::ToolCallReply("run_shell", R"({"command": "pip install leftpad"})")});
  ASSERT_NO_FATAL_FAILURE(StartWith(fake));
  std::string id = Str(Submit(json::object{{"task", "install leftpad"}}), "id");
  WaitForPending(id);

  HttpResponse denied = Answer(
      id, json::object{{"decision", "deny"}, {"reason", "use the standard library instead"}});
  ASSERT_EQ(denied.status, 200) << denied.Describe();
  EXPECT_EQ(Str(denied.Json(), "decision"), "denied");

  json::object job = WaitForState(id, "failed");
  // Nothing the task needed ran: an honest failure, not a success.
  EXPECT_EQ(Str(job, "state"), "failed") << json::serialize(job);
  EXPECT_EQ(Str(job, "reason"), "refused");
  EXPECT_EQ(client().Get("/v1/jobs/" + id + "/files/mark").status, 404);
  std::vector<json::value> bodies = fake.ChatBodies();
  ASSERT_EQ(bodies.size(), 3U);
  EXPECT_THAT(Conversation(bodies[2]), HasSubstr("use the standard library instead"));

  // A job cancelled while it waits ends cancelled, long before its approval (10 minutes) expires.
  std::string waiting = Str(Submit(json::object{{"task", "install leftpad"}}), "id");
  WaitForPending(waiting);
  ASSERT_EQ(client().Post("/v1/jobs/" + waiting + "/cancel", "").status, 202);
  EXPECT_EQ(Str(WaitForState(waiting, "cancelled"), "state"), "cancelled");
}

TEST_F(ApprovalsTest, AnUnansweredApprovalExpiresAsDenied) {
  testing::FakeLlm fake(testing::Wire::kOpenAi);
  fake.Script({testing::TextReply("1. Kill"),
               testing::ToolCallReply("run_shell", R"({"command": "pkill sleep"})"),
               testing::ToolCallReply("finish", R"({"summary": "gave up"})")});
  ASSERT_NO_FATAL_FAILURE(StartWith(fake, "[agent]\napproval_timeout = \"1s\"\n"));
  std::string id = Str(Submit(json::object{{"task", "stop the sleepers"}}), "id");

  json::object job = WaitForState(id, "failed");
  EXPECT_EQ(Str(job, "reason"), "refused") << json::serialize(job);
  json::array listed = Arr(client().Get("/v1/jobs/" + id + "/approvals").Json(), "approvals");
  ASSERT_EQ(listed.size(), 1U);
  EXPECT_EQ(Str(listed[0].as_object(), "state"), "denied");
  EXPECT_EQ(Str(Obj(listed[0].as_object(), "answer"), "by"), "timeout");
  EXPECT_THAT(Conversation(fake.ChatBodies().at(2)), HasSubstr("no one answered within 1s"));
}

TEST_F(ApprovalsTest, AlwaysCoversLaterActionsOfTheSameRiskInTheJobAndItsSession) {
  testing::FakeLlm fake(testing::Wire::kOpenAi);
  fake.Script({testing::TextReply("1. Delete a, then b"),
               testing::ToolCallReply("run_shell",
                                      R"({"command": "mkdir -p a && rm -rf a && echo 1 > one"})"),
               testing::ToolCallReply("run_shell",
                                      R"({"command": "mkdir -p b && rm -rf b && echo 2 > two"})"),
               testing::ToolCallReply("finish", R"({"summary": "deleted a and b"})"),
               testing::TextReply("1. Delete c"),
               testing::ToolCallReply("run_shell",
                                      R"({"command": "mkdir -p c && rm -r c && echo 3 > three"})"),
               testing::ToolCallReply("finish", R"({"summary": "deleted c"})")});
  ASSERT_NO_FATAL_FAILURE(StartWith(fake));
  HttpResponse created = client().Post("/v1/sessions", "");
  ASSERT_EQ(created.status, 201) << created.Describe();
  std::string session = Str(created.Json(), "id");

  HttpResponse first = client().PostJson("/v1/sessions/" + session + "/messages",
                                         json::object{{"message", "delete a and b"}});
  ASSERT_EQ(first.status, 201) << first.Describe();
  std::string first_job = Str(Obj(first.Json(), "job"), "id");
  WaitForPending(first_job);
  ASSERT_EQ(Answer(first_job, json::object{{"decision", "always"}}).status, 200);
  EXPECT_EQ(Str(WaitForState(first_job, "succeeded"), "state"), "succeeded");

  HttpResponse second = client().PostJson("/v1/sessions/" + session + "/messages",
                                          json::object{{"message", "delete c"}});
  ASSERT_EQ(second.status, 201) << second.Describe();
  std::string second_job = Str(Obj(second.Json(), "job"), "id");
  EXPECT_EQ(Str(WaitForState(second_job, "succeeded"), "state"), "succeeded");

  // One question in all: b and c were deleted on the strength of the first answer.
  EXPECT_EQ(Arr(client().Get("/v1/jobs/" + first_job + "/approvals").Json(), "approvals").size(),
            1U);
  EXPECT_TRUE(
      Arr(client().Get("/v1/jobs/" + second_job + "/approvals").Json(), "approvals").empty());
  for (std::string file : {"one", "two", "three"}) {
    EXPECT_EQ(client().Get("/v1/jobs/" + second_job + "/files/" + file).status, 200) << file;
  }
}

// kill -9 of the server while a job waits for approval: the job, queued again after the restart
// (requeue_on_crash), asks anew; what the lost attempt asked waits for nothing and cannot be
// answered.
TEST_F(ApprovalsTest, AfterACrashTheNewAttemptAsksAnewAndTheOldRequestIsDead) {
  testing::FakeLlm fake(testing::Wire::kOpenAi);
  fake.Script({testing::TextReply("1. Clean"),
               testing::ToolCallReply("run_shell", R"({"command": "rm -rf build"})"),
               testing::TextReply("1. Clean"),
               testing::ToolCallReply("run_shell", R"({"command": "rm -rf build"})"),
               testing::ToolCallReply("finish", R"({"summary": "cleaned"})")});
  ASSERT_NO_FATAL_FAILURE(StartWith(fake));
  std::string id = Str(Submit(json::value{{"task", "clean the build"},
                                          {"options", json::object{{"requeue_on_crash", true}}}}),
                       "id");
  int64_t lost = Int(WaitForPending(id).at("pending").as_object(), "id");
  server().Kill();
  ASSERT_NO_FATAL_FAILURE(Start());

  json::object approvals = WaitForPending(id, 2);
  int64_t asked = Int(approvals.at("pending").as_object(), "id");
  EXPECT_GT(asked, lost);
  EXPECT_EQ(Str(Arr(approvals, "approvals")[0].as_object(), "state"), "unanswered");
  HttpResponse stale = Answer(id, json::object{{"decision", "approve"}, {"id", lost}});
  EXPECT_EQ(stale.status, 409) << stale.Describe();
  EXPECT_THAT(stale.body, HasSubstr("earlier attempt"));
  ASSERT_EQ(Answer(id, json::object{{"decision", "approve"}}).status, 200);
  EXPECT_EQ(Str(WaitForState(id, "succeeded"), "state"), "succeeded");
}

// The command line: `warden submit --wait` without a terminal says how to answer, and `warden
// approve` answers (here: denies, with a reason) and lists.
TEST_F(ApprovalsTest, TheClientSaysHowToAnswerAndWardenApproveAnswers) {
  testing::FakeLlm fake(testing::Wire::kOpenAi);
  fake.Script({testing::TextReply("1. Push"),
               testing::ToolCallReply("run_shell", R"({"command": "git push origin main"})"),
               testing::ToolCallReply("finish", R"({"summary": "not pushed"})")});
  ASSERT_NO_FATAL_FAILURE(StartWith(fake));
  std::vector<std::string> env = {
      "HOME=" + (dir() / "home"),
      fmt::format("WARDEN_SERVER=http://127.0.0.1:{}", server().port())};
  Exit submitted;
  std::thread submit([&] {
    submitted = RunWarden({"submit", "--wait", "push", "the", "branch"}, env, milliseconds(30'000));
  });
  // The job the client submitted, once it asks.
  std::string id;
  for (Deadline deadline = After(milliseconds(20'000));
       id.empty() && std::chrono::steady_clock::now() < deadline;
       std::this_thread::sleep_for(milliseconds(50))) {
    json::array jobs = Arr(client().Get("/v1/jobs").Json(), "jobs");
    if (!jobs.empty()) {
      id = Str(jobs[0].as_object(), "id");
    }
  }
  ASSERT_FALSE(id.empty());
  WaitForPending(id);
  Exit denied = RunWarden({"approve", id, "--deny", "--reason", "not on main"}, env);
  EXPECT_EQ(denied.code, 0) << denied.out << denied.err;
  EXPECT_THAT(denied.err, HasSubstr("denied"));
  submit.join();
  EXPECT_EQ(submitted.code, 1) << submitted.out << submitted.err;
  EXPECT_THAT(submitted.err, HasSubstr(fmt::format("job {} waits for approval", id)));
  EXPECT_THAT(submitted.err, HasSubstr("git push origin main (it pushes to a remote repository)"));
  EXPECT_THAT(submitted.err, HasSubstr(fmt::format("warden approve {}", id)));
  EXPECT_THAT(Conversation(fake.ChatBodies().at(2)), HasSubstr("not on main"));

  Exit listed = RunWarden({"approve", id, "--list"}, env);
  EXPECT_EQ(listed.code, 0) << listed.err;
  EXPECT_THAT(listed.out, HasSubstr("denied"));
  EXPECT_THAT(listed.out, HasSubstr("run_shell: git push origin main"));
  Exit late = RunWarden({"approve", id}, env);
  EXPECT_EQ(late.code, 1);
  EXPECT_THAT(late.err, HasSubstr("409"));
}

}  // namespace
}  // namespace warden::serve_test
