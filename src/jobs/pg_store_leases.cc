// PgStore: leases (heartbeats, rescue of a dead worker's jobs) and recovery at start.
#include "base/log.h"
#include "jobs/pg_store_impl.h"

namespace warden::jobs {
namespace {

using pg::Connection;
using pg::Rows;

// Ends, requeues or cancels one job whose worker is gone (`reason`: worker_lost, or server_restart
// for a store's only server); counts what it did.
Status RecoverJob(Connection& conn, int64_t now, Job& job, std::string_view reason,
                  const std::string& summary, RecoveryCounts& counts) {
  if (job.cancel_requested) {
    ++counts.cancelled;
    return pg::EndJob(conn, now, job, JobState::kCancelled, std::string(kReasonCancelled),
                      "cancelled: " + summary, {});
  }
  if (job.requeue_on_crash) {
    ++counts.requeued;
    RETURN_IF_ERROR(
        conn.Run("UPDATE jobs SET state = 'queued', started_at_ms = NULL, worker = '', "
                 "lease_expires_at_ms = NULL WHERE id = $1",
                 {job.id}));
    RETURN_IF_ERROR(pg::InsertStateEvent(conn, job.id, now, JobState::kQueued, reason));
    return OkStatus();
  }
  ++counts.failed;
  return pg::EndJob(conn, now, job, JobState::kFailed, std::string(reason), summary, job.result);
}

void LogRescue(const RecoveryCounts& counts) {
  if (counts.failed + counts.requeued + counts.cancelled > 0) {
    LOG_WARN(
        "job store: workers stopped renewing their leases: {} of their jobs failed, {} were "
        "queued again, {} ended cancelled",
        counts.failed, counts.requeued, counts.cancelled);
  }
}

}  // namespace

Result<RecoveryCounts> PgStore::RecoverAfterCrash() {
  // Other nodes' workers may be running jobs: only those whose lease ran out are known dead.
  RecoveryCounts total;
  while (true) {
    ASSIGN_OR_RETURN(RecoveryCounts counts, RescueExpiredLeases(kMaxPageLimit));
    total.failed += counts.failed;
    total.requeued += counts.requeued;
    total.cancelled += counts.cancelled;
    if (counts.failed + counts.requeued + counts.cancelled < kMaxPageLimit) {
      return total;
    }
  }
}

Result<std::vector<LeaseStatus>> PgStore::Heartbeat(const std::vector<Lease>& leases) {
  std::vector<LeaseStatus> statuses;
  if (leases.empty()) {
    return statuses;
  }
  Status written = impl_->Write([&](Connection& conn, pg::Changes& /*changes*/) -> Status {
    statuses.clear();
    const int64_t until = impl_->Now() + impl_->store_options().lease.count();
    for (const Lease& lease : leases) {
      ASSIGN_OR_RETURN(Rows rows, conn.Query("UPDATE jobs SET lease_expires_at_ms = $4 WHERE id = "
                                             "$1 AND state = 'running' AND worker = $2 AND "
                                             "attempt = $3 RETURNING cancel_requested",
                                             {lease.job_id, lease.worker, lease.attempt, until}));
      statuses.push_back(
          LeaseStatus{lease.job_id, !rows.empty(), !rows.empty() && rows.Bool(0, 0)});
    }
    return OkStatus();
  });
  RETURN_IF_ERROR(written);
  return statuses;
}

Result<RecoveryCounts> PgStore::RescueExpiredLeases(int limit) {
  RETURN_IF_ERROR(CheckPageLimit(limit));
  RecoveryCounts counts;
  Status written = impl_->Write([&](Connection& conn, pg::Changes& changes) -> Status {
    counts = RecoveryCounts{};
    const int64_t now = impl_->Now();
    // SKIP LOCKED: nodes rescuing at once take different jobs, and a job its worker is finishing
    // right now (its row locked) is left to that Finish.
    ASSIGN_OR_RETURN(Rows rows,
                     conn.Query(pg::JobSql("SELECT ",
                                           " FROM jobs WHERE state = 'running' AND "
                                           "coalesce(lease_expires_at_ms, 0) < $1 ORDER BY id "
                                           "LIMIT $2 FOR UPDATE SKIP LOCKED"),
                                {now, int64_t{limit}}));
    ASSIGN_OR_RETURN(std::vector<Job> expired, pg::ReadJobs(rows));
    for (Job& job : expired) {
      RETURN_IF_ERROR(
          RecoverJob(conn, now, job, kReasonWorkerLost, WorkerLostSummary(job), counts));
    }
    changes.queued = counts.requeued > 0;
    changes.events = !expired.empty();
    return OkStatus();
  });
  RETURN_IF_ERROR(written);
  LogRescue(counts);
  return counts;
}

}  // namespace warden::jobs
