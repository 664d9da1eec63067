// SqliteStore: retention, and sessions.
#include "jobs/sqlite_store_impl.h"

namespace warden::jobs {
namespace {

using sqlite::Connection;
using sqlite::LoadJob;
using sqlite::LoadSession;
using sqlite::Statement;

// The session's next turn, numbered after its last.
Result<SessionTurn> InsertTurn(Connection& conn, std::string_view session_id,
                               std::string_view job_id, std::string_view message, int64_t now_ms) {
  ASSIGN_OR_RETURN(Statement next, conn.Prepare("SELECT coalesce(max(seq), 0) + 1 FROM "
                                                "session_turns WHERE session_id = ?1"));
  next.BindText(1, session_id);
  ASSIGN_OR_RETURN(bool row, next.Step());
  SessionTurn turn{row ? next.Int(0) : 1, std::string(job_id), std::string(message), now_ms};
  ASSIGN_OR_RETURN(Statement insert,
                   conn.Prepare("INSERT INTO session_turns (session_id, seq, job_id, "
                                "message, created_at_ms) VALUES (?1, ?2, ?3, ?4, ?5)"));
  insert.BindText(1, session_id);
  insert.BindInt(2, turn.seq);
  insert.BindText(3, turn.job_id);
  insert.BindText(4, turn.message);
  insert.BindInt(5, turn.created_at_ms);
  RETURN_IF_ERROR(insert.Run());
  return turn;
}

// SessionBusy while the job of the session's last turn is queued or running. A job deleted since
// (retention) has ended.
Status CheckSessionIdle(Connection& conn, std::string_view session_id) {
  ASSIGN_OR_RETURN(Statement last,
                   conn.Prepare("SELECT t.seq, t.job_id, j.state FROM session_turns t LEFT JOIN "
                                "jobs j ON j.id = t.job_id WHERE t.session_id = ?1 ORDER BY "
                                "t.seq DESC LIMIT 1"));
  last.BindText(1, session_id);
  ASSIGN_OR_RETURN(bool row, last.Step());
  if (!row || last.IsNull(2)) {
    return OkStatus();
  }
  std::optional<JobState> state = ParseJobState(last.Text(2));
  if (state && IsFinal(*state)) {
    return OkStatus();
  }
  return SessionBusy(session_id, last.Int(0), last.Text(1), last.Text(2));
}

}  // namespace

Result<std::vector<DeletedJob>> SqliteStore::DeleteFinishedBefore(int64_t cutoff_ms, int limit) {
  RETURN_IF_ERROR(CheckPageLimit(limit));
  std::vector<DeletedJob> deleted;
  Status written = impl_->Write([&](sqlite::WriteContext& ctx) -> Status {
    deleted.clear();
    {
      ASSIGN_OR_RETURN(Statement old,
                       ctx.conn.Prepare("SELECT id, session_id, workspace FROM jobs WHERE "
                                        "finished_at_ms < ?1 ORDER BY finished_at_ms LIMIT ?2"));
      old.BindInt(1, cutoff_ms);
      old.BindInt(2, limit);
      while (true) {
        ASSIGN_OR_RETURN(bool row, old.Step());
        if (!row) {
          break;
        }
        // A session's jobs share its workspace, which outlives each of them.
        deleted.push_back(DeletedJob{old.Text(0), old.IsNull(1) ? old.Text(2) : ""});
      }
    }
    for (const DeletedJob& job : deleted) {
      RETURN_IF_ERROR(sqlite::DeleteJobRows(ctx.conn, job.id));
    }
    return OkStatus();
  });
  RETURN_IF_ERROR(written);
  return deleted;
}

Result<std::vector<DeletedSession>> SqliteStore::DeleteSessionsIdleBefore(int64_t cutoff_ms,
                                                                          int limit) {
  RETURN_IF_ERROR(CheckPageLimit(limit));
  std::vector<DeletedSession> deleted;
  Status written = impl_->Write([&](sqlite::WriteContext& ctx) -> Status {
    deleted.clear();
    {
      ASSIGN_OR_RETURN(
          Statement idle,
          ctx.conn.Prepare(
              "SELECT id, workspace FROM sessions s WHERE created_at_ms < ?1 "
              "AND NOT EXISTS (SELECT 1 FROM session_turns t WHERE t.session_id = s.id "
              "AND t.created_at_ms >= ?1) "
              "AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.session_id = s.id "
              "AND (j.finished_at_ms IS NULL OR j.finished_at_ms >= ?1)) "
              "ORDER BY created_at_ms LIMIT ?2"));
      idle.BindInt(1, cutoff_ms);
      idle.BindInt(2, limit);
      while (true) {
        ASSIGN_OR_RETURN(bool row, idle.Step());
        if (!row) {
          break;
        }
        deleted.push_back(DeletedSession{idle.Text(0), idle.Text(1)});
      }
    }
    for (const DeletedSession& session : deleted) {
      for (std::string_view sql :
           {"DELETE FROM events WHERE job_id IN (SELECT id FROM jobs WHERE session_id = ?1)",
            "DELETE FROM jobs WHERE session_id = ?1",
            "DELETE FROM session_turns WHERE session_id = ?1",
            "DELETE FROM sessions WHERE id = ?1"}) {
        ASSIGN_OR_RETURN(Statement stmt, ctx.conn.Prepare(sql));
        stmt.BindText(1, session.id);
        RETURN_IF_ERROR(stmt.Run());
      }
    }
    return OkStatus();
  });
  RETURN_IF_ERROR(written);
  return deleted;
}

// --- Sessions ---

Result<Session> SqliteStore::CreateSession(std::string_view owner) {
  Session session;
  Status written = impl_->Write([&](sqlite::WriteContext& ctx) -> Status {
    session.created_at_ms = impl_->Now();
    session.id = NewId(kSessionIdPrefix, session.created_at_ms);
    session.owner = std::string(owner);
    session.workspace = impl_->WorkspaceFor(session.id);
    ASSIGN_OR_RETURN(Statement insert,
                     ctx.conn.Prepare("INSERT INTO sessions (id, owner, created_at_ms, workspace) "
                                      "VALUES (?1, ?2, ?3, ?4)"));
    insert.BindText(1, session.id);
    insert.BindText(2, session.owner);
    insert.BindInt(3, session.created_at_ms);
    insert.BindText(4, session.workspace);
    return insert.Run();
  });
  RETURN_IF_ERROR(written);
  return session;
}

Result<Session> SqliteStore::GetSession(std::string_view id, std::string_view owner) {
  auto reader = impl_->readers().Acquire();
  return LoadSession(reader.conn(), id, owner);
}

Result<SessionTurn> SqliteStore::AddSessionTurn(std::string_view session_id, std::string_view owner,
                                                std::string_view job_id, std::string message) {
  SessionTurn turn;
  Status written = impl_->Write([&](sqlite::WriteContext& ctx) -> Status {
    RETURN_IF_ERROR(LoadSession(ctx.conn, session_id, owner));
    ASSIGN_OR_RETURN(Job job, LoadJob(ctx.conn, job_id, owner));
    if (job.session_id != session_id) {
      return Error(ErrorCode::kInvalidArgument,
                   "job " + job.id + " does not run in session " + std::string(session_id));
    }
    ASSIGN_OR_RETURN(turn, InsertTurn(ctx.conn, session_id, job.id, message, impl_->Now()));
    return OkStatus();
  });
  RETURN_IF_ERROR(written);
  return turn;
}

Result<PostedMessage> SqliteStore::PostSessionMessage(NewJob job, std::string message) {
  if (job.session_id.empty()) {
    return Error(ErrorCode::kInvalidArgument, "a message needs the session it is sent to");
  }
  PostedMessage posted;
  posted.job = QueuedJob(std::move(job));
  Status written = impl_->Write([&](sqlite::WriteContext& ctx) -> Status {
    Job& new_job = posted.job;
    RETURN_IF_ERROR(LoadSession(ctx.conn, new_job.session_id, new_job.owner));
    // One writer: nothing can post to the session between this look and the insert.
    RETURN_IF_ERROR(CheckSessionIdle(ctx.conn, new_job.session_id));
    RETURN_IF_ERROR(impl_->InsertNew(ctx, new_job));
    ASSIGN_OR_RETURN(posted.turn, InsertTurn(ctx.conn, new_job.session_id, new_job.id, message,
                                             new_job.created_at_ms));
    return OkStatus();
  });
  RETURN_IF_ERROR(written);
  return posted;
}

Result<std::vector<SessionTurn>> SqliteStore::ListSessionTurns(std::string_view session_id,
                                                               std::string_view owner) {
  auto reader = impl_->readers().Acquire();
  Connection& conn = reader.conn();
  ASSIGN_OR_RETURN(auto tx, sqlite::Transaction::Begin(conn, sqlite::Transaction::Mode::kDeferred));
  RETURN_IF_ERROR(LoadSession(conn, session_id, owner));
  ASSIGN_OR_RETURN(Statement stmt,
                   conn.Prepare("SELECT seq, job_id, message, created_at_ms FROM session_turns "
                                "WHERE session_id = ?1 ORDER BY seq"));
  stmt.BindText(1, session_id);
  std::vector<SessionTurn> turns;
  while (true) {
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) {
      return turns;
    }
    turns.push_back(SessionTurn{stmt.Int(0), stmt.Text(1), stmt.Text(2), stmt.Int(3)});
  }
}

Result<SessionPage> SqliteStore::ListSessions(std::string_view owner, const PageRequest& page) {
  RETURN_IF_ERROR(CheckPageLimit(page.limit));
  if (!page.cursor.empty() && !IsValidId(page.cursor, kSessionIdPrefix)) {
    return Error(ErrorCode::kInvalidArgument, "cursor " + page.cursor + " is not a session id");
  }
  // A session's turns are numbered from 1 without gaps: its last turn's seq is their count.
  std::string sql =
      "SELECT s.id, s.owner, s.created_at_ms, s.workspace, t.seq, t.created_at_ms, t.message, "
      "t.job_id, j.state FROM sessions s LEFT JOIN session_turns t ON t.session_id = s.id AND "
      "t.seq = (SELECT max(seq) FROM session_turns u WHERE u.session_id = s.id) LEFT JOIN jobs j "
      "ON j.id = t.job_id WHERE 1";
  std::vector<std::string_view> values;
  if (!owner.empty()) {
    values.push_back(owner);
    sql += " AND s.owner = ?" + std::to_string(values.size());
  }
  if (!page.cursor.empty()) {
    values.push_back(page.cursor);
    sql += " AND s.id < ?" + std::to_string(values.size());
  }
  sql += " ORDER BY s.id DESC LIMIT ?" + std::to_string(values.size() + 1);
  auto reader = impl_->readers().Acquire();
  ASSIGN_OR_RETURN(Statement stmt, reader.conn().Prepare(sql));
  for (size_t i = 0; i < values.size(); ++i) {
    stmt.BindText(static_cast<int>(i + 1), values[i]);
  }
  // One row more than asked tells whether another page follows.
  stmt.BindInt(static_cast<int>(values.size() + 1), page.limit + 1);
  SessionPage result;
  while (true) {
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) {
      break;
    }
    SessionSummary summary{Session{stmt.Text(0), stmt.Text(1), stmt.Int(2), stmt.Text(3)},
                           stmt.Int(4),
                           stmt.IsNull(5) ? stmt.Int(2) : stmt.Int(5),
                           stmt.Text(6),
                           stmt.Text(7),
                           stmt.Text(8)};
    result.sessions.push_back(std::move(summary));
  }
  if (static_cast<int>(result.sessions.size()) > page.limit) {
    result.sessions.pop_back();
    result.next_cursor = result.sessions.back().session.id;
  }
  return result;
}

}  // namespace warden::jobs
