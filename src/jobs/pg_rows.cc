#include "jobs/pg_rows.h"

#include "base/json_text.h"
#include "base/utf8.h"

namespace warden::jobs::pg {
namespace {

// Column list for ReadJob, in its order.
constexpr std::string_view kJobColumns =
    "id, owner, kind, input, state, reason, summary, result, parent_id, session_id, "
    "created_at_ms, started_at_ms, finished_at_ms, worker, cancel_requested, requeue_on_crash, "
    "workspace, last_seq, attempt, lease_expires_at_ms";

Error SessionNotFound(std::string_view id) {
  return Error(ErrorCode::kNotFound, "session " + std::string(id) + " not found");
}

// Another owner's job or session reads as missing.
bool Visible(const std::string& row_owner, std::string_view owner) {
  return owner.empty() || row_owner == owner;
}

}  // namespace

std::string JobSql(std::string_view head, std::string_view tail) {
  std::string sql(head);
  sql += kJobColumns;
  sql += tail;
  return sql;
}

Result<Job> ReadJob(const Rows& rows, int row) {
  Job job;
  job.id = rows.Text(row, 0);
  job.owner = rows.Text(row, 1);
  std::optional<JobKind> kind = ParseJobKind(rows.Text(row, 2));
  std::optional<JobState> state = ParseJobState(rows.Text(row, 4));
  if (!kind || !state) {
    return Error(ErrorCode::kDataLoss, "job " + job.id + " has an unknown kind or state");
  }
  job.kind = *kind;
  ASSIGN_OR_RETURN(job.input, ParseObject(rows.Text(row, 3), "input of job " + job.id));
  job.state = *state;
  job.reason = rows.Text(row, 5);
  job.summary = rows.Text(row, 6);
  ASSIGN_OR_RETURN(job.result, ParseObject(rows.Text(row, 7), "result of job " + job.id));
  job.parent_id = rows.Text(row, 8);
  job.session_id = rows.Text(row, 9);
  job.created_at_ms = rows.Int(row, 10);
  job.started_at_ms = rows.OptionalInt(row, 11);
  job.finished_at_ms = rows.OptionalInt(row, 12);
  job.worker = rows.Text(row, 13);
  job.cancel_requested = rows.Bool(row, 14);
  job.requeue_on_crash = rows.Bool(row, 15);
  job.workspace = rows.Text(row, 16);
  job.last_event_seq = rows.Int(row, 17);
  job.attempt = rows.Int(row, 18);
  job.lease_expires_at_ms = rows.OptionalInt(row, 19);
  return job;
}

Result<std::vector<Job>> ReadJobs(const Rows& rows) {
  std::vector<Job> jobs;
  for (int i = 0; i < rows.size(); ++i) {
    ASSIGN_OR_RETURN(Job job, ReadJob(rows, i));
    jobs.push_back(std::move(job));
  }
  return jobs;
}

Status InsertJob(Connection& conn, const Job& job) {
  return conn.Run(JobSql("INSERT INTO jobs (",
                         ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, "
                         "$11, $12, $13, $14, $15, $16, $17, $18, $19, $20)"),
                  {job.id,
                   job.owner,
                   JobKindName(job.kind),
                   SerializeJson(job.input),
                   JobStateName(job.state),
                   job.reason,
                   job.summary,
                   SerializeJson(job.result),
                   TextOrNull(job.parent_id),
                   TextOrNull(job.session_id),
                   job.created_at_ms,
                   OptionalInt(job.started_at_ms),
                   OptionalInt(job.finished_at_ms),
                   job.worker,
                   job.cancel_requested,
                   job.requeue_on_crash,
                   job.workspace,
                   job.last_event_seq,
                   job.attempt,
                   OptionalInt(job.lease_expires_at_ms)});
}

Result<Job> LoadJob(Connection& conn, std::string_view id, std::string_view owner, Lock lock) {
  ASSIGN_OR_RETURN(
      Rows rows,
      conn.Query(JobSql("SELECT ", lock == Lock::kForUpdate ? " FROM jobs WHERE id = $1 FOR UPDATE"
                                                            : " FROM jobs WHERE id = $1"),
                 {id}));
  if (rows.empty()) {
    return JobNotFound(id);
  }
  ASSIGN_OR_RETURN(Job job, ReadJob(rows, 0));
  if (!Visible(job.owner, owner)) {
    return JobNotFound(id);
  }
  return job;
}

Result<JobState> LoadState(Connection& conn, std::string_view id) {
  ASSIGN_OR_RETURN(Rows rows, conn.Query("SELECT state FROM jobs WHERE id = $1", {id}));
  if (rows.empty()) {
    return JobNotFound(id);
  }
  std::optional<JobState> state = ParseJobState(rows.Text(0, 0));
  if (!state) {
    return Error(ErrorCode::kDataLoss, "job " + std::string(id) + " has an unknown state");
  }
  return *state;
}

Result<Session> LoadSession(Connection& conn, std::string_view id, std::string_view owner,
                            Lock lock) {
  ASSIGN_OR_RETURN(Rows rows, conn.Query(lock == Lock::kForUpdate
                                             ? "SELECT id, owner, created_at_ms, workspace FROM "
                                               "sessions WHERE id = $1 FOR UPDATE"
                                             : "SELECT id, owner, created_at_ms, workspace FROM "
                                               "sessions WHERE id = $1",
                                         {id}));
  if (rows.empty()) {
    return SessionNotFound(id);
  }
  Session session{rows.Text(0, 0), rows.Text(0, 1), rows.Int(0, 2), rows.Text(0, 3)};
  if (!Visible(session.owner, owner)) {
    return SessionNotFound(id);
  }
  return session;
}

Result<int64_t> InsertEvent(Connection& conn, std::string_view job_id, int64_t now_ms,
                            std::string_view type, const json::object& data,
                            OnlyOpenJobs only_open) {
  // The UPDATE takes the job's row lock, so appends to one job queue up and get consecutive seqs;
  // one that waited for a Finish re-reads the row and finds it closed.
  ASSIGN_OR_RETURN(
      Rows rows,
      conn.Query(only_open == OnlyOpenJobs::kYes
                     ? "WITH bumped AS (UPDATE jobs SET last_seq = last_seq + 1 WHERE id = $1 AND "
                       "state IN ('queued', 'running') RETURNING last_seq) INSERT INTO events "
                       "(job_id, seq, time_ms, type, data) SELECT $1, last_seq, $2, $3, $4 FROM "
                       "bumped RETURNING seq"
                     : "WITH bumped AS (UPDATE jobs SET last_seq = last_seq + 1 WHERE id = $1 "
                       "RETURNING last_seq) INSERT INTO events (job_id, seq, time_ms, type, data) "
                       "SELECT $1, last_seq, $2, $3, $4 FROM bumped RETURNING seq",
                 {job_id, now_ms, type, SerializeJson(data)}));
  if (!rows.empty()) {
    return rows.Int(0, 0);
  }
  ASSIGN_OR_RETURN(JobState state, LoadState(conn, job_id));  // kNotFound if missing
  return Error(ErrorCode::kFailedPrecondition, "job " + std::string(job_id) + " has finished (" +
                                                   std::string(JobStateName(state)) +
                                                   "); it takes no more events");
}

Result<int64_t> InsertStateEvent(Connection& conn, std::string_view job_id, int64_t now_ms,
                                 JobState state, std::string_view reason, json::object extra) {
  extra["state"] = JobStateName(state);
  extra["reason"] = reason;
  return InsertEvent(conn, job_id, now_ms, kStateEventType, extra);
}

Status EndJob(Connection& conn, int64_t now_ms, Job& job, JobState state, std::string reason,
              std::string summary, json::object result) {
  // A summary may quote a program's output: the job's JSON must stay readable whatever it held.
  summary = ToValidUtf8(summary);
  MakeValidUtf8(result);
  RETURN_IF_ERROR(
      conn.Query("UPDATE jobs SET state = $2, reason = $3, summary = $4, result = $5, "
                 "finished_at_ms = $6, cancel_requested = cancel_requested OR $7 "
                 "WHERE id = $1",
                 {job.id, JobStateName(state), reason, summary, SerializeJson(result), now_ms,
                  state == JobState::kCancelled}));
  ASSIGN_OR_RETURN(job.last_event_seq,
                   InsertStateEvent(conn, job.id, now_ms, state, reason, {{"summary", summary}}));
  job.state = state;
  job.reason = std::move(reason);
  job.summary = std::move(summary);
  job.result = std::move(result);
  job.finished_at_ms = now_ms;
  job.cancel_requested = job.cancel_requested || state == JobState::kCancelled;
  return OkStatus();
}

}  // namespace warden::jobs::pg
