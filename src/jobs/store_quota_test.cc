// The JobStore conformance suite, continued: what an owner's workspaces hold, and deleting a job.
// Instantiated with the rest of JobStoreTest (see store_test.h).
#include "jobs/store_test.h"

namespace warden::jobs {
namespace {

// Claims `id` (the oldest queued job) and finishes it, recording `bytes` for its workspace.
void RunAndFinish(JobStore& store, const std::string& id, int64_t bytes) {
  auto claimed = store.ClaimNext("w1");
  ASSERT_THAT(claimed, IsOk());
  ASSERT_TRUE(claimed->has_value());
  ASSERT_EQ((*claimed)->id, id);
  FinishRequest finish = Outcome(JobState::kSucceeded, std::string(kReasonFinished));
  finish.workspace_bytes = bytes;
  ASSERT_THAT(store.Finish(id, finish), IsOk());
}

int64_t Bytes(JobStore& store, std::string_view owner) {
  auto bytes = store.WorkspaceBytes(owner);
  EXPECT_THAT(bytes, IsOk());
  return bytes.ok() ? *bytes : -1;
}

TEST_P(JobStoreTest, WorkspaceBytesCountEachKeptWorkspaceOfAnOwnerOnce) {
  EXPECT_EQ(Bytes(store(), "alice"), 0);
  Job first = MustCreate("alice");
  RunAndFinish(store(), first.id, 100);
  Job second = MustCreate("alice");
  RunAndFinish(store(), second.id, 200);
  Job other = MustCreate("bob");
  RunAndFinish(store(), other.id, 5000);
  // A session's turns share its workspace: it counts as its latest turn left it, once.
  auto session = store().CreateSession("alice");
  ASSERT_THAT(session, IsOk());
  for (int64_t bytes : {40, 70}) {
    auto turn = store().Create(NewJob{"alice", JobKind::kTask, {}, "", session->id, false});
    ASSERT_THAT(turn, IsOk());
    RunAndFinish(store(), turn->id, bytes);
  }
  MustCreate("alice");  // queued: nothing on disk yet
  EXPECT_EQ(Bytes(store(), "alice"), 100 + 200 + 70);
  EXPECT_EQ(Bytes(store(), "bob"), 5000);

  auto deleted = store().DeleteJob(second.id, "alice");
  ASSERT_THAT(deleted, IsOk());
  EXPECT_EQ(Bytes(store(), "alice"), 100 + 70);
}

TEST_P(JobStoreTest, DeleteJobRemovesAnEndedJobOfItsOwnerOnly) {
  Job done = MustCreate("alice");
  RunAndFinish(store(), done.id, 10);
  Job queued = MustCreate("alice");

  EXPECT_THAT(store().DeleteJob(done.id, "bob"), IsError(ErrorCode::kNotFound));
  EXPECT_THAT(store().DeleteJob(queued.id, "alice"), IsError(ErrorCode::kFailedPrecondition));
  EXPECT_THAT(store().DeleteJob("j-unknown", ""), IsError(ErrorCode::kNotFound));

  auto deleted = store().DeleteJob(done.id, "alice");
  ASSERT_THAT(deleted, IsOk());
  EXPECT_EQ(deleted->id, done.id);
  EXPECT_EQ(deleted->workspace, Workspace(done.id));
  EXPECT_THAT(store().Get(done.id, kAnyOwner), IsError(ErrorCode::kNotFound));
  EXPECT_THAT(store().Events(done.id, 0, 10), IsError(ErrorCode::kNotFound));
  EXPECT_THAT(store().DeleteJob(done.id, "alice"), IsError(ErrorCode::kNotFound));
  EXPECT_THAT(store().Get(queued.id, "alice"), IsOk());
}

TEST_P(JobStoreTest, DeletingASessionsJobLeavesTheSessionItsWorkspace) {
  auto session = store().CreateSession("");
  ASSERT_THAT(session, IsOk());
  auto job = store().Create(NewJob{"", JobKind::kTask, {}, "", session->id, false});
  ASSERT_THAT(job, IsOk());
  RunAndFinish(store(), job->id, 10);
  auto deleted = store().DeleteJob(job->id, kAnyOwner);
  ASSERT_THAT(deleted, IsOk());
  EXPECT_EQ(deleted->workspace, "");
  EXPECT_THAT(store().GetSession(session->id, ""), IsOk());
}

}  // namespace
}  // namespace warden::jobs
