// PgStore: opening, submitting, reading and claiming jobs. Events and finishing are in
// pg_store_events.cc; recovery, retention and sessions in pg_store_sessions.cc.
#include "jobs/pg_store.h"

#include "jobs/pg_schema.h"
#include "jobs/pg_store_impl.h"

namespace warden::jobs {
namespace {

using pg::Connection;
using pg::Rows;

// Advisory lock keys (pg_advisory_xact_lock): one for the whole queue, one per owner (hashed).
constexpr int64_t kQueueLockKey = 7283957463022;

// Fair share in a few index seeks (jobs_by_state_owner), however long the queue: walk the owners
// that have queued jobs (a loose index scan), count each one's running jobs, and take the oldest
// queued job of the owner with the fewest, the older on a tie. FOR UPDATE SKIP LOCKED: a job
// another claimer has locked is passed over, for that owner's next one. $1: the most an owner other
// than the operator ('') may run, or 0.
constexpr std::string_view kPickSql = R"sql(
WITH RECURSIVE owners(owner) AS (
  (SELECT owner FROM jobs WHERE state = 'queued' ORDER BY owner LIMIT 1)
  UNION ALL
  SELECT (SELECT j.owner FROM jobs j WHERE j.state = 'queued' AND j.owner > o.owner
            ORDER BY j.owner LIMIT 1)
    FROM owners o WHERE o.owner IS NOT NULL),
heads AS (
  SELECT o.owner,
         (SELECT count(*) FROM jobs r WHERE r.state = 'running' AND r.owner = o.owner) AS running
    FROM owners o WHERE o.owner IS NOT NULL)
SELECT q.id, h.owner FROM heads h CROSS JOIN LATERAL (
    SELECT id FROM jobs q WHERE q.state = 'queued' AND q.owner = h.owner ORDER BY q.id LIMIT 1
      FOR UPDATE SKIP LOCKED) q
  WHERE $1 = 0 OR h.owner = '' OR h.running < $1
  ORDER BY h.running, q.id LIMIT 1)sql";

Status LockOwner(Connection& conn, std::string_view owner) {
  return conn.Run("SELECT pg_advisory_xact_lock(hashtextextended($1, 7283957463023))", {owner});
}

Result<int64_t> Count(Connection& conn, std::string_view state, std::string_view owner) {
  ASSIGN_OR_RETURN(Rows rows,
                   owner.empty() ? conn.Query("SELECT count(*) FROM jobs WHERE state = $1", {state})
                                 : conn.Query("SELECT count(*) FROM jobs WHERE state = $1 AND "
                                              "owner = $2",
                                              {state, owner}));
  return rows.Int(0, 0);
}

// Refuses one job too many in the queue. The counts are exact across nodes: the caller holds the
// queue's lock (or the owner's, when only the owner is bounded) until it commits.
Status CheckQueueRoom(Connection& conn, const StoreOptions& options, const Job& job) {
  const bool owner_bounded = options.max_queued_per_owner > 0 && job.owner != kAnyOwner;
  if (options.max_queued > 0) {
    RETURN_IF_ERROR(conn.Run("SELECT pg_advisory_xact_lock($1)", {kQueueLockKey}));
    ASSIGN_OR_RETURN(int64_t queued, Count(conn, "queued", ""));
    if (queued >= options.max_queued) {
      return pg::QueueFull(queued);
    }
  } else if (owner_bounded) {
    RETURN_IF_ERROR(LockOwner(conn, job.owner));
  }
  if (owner_bounded) {
    ASSIGN_OR_RETURN(int64_t queued, Count(conn, "queued", job.owner));
    if (queued >= options.max_queued_per_owner) {
      return pg::OwnerQueueFull(queued);
    }
  }
  return OkStatus();
}

}  // namespace

PgStore::PgStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PgStore::~PgStore() = default;

int64_t PgStore::LatestSchemaVersion() {
  return static_cast<int64_t>(pg::JobStoreMigrations().size());
}

Result<std::unique_ptr<PgStore>> PgStore::Open(PgStoreOptions options) {
  if (options.url.empty() || options.connections < 1 || options.store.max_queued < 0) {
    return Error(ErrorCode::kInvalidArgument,
                 "job store: a PostgreSQL URL, at least one connection and max_queued >= 0 are "
                 "required");
  }
  if (!options.store.clock) {
    options.store.clock = SystemClockMs;
  }
  {
    ASSIGN_OR_RETURN(Connection conn, Connection::Open(options.url));
    RETURN_IF_ERROR(pg::Migrate(conn, pg::JobStoreMigrations()));
  }
  return std::unique_ptr<PgStore>(new PgStore(std::make_unique<Impl>(std::move(options))));
}

Status InsertNewJob(PgStore::Impl& impl, Connection& conn, Job& job, pg::Changes& changes) {
  if (!job.parent_id.empty()) {
    Result<Job> parent = pg::LoadJob(conn, job.parent_id, job.owner);
    if (!parent.ok()) {
      return parent.error().WithContext("retrying");
    }
  }
  if (!job.session_id.empty()) {
    ASSIGN_OR_RETURN(Session session, pg::LoadSession(conn, job.session_id, job.owner));
    job.workspace = session.workspace;
  }
  RETURN_IF_ERROR(CheckQueueRoom(conn, impl.store_options(), job));
  job.created_at_ms = impl.Now();
  job.id = NewId(kJobIdPrefix, job.created_at_ms);
  if (job.session_id.empty()) {
    job.workspace = impl.WorkspaceFor(job.id);
  }
  RETURN_IF_ERROR(pg::InsertJob(conn, job));
  ASSIGN_OR_RETURN(job.last_event_seq, pg::InsertStateEvent(conn, job.id, job.created_at_ms,
                                                            JobState::kQueued, kReasonSubmitted));
  changes.queued = true;
  return OkStatus();
}

Result<Job> PgStore::Create(NewJob new_job) {
  Job job = QueuedJob(std::move(new_job));
  if (job.parent_id.empty() && job.session_id.empty()) {
    // Nothing to look up first: written with whatever other submissions wait, in one commit.
    RETURN_IF_ERROR(impl_->batcher().Create(job));
    return job;
  }
  Status written = impl_->Write([&](Connection& conn, pg::Changes& changes) {
    return InsertNewJob(*impl_, conn, job, changes);
  });
  RETURN_IF_ERROR(written);
  return job;
}

Result<Job> PgStore::Get(std::string_view id, std::string_view owner) {
  return impl_->Read<Job>([&](Connection& conn) { return pg::LoadJob(conn, id, owner); });
}

Result<JobPage> PgStore::List(const JobFilter& filter, const PageRequest& page) {
  RETURN_IF_ERROR(CheckPageLimit(page.limit));
  if (!page.cursor.empty() && !IsValidId(page.cursor, kJobIdPrefix)) {
    return Error(ErrorCode::kInvalidArgument, "cursor " + page.cursor + " is not a job id");
  }
  std::string sql = pg::JobSql("SELECT ", " FROM jobs WHERE true");
  // ILIKE: the case of ASCII letters is ignored, as SQLite's LIKE does.
  std::vector<ListCondition> conditions = ListConditions(
      filter, page,
      "(coalesce(input::jsonb ->> 'task', '') || ' ' || coalesce(input::jsonb ->> 'steps', '')) "
      "ILIKE ? ESCAPE '\\'");
  std::vector<pg::Param> values;
  for (ListCondition& condition : conditions) {
    values.emplace_back(condition.value);
    std::string placeholder = "$" + std::to_string(values.size());
    condition.sql.replace(condition.sql.find('?'), 1, placeholder);
    sql += " AND " + condition.sql;
  }
  // One row more than asked tells whether another page follows.
  values.emplace_back(int64_t{page.limit} + 1);
  sql += " ORDER BY id DESC LIMIT $" + std::to_string(values.size());
  return impl_->Read<JobPage>([&](Connection& conn) -> Result<JobPage> {
    ASSIGN_OR_RETURN(Rows rows, conn.Query(sql, values));
    JobPage result;
    ASSIGN_OR_RETURN(result.jobs, pg::ReadJobs(rows));
    if (static_cast<int>(result.jobs.size()) > page.limit) {
      result.jobs.pop_back();
      result.next_cursor = result.jobs.back().id;
    }
    return result;
  });
}

Result<std::map<JobState, int64_t>> PgStore::CountByState(std::string_view owner) {
  using Counts = std::map<JobState, int64_t>;
  return impl_->Read<Counts>([&](Connection& conn) -> Result<Counts> {
    Counts counts;
    for (JobState state : kAllJobStates) {
      counts[state] = 0;
    }
    ASSIGN_OR_RETURN(Rows rows, conn.Query("SELECT state, count(*) FROM jobs WHERE ($1 = '' OR "
                                           "owner = $1) GROUP BY state",
                                           {owner}));
    for (int i = 0; i < rows.size(); ++i) {
      std::optional<JobState> state = ParseJobState(rows.Text(i, 0));
      if (!state) {
        return Error(ErrorCode::kDataLoss, "a job has the unknown state " + rows.Text(i, 0));
      }
      counts[*state] = rows.Int(i, 1);
    }
    return counts;
  });
}

Result<std::optional<Job>> PgStore::ClaimNext(std::string_view worker) {
  if (worker.empty()) {
    return Error(ErrorCode::kInvalidArgument, "a worker name is required to claim a job");
  }
  const int64_t cap = impl_->store_options().max_running_per_owner;
  std::optional<Job> claimed;
  Status written = impl_->Write([&](Connection& conn, pg::Changes& changes) -> Status {
    claimed.reset();
    ASSIGN_OR_RETURN(Rows picked, conn.Query(kPickSql, {cap}));
    if (picked.empty()) {
      return OkStatus();
    }
    const std::string id = picked.Text(0, 0);
    const std::string owner = picked.Text(0, 1);
    if (cap > 0 && owner != kAnyOwner) {
      // Claims of one owner on several nodes take turns here, each counting what the one before
      // committed, so that none goes past the bound.
      RETURN_IF_ERROR(LockOwner(conn, owner));
      ASSIGN_OR_RETURN(int64_t running, Count(conn, "running", owner));
      if (running >= cap) {
        return OkStatus();  // a claim elsewhere took the last place; the next poll finds another
      }
    }
    const int64_t now = impl_->Now();
    RETURN_IF_ERROR(
        conn.Run("UPDATE jobs SET state = 'running', started_at_ms = $2, worker = $3, "
                 "attempt = attempt + 1, lease_expires_at_ms = $4 WHERE id = $1",
                 {id, now, worker, now + impl_->store_options().lease.count()}));
    RETURN_IF_ERROR(pg::InsertStateEvent(conn, id, now, JobState::kRunning, kReasonClaimed,
                                         {{"worker", worker}}));
    ASSIGN_OR_RETURN(claimed, pg::LoadJob(conn, id, kAnyOwner));
    changes.events = true;
    return OkStatus();
  });
  RETURN_IF_ERROR(written);
  return claimed;
}

Result<bool> PgStore::WaitForQueued(std::chrono::milliseconds timeout) {
  return impl_->notifier().WaitUntil(
      [&]() -> Result<bool> {
        return impl_->Read<bool>([](Connection& conn) -> Result<bool> {
          ASSIGN_OR_RETURN(Rows rows,
                           conn.Query("SELECT EXISTS (SELECT 1 FROM jobs WHERE state = 'queued')"));
          return rows.Bool(0, 0);
        });
      },
      timeout);
}

}  // namespace warden::jobs
