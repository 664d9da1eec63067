// Reads that never wait (JobStore::TryGet, TryList) on SQLite, and the pool of read connections
// that they take a connection from only when one is free.
#include <memory>
#include <string>
#include <vector>

#include "jobs/sqlite.h"
#include "jobs/sqlite_store.h"
#include "jobs/store_test.h"

namespace warden::jobs {
namespace {

class SqliteQuickReadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = sys::TempDir::Create("warden-sqlite-quick-test-");
    ASSERT_THAT(dir, IsOk());
    dir_ = std::make_unique<sys::TempDir>(std::move(*dir));
    path_ = dir_->path() + "/jobs.db";
  }

  std::unique_ptr<sys::TempDir> dir_;
  std::string path_;
};

std::vector<std::string> IdsOf(const JobPage& page) {
  std::vector<std::string> ids;
  for (const Job& job : page.jobs) {
    ids.push_back(job.id);
  }
  return ids;
}

TEST_F(SqliteQuickReadTest, TryGetAndTryListAnswerAsGetAndListWhenAReaderIsFree) {
  auto store = SqliteStore::Open(SqliteStoreOptions{path_, {}, 1});
  ASSERT_THAT(store, IsOk());
  NewJob job;
  job.owner = "alice";
  job.input = {{"task", "t"}};
  for (int i = 0; i < 3; ++i) {
    ASSERT_THAT((*store)->Create(job), IsOk());
  }
  JobFilter alice;
  alice.owner = "alice";
  JobPage all = *(*store)->List(alice, PageRequest{2, ""});
  const std::string& id = all.jobs.front().id;

  std::optional<Result<Job>> got = (*store)->TryGet(id, "alice");
  std::optional<Result<Job>> foreign = (*store)->TryGet(id, "bob");
  std::optional<Result<JobPage>> page = (*store)->TryList(alice, PageRequest{2, ""});
  std::optional<Result<JobPage>> bad = (*store)->TryList(JobFilter{}, PageRequest{0, ""});

  ASSERT_TRUE(got && foreign && page && bad) << "a free reader, yet no answer";
  ASSERT_THAT(*got, IsOk());
  EXPECT_EQ(json::value(ToJson(**got, Viewer::kOperator)),
            json::value(ToJson(*(*store)->Get(id, "alice"), Viewer::kOperator)));
  EXPECT_THAT(*foreign, IsError(ErrorCode::kNotFound));
  ASSERT_THAT(*page, IsOk());
  EXPECT_EQ(IdsOf(**page), IdsOf(all));
  EXPECT_EQ((*page)->next_cursor, all.next_cursor);
  EXPECT_THAT(*bad, IsError(ErrorCode::kInvalidArgument));
}

TEST_F(SqliteQuickReadTest, TryAcquireLendsNothingWhileEveryConnectionIsLent) {
  auto conn = sqlite::Connection::Open(path_);
  ASSERT_THAT(conn, IsOk());
  std::vector<sqlite::Connection> connections;
  connections.push_back(std::move(*conn));
  sqlite::ConnectionPool pool(std::move(connections));

  std::optional<sqlite::ConnectionPool::Lease> lent = pool.TryAcquire();
  ASSERT_TRUE(lent);
  EXPECT_FALSE(pool.TryAcquire());
  // A moved lease gives the connection back once, when its last holder goes.
  std::optional<sqlite::ConnectionPool::Lease> moved(std::move(*lent));
  lent.reset();
  EXPECT_FALSE(pool.TryAcquire());
  moved.reset();
  std::optional<sqlite::ConnectionPool::Lease> again = pool.TryAcquire();
  EXPECT_TRUE(again);
  EXPECT_FALSE(pool.TryAcquire());
}

}  // namespace
}  // namespace warden::jobs
