// PgStore: the JobStore on PostgreSQL, shared by any number of Warden processes on any machines.
// libpq alone, no ORM; PostgreSQL stays inside the pg_*.cc files.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "base/result.h"
#include "jobs/store.h"

namespace warden::jobs {

struct PgStoreOptions {
  // Any libpq URL: postgresql://user:password@host:port/database, or a unix socket
  // (postgresql:///database?host=/run/postgresql).
  std::string url;
  StoreOptions store;
  // The most connections this store holds at once (it opens them as calls need them).
  int connections = 8;
  // Waiters look at the tables at least this often, whatever the notifications say.
  std::chrono::milliseconds safety_poll{2000};
};

// Owns a pool of connections and a listening thread. Thread-safe.
//
// Every change is one short transaction, committed before its call returns (durable as the
// server's synchronous_commit makes it; on by default). Claims take a queued job with
// SELECT ... FOR UPDATE SKIP LOCKED, so workers on many nodes never wait for each other and never
// take one job twice. A committed change NOTIFYs channel warden_jobs (at most one notification per
// transaction), which only wakes waiters; they read the tables, and also look every safety_poll.
//
// When the server is unreachable, calls fail at once with kUnavailable naming it; the pool and
// the listener reconnect by themselves when it is back.
class PgStore final : public JobStore {
 public:
  // Connects and migrates the schema to the latest version (nodes that start together migrate
  // once). kUnavailable when the server cannot be reached; kFailedPrecondition for a database
  // written by a newer Warden.
  static Result<std::unique_ptr<PgStore>> Open(PgStoreOptions options);

  static int64_t LatestSchemaVersion();

  PgStore(const PgStore&) = delete;
  PgStore& operator=(const PgStore&) = delete;
  ~PgStore() override;

  Result<Job> Create(NewJob job) override;
  Result<Job> Get(std::string_view id, std::string_view owner) override;
  Result<JobPage> List(const JobFilter& filter, const PageRequest& page) override;
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

  class Impl;

 private:
  explicit PgStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace warden::jobs
