// SqliteStore: the JobStore in one SQLite file in WAL mode, for `warden serve` on one machine.
// Writes are committed in groups by one writer thread (one fsync per group), reads use a small pool
// of their own connections. SQLite itself stays inside sqlite_store.cc and sqlite.cc.
#pragma once

#include <memory>
#include <string>

#include "base/result.h"
#include "jobs/store.h"

namespace warden::jobs {

struct SqliteStoreOptions {
  // The database file, created if missing. Its directory must exist and be writable: SQLite keeps
  // its -wal and -shm files beside it.
  std::string path;
  StoreOptions store;
  // Connections for reads; a read waits when all are busy.
  int read_connections = 4;
};

// Owns the database connections and the writer thread. Thread-safe.
//
// Durability: every change is committed with synchronous=FULL before its call returns, so it
// survives the process being killed and the machine losing power. Concurrent writers do not each
// pay an fsync: their requests queue for the writer thread, which runs all that are waiting in one
// transaction (each in a savepoint, so one failing request does not undo the others) and commits
// once.
//
// One SqliteStore per database file: RecoverAfterCrash assumes no other process runs jobs from it.
// Destruction waits for queued writes to commit; no call may be in progress or start then.
class SqliteStore final : public JobStore {
 public:
  // Opens or creates the database and migrates its schema to the latest version. Errors name the
  // path: a missing directory, a file that is not a database, a schema newer than this code knows.
  static Result<std::unique_ptr<SqliteStore>> Open(SqliteStoreOptions options);

  // The schema version Open migrates to (the database's PRAGMA user_version).
  static int64_t LatestSchemaVersion();

  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;
  ~SqliteStore() override;

  Result<Job> Create(NewJob job) override;
  Result<Job> Get(std::string_view id, std::string_view owner) override;
  Result<JobPage> List(const JobFilter& filter, const PageRequest& page) override;
  std::optional<Result<Job>> TryGet(std::string_view id, std::string_view owner) override;
  std::optional<Result<JobPage>> TryList(const JobFilter& filter, const PageRequest& page) override;
  Result<std::map<JobState, int64_t>> CountByState(std::string_view owner) override;
  Result<int64_t> WorkspaceBytes(std::string_view owner) override;

  Result<std::optional<Job>> ClaimNext(std::string_view worker) override;
  Result<bool> WaitForQueued(std::chrono::milliseconds timeout) override;
  Result<int64_t> AppendEvent(std::string_view job_id, std::string_view type,
                              json::object data) override;
  Result<std::vector<int64_t>> AppendEvents(std::vector<NewEvent> events) override;
  Result<EventPage> ReadEvents(std::string_view job_id, const EventQuery& query) override;
  Result<bool> WaitForEvents(std::string_view job_id, int64_t after_seq,
                             std::chrono::milliseconds timeout) override;
  Result<std::map<std::string, int64_t>> WaitForAnyEvents(
      const std::map<std::string, int64_t>& after, std::chrono::milliseconds timeout) override;
  Result<Job> Finish(std::string_view job_id, FinishRequest request) override;
  Result<Job> RequestCancel(std::string_view job_id, std::string_view owner) override;
  Result<bool> IsCancelRequested(std::string_view job_id) override;
  Result<RecoveryCounts> RecoverAfterCrash() override;
  Result<std::vector<LeaseStatus>> Heartbeat(const std::vector<Lease>& leases) override;
  Result<RecoveryCounts> RescueExpiredLeases(int limit) override;
  Result<std::vector<DeletedJob>> DeleteFinishedBefore(int64_t cutoff_ms, int limit) override;
  Result<DeletedJob> DeleteJob(std::string_view id, std::string_view owner) override;
  Result<std::vector<DeletedSession>> DeleteSessionsIdleBefore(int64_t cutoff_ms,
                                                               int limit) override;

  Result<Session> CreateSession(std::string_view owner) override;
  Result<Session> GetSession(std::string_view id, std::string_view owner) override;
  Result<SessionTurn> AddSessionTurn(std::string_view session_id, std::string_view owner,
                                     std::string_view job_id, std::string message) override;
  Result<PostedMessage> PostSessionMessage(NewJob job, std::string message) override;
  Result<std::vector<SessionTurn>> ListSessionTurns(std::string_view session_id,
                                                    std::string_view owner) override;
  Result<SessionPage> ListSessions(std::string_view owner, const PageRequest& page) override;

 private:
  class Impl;
  explicit SqliteStore(std::unique_ptr<Impl> impl);

  std::unique_ptr<Impl> impl_;
};

}  // namespace warden::jobs
