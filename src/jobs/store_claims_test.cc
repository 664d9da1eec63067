// The JobStore conformance suite, continued: claims (order, fair share, bounds, races), the queue's
// limits and retries. Instantiated with the rest of JobStoreTest (see store_test.h).
#include <atomic>
#include <set>
#include <thread>

#include "jobs/store_test.h"

namespace warden::jobs {
namespace {

using ::testing::IsEmpty;
using ::testing::SizeIs;

// --- Claims ---

TEST_P(JobStoreTest, ClaimTakesTheOldestQueuedJobFirst) {
  Job first = MustCreate();
  Job second = MustCreate();
  Advance(5);

  Job claimed = MustClaim("worker-7");
  EXPECT_EQ(claimed.id, first.id);
  EXPECT_EQ(claimed.state, JobState::kRunning);
  EXPECT_EQ(claimed.worker, "worker-7");
  EXPECT_EQ(claimed.started_at_ms, kStartMs + 5);
  EXPECT_EQ(AllEvents(first.id).back().data,
            (json::object{{"worker", "worker-7"}, {"state", "running"}, {"reason", "claimed"}}));
  EXPECT_EQ(MustClaim().id, second.id);
  auto none = store().ClaimNext("w1");
  ASSERT_THAT(none, IsOk());
  EXPECT_FALSE(none->has_value());
  EXPECT_THAT(store().ClaimNext(""), IsError(ErrorCode::kInvalidArgument));
}

// One tenant's long queue must not lock out another: a claim takes the oldest job of the owner
// with the fewest running jobs.
TEST_P(JobStoreTest, ClaimsShareWorkersFairlyBetweenOwners) {
  std::vector<std::string> flood;
  for (int i = 0; i < 20; ++i) {
    flood.push_back(MustCreate("flooder", "job " + std::to_string(i)).id);
  }
  Job other = MustCreate("other", "one small job");
  Job late = MustCreate("third", "another");

  EXPECT_EQ(MustClaim("w1").id, flood[0]);  // nobody runs anything: the oldest job
  Job second = MustClaim("w2");             // flooder runs one: the next owner's oldest
  EXPECT_EQ(second.id, other.id);
  EXPECT_EQ(MustClaim("w3").id, late.id);
  EXPECT_EQ(MustClaim("w4").id, flood[1]);  // only flooder has queued jobs left
  MustFinish(flood[0], JobState::kSucceeded);
  MustFinish(flood[1], JobState::kSucceeded);
  Job newcomer = MustCreate("other", "later");
  // flooder runs none now and other runs one: flooder's oldest goes first, then other's.
  EXPECT_EQ(MustClaim("w5").id, flood[2]);
  EXPECT_EQ(MustClaim("w6").id, flood[3]);  // a tie (one each): the older job
  EXPECT_EQ(MustClaim("w7").id, newcomer.id);
}

TEST_P(JobStoreTest, OneOwnersQueuedJobsAreBoundedWhileOthersStillSubmit) {
  StoreOptions options;
  options.max_queued = 100;
  options.max_queued_per_owner = 3;
  Open(options);
  for (int i = 0; i < 3; ++i) {
    MustCreate("tenant-a");
  }
  auto refused = store().Create(Task("tenant-a", "a fourth"));
  ASSERT_THAT(refused, IsError(ErrorCode::kResourceExhausted));
  EXPECT_THAT(refused.error().message(), ::testing::HasSubstr("max_queued_per_key"));
  EXPECT_THAT(store().Create(Task("tenant-b", "mine")), IsOk());
  // The operator (no key) is bounded by max_queued alone.
  for (int i = 0; i < 5; ++i) {
    EXPECT_THAT(store().Create(Task(std::string(kAnyOwner), "operator's")), IsOk());
  }
  // A claim frees a place.
  Job claimed = MustClaim();
  ASSERT_FALSE(claimed.id.empty());
  EXPECT_THAT(store().Create(Task(claimed.owner, "room again")), IsOk());
}

TEST_P(JobStoreTest, AnOwnerAtItsRunningBoundLeavesItsJobsQueuedForOthers) {
  StoreOptions options;
  options.max_running_per_owner = 2;
  Open(options);
  std::vector<std::string> mine;
  for (int i = 0; i < 4; ++i) {
    mine.push_back(MustCreate("tenant-a").id);
  }
  EXPECT_EQ(MustClaim().id, mine[0]);
  EXPECT_EQ(MustClaim().id, mine[1]);
  auto none = store().ClaimNext("w1");
  ASSERT_THAT(none, IsOk());
  EXPECT_FALSE(none->has_value()) << "a third job of tenant-a was claimed";
  Job other = MustCreate("tenant-b");
  EXPECT_EQ(MustClaim().id, other.id);
  Job operators = MustCreate(std::string(kAnyOwner));  // the operator has no such bound
  EXPECT_EQ(MustClaim().id, operators.id);
  MustFinish(mine[0], JobState::kSucceeded);
  EXPECT_EQ(MustClaim().id, mine[2]);
}

TEST_P(JobStoreTest, ConcurrentWorkersClaimEachJobExactlyOnce) {
  constexpr int kJobs = 400;
  constexpr int kWorkers = 8;
  std::set<std::string> created;
  for (int i = 0; i < kJobs; ++i) {
    created.insert(MustCreate().id);
  }
  std::vector<std::vector<Job>> claims(kWorkers);
  std::vector<std::jthread> workers(kWorkers);
  for (int w = 0; w < kWorkers; ++w) {
    workers[w] = std::jthread([&, w] {
      while (true) {
        auto job = store().ClaimNext("w" + std::to_string(w));
        if (!job.ok() || !job->has_value()) {
          EXPECT_THAT(job, IsOk());
          return;
        }
        claims[w].push_back(**job);
      }
    });
  }
  workers.clear();

  std::multiset<std::string> claimed;
  for (int w = 0; w < kWorkers; ++w) {
    for (const Job& job : claims[w]) {
      claimed.insert(job.id);
      EXPECT_EQ(job.worker, "w" + std::to_string(w));
      EXPECT_EQ(store().Get(job.id, kAnyOwner)->worker, job.worker);
    }
  }
  EXPECT_EQ(claimed.size(), created.size());
  EXPECT_EQ(std::set<std::string>(claimed.begin(), claimed.end()), created);
}

// --- Queue limit, retries ---

TEST_P(JobStoreTest, MaxQueuedRefusesNewJobsUntilOneLeavesTheQueue) {
  StoreOptions options;
  options.max_queued = 3;
  Open(options);
  Job first = MustCreate();
  MustCreate();
  Job third = MustCreate();
  EXPECT_THAT(store().Create(Task("", "one too many")), IsError(ErrorCode::kResourceExhausted));

  MustClaim();
  EXPECT_THAT(store().Create(Task("", "room again")), IsOk());
  EXPECT_THAT(store().Create(Task("", "full again")), IsError(ErrorCode::kResourceExhausted));
  ASSERT_THAT(store().RequestCancel(third.id, kAnyOwner), IsOk());
  EXPECT_THAT(store().Create(Task("", "room again")), IsOk());
  EXPECT_EQ(store().CountByState(kAnyOwner)->at(JobState::kQueued), 3);
  EXPECT_EQ(store().Get(first.id, kAnyOwner)->state, JobState::kRunning);

  // Writes that fail, and writes that leave the queue alone, change nothing in the count.
  NewJob orphan = Task("", "retry of nothing");
  orphan.parent_id = "j_00000000000000000000000000";
  EXPECT_THAT(store().Create(orphan), IsError(ErrorCode::kNotFound));
  ASSERT_THAT(store().AppendEvent(first.id, "output", {}), IsOk());
  EXPECT_THAT(store().Create(Task("", "still full")), IsError(ErrorCode::kResourceExhausted));
  // A queued job cancelled through Finish leaves room; a crash recovery that queues the running
  // job again takes it.
  auto listed =
      store().List(JobFilter{.state = JobState::kQueued, .owner = std::string(kAnyOwner)}, {});
  ASSERT_THAT(listed, IsOk());
  FinishRequest cancel;
  cancel.state = JobState::kCancelled;
  ASSERT_THAT(store().Finish(listed->jobs.front().id, cancel), IsOk());
  EXPECT_THAT(store().Create(Task("", "room once more")), IsOk());
  EXPECT_THAT(store().Create(Task("", "full once more")), IsError(ErrorCode::kResourceExhausted));
  EXPECT_EQ(store().CountByState(kAnyOwner)->at(JobState::kQueued), 3);
}

TEST_P(JobStoreTest, MaxQueuedHoldsUnderConcurrentSubmissions) {
  StoreOptions options;
  options.max_queued = 5;
  Open(options);
  std::atomic<int> accepted = 0;
  std::atomic<int> refused = 0;
  std::vector<std::jthread> threads(8);
  for (std::jthread& thread : threads) {
    thread = std::jthread([&] {
      for (int i = 0; i < 5; ++i) {
        auto job = store().Create(Task("", "x"));
        (job.ok() ? accepted : refused)++;
        if (!job.ok()) {
          EXPECT_THAT(job, IsError(ErrorCode::kResourceExhausted));
        }
      }
    });
  }
  threads.clear();
  EXPECT_EQ(accepted, 5);
  EXPECT_EQ(refused, 35);
  EXPECT_EQ(store().CountByState(kAnyOwner)->at(JobState::kQueued), 5);
}

TEST_P(JobStoreTest, ARetryRemembersItsParent) {
  Job original = MustCreate("alice", "flaky");
  MustClaim();
  MustFinish(original.id, JobState::kFailed);

  NewJob retry = Task("alice", "flaky");
  retry.parent_id = original.id;
  auto created = store().Create(retry);
  ASSERT_THAT(created, IsOk());
  EXPECT_EQ(created->parent_id, original.id);
  EXPECT_NE(created->workspace, original.workspace);
  EXPECT_EQ(store().Get(created->id, "alice")->parent_id, original.id);
  auto page = store().List(JobFilter{.state = JobState::kQueued, .owner = "alice"}, PageRequest{});
  ASSERT_THAT(page, IsOk());
  ASSERT_THAT(page->jobs, SizeIs(1));
  EXPECT_EQ(page->jobs[0].parent_id, original.id);
}

}  // namespace
}  // namespace warden::jobs
