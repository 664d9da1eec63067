// SqliteStore: a job's events (appending, reading, waiting for them), finishing and cancelling.
#include "jobs/sqlite_store_impl.h"

namespace warden::jobs {
namespace {

using sqlite::Connection;
using sqlite::EndJob;
using sqlite::InsertEvent;
using sqlite::LoadJob;
using sqlite::LoadState;
using sqlite::Statement;

// The fence of a worker's event: its job must still run on the event's claim.
Status CheckEventClaim(Connection& conn, const NewEvent& event) {
  ASSIGN_OR_RETURN(Statement stmt,
                   conn.Prepare("SELECT state, worker, attempt FROM jobs WHERE id = ?1"));
  stmt.BindText(1, event.job_id);
  ASSIGN_OR_RETURN(bool found, stmt.Step());
  if (!found) {
    return JobNotFound(event.job_id);
  }
  std::optional<JobState> state = ParseJobState(stmt.Text(0));
  if (!state) {
    return Error(ErrorCode::kDataLoss, "job " + event.job_id + " has an unknown state");
  }
  return CheckClaim(event.job_id, *state, stmt.Text(1), stmt.Int(2), event.worker, event.attempt);
}

}  // namespace

Result<int64_t> SqliteStore::AppendEvent(std::string_view job_id, std::string_view type,
                                         json::object data) {
  std::vector<NewEvent> events;
  events.push_back(NewEvent{std::string(job_id), std::string(type), std::move(data)});
  ASSIGN_OR_RETURN(std::vector<int64_t> seqs, AppendEvents(std::move(events)));
  return seqs.front();
}

Result<std::vector<int64_t>> SqliteStore::AppendEvents(std::vector<NewEvent> events) {
  for (const NewEvent& event : events) {
    if (event.type.empty() || event.type == kStateEventType) {
      return Error(ErrorCode::kInvalidArgument,
                   "event type must be set and not \"state\" (only the store records states)");
    }
  }
  std::vector<int64_t> seqs;
  if (events.empty()) {
    return seqs;
  }
  Status written = impl_->Write([&](sqlite::WriteContext& ctx) -> Status {
    const int64_t now = impl_->Now();
    for (const NewEvent& event : events) {
      if (!event.worker.empty()) {
        RETURN_IF_ERROR(CheckEventClaim(ctx.conn, event));
      }
      ASSIGN_OR_RETURN(JobState state, LoadState(ctx.conn, event.job_id));
      if (IsFinal(state)) {
        return Error(ErrorCode::kFailedPrecondition,
                     "job " + event.job_id + " has finished; it takes no more events");
      }
      ASSIGN_OR_RETURN(int64_t seq,
                       InsertEvent(ctx.conn, event.job_id, now, event.type, event.data));
      seqs.push_back(seq);
    }
    return OkStatus();
  });
  RETURN_IF_ERROR(written);
  return seqs;
}

Result<EventPage> SqliteStore::ReadEvents(std::string_view job_id, const EventQuery& query) {
  RETURN_IF_ERROR(CheckPageLimit(query.limit));
  auto reader = impl_->readers().Acquire();
  Connection& conn = reader.conn();
  // One snapshot for the job check and the events.
  ASSIGN_OR_RETURN(auto tx, sqlite::Transaction::Begin(conn, sqlite::Transaction::Mode::kDeferred));
  RETURN_IF_ERROR(LoadState(conn, job_id));
  // Both orders walk the primary key (job_id, seq); one row past the limit says whether more
  // match.
  ASSIGN_OR_RETURN(Statement stmt,
                   conn.Prepare(std::string("SELECT seq, time_ms, type, data FROM events WHERE "
                                            "job_id = ?1 AND seq > ?2 AND seq < ?3 AND (?4 = '' "
                                            "OR type = ?4) ORDER BY seq ") +
                                (query.newest_first ? "DESC" : "ASC") + " LIMIT ?5"));
  stmt.BindText(1, job_id);
  stmt.BindInt(2, query.after_seq);
  stmt.BindInt(3, query.before_seq);
  stmt.BindText(4, query.type);
  stmt.BindInt(5, int64_t{query.limit} + 1);
  EventPage page;
  size_t bytes = 0;
  while (true) {
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) {
      return page;
    }
    bool full = page.events.size() == static_cast<size_t>(query.limit) ||
                (query.max_bytes > 0 && bytes >= query.max_bytes);
    if (full) {
      page.more = true;
      return page;
    }
    Event event{stmt.Int(0), stmt.Int(1), stmt.Text(2), {}};
    std::string data = stmt.Text(3);
    bytes += data.size();
    ASSIGN_OR_RETURN(event.data, ParseEventData(data, event.type));
    page.events.push_back(std::move(event));
  }
}

Result<bool> SqliteStore::WaitForEvents(std::string_view job_id, int64_t after_seq,
                                        std::chrono::milliseconds timeout) {
  return impl_->WaitUntil(
      [&]() -> Result<bool> {
        auto reader = impl_->readers().Acquire();
        ASSIGN_OR_RETURN(Statement stmt,
                         reader.conn().Prepare("SELECT last_seq FROM jobs WHERE id = ?1"));
        stmt.BindText(1, job_id);
        ASSIGN_OR_RETURN(bool found, stmt.Step());
        if (!found) {
          return JobNotFound(job_id);
        }
        return stmt.Int(0) > after_seq;
      },
      timeout);
}

Result<std::map<std::string, int64_t>> SqliteStore::WaitForAnyEvents(
    const std::map<std::string, int64_t>& after, std::chrono::milliseconds timeout) {
  std::map<std::string, int64_t> fresh;
  auto check = [&]() -> Result<bool> {
    fresh.clear();
    auto reader = impl_->readers().Acquire();
    // In chunks: SQLite limits the number of parameters of a statement.
    constexpr size_t kChunk = 500;
    auto it = after.begin();
    while (it != after.end()) {
      size_t n = std::min<size_t>(kChunk, static_cast<size_t>(std::distance(it, after.end())));
      std::string sql = "SELECT id, last_seq FROM jobs WHERE id IN (";
      for (size_t i = 0; i < n; ++i) {
        sql += i == 0 ? "?" : ",?";
      }
      sql += ")";
      ASSIGN_OR_RETURN(Statement stmt, reader.conn().Prepare(sql));
      for (size_t i = 0; i < n; ++i, ++it) {
        stmt.BindText(static_cast<int>(i + 1), it->first);
      }
      for (;;) {
        ASSIGN_OR_RETURN(bool row, stmt.Step());
        if (!row) {
          break;
        }
        std::string id = stmt.Text(0);
        int64_t last = stmt.Int(1);
        auto seen = after.find(id);
        if (seen != after.end() && last > seen->second) {
          fresh.emplace(std::move(id), last);
        }
      }
    }
    return !fresh.empty();
  };
  ASSIGN_OR_RETURN(bool any, impl_->WaitUntil(check, timeout));
  if (!any) {
    fresh.clear();
  }
  return fresh;
}

Result<Job> SqliteStore::Finish(std::string_view job_id, FinishRequest request) {
  if (!IsFinal(request.state)) {
    return Error(ErrorCode::kInvalidArgument,
                 "a job can only finish as succeeded, failed or cancelled, not " +
                     std::string(JobStateName(request.state)));
  }
  Job job;
  Status written = impl_->Write([&](sqlite::WriteContext& ctx) -> Status {
    ASSIGN_OR_RETURN(job, LoadJob(ctx.conn, job_id, kAnyOwner));
    if (IsFinal(job.state)) {
      return AlreadyFinished(job);
    }
    const bool was_queued = job.state == JobState::kQueued;
    if (was_queued && request.state != JobState::kCancelled) {
      return Error(ErrorCode::kFailedPrecondition,
                   "job " + job.id + " is queued: it can only end cancelled before it runs");
    }
    if (!request.worker.empty()) {
      RETURN_IF_ERROR(
          CheckClaim(job.id, job.state, job.worker, job.attempt, request.worker, request.attempt));
    }
    RETURN_IF_ERROR(EndJob(ctx.conn, impl_->Now(), job, request.state, request.reason,
                           request.summary, request.result));
    if (request.workspace_bytes > 0) {
      ASSIGN_OR_RETURN(Statement bytes,
                       ctx.conn.Prepare("UPDATE jobs SET workspace_bytes = ?2 WHERE id = ?1"));
      bytes.BindText(1, job.id);
      bytes.BindInt(2, request.workspace_bytes);
      RETURN_IF_ERROR(bytes.Run());
    }
    impl_->AdjustQueued(ctx, was_queued ? -1 : 0);
    return OkStatus();
  });
  RETURN_IF_ERROR(written);
  return job;
}

Result<Job> SqliteStore::RequestCancel(std::string_view job_id, std::string_view owner) {
  Job job;
  Status written = impl_->Write([&](sqlite::WriteContext& ctx) -> Status {
    ASSIGN_OR_RETURN(job, LoadJob(ctx.conn, job_id, owner));
    if (IsFinal(job.state)) {
      return AlreadyFinished(job).WithContext("nothing to cancel");
    }
    if (job.state == JobState::kQueued) {
      RETURN_IF_ERROR(EndJob(ctx.conn, impl_->Now(), job, JobState::kCancelled,
                             std::string(kReasonCancelled), "cancelled before it started", {}));
      impl_->AdjustQueued(ctx, -1);
      return OkStatus();
    }
    if (job.cancel_requested) {
      return OkStatus();  // asked before: the worker already knows
    }
    ASSIGN_OR_RETURN(Statement flag,
                     ctx.conn.Prepare("UPDATE jobs SET cancel_requested = 1 WHERE id = ?1"));
    flag.BindText(1, job.id);
    RETURN_IF_ERROR(flag.Run());
    ASSIGN_OR_RETURN(job.last_event_seq,
                     InsertEvent(ctx.conn, job.id, impl_->Now(), kCancelRequestedEventType, {}));
    job.cancel_requested = true;
    return OkStatus();
  });
  RETURN_IF_ERROR(written);
  return job;
}

Result<bool> SqliteStore::IsCancelRequested(std::string_view job_id) {
  auto reader = impl_->readers().Acquire();
  ASSIGN_OR_RETURN(Statement stmt,
                   reader.conn().Prepare("SELECT cancel_requested FROM jobs WHERE id = ?1"));
  stmt.BindText(1, job_id);
  ASSIGN_OR_RETURN(bool found, stmt.Step());
  if (!found) {
    return JobNotFound(job_id);
  }
  return stmt.Int(0) != 0;
}

}  // namespace warden::jobs
