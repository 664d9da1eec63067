// The JobStore conformance suite, continued: recovery after a crash, retention, and sessions.
// Instantiated with the rest of JobStoreTest (see store_test.h).
#include <atomic>
#include <latch>
#include <map>
#include <thread>

#include "jobs/store_test.h"

namespace warden::jobs {
namespace {

using ::testing::IsEmpty;
using ::testing::SizeIs;

// --- Recovery, retention ---

GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(SingleNodeStoreTest);

TEST_P(SingleNodeStoreTest, RecoveryEndsOrRequeuesEveryRunningJob) {
  Job plain = MustCreate();
  NewJob requeue_request = Task("", "idempotent");
  requeue_request.requeue_on_crash = true;
  auto requeue = store().Create(requeue_request);
  ASSERT_THAT(requeue, IsOk());
  Job cancelling = MustCreate();
  Job finished = MustCreate();
  Job waiting = MustCreate();
  for (int i = 0; i < 4; ++i) {
    MustClaim();
  }
  ASSERT_THAT(store().AppendEvent(plain.id, "output", {{"line", "half way"}}), IsOk());
  ASSERT_THAT(store().RequestCancel(cancelling.id, kAnyOwner), IsOk());
  MustFinish(finished.id, JobState::kSucceeded);

  auto counts = store().RecoverAfterCrash();
  ASSERT_THAT(counts, IsOk());
  EXPECT_EQ(counts->failed, 1);
  EXPECT_EQ(counts->requeued, 1);
  EXPECT_EQ(counts->cancelled, 1);

  Job failed = *store().Get(plain.id, kAnyOwner);
  EXPECT_EQ(failed.state, JobState::kFailed);
  EXPECT_EQ(failed.reason, kReasonServerRestart);
  EXPECT_THAT(failed.summary, ::testing::HasSubstr("server stopped"));
  std::vector<Event> events = AllEvents(plain.id);
  ASSERT_THAT(events, SizeIs(4));  // queued, running, the output, failed
  EXPECT_EQ(events[2].data, (json::object{{"line", "half way"}}));
  EXPECT_EQ(events[3].data.at("state"), "failed");

  Job queued_again = *store().Get(requeue->id, kAnyOwner);
  EXPECT_EQ(queued_again.state, JobState::kQueued);
  EXPECT_EQ(queued_again.worker, "");
  EXPECT_FALSE(queued_again.started_at_ms.has_value());
  EXPECT_EQ(AllEvents(requeue->id).back().data,
            (json::object{{"state", "queued"}, {"reason", "server_restart"}}));
  EXPECT_EQ(store().Get(cancelling.id, kAnyOwner)->state, JobState::kCancelled);
  EXPECT_EQ(store().Get(finished.id, kAnyOwner)->state, JobState::kSucceeded);
  EXPECT_EQ(store().Get(waiting.id, kAnyOwner)->state, JobState::kQueued);
  EXPECT_EQ(MustClaim().id, requeue->id);  // back in line by its original age

  auto again = store().RecoverAfterCrash();
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(again->failed + again->requeued + again->cancelled, 1);
}

TEST_P(JobStoreTest, RetentionDeletesOldFinishedJobsAndReturnsTheirWorkspaces) {
  auto session = store().CreateSession("");
  ASSERT_THAT(session, IsOk());
  Job old_done = MustCreate();
  auto old_session_job = store().Create(NewJob{"", JobKind::kTask, {}, "", session->id, false});
  ASSERT_THAT(old_session_job, IsOk());
  Job recent_done = MustCreate();
  Job running = MustCreate();
  Job queued = MustCreate();
  for (int i = 0; i < 4; ++i) {
    MustClaim();
  }
  ASSERT_THAT(store().AddSessionTurn(session->id, "", old_session_job->id, "hello"), IsOk());
  Advance(10);
  MustFinish(old_done.id, JobState::kSucceeded);
  MustFinish(old_session_job->id, JobState::kFailed);
  Advance(10);
  MustFinish(recent_done.id, JobState::kCancelled);
  const int64_t cutoff = Now() - 5;

  auto first = store().DeleteFinishedBefore(cutoff, 1);
  ASSERT_THAT(first, IsOk());
  ASSERT_THAT(*first, SizeIs(1));
  auto rest = store().DeleteFinishedBefore(cutoff, 100);
  ASSERT_THAT(rest, IsOk());
  ASSERT_THAT(*rest, SizeIs(1));
  std::map<std::string, std::string> deleted = {{(*first)[0].id, (*first)[0].workspace},
                                                {(*rest)[0].id, (*rest)[0].workspace}};
  EXPECT_EQ(deleted, (std::map<std::string, std::string>{
                         {old_done.id, Workspace(old_done.id)},
                         {old_session_job->id, ""}}));  // the session keeps its directory

  EXPECT_THAT(store().Get(old_done.id, kAnyOwner), IsError(ErrorCode::kNotFound));
  EXPECT_THAT(store().Events(old_done.id, 0, 10), IsError(ErrorCode::kNotFound));
  EXPECT_THAT(store().Get(recent_done.id, kAnyOwner), IsOk());
  EXPECT_THAT(store().Get(running.id, kAnyOwner), IsOk());
  EXPECT_THAT(store().Get(queued.id, kAnyOwner), IsOk());
  EXPECT_THAT(*store().DeleteFinishedBefore(cutoff, 100), IsEmpty());
  auto turns = store().ListSessionTurns(session->id, "");
  ASSERT_THAT(turns, IsOk());
  EXPECT_THAT(*turns, SizeIs(1));  // the history still names the deleted job
}

TEST_P(JobStoreTest, RetentionDeletesIdleSessionsWithTheirTurnsAndJobs) {
  auto idle = store().CreateSession("");
  auto busy = store().CreateSession("");
  auto talking = store().CreateSession("");
  ASSERT_THAT(idle, IsOk());
  ASSERT_THAT(busy, IsOk());
  ASSERT_THAT(talking, IsOk());
  auto idle_job = store().Create(NewJob{"", JobKind::kTask, {}, "", idle->id, false});
  auto busy_job = store().Create(NewJob{"", JobKind::kTask, {}, "", busy->id, false});
  ASSERT_THAT(idle_job, IsOk());
  ASSERT_THAT(busy_job, IsOk());
  ASSERT_THAT(store().AddSessionTurn(idle->id, "", idle_job->id, "old"), IsOk());
  MustClaim();
  MustClaim();
  MustFinish(idle_job->id, JobState::kSucceeded);  // busy_job keeps running
  Advance(10);
  const int64_t cutoff = Now() - 5;
  // A turn after the cutoff keeps a session, even when its job is gone.
  auto recent = store().Create(NewJob{"", JobKind::kTask, {}, "", talking->id, false});
  ASSERT_THAT(recent, IsOk());
  ASSERT_THAT(store().AddSessionTurn(talking->id, "", recent->id, "new"), IsOk());
  ASSERT_THAT(store().RequestCancel(recent->id, ""), IsOk());  // finished after the cutoff
  auto fresh = store().CreateSession("");                      // made after the cutoff
  ASSERT_THAT(fresh, IsOk());

  EXPECT_THAT(store().DeleteSessionsIdleBefore(cutoff, 0), IsError(ErrorCode::kInvalidArgument));
  auto deleted = store().DeleteSessionsIdleBefore(cutoff, 100);
  ASSERT_THAT(deleted, IsOk());
  ASSERT_THAT(*deleted, SizeIs(1));
  EXPECT_EQ((*deleted)[0].id, idle->id);
  EXPECT_EQ((*deleted)[0].workspace, idle->workspace);
  EXPECT_THAT(store().GetSession(idle->id, ""), IsError(ErrorCode::kNotFound));
  EXPECT_THAT(store().Get(idle_job->id, kAnyOwner), IsError(ErrorCode::kNotFound));
  EXPECT_THAT(store().Events(idle_job->id, 0, 10), IsError(ErrorCode::kNotFound));
  for (const auto& kept : {*busy, *talking, *fresh}) {
    EXPECT_THAT(store().GetSession(kept.id, ""), IsOk()) << kept.id;
  }
  EXPECT_THAT(*store().DeleteSessionsIdleBefore(cutoff, 100), IsEmpty());
}

// --- Sessions ---

TEST_P(JobStoreTest, SessionsRecordTheirTurnsForTheirOwnerOnly) {
  auto session = store().CreateSession("alice");
  ASSERT_THAT(session, IsOk());
  EXPECT_TRUE(IsValidId(session->id, kSessionIdPrefix)) << session->id;
  EXPECT_EQ(session->workspace, Workspace(session->id));
  EXPECT_EQ(session->created_at_ms, kStartMs);
  EXPECT_THAT(store().GetSession(session->id, "bob"), IsError(ErrorCode::kNotFound));
  EXPECT_EQ(store().GetSession(session->id, "alice")->workspace, session->workspace);

  NewJob in_session = Task("alice", "list files");
  in_session.session_id = session->id;
  auto first = store().Create(in_session);
  ASSERT_THAT(first, IsOk());
  EXPECT_EQ(first->workspace, session->workspace);
  in_session.owner = "bob";
  EXPECT_THAT(store().Create(in_session), IsError(ErrorCode::kNotFound));
  in_session.owner = "alice";
  auto second = store().Create(in_session);
  ASSERT_THAT(second, IsOk());
  Job outside = MustCreate("alice");

  ASSERT_THAT(store().AddSessionTurn(session->id, "alice", first->id, "list files"), IsOk());
  Advance(1);
  auto turn = store().AddSessionTurn(session->id, "alice", second->id, "now the big ones");
  ASSERT_THAT(turn, IsOk());
  EXPECT_EQ(turn->seq, 2);
  EXPECT_THAT(store().AddSessionTurn(session->id, "alice", outside.id, "elsewhere"),
              IsError(ErrorCode::kInvalidArgument));
  EXPECT_THAT(store().AddSessionTurn(session->id, "bob", second->id, "mine"),
              IsError(ErrorCode::kNotFound));

  EXPECT_THAT(store().ListSessionTurns(session->id, "bob"), IsError(ErrorCode::kNotFound));
  auto turns = store().ListSessionTurns(session->id, "alice");
  ASSERT_THAT(turns, IsOk());
  ASSERT_THAT(*turns, SizeIs(2));
  EXPECT_EQ((*turns)[0].job_id, first->id);
  EXPECT_EQ((*turns)[0].message, "list files");
  EXPECT_EQ((*turns)[1].job_id, second->id);
  EXPECT_EQ((*turns)[1].created_at_ms, kStartMs + 1);
}

TEST_P(JobStoreTest, SessionListPagesAnOwnersSessionsNewestFirstWithTheirLastTurn) {
  auto quiet = store().CreateSession("alice");
  Advance(1);
  auto talked = store().CreateSession("alice");
  Advance(1);
  auto bobs = store().CreateSession("bob");
  Advance(1);
  auto newest = store().CreateSession("alice");
  ASSERT_THAT(quiet, IsOk());
  ASSERT_THAT(talked, IsOk());
  ASSERT_THAT(bobs, IsOk());
  ASSERT_THAT(newest, IsOk());
  NewJob in_session = Task("alice", "hello");
  in_session.session_id = talked->id;
  auto first = store().Create(in_session);
  auto second = store().Create(in_session);
  ASSERT_THAT(first, IsOk());
  ASSERT_THAT(second, IsOk());
  ASSERT_THAT(store().AddSessionTurn(talked->id, "alice", first->id, "hello"), IsOk());
  Advance(5);
  ASSERT_THAT(store().AddSessionTurn(talked->id, "alice", second->id, "and now?"), IsOk());

  auto page = store().ListSessions("alice", PageRequest{2, ""});
  ASSERT_THAT(page, IsOk());
  ASSERT_THAT(page->sessions, SizeIs(2));
  EXPECT_EQ(page->sessions[0].session.id, newest->id);
  EXPECT_EQ(page->sessions[0].turns, 0);
  EXPECT_EQ(page->sessions[0].last_active_ms, newest->created_at_ms);
  EXPECT_EQ(page->sessions[0].last_job_id, "");
  EXPECT_EQ(page->sessions[0].last_job_state, "");
  const SessionSummary& with_turns = page->sessions[1];
  EXPECT_EQ(with_turns.session.id, talked->id);
  EXPECT_EQ(with_turns.session.workspace, talked->workspace);
  EXPECT_EQ(with_turns.turns, 2);
  EXPECT_EQ(with_turns.last_message, "and now?");
  EXPECT_EQ(with_turns.last_job_id, second->id);
  EXPECT_EQ(with_turns.last_job_state, "queued");
  EXPECT_EQ(with_turns.last_active_ms, Now());
  EXPECT_EQ(page->next_cursor, talked->id);

  auto rest = store().ListSessions("alice", PageRequest{2, page->next_cursor});
  ASSERT_THAT(rest, IsOk());
  ASSERT_THAT(rest->sessions, SizeIs(1));
  EXPECT_EQ(rest->sessions[0].session.id, quiet->id);
  EXPECT_EQ(rest->next_cursor, "");

  auto everyone = store().ListSessions(kAnyOwner, PageRequest{50, ""});
  ASSERT_THAT(everyone, IsOk());
  EXPECT_THAT(everyone->sessions, SizeIs(4));
  auto carol = store().ListSessions("carol", PageRequest{50, ""});
  ASSERT_THAT(carol, IsOk());
  EXPECT_THAT(carol->sessions, IsEmpty());
  EXPECT_THAT(store().ListSessions("alice", PageRequest{0, ""}),
              IsError(ErrorCode::kInvalidArgument));
  EXPECT_THAT(store().ListSessions("alice", PageRequest{5, "j_nope"}),
              IsError(ErrorCode::kInvalidArgument));
}

TEST_P(JobStoreTest, ASessionTakesOneMessageAtATime) {
  auto session = store().CreateSession("alice");
  ASSERT_THAT(session, IsOk());
  NewJob message = Task("alice", "list files");
  message.session_id = session->id;

  auto first = store().PostSessionMessage(message, "list files");
  ASSERT_THAT(first, IsOk());
  EXPECT_EQ(first->turn.seq, 1);
  EXPECT_EQ(first->turn.job_id, first->job.id);
  EXPECT_EQ(first->job.state, JobState::kQueued);
  EXPECT_EQ(first->job.workspace, session->workspace);
  auto busy = store().PostSessionMessage(message, "too soon");
  ASSERT_THAT(busy, IsError(ErrorCode::kAborted));
  EXPECT_THAT(busy.error().message(), ::testing::HasSubstr(first->job.id));
  MustClaim();
  EXPECT_THAT(store().PostSessionMessage(message, "still running"), IsError(ErrorCode::kAborted));
  MustFinish(first->job.id, JobState::kSucceeded);

  auto second = store().PostSessionMessage(message, "now the big ones");
  ASSERT_THAT(second, IsOk());
  EXPECT_EQ(second->turn.seq, 2);
  auto turns = store().ListSessionTurns(session->id, "alice");
  ASSERT_THAT(turns, IsOk());
  ASSERT_THAT(*turns, SizeIs(2));  // the refused messages left nothing behind
  EXPECT_EQ((*turns)[1].message, "now the big ones");
  EXPECT_EQ(store().CountByState(kAnyOwner)->at(JobState::kQueued), 1);
  message.owner = "bob";
  EXPECT_THAT(store().PostSessionMessage(message, "mine"), IsError(ErrorCode::kNotFound));
  message.session_id = "";
  EXPECT_THAT(store().PostSessionMessage(message, "where?"), IsError(ErrorCode::kInvalidArgument));
}

TEST_P(JobStoreTest, MessagesRacingForOneSessionGetOneTurn) {
  auto session = store().CreateSession("");
  ASSERT_THAT(session, IsOk());
  constexpr int kRounds = 5;
  constexpr int kSenders = 8;
  for (int round = 0; round < kRounds; ++round) {
    std::atomic<int> accepted = 0;
    std::latch start(kSenders);
    std::vector<std::jthread> senders(kSenders);
    for (std::jthread& sender : senders) {
      sender = std::jthread([&] {
        NewJob message = Task("", "hello");
        message.session_id = session->id;
        start.arrive_and_wait();
        auto posted = store().PostSessionMessage(message, "hello");
        if (posted.ok()) {
          ++accepted;
        } else {
          EXPECT_THAT(posted, IsError(ErrorCode::kAborted));
        }
      });
    }
    senders.clear();
    ASSERT_EQ(accepted, 1) << "round " << round;
    MustFinish(MustClaim().id, JobState::kSucceeded);  // the session is free for the next round
  }
  EXPECT_THAT(*store().ListSessionTurns(session->id, ""), SizeIs(kRounds));
}

}  // namespace
}  // namespace warden::jobs
