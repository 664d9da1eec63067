// PgStore: a job's events (appending, reading, waiting for them), finishing and cancelling.
#include "base/json_text.h"
#include "jobs/pg_store_impl.h"

namespace warden::jobs {
namespace {

using pg::Connection;
using pg::Rows;

// A PostgreSQL text[] literal of `ids`, each quoted.
std::string TextArray(const std::map<std::string, int64_t>& ids) {
  std::string array = "{";
  for (const auto& [id, seq] : ids) {
    if (array.size() > 1) {
      array += ',';
    }
    array += '"';
    for (char c : id) {
      if (c == '"' || c == '\\') {
        array += '\\';
      }
      array += c;
    }
    array += '"';
  }
  return array + "}";
}

// Appends `event` only while its job runs on the event's claim (worker, attempt).
Result<int64_t> InsertFencedEvent(Connection& conn, int64_t now, const NewEvent& event) {
  ASSIGN_OR_RETURN(
      Rows rows,
      conn.Query(
          "WITH bumped AS (UPDATE jobs SET last_seq = last_seq + 1 WHERE id = $1 AND "
          "state = 'running' AND worker = $5 AND ($6 = 0 OR attempt = $6) RETURNING "
          "last_seq) INSERT INTO events (job_id, seq, time_ms, type, data) SELECT $1, "
          "last_seq, $2, $3, $4 FROM bumped RETURNING seq",
          {event.job_id, now, event.type, SerializeJson(event.data), event.worker, event.attempt}));
  if (!rows.empty()) {
    return rows.Int(0, 0);
  }
  ASSIGN_OR_RETURN(Job job, pg::LoadJob(conn, event.job_id, kAnyOwner));
  RETURN_IF_ERROR(
      CheckClaim(job.id, job.state, job.worker, job.attempt, event.worker, event.attempt));
  return Error(ErrorCode::kInternal, "job " + job.id + ": a fenced event was not written");
}

}  // namespace

Result<int64_t> PgStore::AppendEvent(std::string_view job_id, std::string_view type,
                                     json::object data) {
  std::vector<NewEvent> events;
  events.push_back(NewEvent{std::string(job_id), std::string(type), std::move(data)});
  ASSIGN_OR_RETURN(std::vector<int64_t> seqs, AppendEvents(std::move(events)));
  return seqs.front();
}

Result<std::vector<int64_t>> PgStore::AppendEvents(std::vector<NewEvent> events) {
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
  Status written = impl_->Write([&](Connection& conn, pg::Changes& changes) -> Status {
    seqs.clear();
    const int64_t now = impl_->Now();
    for (const NewEvent& event : events) {
      ASSIGN_OR_RETURN(int64_t seq, event.worker.empty()
                                        ? pg::InsertEvent(conn, event.job_id, now, event.type,
                                                          event.data, pg::OnlyOpenJobs::kYes)
                                        : InsertFencedEvent(conn, now, event));
      seqs.push_back(seq);
    }
    changes.events = true;
    return OkStatus();
  });
  RETURN_IF_ERROR(written);
  return seqs;
}

Result<EventPage> PgStore::ReadEvents(std::string_view job_id, const EventQuery& query) {
  RETURN_IF_ERROR(CheckPageLimit(query.limit));
  return impl_->Read<EventPage>([&](Connection& conn) -> Result<EventPage> {
    RETURN_IF_ERROR(pg::LoadState(conn, job_id));
    // Both orders walk the primary key (job_id, seq); one row past the limit says whether more
    // match.
    ASSIGN_OR_RETURN(Rows rows,
                     conn.Query(std::string("SELECT seq, time_ms, type, data FROM events WHERE "
                                            "job_id = $1 AND seq > $2 AND seq < $3 AND ($4 = '' "
                                            "OR type = $4) ORDER BY seq ") +
                                    (query.newest_first ? "DESC" : "ASC") + " LIMIT $5",
                                {job_id, query.after_seq, query.before_seq, query.type,
                                 int64_t{query.limit} + 1}));
    EventPage page;
    size_t bytes = 0;
    for (int i = 0; i < rows.size(); ++i) {
      bool full = page.events.size() == static_cast<size_t>(query.limit) ||
                  (query.max_bytes > 0 && bytes >= query.max_bytes);
      if (full) {
        page.more = true;
        break;
      }
      Event event{rows.Int(i, 0), rows.Int(i, 1), rows.Text(i, 2), {}};
      std::string data = rows.Text(i, 3);
      bytes += data.size();
      ASSIGN_OR_RETURN(event.data, ParseEventData(data, event.type));
      page.events.push_back(std::move(event));
    }
    return page;
  });
}

Result<bool> PgStore::WaitForEvents(std::string_view job_id, int64_t after_seq,
                                    std::chrono::milliseconds timeout) {
  return impl_->notifier().WaitUntil(
      [&]() -> Result<bool> {
        return impl_->Read<bool>([&](Connection& conn) -> Result<bool> {
          ASSIGN_OR_RETURN(Rows rows,
                           conn.Query("SELECT last_seq FROM jobs WHERE id = $1", {job_id}));
          if (rows.empty()) {
            return JobNotFound(job_id);
          }
          return rows.Int(0, 0) > after_seq;
        });
      },
      timeout);
}

Result<std::map<std::string, int64_t>> PgStore::WaitForAnyEvents(
    const std::map<std::string, int64_t>& after, std::chrono::milliseconds timeout) {
  std::map<std::string, int64_t> fresh;
  const std::string ids = TextArray(after);
  auto check = [&]() -> Result<bool> {
    fresh.clear();
    ASSIGN_OR_RETURN(Rows rows, impl_->Read<Rows>([&](Connection& conn) {
      return conn.Query("SELECT id, last_seq FROM jobs WHERE id = ANY($1::text[])", {ids});
    }));
    for (int i = 0; i < rows.size(); ++i) {
      std::string id = rows.Text(i, 0);
      int64_t last = rows.Int(i, 1);
      auto seen = after.find(id);
      if (seen != after.end() && last > seen->second) {
        fresh.emplace(std::move(id), last);
      }
    }
    return !fresh.empty();
  };
  ASSIGN_OR_RETURN(bool any, impl_->notifier().WaitUntil(check, timeout));
  if (!any) {
    fresh.clear();
  }
  return fresh;
}

Result<Job> PgStore::Finish(std::string_view job_id, FinishRequest request) {
  if (!IsFinal(request.state)) {
    return Error(ErrorCode::kInvalidArgument,
                 "a job can only finish as succeeded, failed or cancelled, not " +
                     std::string(JobStateName(request.state)));
  }
  Job job;
  Status written = impl_->Write([&](Connection& conn, pg::Changes& changes) -> Status {
    ASSIGN_OR_RETURN(job, pg::LoadJob(conn, job_id, kAnyOwner, pg::Lock::kForUpdate));
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
    RETURN_IF_ERROR(pg::EndJob(conn, impl_->Now(), job, request.state, request.reason,
                               request.summary, request.result));
    if (request.workspace_bytes > 0) {
      RETURN_IF_ERROR(conn.Run("UPDATE jobs SET workspace_bytes = $2 WHERE id = $1",
                               {job.id, request.workspace_bytes}));
    }
    changes.events = true;
    return OkStatus();
  });
  RETURN_IF_ERROR(written);
  return job;
}

Result<Job> PgStore::RequestCancel(std::string_view job_id, std::string_view owner) {
  Job job;
  Status written = impl_->Write([&](Connection& conn, pg::Changes& changes) -> Status {
    ASSIGN_OR_RETURN(job, pg::LoadJob(conn, job_id, owner, pg::Lock::kForUpdate));
    if (IsFinal(job.state)) {
      return AlreadyFinished(job).WithContext("nothing to cancel");
    }
    if (job.state == JobState::kQueued) {
      RETURN_IF_ERROR(pg::EndJob(conn, impl_->Now(), job, JobState::kCancelled,
                                 std::string(kReasonCancelled), "cancelled before it started", {}));
      changes.events = true;
      return OkStatus();
    }
    if (job.cancel_requested) {
      return OkStatus();  // asked before: the worker already knows
    }
    RETURN_IF_ERROR(conn.Run("UPDATE jobs SET cancel_requested = true WHERE id = $1", {job.id}));
    ASSIGN_OR_RETURN(job.last_event_seq,
                     pg::InsertEvent(conn, job.id, impl_->Now(), kCancelRequestedEventType, {}));
    job.cancel_requested = true;
    changes.events = true;
    return OkStatus();
  });
  RETURN_IF_ERROR(written);
  return job;
}

Result<bool> PgStore::IsCancelRequested(std::string_view job_id) {
  return impl_->Read<bool>([&](Connection& conn) -> Result<bool> {
    ASSIGN_OR_RETURN(Rows rows,
                     conn.Query("SELECT cancel_requested FROM jobs WHERE id = $1", {job_id}));
    if (rows.empty()) {
      return JobNotFound(job_id);
    }
    return rows.Bool(0, 0);
  });
}

}  // namespace warden::jobs
