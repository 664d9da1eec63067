#include "jobs/sqlite_rows.h"

#include "base/json_text.h"
#include "base/utf8.h"

namespace warden::jobs::sqlite {
namespace {

// Each script moves the schema one version up; append, never edit one that has shipped.
constexpr std::string_view kMigrations[] = {
    R"sql(
CREATE TABLE sessions (
  id TEXT PRIMARY KEY NOT NULL,
  owner TEXT NOT NULL,
  created_at_ms INTEGER NOT NULL,
  workspace TEXT NOT NULL
);
CREATE TABLE session_turns (
  session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
  seq INTEGER NOT NULL,
  job_id TEXT NOT NULL,  -- no foreign key: the history outlives the jobs retention deletes
  message TEXT NOT NULL,
  created_at_ms INTEGER NOT NULL,
  PRIMARY KEY (session_id, seq)
);
CREATE TABLE jobs (
  id TEXT PRIMARY KEY NOT NULL,
  owner TEXT NOT NULL,
  kind TEXT NOT NULL,
  input TEXT NOT NULL,
  state TEXT NOT NULL,
  reason TEXT NOT NULL DEFAULT '',
  summary TEXT NOT NULL DEFAULT '',
  result TEXT NOT NULL DEFAULT '{}',
  parent_id TEXT,  -- no foreign key: a retry outlives the job it retried
  session_id TEXT REFERENCES sessions(id),
  created_at_ms INTEGER NOT NULL,
  started_at_ms INTEGER,
  finished_at_ms INTEGER,
  worker TEXT NOT NULL DEFAULT '',
  cancel_requested INTEGER NOT NULL DEFAULT 0,
  requeue_on_crash INTEGER NOT NULL DEFAULT 0,
  workspace TEXT NOT NULL DEFAULT '',
  last_seq INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX jobs_by_state ON jobs (state, id);
CREATE INDEX jobs_by_owner ON jobs (owner, id);
CREATE INDEX jobs_by_session ON jobs (session_id, id) WHERE session_id IS NOT NULL;
CREATE INDEX jobs_by_finish ON jobs (finished_at_ms) WHERE finished_at_ms IS NOT NULL;
CREATE TABLE events (
  job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  seq INTEGER NOT NULL,
  time_ms INTEGER NOT NULL,
  type TEXT NOT NULL,
  data TEXT NOT NULL,
  PRIMARY KEY (job_id, seq)
);
)sql",
    // Fair-share claims and per-owner queue counts seek by state, then owner.
    R"sql(
CREATE INDEX jobs_by_state_owner ON jobs (state, owner, id);
)sql",
    // Each owner's workspace quota sums what its kept jobs' workspaces held at their end.
    R"sql(
ALTER TABLE jobs ADD COLUMN workspace_bytes INTEGER NOT NULL DEFAULT 0;
CREATE INDEX jobs_with_workspace_bytes ON jobs (owner, workspace, id) WHERE workspace_bytes > 0;
)sql",
    // Leases: a claim's attempt fences its worker's writes; a lease not renewed in time marks the
    // worker dead. Jobs claimed before count as their first attempt.
    R"sql(
ALTER TABLE jobs ADD COLUMN attempt INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN lease_expires_at_ms INTEGER;
UPDATE jobs SET attempt = 1 WHERE started_at_ms IS NOT NULL;
)sql",
};

// Column list for ReadJob, in its order.
constexpr std::string_view kJobColumns =
    "id, owner, kind, input, state, reason, summary, result, parent_id, session_id, "
    "created_at_ms, started_at_ms, finished_at_ms, worker, cancel_requested, requeue_on_crash, "
    "workspace, last_seq, attempt, lease_expires_at_ms";

std::optional<int64_t> OptionalInt(const Statement& row, int column) {
  return row.IsNull(column) ? std::nullopt : std::optional<int64_t>(row.Int(column));
}

void BindOptionalInt(Statement& stmt, int index, const std::optional<int64_t>& value) {
  if (value) {
    stmt.BindInt(index, *value);
  } else {
    stmt.BindNull(index);
  }
}

Error SessionNotFound(std::string_view id) {
  return Error(ErrorCode::kNotFound, "session " + std::string(id) + " not found");
}

// Another owner's job or session reads as missing.
bool Visible(const std::string& row_owner, std::string_view owner) {
  return owner.empty() || row_owner == owner;
}

}  // namespace

std::span<const std::string_view> JobStoreMigrations() {
  return kMigrations;
}

std::string JobSql(std::string_view head, std::string_view tail) {
  std::string sql(head);
  sql += kJobColumns;
  sql += tail;
  return sql;
}

Result<Job> ReadJob(const Statement& row) {
  Job job;
  job.id = row.Text(0);
  job.owner = row.Text(1);
  std::optional<JobKind> kind = ParseJobKind(row.Text(2));
  std::optional<JobState> state = ParseJobState(row.Text(4));
  if (!kind || !state) {
    return Error(ErrorCode::kDataLoss, "job " + job.id + " has an unknown kind or state");
  }
  job.kind = *kind;
  ASSIGN_OR_RETURN(job.input, ParseObject(row.Text(3), "input of job " + job.id));
  job.state = *state;
  job.reason = row.Text(5);
  job.summary = row.Text(6);
  ASSIGN_OR_RETURN(job.result, ParseObject(row.Text(7), "result of job " + job.id));
  job.parent_id = row.Text(8);
  job.session_id = row.Text(9);
  job.created_at_ms = row.Int(10);
  job.started_at_ms = OptionalInt(row, 11);
  job.finished_at_ms = OptionalInt(row, 12);
  job.worker = row.Text(13);
  job.cancel_requested = row.Int(14) != 0;
  job.requeue_on_crash = row.Int(15) != 0;
  job.workspace = row.Text(16);
  job.last_event_seq = row.Int(17);
  job.attempt = row.Int(18);
  job.lease_expires_at_ms = OptionalInt(row, 19);
  return job;
}

Result<std::vector<Job>> ReadJobs(Statement& stmt) {
  std::vector<Job> jobs;
  while (true) {
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) {
      return jobs;
    }
    ASSIGN_OR_RETURN(Job job, ReadJob(stmt));
    jobs.push_back(std::move(job));
  }
}

Status InsertJob(Connection& conn, const Job& job) {
  ASSIGN_OR_RETURN(
      Statement insert,
      conn.Prepare(JobSql("INSERT INTO jobs (",
                          ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
                          "?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)")));
  insert.BindText(1, job.id);
  insert.BindText(2, job.owner);
  insert.BindText(3, JobKindName(job.kind));
  insert.BindText(4, SerializeJson(job.input));
  insert.BindText(5, JobStateName(job.state));
  insert.BindText(6, job.reason);
  insert.BindText(7, job.summary);
  insert.BindText(8, SerializeJson(job.result));
  insert.BindTextOrNull(9, job.parent_id);
  insert.BindTextOrNull(10, job.session_id);
  insert.BindInt(11, job.created_at_ms);
  BindOptionalInt(insert, 12, job.started_at_ms);
  BindOptionalInt(insert, 13, job.finished_at_ms);
  insert.BindText(14, job.worker);
  insert.BindInt(15, job.cancel_requested ? 1 : 0);
  insert.BindInt(16, job.requeue_on_crash ? 1 : 0);
  insert.BindText(17, job.workspace);
  insert.BindInt(18, job.last_event_seq);
  insert.BindInt(19, job.attempt);
  BindOptionalInt(insert, 20, job.lease_expires_at_ms);
  return insert.Run();
}

Result<Job> LoadJob(Connection& conn, std::string_view id, std::string_view owner) {
  ASSIGN_OR_RETURN(Statement stmt, conn.Prepare(JobSql("SELECT ", " FROM jobs WHERE id = ?1")));
  stmt.BindText(1, id);
  ASSIGN_OR_RETURN(bool found, stmt.Step());
  if (!found) {
    return JobNotFound(id);
  }
  ASSIGN_OR_RETURN(Job job, ReadJob(stmt));
  if (!Visible(job.owner, owner)) {
    return JobNotFound(id);
  }
  return job;
}

Result<JobState> LoadState(Connection& conn, std::string_view id) {
  ASSIGN_OR_RETURN(Statement stmt, conn.Prepare("SELECT state FROM jobs WHERE id = ?1"));
  stmt.BindText(1, id);
  ASSIGN_OR_RETURN(bool found, stmt.Step());
  if (!found) {
    return JobNotFound(id);
  }
  std::optional<JobState> state = ParseJobState(stmt.Text(0));
  if (!state) {
    return Error(ErrorCode::kDataLoss, "job " + std::string(id) + " has an unknown state");
  }
  return *state;
}

Result<Session> LoadSession(Connection& conn, std::string_view id, std::string_view owner) {
  ASSIGN_OR_RETURN(Statement stmt,
                   conn.Prepare("SELECT id, owner, created_at_ms, workspace FROM sessions "
                                "WHERE id = ?1"));
  stmt.BindText(1, id);
  ASSIGN_OR_RETURN(bool found, stmt.Step());
  if (!found) {
    return SessionNotFound(id);
  }
  Session session{stmt.Text(0), stmt.Text(1), stmt.Int(2), stmt.Text(3)};
  if (!Visible(session.owner, owner)) {
    return SessionNotFound(id);
  }
  return session;
}

Result<int64_t> InsertEvent(Connection& conn, std::string_view job_id, int64_t now_ms,
                            std::string_view type, const json::object& data) {
  ASSIGN_OR_RETURN(Statement bump, conn.Prepare("UPDATE jobs SET last_seq = last_seq + 1 "
                                                "WHERE id = ?1 RETURNING last_seq"));
  bump.BindText(1, job_id);
  ASSIGN_OR_RETURN(bool found, bump.Step());
  if (!found) {
    return JobNotFound(job_id);
  }
  int64_t seq = bump.Int(0);
  ASSIGN_OR_RETURN(Statement insert,
                   conn.Prepare("INSERT INTO events (job_id, seq, time_ms, type, data) "
                                "VALUES (?1, ?2, ?3, ?4, ?5)"));
  insert.BindText(1, job_id);
  insert.BindInt(2, seq);
  insert.BindInt(3, now_ms);
  insert.BindText(4, type);
  insert.BindText(5, SerializeJson(data));
  RETURN_IF_ERROR(insert.Run());
  return seq;
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
  MakeValidUtf8(result);  // the same JSON as is stored, also in `job`
  ASSIGN_OR_RETURN(Statement stmt,
                   conn.Prepare("UPDATE jobs SET state = ?2, reason = ?3, summary = ?4, "
                                "result = ?5, finished_at_ms = ?6, cancel_requested = "
                                "cancel_requested OR ?7 WHERE id = ?1"));
  stmt.BindText(1, job.id);
  stmt.BindText(2, JobStateName(state));
  stmt.BindText(3, reason);
  stmt.BindText(4, summary);
  stmt.BindText(5, SerializeJson(result));
  stmt.BindInt(6, now_ms);
  stmt.BindInt(7, state == JobState::kCancelled ? 1 : 0);
  RETURN_IF_ERROR(stmt.Run());
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

Status DeleteJobRows(Connection& conn, std::string_view id) {
  for (std::string_view sql :
       {"DELETE FROM events WHERE job_id = ?1", "DELETE FROM jobs WHERE id = ?1"}) {
    ASSIGN_OR_RETURN(Statement stmt, conn.Prepare(sql));
    stmt.BindText(1, id);
    RETURN_IF_ERROR(stmt.Run());
  }
  return OkStatus();
}

}  // namespace warden::jobs::sqlite
