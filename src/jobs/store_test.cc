// The JobStore conformance suite: what every backend must do, written against JobStore& only.
// Backends instantiate it with a StoreFactory (store_test.h).
#include "jobs/store_test.h"

#include <algorithm>
#include <future>
#include <map>
#include <set>
#include <thread>

namespace warden::jobs {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::SizeIs;

FinishRequest Outcome(JobState state, std::string reason, std::string summary,
                      json::object result) {
  FinishRequest request;
  request.state = state;
  request.reason = std::move(reason);
  request.summary = std::move(summary);
  request.result = std::move(result);
  return request;
}

std::string StoreFactoryName(const ::testing::TestParamInfo<StoreFactory>& param_info) {
  return param_info.param.name;
}

void JobStoreTest::SetUp() {
  auto dir = sys::TempDir::Create("warden-jobs-test-");
  ASSERT_THAT(dir, IsOk());
  dir_ = std::make_unique<sys::TempDir>(std::move(*dir));
  Open(StoreOptions{});
}

void JobStoreTest::Open(StoreOptions options) {
  store_.reset();
  options.clock = [this] {
    return now_ms_.load();
  };
  options.workspace_root = dir_->path() + "/work";
  auto store = GetParam().open(dir_->path(), options);
  ASSERT_THAT(store, IsOk());
  store_ = std::move(*store);
}

NewJob JobStoreTest::Task(std::string owner, std::string task) {
  NewJob job;
  job.owner = std::move(owner);
  job.input = {{"task", std::move(task)}};
  return job;
}

Job JobStoreTest::MustCreate(std::string owner, std::string task) {
  auto job = store().Create(Task(std::move(owner), std::move(task)));
  EXPECT_THAT(job, IsOk());
  return job.ok() ? *job : Job{};
}

Job JobStoreTest::MustClaim(std::string_view worker) {
  auto job = store().ClaimNext(worker);
  EXPECT_THAT(job, IsOk());
  EXPECT_TRUE(job.ok() && job->has_value()) << "nothing to claim";
  return job.ok() && job->has_value() ? **job : Job{};
}

Job JobStoreTest::MustFinish(const std::string& id, JobState state, std::string summary) {
  auto job = store().Finish(id, Outcome(state, std::string(kReasonFinished), std::move(summary)));
  EXPECT_THAT(job, IsOk());
  return job.ok() ? *job : Job{};
}

std::vector<Event> JobStoreTest::AllEvents(const std::string& id) {
  auto events = store().Events(id, 0, kMaxPageLimit);
  EXPECT_THAT(events, IsOk());
  return events.ok() ? *events : std::vector<Event>{};
}

std::vector<std::string> JobStoreTest::ListIds(const JobFilter& filter) {
  auto page = store().List(filter, PageRequest{kMaxPageLimit, ""});
  EXPECT_THAT(page, IsOk());
  std::vector<std::string> ids;
  for (const Job& job : page.ok() ? page->jobs : std::vector<Job>{}) {
    ids.push_back(job.id);
  }
  return ids;
}

namespace {

// --- Create, Get ---

TEST_P(JobStoreTest, CreateStoresAQueuedJobWithItsFirstStateEvent) {
  NewJob request;
  request.owner = "alice";
  request.kind = JobKind::kSteps;
  request.input = {{"steps", json::array{json::object{{"shell", "echo hi"}}}}};
  request.requeue_on_crash = true;

  auto created = store().Create(request);
  ASSERT_THAT(created, IsOk());

  EXPECT_TRUE(IsValidId(created->id, kJobIdPrefix)) << created->id;
  EXPECT_EQ(created->state, JobState::kQueued);
  EXPECT_EQ(created->created_at_ms, kStartMs);
  EXPECT_EQ(created->workspace, Workspace(created->id));
  auto got = store().Get(created->id, "alice");
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(json::value(ToJson(*got, Viewer::kOperator)),
            json::value(ToJson(*created, Viewer::kOperator)));
  EXPECT_EQ(got->kind, JobKind::kSteps);
  EXPECT_EQ(got->input, request.input);
  EXPECT_TRUE(got->requeue_on_crash);
  EXPECT_FALSE(got->started_at_ms.has_value());
  EXPECT_EQ(got->last_event_seq, 1);
  std::vector<Event> events = AllEvents(created->id);
  ASSERT_THAT(events, SizeIs(1));
  EXPECT_EQ(events[0].seq, 1);
  EXPECT_EQ(events[0].type, kStateEventType);
  EXPECT_EQ(events[0].time_ms, kStartMs);
  EXPECT_EQ(events[0].data, (json::object{{"state", "queued"}, {"reason", "submitted"}}));
}

TEST_P(JobStoreTest, IdsAreUniqueAndSortInCreationOrderWithinOneMillisecond) {
  std::vector<std::string> ids(50);
  for (std::string& id : ids) {
    id = MustCreate().id;
  }
  EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), ids.size());
}

TEST_P(JobStoreTest, AnotherOwnersJobIsInvisible) {
  Job job = MustCreate("alice");

  EXPECT_THAT(store().Get(job.id, "bob"), IsError(ErrorCode::kNotFound));
  EXPECT_THAT(store().RequestCancel(job.id, "bob"), IsError(ErrorCode::kNotFound));
  EXPECT_THAT(ListIds(JobFilter{std::nullopt, "bob", ""}), IsEmpty());
  EXPECT_THAT(store().Create(NewJob{"bob", JobKind::kTask, {}, job.id, "", false}),
              IsError(ErrorCode::kNotFound));  // no retrying someone else's job either

  EXPECT_THAT(store().Get(job.id, "alice"), IsOk());
  EXPECT_THAT(store().Get(job.id, kAnyOwner), IsOk());
  EXPECT_EQ(store().Get(job.id, kAnyOwner)->state, JobState::kQueued);  // bob's cancel did nothing
}

TEST_P(JobStoreTest, UnknownIdsAreNotFound) {
  const std::string id = "j_00000000000000000000000000";
  EXPECT_THAT(store().Get(id, kAnyOwner), IsError(ErrorCode::kNotFound));
  EXPECT_THAT(store().Events(id, 0, 10), IsError(ErrorCode::kNotFound));
  EXPECT_THAT(store().AppendEvent(id, "output", {}), IsError(ErrorCode::kNotFound));
  EXPECT_THAT(store().Finish(id, FinishRequest{}), IsError(ErrorCode::kNotFound));
  EXPECT_THAT(store().RequestCancel(id, kAnyOwner), IsError(ErrorCode::kNotFound));
  EXPECT_THAT(store().IsCancelRequested(id), IsError(ErrorCode::kNotFound));
  EXPECT_THAT(store().WaitForEvents(id, 0, std::chrono::milliseconds(1)),
              IsError(ErrorCode::kNotFound));
  EXPECT_THAT(store().Create(NewJob{"", JobKind::kTask, {}, id, "", false}),
              IsError(ErrorCode::kNotFound));
  EXPECT_THAT(store().Create(NewJob{"", JobKind::kTask, {}, "", "s_nope", false}),
              IsError(ErrorCode::kNotFound));
  EXPECT_THAT(store().GetSession("s_nope", kAnyOwner), IsError(ErrorCode::kNotFound));
  EXPECT_THAT(store().ListSessionTurns("s_nope", kAnyOwner), IsError(ErrorCode::kNotFound));
  EXPECT_THAT(store().AddSessionTurn("s_nope", kAnyOwner, id, "hi"), IsError(ErrorCode::kNotFound));
}

// --- List, CountByState ---

TEST_P(JobStoreTest, ListPagesNewestFirstUntilTheCursorRunsOut) {
  std::vector<std::string> created;
  for (int i = 0; i < 25; ++i) {
    created.push_back(MustCreate().id);
    Advance(1);
  }
  std::vector<std::string> listed;
  std::vector<size_t> page_sizes;
  PageRequest page{10, ""};
  do {
    auto result = store().List(JobFilter{}, page);
    ASSERT_THAT(result, IsOk());
    page_sizes.push_back(result->jobs.size());
    for (const Job& job : result->jobs) {
      listed.push_back(job.id);
    }
    page.cursor = result->next_cursor;
  } while (!page.cursor.empty() && page_sizes.size() < 10);

  EXPECT_THAT(page_sizes, ElementsAre(10, 10, 5));
  std::reverse(created.begin(), created.end());
  EXPECT_EQ(listed, created);
}

TEST_P(JobStoreTest, AFullLastPageHasNoNextCursor) {
  for (int i = 0; i < 4; ++i) {
    MustCreate();
  }
  auto first = store().List(JobFilter{}, PageRequest{2, ""});
  ASSERT_THAT(first, IsOk());
  ASSERT_FALSE(first->next_cursor.empty());
  auto second = store().List(JobFilter{}, PageRequest{2, first->next_cursor});
  ASSERT_THAT(second, IsOk());
  EXPECT_THAT(second->jobs, SizeIs(2));
  EXPECT_EQ(second->next_cursor, "");
}

TEST_P(JobStoreTest, ListFiltersByStateOwnerAndSession) {
  auto session = store().CreateSession("alice");
  ASSERT_THAT(session, IsOk());
  Job a1 = MustCreate("alice");
  Job a2 = MustCreate("alice");
  Job b1 = MustCreate("bob");
  auto in_session = store().Create(NewJob{"alice", JobKind::kTask, {}, "", session->id, false});
  ASSERT_THAT(in_session, IsOk());
  MustClaim();  // a1, the oldest

  EXPECT_EQ(ListIds(JobFilter{std::nullopt, "alice", ""}),
            (std::vector<std::string>{in_session->id, a2.id, a1.id}));
  EXPECT_EQ(ListIds(JobFilter{JobState::kQueued, "", ""}),
            (std::vector<std::string>{in_session->id, b1.id, a2.id}));
  EXPECT_EQ(ListIds(JobFilter{JobState::kRunning, "alice", ""}), (std::vector<std::string>{a1.id}));
  EXPECT_EQ(ListIds(JobFilter{JobState::kRunning, "bob", ""}), (std::vector<std::string>{}));
  EXPECT_EQ(ListIds(JobFilter{std::nullopt, "", session->id}),
            (std::vector<std::string>{in_session->id}));
}

TEST_P(JobStoreTest, BadPagesAreInvalidArguments) {
  EXPECT_THAT(store().List(JobFilter{}, PageRequest{0, ""}), IsError(ErrorCode::kInvalidArgument));
  EXPECT_THAT(store().List(JobFilter{}, PageRequest{kMaxPageLimit + 1, ""}),
              IsError(ErrorCode::kInvalidArgument));
  EXPECT_THAT(store().List(JobFilter{}, PageRequest{10, "x' OR 1=1 --"}),
              IsError(ErrorCode::kInvalidArgument));
  Job job = MustCreate();
  EXPECT_THAT(store().Events(job.id, 0, 0), IsError(ErrorCode::kInvalidArgument));
  EXPECT_THAT(store().DeleteFinishedBefore(Now(), 0), IsError(ErrorCode::kInvalidArgument));
}

TEST_P(JobStoreTest, CountByStateReportsEveryState) {
  auto empty = store().CountByState();
  ASSERT_THAT(empty, IsOk());
  EXPECT_THAT(*empty, SizeIs(5));
  for (auto [state, count] : *empty) {
    EXPECT_EQ(count, 0) << JobStateName(state);
  }
  for (int i = 0; i < 4; ++i) {
    MustCreate();
  }
  MustFinish(MustClaim().id, JobState::kFailed);
  MustClaim();

  auto counts = store().CountByState();
  ASSERT_THAT(counts, IsOk());
  EXPECT_EQ((*counts)[JobState::kQueued], 2);
  EXPECT_EQ((*counts)[JobState::kRunning], 1);
  EXPECT_EQ((*counts)[JobState::kFailed], 1);
  EXPECT_EQ((*counts)[JobState::kSucceeded], 0);
}

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

// --- Events ---

TEST_P(JobStoreTest, ConcurrentAppendsGetContiguousSeqsInEachCallersOrder) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 60;
  std::string jobs[2] = {MustCreate().id, MustCreate().id};
  MustClaim();
  std::vector<std::jthread> threads(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads[t] = std::jthread([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        // Half single appends, half small batches: both paths share the seq counter.
        const std::string& job = jobs[(t + i) % 2];
        if (i % 2 == 0) {
          EXPECT_THAT(store().AppendEvent(job, "output", {{"t", t}, {"i", i}}), IsOk());
        } else {
          EXPECT_THAT(store().AppendEvents({NewEvent{job, "output", {{"t", t}, {"i", i}}}}),
                      IsOk());
        }
      }
    });
  }
  threads.clear();

  size_t total = 0;
  for (const std::string& job : jobs) {
    std::vector<Event> events = AllEvents(job);
    total += events.size();
    std::map<int64_t, int64_t> last_i_by_thread;
    for (size_t k = 0; k < events.size(); ++k) {
      ASSERT_EQ(events[k].seq, static_cast<int64_t>(k + 1));
      if (events[k].type == "output") {
        int64_t t = events[k].data.at("t").as_int64();
        int64_t i = events[k].data.at("i").as_int64();
        EXPECT_LT(last_i_by_thread.try_emplace(t, -1).first->second, i);
        last_i_by_thread[t] = i;
      }
    }
    EXPECT_EQ(store().Get(job, kAnyOwner)->last_event_seq, static_cast<int64_t>(events.size()));
  }
  EXPECT_EQ(total, size_t{kThreads * kPerThread + 3});  // + 2 queued + 1 running state event
}

TEST_P(JobStoreTest, AppendEventsIsAllOrNothing) {
  Job a = MustCreate();
  Job b = MustCreate();

  auto seqs = store().AppendEvents({NewEvent{a.id, "output", {{"n", 1}}},
                                    NewEvent{b.id, "output", {{"n", 2}}},
                                    NewEvent{a.id, "thought", {{"n", 3}}}});
  ASSERT_THAT(seqs, IsOk());
  EXPECT_THAT(*seqs, ElementsAre(2, 2, 3));

  EXPECT_THAT(store().AppendEvents({NewEvent{a.id, "output", {}},
                                    NewEvent{"j_00000000000000000000000000", "output", {}}}),
              IsError(ErrorCode::kNotFound));
  EXPECT_THAT(AllEvents(a.id), SizeIs(3));
  EXPECT_EQ(AllEvents(a.id).back().type, "thought");
}

TEST_P(JobStoreTest, OnlyTheStoreWritesStateEventsAndFinishedJobsTakeNoMore) {
  Job job = MustCreate();
  EXPECT_THAT(store().AppendEvent(job.id, "state", {{"state", "succeeded"}}),
              IsError(ErrorCode::kInvalidArgument));
  EXPECT_THAT(store().AppendEvent(job.id, "", {}), IsError(ErrorCode::kInvalidArgument));
  MustClaim();
  MustFinish(job.id, JobState::kSucceeded);

  EXPECT_THAT(store().AppendEvent(job.id, "output", {}), IsError(ErrorCode::kFailedPrecondition));
  EXPECT_EQ(AllEvents(job.id).back().type, kStateEventType);
}

TEST_P(JobStoreTest, EventsReadsAfterASeqUpToALimit) {
  Job job = MustCreate();
  for (int i = 0; i < 9; ++i) {
    Advance(1);
    ASSERT_THAT(store().AppendEvent(job.id, "output", {{"line", i}}), IsOk());
  }
  auto events = store().Events(job.id, 3, 4);
  ASSERT_THAT(events, IsOk());
  ASSERT_THAT(*events, SizeIs(4));
  EXPECT_EQ(events->front().seq, 4);
  EXPECT_EQ(events->back().seq, 7);
  EXPECT_EQ(events->front().data, (json::object{{"line", 2}}));
  EXPECT_EQ(events->front().time_ms, kStartMs + 3);
  EXPECT_THAT(*store().Events(job.id, 10, 4), IsEmpty());
}

TEST_P(JobStoreTest, WaitForEventsReturnsWhenAnEventArrivesAndFalseOnTimeout) {
  Job job = MustCreate();
  EXPECT_THAT(store().WaitForEvents(job.id, 0, std::chrono::milliseconds(0)), IsOk());
  EXPECT_TRUE(*store().WaitForEvents(job.id, 0, std::chrono::milliseconds(0)));
  EXPECT_FALSE(*store().WaitForEvents(job.id, 1, std::chrono::milliseconds(20)));

  auto waiter = std::async(std::launch::async, [&] {
    return store().WaitForEvents(job.id, 1, std::chrono::minutes(1));
  });
  ASSERT_THAT(store().AppendEvent(job.id, "output", {}), IsOk());
  ASSERT_EQ(waiter.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  auto woke = waiter.get();
  ASSERT_THAT(woke, IsOk());
  EXPECT_TRUE(*woke);
}

TEST_P(JobStoreTest, WaitForAnyEventsNamesTheJobsWithNewsOnly) {
  Job quiet = MustCreate();
  Job busy = MustCreate();
  // Each has its "submitted" event (seq 1); a follower that has seen it has no news.
  std::map<std::string, int64_t> seen{{quiet.id, 1}, {busy.id, 1}, {"j_gone", 0}};
  auto none = store().WaitForAnyEvents(seen, std::chrono::milliseconds(20));
  ASSERT_THAT(none, IsOk());
  EXPECT_THAT(*none, IsEmpty());
  // Behind already: answered at once, with the newest seq.
  auto behind = store().WaitForAnyEvents({{quiet.id, 0}, {busy.id, 1}}, std::chrono::minutes(1));
  ASSERT_THAT(behind, IsOk());
  EXPECT_EQ(*behind, (std::map<std::string, int64_t>{{quiet.id, 1}}));

  auto waiter = std::async(std::launch::async,
                           [&] { return store().WaitForAnyEvents(seen, std::chrono::minutes(1)); });
  ASSERT_THAT(store().AppendEvent(busy.id, "output", {}), IsOk());
  ASSERT_THAT(store().AppendEvent(busy.id, "output", {}), IsOk());
  ASSERT_EQ(waiter.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  auto woke = waiter.get();
  ASSERT_THAT(woke, IsOk());
  ASSERT_EQ(woke->size(), 1U);
  EXPECT_GE(woke->at(busy.id), 2);
}

TEST_P(JobStoreTest, WaitForAnyEventsFollowsMoreJobsThanOneStatementTakes) {
  std::map<std::string, int64_t> seen;
  std::string last;
  for (int i = 0; i < 600; ++i) {
    last = MustCreate().id;
    seen[last] = 1;
  }
  EXPECT_THAT(*store().WaitForAnyEvents(seen, std::chrono::milliseconds(0)), IsEmpty());
  ASSERT_THAT(store().AppendEvent(last, "output", {}), IsOk());
  auto news = store().WaitForAnyEvents(seen, std::chrono::minutes(1));
  ASSERT_THAT(news, IsOk());
  EXPECT_EQ(*news, (std::map<std::string, int64_t>{{last, 2}}));
}

TEST_P(JobStoreTest, WaitForQueuedReturnsWhenAJobIsSubmitted) {
  EXPECT_FALSE(*store().WaitForQueued(std::chrono::milliseconds(20)));
  auto waiter = std::async(std::launch::async,
                           [&] { return store().WaitForQueued(std::chrono::minutes(1)); });
  MustCreate();
  ASSERT_EQ(waiter.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  EXPECT_TRUE(*waiter.get());
}

// --- Finish, cancel ---

TEST_P(JobStoreTest, FinishRecordsTheOutcomeOnceAndRefusesASecondTime) {
  Job job = MustCreate();
  EXPECT_THAT(store().Finish(job.id, Outcome(JobState::kSucceeded, "finished", "", {})),
              IsError(ErrorCode::kFailedPrecondition));  // still queued
  MustClaim();
  EXPECT_THAT(store().Finish(job.id, Outcome(JobState::kRunning, "", "", {})),
              IsError(ErrorCode::kInvalidArgument));
  Advance(100);

  json::object result = {{"usage", {{"input_tokens", 10}}}, {"files", json::array{}}};
  auto done = store().Finish(job.id, Outcome(JobState::kSucceeded, "finished", "ok", result));
  ASSERT_THAT(done, IsOk());
  EXPECT_EQ(done->state, JobState::kSucceeded);
  EXPECT_EQ(done->finished_at_ms, kStartMs + 100);
  auto again = store().Finish(job.id, Outcome(JobState::kFailed, "timeout", "late", {}));
  EXPECT_THAT(again, IsError(ErrorCode::kFailedPrecondition));

  auto stored = store().Get(job.id, kAnyOwner);
  ASSERT_THAT(stored, IsOk());
  EXPECT_EQ(json::value(ToJson(*stored, Viewer::kOperator)),
            json::value(ToJson(*done, Viewer::kOperator)));
  EXPECT_EQ(stored->summary, "ok");
  EXPECT_EQ(stored->result, result);
  EXPECT_EQ(AllEvents(job.id).back().data,
            (json::object{{"summary", "ok"}, {"state", "succeeded"}, {"reason", "finished"}}));
  EXPECT_EQ(stored->last_event_seq, 3);
}

TEST_P(JobStoreTest, OnlyTheJobsWorkerMayFinishIt) {
  Job job = MustCreate();
  MustClaim("w1");
  FinishRequest request{JobState::kFailed, "timeout", "", {}, "w2"};
  EXPECT_THAT(store().Finish(job.id, request), IsError(ErrorCode::kFailedPrecondition));
  request.worker = "w1";
  EXPECT_THAT(store().Finish(job.id, request), IsOk());
}

TEST_P(JobStoreTest, CancellingAQueuedJobEndsItAtOnce) {
  Job job = MustCreate("alice");
  auto cancelled = store().RequestCancel(job.id, "alice");
  ASSERT_THAT(cancelled, IsOk());
  EXPECT_EQ(cancelled->state, JobState::kCancelled);
  EXPECT_EQ(cancelled->reason, kReasonCancelled);
  EXPECT_TRUE(cancelled->finished_at_ms.has_value());
  EXPECT_EQ(store().Get(job.id, kAnyOwner)->state, JobState::kCancelled);
  EXPECT_EQ(AllEvents(job.id).back().data.at("state"), "cancelled");
  EXPECT_FALSE(store().ClaimNext("w1")->has_value());
}

TEST_P(JobStoreTest, CancellingARunningJobFlagsItForItsWorker) {
  Job job = MustCreate();
  MustClaim();
  EXPECT_FALSE(*store().IsCancelRequested(job.id));

  auto flagged = store().RequestCancel(job.id, kAnyOwner);
  ASSERT_THAT(flagged, IsOk());
  EXPECT_EQ(flagged->state, JobState::kRunning);
  EXPECT_TRUE(flagged->cancel_requested);
  EXPECT_TRUE(*store().IsCancelRequested(job.id));
  EXPECT_EQ(AllEvents(job.id).back().type, kCancelRequestedEventType);
  ASSERT_THAT(store().RequestCancel(job.id, kAnyOwner), IsOk());  // asking twice is harmless
  EXPECT_THAT(AllEvents(job.id), SizeIs(3));

  Job ended = MustFinish(job.id, JobState::kCancelled, "stopped");
  EXPECT_EQ(ended.state, JobState::kCancelled);
}

TEST_P(JobStoreTest, CancellingAFinishedJobIsRefusedAndChangesNothing) {
  Job job = MustCreate();
  MustClaim();
  MustFinish(job.id, JobState::kSucceeded);
  EXPECT_THAT(store().RequestCancel(job.id, kAnyOwner), IsError(ErrorCode::kFailedPrecondition));
  auto stored = store().Get(job.id, kAnyOwner);
  EXPECT_EQ(stored->state, JobState::kSucceeded);
  EXPECT_FALSE(stored->cancel_requested);
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
  EXPECT_EQ(store().CountByState()->at(JobState::kQueued), 3);
  EXPECT_EQ(store().Get(first.id, kAnyOwner)->state, JobState::kRunning);

  // Writes that fail, and writes that leave the queue alone, change nothing in the count.
  NewJob orphan = Task("", "retry of nothing");
  orphan.parent_id = "j_00000000000000000000000000";
  EXPECT_THAT(store().Create(orphan), IsError(ErrorCode::kNotFound));
  ASSERT_THAT(store().AppendEvent(first.id, "output", {}), IsOk());
  EXPECT_THAT(store().Create(Task("", "still full")), IsError(ErrorCode::kResourceExhausted));
  // A queued job cancelled through Finish leaves room; a crash recovery that queues the running
  // job again takes it.
  auto listed = store().List(JobFilter{JobState::kQueued, std::string(kAnyOwner), ""}, {});
  ASSERT_THAT(listed, IsOk());
  FinishRequest cancel;
  cancel.state = JobState::kCancelled;
  ASSERT_THAT(store().Finish(listed->jobs.front().id, cancel), IsOk());
  EXPECT_THAT(store().Create(Task("", "room once more")), IsOk());
  EXPECT_THAT(store().Create(Task("", "full once more")), IsError(ErrorCode::kResourceExhausted));
  EXPECT_EQ(store().CountByState()->at(JobState::kQueued), 3);
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
  EXPECT_EQ(store().CountByState()->at(JobState::kQueued), 5);
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
  auto page = store().List(JobFilter{JobState::kQueued, "alice", ""}, PageRequest{});
  ASSERT_THAT(page, IsOk());
  ASSERT_THAT(page->jobs, SizeIs(1));
  EXPECT_EQ(page->jobs[0].parent_id, original.id);
}

// --- Recovery, retention ---

TEST_P(JobStoreTest, RecoveryEndsOrRequeuesEveryRunningJob) {
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

}  // namespace
}  // namespace warden::jobs
