// The JobStore conformance suite, continued: leases. A claim's attempt and lease, heartbeats, the
// rescue of a dead worker's jobs, and the fence that keeps a presumed-dead worker from changing
// anything. Instantiated with the rest of JobStoreTest (see store_test.h).
#include <atomic>
#include <set>
#include <thread>

#include "jobs/store_test.h"

namespace warden::jobs {
namespace {

using ::testing::HasSubstr;
using ::testing::SizeIs;

const int64_t kLeaseMs = StoreOptions{}.lease.count();

Lease LeaseOf(const Job& job) {
  return Lease{job.id, job.worker, job.attempt};
}

FinishRequest ByWorker(const Job& claim, JobState state) {
  FinishRequest request = Outcome(state, std::string(kReasonFinished), "done by " + claim.worker);
  request.worker = claim.worker;
  request.attempt = claim.attempt;
  return request;
}

NewEvent EventOf(const Job& claim, std::string text) {
  NewEvent event{claim.id, "output", {{"text", std::move(text)}}};
  event.worker = claim.worker;
  event.attempt = claim.attempt;
  return event;
}

int FinalStateEvents(const std::vector<Event>& events) {
  int count = 0;
  for (const Event& event : events) {
    const json::value* state =
        event.type == kStateEventType ? event.data.if_contains("state") : nullptr;
    if (state != nullptr && state->is_string()) {
      std::optional<JobState> parsed = ParseJobState(state->get_string());
      count += parsed && IsFinal(*parsed) ? 1 : 0;
    }
  }
  return count;
}

TEST_P(JobStoreTest, AClaimStartsANewAttemptWithALease) {
  MustCreate();
  Job claimed = MustClaim("node-a-1");
  EXPECT_EQ(claimed.attempt, 1);
  EXPECT_EQ(claimed.lease_expires_at_ms, kStartMs + kLeaseMs);
  EXPECT_EQ(store().Get(claimed.id, kAnyOwner)->attempt, 1);
}

TEST_P(JobStoreTest, HeartbeatsRenewHeldLeasesAndReportCancels) {
  MustCreate();
  MustCreate();
  Job first = MustClaim("w1");
  Job second = MustClaim("w1");
  Advance(kLeaseMs - 1);
  ASSERT_THAT(store().RequestCancel(second.id, kAnyOwner), IsOk());
  Lease stale{first.id, "w1", first.attempt + 1};  // not this job's claim

  auto statuses = store().Heartbeat({LeaseOf(first), LeaseOf(second), stale});
  ASSERT_THAT(statuses, IsOk());
  ASSERT_THAT(*statuses, SizeIs(3));
  EXPECT_TRUE((*statuses)[0].held);
  EXPECT_FALSE((*statuses)[0].cancel_requested);
  EXPECT_TRUE((*statuses)[1].held);
  EXPECT_TRUE((*statuses)[1].cancel_requested);
  EXPECT_FALSE((*statuses)[2].held);
  EXPECT_EQ(store().Get(first.id, kAnyOwner)->lease_expires_at_ms, Now() + kLeaseMs);

  // Renewed: what would have expired now does not.
  Advance(2);
  auto rescued = store().RescueExpiredLeases(100);
  ASSERT_THAT(rescued, IsOk());
  EXPECT_EQ(rescued->failed + rescued->requeued + rescued->cancelled, 0);
  EXPECT_EQ(store().Get(first.id, kAnyOwner)->state, JobState::kRunning);
}

TEST_P(JobStoreTest, ExpiredLeasesAreRescuedAndLiveOnesAreLeftAlone) {
  Job plain = MustCreate();
  NewJob idempotent = Task("", "may run twice");
  idempotent.requeue_on_crash = true;
  auto requeue = store().Create(idempotent);
  ASSERT_THAT(requeue, IsOk());
  Job cancelling = MustCreate();
  Job live = MustCreate();
  for (int i = 0; i < 3; ++i) {
    MustClaim("dead-node-7");
  }
  Job live_claim = MustClaim("live-node");
  ASSERT_THAT(store().RequestCancel(cancelling.id, kAnyOwner), IsOk());
  Advance(kLeaseMs / 2);
  ASSERT_THAT(store().Heartbeat({LeaseOf(live_claim)}), IsOk());
  Advance(kLeaseMs / 2 + 1);  // the dead node's leases have run out; the live one's has not

  auto counts = store().RescueExpiredLeases(100);
  ASSERT_THAT(counts, IsOk());
  EXPECT_EQ(counts->failed, 1);
  EXPECT_EQ(counts->requeued, 1);
  EXPECT_EQ(counts->cancelled, 1);

  Job failed = *store().Get(plain.id, kAnyOwner);
  EXPECT_EQ(failed.state, JobState::kFailed);
  EXPECT_EQ(failed.reason, kReasonWorkerLost);
  EXPECT_THAT(failed.summary, HasSubstr("dead-node-7"));
  Job queued = *store().Get(requeue->id, kAnyOwner);
  EXPECT_EQ(queued.state, JobState::kQueued);
  EXPECT_EQ(AllEvents(queued.id).back().data,
            (json::object{{"state", "queued"}, {"reason", "worker_lost"}}));
  EXPECT_EQ(store().Get(cancelling.id, kAnyOwner)->state, JobState::kCancelled);
  EXPECT_EQ(store().Get(live.id, kAnyOwner)->state, JobState::kRunning);

  Job again = MustClaim("node-b");  // the requeued job, in a second attempt
  EXPECT_EQ(again.id, requeue->id);
  EXPECT_EQ(again.attempt, 2);
  EXPECT_THAT(store().RescueExpiredLeases(0), IsError(ErrorCode::kInvalidArgument));
}

// A worker cut off long enough to be presumed dead, and back: its job now runs elsewhere (or
// ended), and nothing it sends changes the job.
TEST_P(JobStoreTest, APresumedDeadWorkerThatComesBackChangesNothing) {
  NewJob idempotent = Task("", "may run twice");
  idempotent.requeue_on_crash = true;
  ASSERT_THAT(store().Create(idempotent), IsOk());
  Job old_claim = MustClaim("w1");
  Advance(kLeaseMs + 1);
  ASSERT_THAT(store().RescueExpiredLeases(100), IsOk());
  Job new_claim = MustClaim("w1");  // the same worker name, a new attempt
  ASSERT_EQ(new_claim.attempt, old_claim.attempt + 1);
  const int64_t seq_before = store().Get(new_claim.id, kAnyOwner)->last_event_seq;

  auto event = store().AppendEvents({EventOf(old_claim, "late output")});
  ASSERT_THAT(event, IsError(ErrorCode::kFailedPrecondition));
  EXPECT_THAT(event.error().message(), HasSubstr("no longer current"));
  EXPECT_THAT(store().Finish(old_claim.id, ByWorker(old_claim, JobState::kSucceeded)),
              IsError(ErrorCode::kFailedPrecondition));
  auto beat = store().Heartbeat({LeaseOf(old_claim)});
  ASSERT_THAT(beat, IsOk());
  EXPECT_FALSE(beat->front().held);
  EXPECT_EQ(store().Get(new_claim.id, kAnyOwner)->last_event_seq, seq_before);

  EXPECT_THAT(store().AppendEvents({EventOf(new_claim, "current output")}), IsOk());
  EXPECT_THAT(store().Finish(new_claim.id, ByWorker(new_claim, JobState::kSucceeded)), IsOk());
  // A job rescued as failed cannot be finished by its old worker either.
  MustCreate();
  Job lost = MustClaim("w2");
  Advance(kLeaseMs + 1);
  ASSERT_THAT(store().RescueExpiredLeases(100), IsOk());
  EXPECT_THAT(store().Finish(lost.id, ByWorker(lost, JobState::kCancelled)),
              IsError(ErrorCode::kFailedPrecondition));
  EXPECT_EQ(store().Get(lost.id, kAnyOwner)->reason, kReasonWorkerLost);
}

// Rescuers on several nodes and the workers themselves race to end the same jobs: each job ends
// exactly once.
TEST_P(JobStoreTest, RescuersAndWorkersRacingFinaliseEachJobOnce) {
  constexpr int kJobs = 40;
  std::vector<Job> claims;
  for (int i = 0; i < kJobs; ++i) {
    MustCreate();
  }
  for (int i = 0; i < kJobs; ++i) {
    claims.push_back(MustClaim("w" + std::to_string(i % 4)));
  }
  Advance(kLeaseMs + 1);
  std::atomic<int> finished{0};
  std::atomic<int64_t> rescued{0};
  std::vector<std::thread> threads;
  for (int r = 0; r < 2; ++r) {
    threads.emplace_back([&] {
      for (int round = 0; round < 10; ++round) {
        auto counts = store().RescueExpiredLeases(7);
        if (counts.ok()) {
          rescued += counts->failed;
        }
      }
    });
  }
  for (int w = 0; w < 2; ++w) {
    threads.emplace_back([&, w] {
      for (int i = w; i < kJobs; i += 2) {
        finished += store().Finish(claims[i].id, ByWorker(claims[i], JobState::kSucceeded)).ok();
      }
    });
  }
  for (std::thread& thread : threads) {
    thread.join();
  }
  (void)store().RescueExpiredLeases(kMaxPageLimit);
  int64_t total_rescued = rescued.load();
  for (const Job& claim : claims) {
    std::vector<Event> events = AllEvents(claim.id);
    EXPECT_EQ(FinalStateEvents(events), 1) << claim.id;
    EXPECT_TRUE(IsFinal(store().Get(claim.id, kAnyOwner)->state));
  }
  EXPECT_LE(finished.load() + total_rescued, kJobs);
}

// --- Many nodes (PostgreSQL) ---

GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(SharedStoreTest);

// A node that starts must not end the jobs other nodes' workers are running: only those whose
// lease ran out.
TEST_P(SharedStoreTest, RecoveryAtStartLeavesOtherNodesLiveJobsAlone) {
  Job dead = MustCreate();
  Job alive = MustCreate();
  Job dead_claim = MustClaim("dead-node");
  Job live_claim = MustClaim("live-node");
  Advance(kLeaseMs - 1);
  ASSERT_THAT(store().Heartbeat({LeaseOf(live_claim)}), IsOk());
  Advance(2);

  auto counts = store().RecoverAfterCrash();
  ASSERT_THAT(counts, IsOk());
  EXPECT_EQ(counts->failed, 1);
  EXPECT_EQ(store().Get(dead.id, kAnyOwner)->reason, kReasonWorkerLost);
  EXPECT_EQ(store().Get(alive.id, kAnyOwner)->state, JobState::kRunning);
  EXPECT_THAT(store().Finish(alive.id, ByWorker(live_claim, JobState::kSucceeded)), IsOk());
  (void)dead_claim;
}

}  // namespace
}  // namespace warden::jobs
