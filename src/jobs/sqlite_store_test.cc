// What only the SQLite store does: its file (WAL, migrations, bad files), surviving a close and a
// kill -9, and its throughput under concurrent writers. The JobStore behaviour is in store_test.cc.
#include "jobs/sqlite_store.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <set>
#include <thread>

#include "agent/output.h"
#include "base/json_text.h"
#include "base/utf8.h"
#include "jobs/sqlite.h"
#include "jobs/store_test.h"

namespace warden::jobs {
namespace {

using ::testing::HasSubstr;
using ::testing::SizeIs;

Result<std::unique_ptr<JobStore>> OpenSqliteStore(const std::string& dir,
                                                  const StoreOptions& options) {
  ASSIGN_OR_RETURN(auto store, SqliteStore::Open(SqliteStoreOptions{dir + "/jobs.db", options, 4}));
  return std::unique_ptr<JobStore>(std::move(store));
}

// The conformance suite (store_test.cc) on SQLite.
INSTANTIATE_TEST_SUITE_P(Sqlite, JobStoreTest,
                         ::testing::Values(StoreFactory{"sqlite", OpenSqliteStore}),
                         StoreFactoryName);
INSTANTIATE_TEST_SUITE_P(Sqlite, SingleNodeStoreTest,
                         ::testing::Values(StoreFactory{"sqlite", OpenSqliteStore}),
                         StoreFactoryName);

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = sys::TempDir::Create("warden-sqlite-test-");
    ASSERT_THAT(dir, IsOk());
    dir_ = std::make_unique<sys::TempDir>(std::move(*dir));
    path_ = dir_->path() + "/jobs.db";
  }

  Result<std::unique_ptr<SqliteStore>> Open(int64_t max_queued = 0) {
    SqliteStoreOptions options;
    options.path = path_;
    options.store.max_queued = max_queued;
    options.store.workspace_root = dir_->path() + "/work";
    return SqliteStore::Open(options);
  }

  std::unique_ptr<SqliteStore> MustOpen() {
    auto store = Open();
    EXPECT_THAT(store, IsOk());
    return store.ok() ? std::move(*store) : nullptr;
  }

  // A connection of the test's own, beside the store's.
  sqlite::Connection Raw() {
    auto conn = sqlite::Connection::Open(path_);
    EXPECT_THAT(conn, IsOk());
    return std::move(*conn);
  }

  static NewJob Task(std::string task, bool requeue_on_crash = false) {
    NewJob job;
    job.input = {{"task", std::move(task)}};
    job.requeue_on_crash = requeue_on_crash;
    return job;
  }

  std::unique_ptr<sys::TempDir> dir_;
  std::string path_;
};

TEST_F(SqliteStoreTest, UsesWriteAheadLoggingAndTheLatestSchema) {
  auto store = MustOpen();
  sqlite::Connection raw = Raw();
  EXPECT_EQ(*raw.QueryText("PRAGMA journal_mode"), "wal");
  EXPECT_EQ(*sqlite::SchemaVersion(raw), SqliteStore::LatestSchemaVersion());
  EXPECT_GE(SqliteStore::LatestSchemaVersion(), 1);
}

// Mode bits of `path`, or -1 when it does not exist.
int ModeOf(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<int>(st.st_mode & 07777) : -1;
}

TEST_F(SqliteStoreTest, DatabaseFilesAreReadableByTheServiceAlone) {
  ::umask(022);  // a usual umask: files would be 0644
  auto store = MustOpen();
  ASSERT_THAT(store->Create(Task("a secret task")), IsOk());  // the -wal and -shm files exist now
  for (const char* suffix : {"", "-wal", "-shm"}) {
    EXPECT_EQ(ModeOf(path_ + suffix), 0600) << "jobs.db" << suffix;
  }
}

TEST_F(SqliteStoreTest, ADatabaseOpenToOthersIsMadePrivateOnOpen) {
  { ASSERT_THAT(MustOpen()->Create(Task("from an earlier version")), IsOk()); }
  for (const char* suffix : {"", "-wal", "-shm"}) {
    ::chmod((path_ + suffix).c_str(), 0644);  // as an earlier version left them
  }
  auto store = MustOpen();
  ASSERT_THAT(store->Create(Task("now")), IsOk());
  for (const char* suffix : {"", "-wal", "-shm"}) {
    int mode = ModeOf(path_ + suffix);
    EXPECT_TRUE(mode == -1 || mode == 0600) << "jobs.db" << suffix << " is " << std::oct << mode;
  }
  EXPECT_EQ(ModeOf(path_), 0600);
}

TEST_F(SqliteStoreTest, ReopeningKeepsJobsEventsAndSessions) {
  std::string job_id;
  std::string session_id;
  {
    auto store = MustOpen();
    auto session = store->CreateSession("alice");
    ASSERT_THAT(session, IsOk());
    session_id = session->id;
    NewJob request = Task("remember me");
    request.owner = "alice";
    request.session_id = session_id;
    auto job = store->Create(request);
    ASSERT_THAT(job, IsOk());
    job_id = job->id;
    ASSERT_THAT(store->ClaimNext("w1"), IsOk());
    ASSERT_THAT(store->AppendEvent(job_id, "output", {{"line", "hello"}}), IsOk());
    ASSERT_THAT(store->Finish(job_id, Outcome(JobState::kSucceeded, "finished", "ok",
                                              {{"usage", {{"tokens", 7}}}})),
                IsOk());
    ASSERT_THAT(store->AddSessionTurn(session_id, "alice", job_id, "remember me"), IsOk());
  }
  auto store = MustOpen();
  auto job = store->Get(job_id, "alice");
  ASSERT_THAT(job, IsOk());
  EXPECT_EQ(job->state, JobState::kSucceeded);
  EXPECT_EQ(job->input, (json::object{{"task", "remember me"}}));
  EXPECT_EQ(job->result, (json::object{{"usage", {{"tokens", 7}}}}));
  EXPECT_EQ(job->session_id, session_id);
  auto events = store->Events(job_id, 0, 100);
  ASSERT_THAT(events, IsOk());
  ASSERT_THAT(*events, SizeIs(4));
  EXPECT_EQ((*events)[2].data, (json::object{{"line", "hello"}}));
  auto turns = store->ListSessionTurns(session_id, "alice");
  ASSERT_THAT(turns, IsOk());
  ASSERT_THAT(*turns, SizeIs(1));
  EXPECT_EQ((*turns)[0].job_id, job_id);
}

TEST_F(SqliteStoreTest, JobsLeftRunningByADeadServerAreRecoveredOnReopen) {
  std::string plain;
  std::string requeue;
  std::string queued;
  {
    auto store = MustOpen();
    plain = store->Create(Task("a"))->id;
    requeue = store->Create(Task("b", true))->id;
    queued = store->Create(Task("c"))->id;
    ASSERT_EQ((*store->ClaimNext("w1"))->id, plain);
    ASSERT_EQ((*store->ClaimNext("w2"))->id, requeue);
    ASSERT_THAT(store->AppendEvents({NewEvent{plain, "output", {{"line", 1}}},
                                     NewEvent{plain, "output", {{"line", 2}}}}),
                IsOk());
    // The server dies here: no Finish.
  }
  auto store = MustOpen();
  EXPECT_EQ(store->Get(plain, kAnyOwner)->state, JobState::kRunning);

  auto counts = store->RecoverAfterCrash();
  ASSERT_THAT(counts, IsOk());
  EXPECT_EQ(counts->failed, 1);
  EXPECT_EQ(counts->requeued, 1);
  auto failed = store->Get(plain, kAnyOwner);
  EXPECT_EQ(failed->state, JobState::kFailed);
  EXPECT_EQ(failed->reason, kReasonServerRestart);
  EXPECT_EQ(failed->summary,
            "the server stopped while the job was running; its events up to then are kept");
  auto events = store->Events(plain, 0, 100);
  ASSERT_THAT(events, IsOk());
  ASSERT_THAT(*events, SizeIs(5));
  EXPECT_EQ((*events)[3].data, (json::object{{"line", 2}}));
  EXPECT_EQ(store->Get(requeue, kAnyOwner)->state, JobState::kQueued);
  EXPECT_EQ(store->Get(queued, kAnyOwner)->state, JobState::kQueued);
  EXPECT_EQ((*store->ClaimNext("w3"))->id, requeue);
}

// A child process writes jobs from four threads and is killed with SIGKILL mid-stream; every job
// whose Create had returned must be in the file afterwards, and the job it was running recoverable.
TEST_F(SqliteStoreTest, AcceptedJobsSurviveKillDashNine) {
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(fds[0]);
    auto store = Open();
    if (!store.ok()) {
      ::_exit(2);
    }
    std::string running = (*store)->Create(Task("long"))->id;
    (void)(*store)->ClaimNext("w1");
    (void)(*store)->AppendEvent(running, "output", {{"line", "started"}});
    std::string line = running + "\n";
    (void)!::write(fds[1], line.data(), line.size());
    std::atomic<int> acknowledged = 0;
    std::vector<std::jthread> writers(4);
    for (std::jthread& writer : writers) {
      writer = std::jthread([&] {
        while (true) {
          auto job = (*store)->Create(Task("x"));
          if (!job.ok()) {
            ::_exit(3);
          }
          std::string id = job->id + "\n";  // one write under PIPE_BUF: never interleaved
          (void)!::write(fds[1], id.data(), id.size());
          ++acknowledged;
        }
      });
    }
    while (acknowledged < 300) {
      std::this_thread::yield();
    }
    ::kill(::getpid(), SIGKILL);
  }
  ::close(fds[1]);
  std::string received;
  char buffer[4096];
  ssize_t n = 0;
  while ((n = ::read(fds[0], buffer, sizeof(buffer))) > 0) {
    received.append(buffer, static_cast<size_t>(n));
  }
  ::close(fds[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "child status " << status;

  std::vector<std::string> ids;
  for (size_t start = 0, end = 0; (end = received.find('\n', start)) != std::string::npos;
       start = end + 1) {
    ids.push_back(received.substr(start, end - start));
  }
  ASSERT_GT(ids.size(), 300U);
  auto store = MustOpen();
  for (const std::string& id : ids) {
    EXPECT_THAT(store->Get(id, kAnyOwner), IsOk()) << id;
  }
  ASSERT_THAT(store->RecoverAfterCrash(), IsOk());
  EXPECT_EQ(store->Get(ids[0], kAnyOwner)->state, JobState::kFailed);
  EXPECT_THAT(*store->Events(ids[0], 0, 10), SizeIs(4));
}

TEST_F(SqliteStoreTest, AnEmptyFileIsMigratedToTheLatestSchema) {
  ASSERT_THAT(sys::WriteNewFile(path_, ""), IsOk());
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  EXPECT_THAT(store->Create(Task("first")), IsOk());
  sqlite::Connection raw = Raw();
  EXPECT_EQ(*sqlite::SchemaVersion(raw), SqliteStore::LatestSchemaVersion());
}

TEST_F(SqliteStoreTest, ADatabaseFromANewerWardenIsRefused) {
  { auto store = MustOpen(); }
  {
    sqlite::Connection raw = Raw();
    ASSERT_THAT(raw.Exec("PRAGMA user_version = 999"), IsOk());
  }
  auto store = Open();
  ASSERT_THAT(store, IsError(ErrorCode::kFailedPrecondition));
  EXPECT_THAT(store.error().message(), HasSubstr(path_));
  EXPECT_THAT(store.error().message(), HasSubstr("schema version 999"));
  EXPECT_THAT(store.error().message(), HasSubstr("newer"));
}

TEST_F(SqliteStoreTest, MigrationsApplyInOrderAndAFailureKeepsTheLastGoodVersion) {
  sqlite::Connection raw = Raw();
  constexpr std::string_view kBroken[] = {"CREATE TABLE a (x INTEGER);",
                                          "CREATE TABLE b (x INTEGER); CREATE TABLE oops oops;"};
  Status failed = sqlite::Migrate(raw, kBroken);
  ASSERT_THAT(failed, IsError(ErrorCode::kInternal));
  EXPECT_THAT(failed.error().message(), HasSubstr("migration 2"));
  EXPECT_EQ(*sqlite::SchemaVersion(raw), 1);
  // Table b, from the failed script, was rolled back with it.
  EXPECT_EQ(*raw.QueryInt("SELECT count(*) FROM sqlite_master WHERE name = 'b'"), 0);

  constexpr std::string_view kFixed[] = {
      "CREATE TABLE a (x INTEGER);", "CREATE TABLE b (x INTEGER);", "INSERT INTO b VALUES (42);"};
  ASSERT_THAT(sqlite::Migrate(raw, kFixed), IsOk());
  EXPECT_EQ(*sqlite::SchemaVersion(raw), 3);
  EXPECT_EQ(*raw.QueryInt("SELECT x FROM b"), 42);
  ASSERT_THAT(sqlite::Migrate(raw, kFixed), IsOk());  // nothing left to do
  EXPECT_EQ(*raw.QueryInt("SELECT count(*) FROM b"), 1);
}

TEST_F(SqliteStoreTest, AFileThatIsNotADatabaseIsAClearError) {
  ASSERT_THAT(sys::WriteNewFile(path_, std::string(4096, 'x')), IsOk());
  auto store = Open();
  ASSERT_THAT(store, IsError(ErrorCode::kDataLoss));
  EXPECT_THAT(store.error().message(), HasSubstr(path_));
}

TEST_F(SqliteStoreTest, AMissingDirectoryIsNamedInTheError) {
  path_ = dir_->path() + "/no/such/dir/jobs.db";
  auto store = Open();
  ASSERT_THAT(store, IsError(ErrorCode::kNotFound));
  EXPECT_EQ(store.error().message(), "opening job database " + path_ + ": directory " +
                                         dir_->path() + "/no/such/dir does not exist");

  ASSERT_THAT(sys::WriteNewFile(dir_->path() + "/file", ""), IsOk());
  path_ = dir_->path() + "/file/jobs.db";
  store = Open();
  ASSERT_THAT(store, IsError(ErrorCode::kFailedPrecondition));
  EXPECT_THAT(store.error().message(), HasSubstr(dir_->path() + "/file is not a directory"));
}

TEST_F(SqliteStoreTest, RetentionRemovesTheEventRows) {
  auto store = MustOpen();
  std::string id = store->Create(Task("x"))->id;
  std::string kept = store->Create(Task("y"))->id;
  ASSERT_THAT(store->ClaimNext("w1"), IsOk());
  for (int i = 0; i < 20; ++i) {
    ASSERT_THAT(store->AppendEvent(id, "output", {{"i", i}}), IsOk());
  }
  ASSERT_THAT(store->Finish(id, Outcome(JobState::kSucceeded, "finished", "", {})), IsOk());
  sqlite::Connection raw = Raw();
  EXPECT_EQ(*raw.QueryInt("SELECT count(*) FROM events"), 24);

  auto deleted = store->DeleteFinishedBefore(SystemClockMs() + 1000, 100);
  ASSERT_THAT(deleted, IsOk());
  ASSERT_THAT(*deleted, SizeIs(1));
  EXPECT_EQ((*deleted)[0].id, id);
  EXPECT_EQ(*raw.QueryInt("SELECT count(*) FROM events"), 1);  // the kept job's queued event
  EXPECT_THAT(store->Get(kept, kAnyOwner), IsOk());
}

// Before every JSON text was stored as valid UTF-8, a program's raw bytes went into the database as
// they were, and every read of the job failed (kDataLoss) from then on. Such rows are read now,
// output exactly, the rest shown as U+FFFD.
TEST_F(SqliteStoreTest, RowsWrittenWithRawBytesByEarlierVersionsAreReadable) {
  const std::string raw_output = "bin\xFF\xE2\x82 end\n";
  std::string id;
  {
    auto store = MustOpen();
    id = store->Create(Task("x"))->id;
    ASSERT_THAT(store->ClaimNext("w1"), IsOk());
    ASSERT_THAT(store->Finish(id, Outcome(JobState::kSucceeded, "finished", "", {})), IsOk());
  }
  sqlite::Connection raw = Raw();
  auto insert = raw.Prepare(
      "INSERT INTO events (job_id, seq, time_ms, type, data) VALUES (?1, ?2, 0, ?3, ?4)");
  ASSERT_THAT(insert, IsOk());
  insert->BindText(1, id);
  insert->BindInt(2, 100);
  insert->BindText(3, "output");
  insert->BindText(4, R"({"step":1,"stream":"stdout","text":")" +
                          raw_output.substr(0, raw_output.size() - 1) + R"(\n"})");
  ASSERT_THAT(insert->Run(), IsOk());
  auto thought = raw.Prepare(
      "INSERT INTO events (job_id, seq, time_ms, type, data) VALUES (?1, 101, 0, 'thought', ?2)");
  ASSERT_THAT(thought, IsOk());
  thought->BindText(1, id);
  thought->BindText(2, "{\"text\":\"t\xFF\"}");
  ASSERT_THAT(thought->Run(), IsOk());
  auto result = raw.Prepare("UPDATE jobs SET result = ?2 WHERE id = ?1");
  ASSERT_THAT(result, IsOk());
  result->BindText(1, id);
  result->BindText(2, "{\"files\":[{\"path\":\"a\xFF\"}]}");
  ASSERT_THAT(result->Run(), IsOk());

  auto store = MustOpen();
  auto job = store->Get(id, kAnyOwner);
  ASSERT_THAT(job, IsOk());
  EXPECT_EQ(job->result.at("files").at(0).at("path"), json::value("a\xEF\xBF\xBD"));
  auto events = store->Events(id, 99, 10);
  ASSERT_THAT(events, IsOk());
  ASSERT_THAT(*events, SizeIs(2));
  EXPECT_EQ(agent::OutputBytes((*events)[0].data), raw_output);
  EXPECT_TRUE(IsValidUtf8(SerializeJson((*events)[0].data)));
  EXPECT_EQ((*events)[1].data, (json::object{{"text", "t\xEF\xBF\xBD"}}));
}

// Writers and readers at once: reads never fail for being concurrent with the writer, each page is
// ordered, and every acknowledged job is there at the end.
TEST_F(SqliteStoreTest, ConcurrentCreatesAndReadsDoNotGetInEachOthersWay) {
  auto store = MustOpen();
  std::atomic<bool> writing = true;
  std::vector<std::jthread> writers(4);
  std::vector<std::jthread> readers(2);
  for (std::jthread& reader : readers) {
    reader = std::jthread([&] {
      while (writing) {
        auto page = store->List(JobFilter{.state = JobState::kQueued}, PageRequest{20, ""});
        ASSERT_THAT(page, IsOk());
        for (size_t i = 1; i < page->jobs.size(); ++i) {
          EXPECT_GT(page->jobs[i - 1].id, page->jobs[i].id);
        }
      }
    });
  }
  for (std::jthread& writer : writers) {
    writer = std::jthread([&] {
      for (int i = 0; i < 100; ++i) {
        ASSERT_THAT(store->Create(Task("x")), IsOk());
      }
    });
  }
  writers.clear();
  writing = false;
  readers.clear();
  EXPECT_EQ(store->CountByState(kAnyOwner)->at(JobState::kQueued), 400);
}

// Four threads create jobs for about two seconds. Prints the rate of durable creations (each Create
// returns after its batch's fsync); asserts only that every acknowledged job is there.
TEST_F(SqliteStoreTest, DurableCreateThroughputWithFourThreads) {
  auto store = MustOpen();
  std::atomic<int64_t> created = 0;
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + std::chrono::seconds(2);
  {
    std::vector<std::jthread> threads(4);
    for (std::jthread& thread : threads) {
      thread = std::jthread([&] {
        while (std::chrono::steady_clock::now() < deadline) {
          ASSERT_THAT(store->Create(Task("throughput")), IsOk());
          ++created;
        }
      });
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double rate = static_cast<double>(created.load()) / seconds;
  std::printf("[ perf     ] durable job creations, 4 threads: %lld in %.2f s = %.0f/s\n",
              static_cast<long long>(created.load()), seconds, rate);  // NOLINT(google-runtime-int)
  RecordProperty("creates_per_second", static_cast<int>(rate));
  EXPECT_EQ(store->CountByState(kAnyOwner)->at(JobState::kQueued), created.load());
}

}  // namespace
}  // namespace warden::jobs
