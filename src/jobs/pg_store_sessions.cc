// PgStore: retention, and sessions.
#include "base/utf8.h"
#include "jobs/pg_store_impl.h"

namespace warden::jobs {
namespace {

using pg::Connection;
using pg::Rows;

// The session's next turn, numbered after its last. The caller holds the session's row lock.
Result<SessionTurn> InsertTurn(Connection& conn, std::string_view session_id,
                               std::string_view job_id, std::string_view message, int64_t now_ms) {
  ASSIGN_OR_RETURN(Rows next, conn.Query("SELECT coalesce(max(seq), 0) + 1 FROM session_turns "
                                         "WHERE session_id = $1",
                                         {session_id}));
  SessionTurn turn{next.Int(0, 0), std::string(job_id), ToValidUtf8(message), now_ms};
  RETURN_IF_ERROR(
      conn.Run("INSERT INTO session_turns (session_id, seq, job_id, message, "
               "created_at_ms) VALUES ($1, $2, $3, $4, $5)",
               {session_id, turn.seq, turn.job_id, turn.message, turn.created_at_ms}));
  return turn;
}

// SessionBusy while the job of the session's last turn is queued or running. A job deleted since
// (retention) has ended.
Status CheckSessionIdle(Connection& conn, std::string_view session_id) {
  ASSIGN_OR_RETURN(Rows last, conn.Query("SELECT t.seq, t.job_id, j.state FROM session_turns t "
                                         "LEFT JOIN jobs j ON j.id = t.job_id WHERE "
                                         "t.session_id = $1 ORDER BY t.seq DESC LIMIT 1",
                                         {session_id}));
  if (last.empty() || last.IsNull(0, 2)) {
    return OkStatus();
  }
  std::optional<JobState> state = ParseJobState(last.Text(0, 2));
  if (state && IsFinal(*state)) {
    return OkStatus();
  }
  return SessionBusy(session_id, last.Int(0, 0), last.Text(0, 1), last.Text(0, 2));
}

}  // namespace

Result<std::vector<DeletedJob>> PgStore::DeleteFinishedBefore(int64_t cutoff_ms, int limit) {
  RETURN_IF_ERROR(CheckPageLimit(limit));
  std::vector<DeletedJob> deleted;
  Status written = impl_->Write([&](Connection& conn, pg::Changes& /*changes*/) -> Status {
    deleted.clear();
    // SKIP LOCKED: two nodes sweeping at once delete different jobs.
    ASSIGN_OR_RETURN(Rows rows,
                     conn.Query("SELECT id, session_id, workspace FROM jobs WHERE finished_at_ms "
                                "< $1 ORDER BY finished_at_ms LIMIT $2 FOR UPDATE SKIP LOCKED",
                                {cutoff_ms, int64_t{limit}}));
    for (int i = 0; i < rows.size(); ++i) {
      // A session's jobs share its workspace, which outlives each of them.
      deleted.push_back(DeletedJob{rows.Text(i, 0), rows.IsNull(i, 1) ? rows.Text(i, 2) : ""});
      RETURN_IF_ERROR(conn.Run("DELETE FROM events WHERE job_id = $1", {rows.Text(i, 0)}));
      RETURN_IF_ERROR(conn.Run("DELETE FROM jobs WHERE id = $1", {rows.Text(i, 0)}));
    }
    return OkStatus();
  });
  RETURN_IF_ERROR(written);
  return deleted;
}

Result<std::vector<DeletedSession>> PgStore::DeleteSessionsIdleBefore(int64_t cutoff_ms,
                                                                      int limit) {
  RETURN_IF_ERROR(CheckPageLimit(limit));
  std::vector<DeletedSession> deleted;
  Status written = impl_->Write([&](Connection& conn, pg::Changes& /*changes*/) -> Status {
    deleted.clear();
    ASSIGN_OR_RETURN(
        Rows rows,
        conn.Query("SELECT id, workspace FROM sessions s WHERE created_at_ms < $1 "
                   "AND NOT EXISTS (SELECT 1 FROM session_turns t WHERE t.session_id = s.id "
                   "AND t.created_at_ms >= $1) "
                   "AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.session_id = s.id "
                   "AND (j.finished_at_ms IS NULL OR j.finished_at_ms >= $1)) "
                   "ORDER BY created_at_ms LIMIT $2 FOR UPDATE SKIP LOCKED",
                   {cutoff_ms, int64_t{limit}}));
    for (int i = 0; i < rows.size(); ++i) {
      deleted.push_back(DeletedSession{rows.Text(i, 0), rows.Text(i, 1)});
      for (std::string_view sql :
           {"DELETE FROM events WHERE job_id IN (SELECT id FROM jobs WHERE session_id = $1)",
            "DELETE FROM jobs WHERE session_id = $1",
            "DELETE FROM session_turns WHERE session_id = $1",
            "DELETE FROM sessions WHERE id = $1"}) {
        RETURN_IF_ERROR(conn.Run(sql, {rows.Text(i, 0)}));
      }
    }
    return OkStatus();
  });
  RETURN_IF_ERROR(written);
  return deleted;
}

// --- Sessions ---

Result<Session> PgStore::CreateSession(std::string_view owner) {
  Session session;
  Status written = impl_->Write([&](Connection& conn, pg::Changes& /*changes*/) -> Status {
    session.created_at_ms = impl_->Now();
    session.id = NewId(kSessionIdPrefix, session.created_at_ms);
    session.owner = std::string(owner);
    session.workspace = impl_->WorkspaceFor(session.id);
    return conn.Run(
        "INSERT INTO sessions (id, owner, created_at_ms, workspace) VALUES ($1, $2, "
        "$3, $4)",
        {session.id, session.owner, session.created_at_ms, session.workspace});
  });
  RETURN_IF_ERROR(written);
  return session;
}

Result<Session> PgStore::GetSession(std::string_view id, std::string_view owner) {
  return impl_->Read<Session>([&](Connection& conn) { return pg::LoadSession(conn, id, owner); });
}

Result<SessionTurn> PgStore::AddSessionTurn(std::string_view session_id, std::string_view owner,
                                            std::string_view job_id, std::string message) {
  SessionTurn turn;
  Status written = impl_->Write([&](Connection& conn, pg::Changes& /*changes*/) -> Status {
    // The session's row lock orders its turns across nodes: each reads the seq the last wrote.
    RETURN_IF_ERROR(pg::LoadSession(conn, session_id, owner, pg::Lock::kForUpdate));
    ASSIGN_OR_RETURN(Job job, pg::LoadJob(conn, job_id, owner));
    if (job.session_id != session_id) {
      return Error(ErrorCode::kInvalidArgument,
                   "job " + job.id + " does not run in session " + std::string(session_id));
    }
    ASSIGN_OR_RETURN(turn, InsertTurn(conn, session_id, job.id, message, impl_->Now()));
    return OkStatus();
  });
  RETURN_IF_ERROR(written);
  return turn;
}

Result<PostedMessage> PgStore::PostSessionMessage(NewJob job, std::string message) {
  if (job.session_id.empty()) {
    return Error(ErrorCode::kInvalidArgument, "a message needs the session it is sent to");
  }
  PostedMessage posted;
  posted.job = QueuedJob(std::move(job));
  Status written = impl_->Write([&](Connection& conn, pg::Changes& changes) -> Status {
    Job& new_job = posted.job;
    // The session's row lock: two messages to one session, on any nodes, take turns here, and the
    // second sees the first's job.
    RETURN_IF_ERROR(pg::LoadSession(conn, new_job.session_id, new_job.owner, pg::Lock::kForUpdate));
    RETURN_IF_ERROR(CheckSessionIdle(conn, new_job.session_id));
    RETURN_IF_ERROR(InsertNewJob(*impl_, conn, new_job, changes));
    ASSIGN_OR_RETURN(posted.turn, InsertTurn(conn, new_job.session_id, new_job.id, message,
                                             new_job.created_at_ms));
    return OkStatus();
  });
  RETURN_IF_ERROR(written);
  return posted;
}

Result<std::vector<SessionTurn>> PgStore::ListSessionTurns(std::string_view session_id,
                                                           std::string_view owner) {
  using Turns = std::vector<SessionTurn>;
  return impl_->Read<Turns>([&](Connection& conn) -> Result<Turns> {
    RETURN_IF_ERROR(pg::LoadSession(conn, session_id, owner));
    ASSIGN_OR_RETURN(Rows rows, conn.Query("SELECT seq, job_id, message, created_at_ms FROM "
                                           "session_turns WHERE session_id = $1 ORDER BY seq",
                                           {session_id}));
    Turns turns;
    for (int i = 0; i < rows.size(); ++i) {
      turns.push_back(
          SessionTurn{rows.Int(i, 0), rows.Text(i, 1), rows.Text(i, 2), rows.Int(i, 3)});
    }
    return turns;
  });
}

Result<SessionPage> PgStore::ListSessions(std::string_view owner, const PageRequest& page) {
  RETURN_IF_ERROR(CheckPageLimit(page.limit));
  if (!page.cursor.empty() && !IsValidId(page.cursor, kSessionIdPrefix)) {
    return Error(ErrorCode::kInvalidArgument, "cursor " + page.cursor + " is not a session id");
  }
  // A session's turns are numbered from 1 without gaps: its last turn's seq is their count. The
  // empty owner and cursor select everything, so one statement serves every call.
  return impl_->Read<SessionPage>([&](Connection& conn) -> Result<SessionPage> {
    ASSIGN_OR_RETURN(
        Rows rows,
        conn.Query("SELECT s.id, s.owner, s.created_at_ms, s.workspace, t.seq, t.created_at_ms, "
                   "t.message, t.job_id, j.state FROM sessions s LEFT JOIN session_turns t ON "
                   "t.session_id = s.id AND t.seq = (SELECT max(seq) FROM session_turns u WHERE "
                   "u.session_id = s.id) LEFT JOIN jobs j ON j.id = t.job_id WHERE ($1 = '' OR "
                   "s.owner = $1) AND ($2 = '' OR s.id < $2) ORDER BY s.id DESC LIMIT $3",
                   {owner, page.cursor, int64_t{page.limit} + 1}));
    SessionPage result;
    for (int i = 0; i < rows.size(); ++i) {
      result.sessions.push_back(
          SessionSummary{Session{rows.Text(i, 0), rows.Text(i, 1), rows.Int(i, 2), rows.Text(i, 3)},
                         rows.Int(i, 4), rows.IsNull(i, 5) ? rows.Int(i, 2) : rows.Int(i, 5),
                         rows.Text(i, 6), rows.Text(i, 7), rows.Text(i, 8)});
    }
    if (static_cast<int>(result.sessions.size()) > page.limit) {
      result.sessions.pop_back();
      result.next_cursor = result.sessions.back().session.id;
    }
    return result;
  });
}

}  // namespace warden::jobs
