// A session's turns read back from their jobs: the reply of a job, and the digest of earlier turns
// that the next message's agent sees. On a real SQLite store.
#include "jobs/turns.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "jobs/sqlite_store.h"
#include "jobs/store_test.h"

namespace warden::jobs {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class TurnsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = sys::TempDir::Create("warden-turns-test-");
    ASSERT_THAT(dir, IsOk());
    dir_ = std::make_unique<sys::TempDir>(std::move(*dir));
    SqliteStoreOptions options;
    options.path = dir_->path() + "/jobs.db";
    options.store.workspace_root = dir_->path() + "/work";
    auto store = SqliteStore::Open(options);
    ASSERT_THAT(store, IsOk());
    store_ = std::move(*store);
    auto session = store_->CreateSession("");
    ASSERT_THAT(session, IsOk());
    session_ = *session;
  }

  // A message of the session, its job run to the end with these events.
  Job Turn(const std::string& message, const std::vector<NewEvent>& events, JobState end,
           const std::string& summary) {
    Job job = Message(message);
    auto claimed = store_->ClaimNext("w");
    EXPECT_THAT(claimed, IsOk());
    for (NewEvent event : events) {
      event.job_id = job.id;
      EXPECT_THAT(store_->AppendEvents({event}), IsOk());
    }
    FinishRequest finish;
    finish.state = end;
    finish.reason = "finished";
    finish.summary = summary;
    auto finished = store_->Finish(job.id, finish);
    EXPECT_THAT(finished, IsOk());
    return *finished;
  }

  // A message whose job is queued.
  Job Message(const std::string& message) {
    NewJob job;
    job.input = {{"task", message}};
    job.session_id = session_.id;
    auto created = store_->Create(job);
    EXPECT_THAT(created, IsOk());
    EXPECT_THAT(store_->AddSessionTurn(session_.id, "", created->id, message), IsOk());
    return *created;
  }

  static NewEvent Action(int step, const std::string& tool, json::object arguments) {
    return {"", "action", {{"step", step}, {"tool", tool}, {"arguments", std::move(arguments)}}};
  }
  static NewEvent Observation(int step, int exit_code, const std::string& summary) {
    return {"",
            "observation",
            {{"step", step},
             {"outcome", "exited"},
             {"exit_code", exit_code},
             {"ok", exit_code == 0},
             {"summary", summary}}};
  }

  std::unique_ptr<sys::TempDir> dir_;
  std::unique_ptr<SqliteStore> store_;
  Session session_;
};

TEST_F(TurnsTest, ReplyPairsEachActionWithItsObservation) {
  Job job = Turn("count the lines of data.csv",
                 {{"", "plan", {{"steps", json::array{"look", "count"}}}},
                  {"", "thought", {{"text", "I will use wc."}}},
                  Action(1, "run_shell", {{"command", "wc -l data.csv"}}),
                  {"", "output", {{"text", "3 data.csv\n"}}},
                  Observation(1, 0, "exit 0: 3 data.csv"),
                  Action(2, "finish", {{"summary", "3 lines"}})},
                 JobState::kSucceeded, "data.csv has 3 lines");
  auto reply = ReplyOf(*store_, job);
  ASSERT_THAT(reply, IsOk());
  EXPECT_EQ(reply->at("state"), "succeeded");
  EXPECT_EQ(reply->at("summary"), "data.csv has 3 lines");
  EXPECT_EQ(reply->at("plan"), (json::array{"look", "count"}));
  EXPECT_EQ(reply->at("thoughts"), (json::array{"I will use wc."}));
  const json::array& actions = reply->at("actions").get_array();
  ASSERT_EQ(actions.size(), 2U);
  EXPECT_EQ(actions[0].at("tool"), "run_shell");
  EXPECT_EQ(actions[0].at("arguments").at("command"), "wc -l data.csv");
  EXPECT_EQ(actions[0].at("observation").at("exit_code"), 0);
  EXPECT_EQ(actions[0].at("observation").at("summary"), "exit 0: 3 data.csv");
  EXPECT_TRUE(actions[1].at("observation").is_null());  // finish runs nothing
}

TEST_F(TurnsTest, FirstMessageIsTheTaskItself) {
  Job job = Message("make a CSV of primes");
  auto task = TaskWithSessionContext(*store_, job);
  ASSERT_THAT(task, IsOk());
  EXPECT_EQ(*task, "make a CSV of primes");
}

TEST_F(TurnsTest, LaterMessageSeesEarlierTurnsActionsAndOutcomes) {
  Turn("make primes.csv with the primes below 30",
       {Action(1, "run_python", {{"code", "open('primes.csv','w').write('2\\n3\\n')"}}),
        Observation(1, 0, "exit 0")},
       JobState::kSucceeded, "wrote primes.csv");
  Turn("now sort it backwards",
       {Action(1, "run_shell", {{"command", "sort -r primes.csv > sorted.csv"}}),
        Observation(1, 2, "exit 2: sort: bad option")},
       JobState::kFailed, "sort failed");
  Job now = Message("and count the lines");
  auto task = TaskWithSessionContext(*store_, now);
  ASSERT_THAT(task, IsOk());
  EXPECT_THAT(*task, HasSubstr("[turn 1] User: make primes.csv with the primes below 30"));
  EXPECT_THAT(*task, HasSubstr("You ran run_python: open('primes.csv','w')"));
  EXPECT_THAT(*task, HasSubstr("Outcome: succeeded — wrote primes.csv"));
  EXPECT_THAT(*task, HasSubstr("[turn 2] User: now sort it backwards"));
  EXPECT_THAT(*task, HasSubstr("You ran run_shell: sort -r primes.csv > sorted.csv (exit 2)"));
  EXPECT_THAT(*task, HasSubstr("Outcome: failed — sort failed"));
  // The new message comes last, and is not among the earlier turns.
  EXPECT_TRUE(task->ends_with("your task now:\nand count the lines"));
  EXPECT_THAT(*task, Not(HasSubstr("[turn 3]")));
  EXPECT_LT(task->find("[turn 1]"), task->find("[turn 2]"));
}

TEST_F(TurnsTest, DigestKeepsTheNewestTurnsWithinItsBudget) {
  for (int i = 1; i <= 30; ++i) {
    Turn(fmt::format("message number {} {}", i, std::string(300, 'x')), {}, JobState::kSucceeded,
         fmt::format("done {}", i));
  }
  Job now = Message("last");
  ContextLimits limits;
  limits.total_bytes = 2000;
  auto task = TaskWithSessionContext(*store_, now, limits);
  ASSERT_THAT(task, IsOk());
  EXPECT_LT(task->size(), 2000U + 400U);  // the budget, the frame and the message
  EXPECT_THAT(*task, HasSubstr("message number 30 "));
  EXPECT_THAT(*task, Not(HasSubstr("message number 1 ")));
  EXPECT_THAT(*task, HasSubstr("older turns left out"));
}

TEST_F(TurnsTest, LongMessagesAndActionsAreClipped) {
  Turn(std::string(10'000, 'm'),
       {Action(1, "run_shell", {{"command", "echo " + std::string(5'000, 'c')}}),
        Observation(1, 0, "ok")},
       JobState::kSucceeded, std::string(5'000, 's'));
  Job now = Message("next");
  auto task = TaskWithSessionContext(*store_, now);
  ASSERT_THAT(task, IsOk());
  ContextLimits defaults;
  EXPECT_LT(task->size(),
            defaults.message_bytes + defaults.action_bytes + defaults.summary_bytes + 500);
  EXPECT_THAT(*task, HasSubstr("..."));
}

}  // namespace
}  // namespace warden::jobs
