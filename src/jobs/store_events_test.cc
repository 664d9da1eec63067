// The JobStore conformance suite, continued: reading events in pages (ReadEvents) and events whose
// strings are not UTF-8. Instantiated with the rest of JobStoreTest (see store_test.h).
#include <set>
#include <string>
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
