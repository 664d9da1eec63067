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
  EXPECT_THAT(ListIds(JobFilter{.owner = "bob"}), IsEmpty());
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

  EXPECT_EQ(ListIds(JobFilter{.owner = "alice"}),
            (std::vector<std::string>{in_session->id, a2.id, a1.id}));
  EXPECT_EQ(ListIds(JobFilter{.state = JobState::kQueued}),
            (std::vector<std::string>{in_session->id, b1.id, a2.id}));
  EXPECT_EQ(ListIds(JobFilter{.state = JobState::kRunning, .owner = "alice"}),
            (std::vector<std::string>{a1.id}));
  EXPECT_EQ(ListIds(JobFilter{.state = JobState::kRunning, .owner = "bob"}),
            (std::vector<std::string>{}));
  EXPECT_EQ(ListIds(JobFilter{.session_id = session->id}),
            (std::vector<std::string>{in_session->id}));
}

TEST_P(JobStoreTest, ListFiltersByKindAndByTextInTheTaskOrSteps) {
  Job csv = MustCreate("alice", "Make a CSV of the 20 largest files");
  Job plot = MustCreate("alice", "plot primes.csv as a chart");
  auto steps = store().Create(
      NewJob{"alice", JobKind::kSteps,
             json::object{{"steps", json::array{json::object{{"shell", "wc -l 100%_done.txt"}}}}},
             "", "", false});
  ASSERT_THAT(steps, IsOk());
  Job bobs = MustCreate("bob", "another csv");
  auto filter = [](std::optional<JobKind> kind, std::string text) {
    JobFilter f;
    f.owner = "alice";
    f.kind = kind;
    f.text = std::move(text);
    return f;
  };

  EXPECT_EQ(ListIds(filter(JobKind::kSteps, "")), (std::vector<std::string>{steps->id}));
  EXPECT_EQ(ListIds(filter(JobKind::kTask, "")), (std::vector<std::string>{plot.id, csv.id}));
  // Case-insensitive, in the task or in the steps; % and _ are literal, not wildcards.
  EXPECT_EQ(ListIds(filter(std::nullopt, "csv")), (std::vector<std::string>{plot.id, csv.id}));
  EXPECT_EQ(ListIds(filter(std::nullopt, "WC -L")), (std::vector<std::string>{steps->id}));
  EXPECT_EQ(ListIds(filter(std::nullopt, "100%_done")), (std::vector<std::string>{steps->id}));
  EXPECT_EQ(ListIds(filter(std::nullopt, "1%0")), (std::vector<std::string>{}));
  EXPECT_EQ(ListIds(filter(std::nullopt, "largest_files")), (std::vector<std::string>{}));
  EXPECT_EQ(ListIds(filter(JobKind::kSteps, "csv")), (std::vector<std::string>{}));
  JobFilter anyone;
  anyone.text = "csv";
  EXPECT_EQ(ListIds(anyone), (std::vector<std::string>{bobs.id, plot.id, csv.id}));
}

TEST_P(JobStoreTest, CountByStateCountsOneOwnersJobs) {
  MustCreate("alice");
  MustCreate("alice");
  MustCreate("bob");
  MustFinish(MustClaim().id, JobState::kFailed);  // alice's first
  auto alice = store().CountByState("alice");
  ASSERT_THAT(alice, IsOk());
  EXPECT_EQ(alice->at(JobState::kQueued), 1);
  EXPECT_EQ(alice->at(JobState::kFailed), 1);
  auto bob = store().CountByState("bob");
  ASSERT_THAT(bob, IsOk());
  EXPECT_EQ(bob->at(JobState::kQueued), 1);
  EXPECT_EQ(bob->at(JobState::kFailed), 0);
  auto carol = store().CountByState("carol");
  ASSERT_THAT(carol, IsOk());
  EXPECT_THAT(*carol, SizeIs(5));
  EXPECT_EQ(carol->at(JobState::kQueued), 0);
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
  auto empty = store().CountByState(kAnyOwner);
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

  auto counts = store().CountByState(kAnyOwner);
  ASSERT_THAT(counts, IsOk());
  EXPECT_EQ((*counts)[JobState::kQueued], 2);
  EXPECT_EQ((*counts)[JobState::kRunning], 1);
  EXPECT_EQ((*counts)[JobState::kFailed], 1);
  EXPECT_EQ((*counts)[JobState::kSucceeded], 0);
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

}  // namespace
}  // namespace warden::jobs
