// The JobStore conformance suite, continued: appending events, reading them (in pages too), waiting
// for them, and events whose strings are not UTF-8. Instantiated with the rest of JobStoreTest (see
// store_test.h).
#include <future>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "jobs/store_test.h"

namespace warden::jobs {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::SizeIs;

// Every page of `query` (moving after_seq, or before_seq newest first), as seqs per page.
std::vector<std::vector<int64_t>> Pages(JobStore& store, const std::string& job_id,
                                        EventQuery query) {
  std::vector<std::vector<int64_t>> pages;
  for (bool more = true; more;) {
    auto page = store.ReadEvents(job_id, query);
    EXPECT_THAT(page, IsOk());
    if (!page.ok() || pages.size() > 1000) {
      break;
    }
    std::vector<int64_t> seqs;
    for (const Event& event : page->events) {
      seqs.push_back(event.seq);
    }
    pages.push_back(seqs);
    more = page->more;
    if (!seqs.empty()) {
      (query.newest_first ? query.before_seq : query.after_seq) = seqs.back();
    }
  }
  return pages;
}

std::vector<int64_t> Joined(const std::vector<std::vector<int64_t>>& pages) {
  std::vector<int64_t> all;
  for (const auto& page : pages) {
    all.insert(all.end(), page.begin(), page.end());
  }
  return all;
}

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

TEST_P(JobStoreTest, ReadEventsPagesEveryEventExactlyOnceInEitherOrder) {
  Job job = MustCreate();
  for (int i = 0; i < 24; ++i) {
    ASSERT_THAT(store().AppendEvent(job.id, "output", {{"i", i}}), IsOk());
  }
  // 25 events: the "queued" state event and 24 more.
  EventQuery query;
  query.limit = 10;
  auto pages = Pages(store(), job.id, query);
  ASSERT_THAT(pages, SizeIs(3));
  EXPECT_THAT(pages[0], SizeIs(10));
  EXPECT_THAT(pages[2], SizeIs(5));
  std::vector<int64_t> all = Joined(pages);
  ASSERT_THAT(all, SizeIs(25));
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(all[i], static_cast<int64_t>(i + 1));
  }

  query.newest_first = true;
  query.before_seq = 21;
  std::vector<int64_t> back = Joined(Pages(store(), job.id, query));
  ASSERT_THAT(back, SizeIs(20));
  EXPECT_EQ(back.front(), 20);
  EXPECT_EQ(back.back(), 1);

  // A page that ends exactly at the last event says there is no more.
  query = EventQuery{};
  query.after_seq = 15;
  query.limit = 10;
  auto last = store().ReadEvents(job.id, query);
  ASSERT_THAT(last, IsOk());
  EXPECT_THAT(last->events, SizeIs(10));
  EXPECT_FALSE(last->more);
}

TEST_P(JobStoreTest, ReadEventsEndsAPageAtItsByteBoundButNeverReturnsNone) {
  Job job = MustCreate();
  for (int i = 0; i < 10; ++i) {
    ASSERT_THAT(store().AppendEvent(job.id, "output", {{"text", std::string(1000, 'x')}}), IsOk());
  }
  EventQuery query;
  query.after_seq = 1;  // only the 1,000-byte events
  query.max_bytes = 2500;
  auto pages = Pages(store(), job.id, query);
  for (const auto& page : pages) {
    EXPECT_THAT(page.size(), ::testing::AllOf(::testing::Ge(1U), ::testing::Le(3U)));
  }
  EXPECT_THAT(Joined(pages), SizeIs(10));

  query.max_bytes = 10;  // smaller than any event: one at a time
  EXPECT_THAT(Pages(store(), job.id, query), SizeIs(10));
}

TEST_P(JobStoreTest, ReadEventsKeepsOnlyTheTypeAskedFor) {
  Job job = MustCreate();
  MustClaim();
  ASSERT_THAT(store().AppendEvent(job.id, "action", {{"step", 1}}), IsOk());
  ASSERT_THAT(store().AppendEvent(job.id, "output", {{"text", "a"}}), IsOk());
  ASSERT_THAT(store().AppendEvent(job.id, "observation", {{"ok", true}}), IsOk());
  ASSERT_THAT(store().AppendEvent(job.id, "output", {{"text", "b"}}), IsOk());
  EventQuery query;
  query.type = "output";
  EXPECT_THAT(Joined(Pages(store(), job.id, query)), ElementsAre(4, 6));
  query.type = "nothing";
  EXPECT_THAT(Joined(Pages(store(), job.id, query)), IsEmpty());
  query.limit = 0;
  EXPECT_THAT(store().ReadEvents(job.id, query), IsError(ErrorCode::kInvalidArgument));
  EXPECT_THAT(store().ReadEvents("j_missing", EventQuery{}), IsError(ErrorCode::kNotFound));
}

// What a program prints or names reaches events, summaries and results: none of it may make the
// job unreadable.
TEST_P(JobStoreTest, StringsThatAreNotUtf8AreStoredAsReadableJson) {
  const std::string replacement = "\xEF\xBF\xBD";
  Job job = MustCreate();
  MustClaim();
  ASSERT_THAT(store().AppendEvent(job.id, "thought",
                                  {{"text",
                                    "a\xFF"
                                    "b"},
                                   {"k\xFE", "v"}}),
              IsOk());
  auto finished = store().Finish(
      job.id, Outcome(JobState::kFailed, "step_failed", "printed \xC0\xAF",
                      {{"files", json::array{json::object{{"path", "name\xFF.txt"}}}}}));
  ASSERT_THAT(finished, IsOk());

  std::vector<Event> events = AllEvents(job.id);
  ASSERT_THAT(events, SizeIs(4));
  EXPECT_EQ(events[2].data,
            (json::object{{"text", "a" + replacement + "b"}, {"k" + replacement, "v"}}));
  EXPECT_EQ(events[3].data.at("summary"), json::value("printed " + replacement + replacement));
  auto read = store().Get(job.id, kAnyOwner);
  ASSERT_THAT(read, IsOk());
  EXPECT_EQ(read->summary, "printed " + replacement + replacement);
  EXPECT_EQ(read->result.at("files").at(0).at("path"), json::value("name" + replacement + ".txt"));
  EXPECT_EQ(finished->result, read->result);
}

}  // namespace
}  // namespace warden::jobs
