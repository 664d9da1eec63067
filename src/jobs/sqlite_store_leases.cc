// SqliteStore: leases (heartbeats, rescue of a dead worker's jobs) and recovery at start.
#include "base/log.h"
#include "jobs/sqlite_store_impl.h"

namespace warden::jobs {
namespace {

using sqlite::Connection;
using sqlite::Statement;

constexpr std::string_view kRestartSummary =
    "the server stopped while the job was running; its events up to then are kept";

// Ends, requeues or cancels one job whose worker is gone (`reason`: server_restart or
// worker_lost); counts what it did.
Status RecoverJob(Connection& conn, int64_t now, Job& job, std::string_view reason,
                  const std::string& summary, RecoveryCounts& counts) {
  if (job.cancel_requested) {
    RETURN_IF_ERROR(sqlite::EndJob(conn, now, job, JobState::kCancelled,
                                   std::string(kReasonCancelled), "cancelled: " + summary, {}));
    ++counts.cancelled;
    return OkStatus();
  }
  if (job.requeue_on_crash) {
    ASSIGN_OR_RETURN(Statement requeue,
                     conn.Prepare("UPDATE jobs SET state = 'queued', started_at_ms = NULL, "
                                  "worker = '', lease_expires_at_ms = NULL WHERE id = ?1"));
    requeue.BindText(1, job.id);
    RETURN_IF_ERROR(requeue.Run());
    RETURN_IF_ERROR(sqlite::InsertStateEvent(conn, job.id, now, JobState::kQueued, reason));
    ++counts.requeued;
    return OkStatus();
  }
  RETURN_IF_ERROR(
      sqlite::EndJob(conn, now, job, JobState::kFailed, std::string(reason), summary, job.result));
  ++counts.failed;
  return OkStatus();
}

void LogRecovery(const RecoveryCounts& counts, std::string_view why) {
  if (counts.failed + counts.requeued + counts.cancelled > 0) {
    LOG_WARN("job store: {}: {} running jobs failed, {} were queued again, {} ended cancelled", why,
             counts.failed, counts.requeued, counts.cancelled);
  }
}

}  // namespace

Result<RecoveryCounts> SqliteStore::RecoverAfterCrash() {
  RecoveryCounts counts;
  Status written = impl_->Write([&](sqlite::WriteContext& ctx) -> Status {
    counts = RecoveryCounts{};
    const int64_t now = impl_->Now();
    // Read them all first: the updates below change the rows this query walks.
    ASSIGN_OR_RETURN(Statement stmt, ctx.conn.Prepare(sqlite::JobSql(
                                         "SELECT ", " FROM jobs WHERE state = 'running'")));
    ASSIGN_OR_RETURN(std::vector<Job> running, sqlite::ReadJobs(stmt));
    for (Job& job : running) {
      RETURN_IF_ERROR(RecoverJob(ctx.conn, now, job, kReasonServerRestart,
                                 std::string(kRestartSummary), counts));
    }
    impl_->AdjustQueued(ctx, counts.requeued);
    return OkStatus();
  });
  RETURN_IF_ERROR(written);
  LogRecovery(counts, "after a restart");
  return counts;
}

Result<std::vector<LeaseStatus>> SqliteStore::Heartbeat(const std::vector<Lease>& leases) {
  std::vector<LeaseStatus> statuses;
  if (leases.empty()) {
    return statuses;
  }
  Status written = impl_->Write([&](sqlite::WriteContext& ctx) -> Status {
    statuses.clear();
    const int64_t until = impl_->Now() + impl_->options().store.lease.count();
    for (const Lease& lease : leases) {
      ASSIGN_OR_RETURN(Statement renew,
                       ctx.conn.Prepare("UPDATE jobs SET lease_expires_at_ms = ?4 WHERE id = ?1 "
                                        "AND state = 'running' AND worker = ?2 AND attempt = ?3 "
                                        "RETURNING cancel_requested"));
      renew.BindText(1, lease.job_id);
      renew.BindText(2, lease.worker);
      renew.BindInt(3, lease.attempt);
      renew.BindInt(4, until);
      ASSIGN_OR_RETURN(bool held, renew.Step());
      statuses.push_back(LeaseStatus{lease.job_id, held, held && renew.Int(0) != 0});
    }
    return OkStatus();
  });
  RETURN_IF_ERROR(written);
  return statuses;
}

Result<RecoveryCounts> SqliteStore::RescueExpiredLeases(int limit) {
  RETURN_IF_ERROR(CheckPageLimit(limit));
  RecoveryCounts counts;
  Status written = impl_->Write([&](sqlite::WriteContext& ctx) -> Status {
    counts = RecoveryCounts{};
    const int64_t now = impl_->Now();
    ASSIGN_OR_RETURN(Statement stmt,
                     ctx.conn.Prepare(sqlite::JobSql(
                         "SELECT ",
                         " FROM jobs WHERE state = 'running' AND coalesce(lease_expires_at_ms, 0) "
                         "< ?1 ORDER BY id LIMIT ?2")));
    stmt.BindInt(1, now);
    stmt.BindInt(2, limit);
    ASSIGN_OR_RETURN(std::vector<Job> expired, sqlite::ReadJobs(stmt));
    for (Job& job : expired) {
      RETURN_IF_ERROR(
          RecoverJob(ctx.conn, now, job, kReasonWorkerLost, WorkerLostSummary(job), counts));
    }
    impl_->AdjustQueued(ctx, counts.requeued);
    return OkStatus();
  });
  RETURN_IF_ERROR(written);
  LogRecovery(counts, "workers stopped renewing their leases");
  return counts;
}

}  // namespace warden::jobs
