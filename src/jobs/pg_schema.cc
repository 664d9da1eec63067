#include "jobs/pg_schema.h"

namespace warden::jobs::pg {
namespace {

// Ids and owners sort byte by byte (COLLATE "C") whatever the database's locale: ids sort by
// creation, and list pages and claims rely on it.
constexpr std::string_view kMigrations[] = {
    R"sql(
CREATE TABLE sessions (
  id TEXT COLLATE "C" PRIMARY KEY,
  owner TEXT COLLATE "C" NOT NULL,
  created_at_ms BIGINT NOT NULL,
  workspace TEXT NOT NULL
);
CREATE TABLE session_turns (
  session_id TEXT COLLATE "C" NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
  seq BIGINT NOT NULL,
  job_id TEXT NOT NULL,  -- no foreign key: the history outlives the jobs retention deletes
  message TEXT NOT NULL,
  created_at_ms BIGINT NOT NULL,
  PRIMARY KEY (session_id, seq)
);
CREATE TABLE jobs (
  id TEXT COLLATE "C" PRIMARY KEY,
  owner TEXT COLLATE "C" NOT NULL,
  kind TEXT NOT NULL,
  input TEXT NOT NULL,
  state TEXT NOT NULL,
  reason TEXT NOT NULL DEFAULT '',
  summary TEXT NOT NULL DEFAULT '',
  result TEXT NOT NULL DEFAULT '{}',
  parent_id TEXT,  -- no foreign key: a retry outlives the job it retried
  session_id TEXT COLLATE "C" REFERENCES sessions(id),
  created_at_ms BIGINT NOT NULL,
  started_at_ms BIGINT,
  finished_at_ms BIGINT,
  worker TEXT NOT NULL DEFAULT '',
  cancel_requested BOOLEAN NOT NULL DEFAULT false,
  requeue_on_crash BOOLEAN NOT NULL DEFAULT false,
  workspace TEXT NOT NULL DEFAULT '',
  last_seq BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX jobs_by_state_owner ON jobs (state, owner, id);
CREATE INDEX jobs_by_owner ON jobs (owner, id);
CREATE INDEX jobs_by_session ON jobs (session_id, id) WHERE session_id IS NOT NULL;
CREATE INDEX jobs_by_finish ON jobs (finished_at_ms) WHERE finished_at_ms IS NOT NULL;
CREATE TABLE events (
  job_id TEXT COLLATE "C" NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  seq BIGINT NOT NULL,
  time_ms BIGINT NOT NULL,
  type TEXT NOT NULL,
  data TEXT NOT NULL,
  PRIMARY KEY (job_id, seq)
);
)sql",
    // Each owner's workspace quota sums what its kept jobs' workspaces held at their end.
    R"sql(
ALTER TABLE jobs ADD COLUMN workspace_bytes BIGINT NOT NULL DEFAULT 0;
CREATE INDEX jobs_with_workspace_bytes ON jobs (owner, workspace, id) WHERE workspace_bytes > 0;
)sql",
    // Leases: a claim's attempt fences its worker's writes; a lease not renewed in time marks the
    // worker dead. Jobs claimed before count as their first attempt.
    R"sql(
ALTER TABLE jobs ADD COLUMN attempt BIGINT NOT NULL DEFAULT 0,
                 ADD COLUMN lease_expires_at_ms BIGINT;
UPDATE jobs SET attempt = 1 WHERE started_at_ms IS NOT NULL;
)sql",
};

// pg_advisory_xact_lock's key for migrations: any constant no other lock of Warden's uses.
constexpr std::string_view kLockSql = "SELECT pg_advisory_xact_lock(7283957463021)";

}  // namespace

std::span<const std::string_view> JobStoreMigrations() {
  return kMigrations;
}

Result<int64_t> SchemaVersion(Connection& conn) {
  ASSIGN_OR_RETURN(Rows exists, conn.Query("SELECT to_regclass('warden_schema') IS NOT NULL"));
  if (!exists.Bool(0, 0)) {
    return 0;
  }
  ASSIGN_OR_RETURN(Rows rows, conn.Query("SELECT version FROM warden_schema"));
  return rows.empty() ? 0 : rows.Int(0, 0);
}

Status Migrate(Connection& conn, std::span<const std::string_view> scripts) {
  const auto latest = static_cast<int64_t>(scripts.size());
  while (true) {
    ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(conn));
    // Under the lock, nobody else is migrating: what this reads is what it changes.
    RETURN_IF_ERROR(conn.Exec(kLockSql));
    RETURN_IF_ERROR(
        conn.Exec("CREATE TABLE IF NOT EXISTS warden_schema (version BIGINT NOT NULL)"));
    ASSIGN_OR_RETURN(int64_t version, SchemaVersion(conn));
    if (version == latest) {
      return tx.Commit();
    }
    if (version > latest || version < 0) {
      return Error(ErrorCode::kFailedPrecondition,
                   "the job store's database has schema version " + std::to_string(version) +
                       ", newer than the latest this Warden knows (" + std::to_string(latest) +
                       "); it was written by a newer Warden: upgrade Warden, or use another "
                       "database");
    }
    std::string context = "applying job store schema migration " + std::to_string(version + 1);
    Status applied = conn.Exec(scripts[static_cast<size_t>(version)]);
    if (applied.ok()) {
      applied = conn.Exec("DELETE FROM warden_schema; INSERT INTO warden_schema VALUES (" +
                          std::to_string(version + 1) + ")");
    }
    if (applied.ok()) {
      applied = tx.Commit();
    }
    if (!applied.ok()) {
      return applied.error().WithContext(context);
    }
  }
}

}  // namespace warden::jobs::pg
