// SqliteStore: opening, submitting, reading and claiming jobs. Events and finishing are in
// sqlite_store_events.cc; recovery, retention and sessions in sqlite_store_sessions.cc.
#include "jobs/sqlite_store.h"

#include <filesystem>

#include "jobs/db_files.h"
#include "jobs/sqlite_store_impl.h"

namespace warden::jobs {
namespace {

using sqlite::Connection;
using sqlite::InsertStateEvent;
using sqlite::JobSql;
using sqlite::LoadJob;
using sqlite::Statement;

// A clear error before SQLite's "unable to open database file".
Status CheckDirectory(const std::string& path) {
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  if (dir.empty()) {
    dir = ".";
  }
  std::error_code ec;
  std::filesystem::file_status status = std::filesystem::status(dir, ec);
  if (!std::filesystem::exists(status)) {
    return Error(ErrorCode::kNotFound, "directory " + dir.string() + " does not exist");
  }
  if (!std::filesystem::is_directory(status)) {
    return Error(ErrorCode::kFailedPrecondition, dir.string() + " is not a directory");
  }
  return OkStatus();
}

// One page of List, read with `conn`.
Result<JobPage> ListOn(Connection& conn, const JobFilter& filter, const PageRequest& page) {
  RETURN_IF_ERROR(CheckPageLimit(page.limit));
  if (!page.cursor.empty() && !IsValidId(page.cursor, kJobIdPrefix)) {
    return Error(ErrorCode::kInvalidArgument, "cursor " + page.cursor + " is not a job id");
  }
  // SQLite's LIKE ignores the case of ASCII letters.
  std::string sql = JobSql("SELECT ", " FROM jobs WHERE 1");
  std::vector<ListCondition> conditions =
      ListConditions(filter, page,
                     "(coalesce(json_extract(input, '$.task'), '') || ' ' || "
                     "coalesce(json_extract(input, '$.steps'), '')) LIKE ? ESCAPE '\\'");
  for (size_t i = 0; i < conditions.size(); ++i) {
    std::string& condition = conditions[i].sql;
    condition.replace(condition.find('?'), 1, "?" + std::to_string(i + 1));
    sql += " AND " + condition;
  }
  sql += " ORDER BY id DESC LIMIT ?" + std::to_string(conditions.size() + 1);

  ASSIGN_OR_RETURN(Statement stmt, conn.Prepare(sql));
  for (size_t i = 0; i < conditions.size(); ++i) {
    stmt.BindText(static_cast<int>(i + 1), conditions[i].value);
  }
  // One row more than asked tells whether another page follows.
  stmt.BindInt(static_cast<int>(conditions.size() + 1), page.limit + 1);
  JobPage result;
  ASSIGN_OR_RETURN(result.jobs, sqlite::ReadJobs(stmt));
  if (static_cast<int>(result.jobs.size()) > page.limit) {
    result.jobs.pop_back();
    result.next_cursor = result.jobs.back().id;
  }
  return result;
}

}  // namespace

SqliteStore::SqliteStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SqliteStore::~SqliteStore() = default;

int64_t SqliteStore::LatestSchemaVersion() {
  return static_cast<int64_t>(sqlite::JobStoreMigrations().size());
}

Result<std::unique_ptr<SqliteStore>> SqliteStore::Open(SqliteStoreOptions options) {
  if (options.path.empty() || options.read_connections < 1 || options.store.max_queued < 0) {
    return Error(ErrorCode::kInvalidArgument,
                 "job database: a path, at least one read connection and max_queued >= 0 are "
                 "required");
  }
  if (!options.store.clock) {
    options.store.clock = SystemClockMs;
  }
  const std::string context = "opening job database " + options.path;
  auto opened = [&]() -> Result<std::unique_ptr<SqliteStore>> {
    RETURN_IF_ERROR(CheckDirectory(options.path));
    RETURN_IF_ERROR(MakeDatabaseFilesPrivate(options.path));
    ASSIGN_OR_RETURN(Connection writer, Connection::Open(options.path));
    // WAL: readers never block the writer nor it them. FULL: each commit is fsynced, so a job
    // accepted is a job kept, through a crash of the process or of the machine.
    ASSIGN_OR_RETURN(std::string mode, writer.QueryText("PRAGMA journal_mode = WAL"));
    if (mode != "wal") {
      return Error(ErrorCode::kFailedPrecondition,
                   "cannot use write-ahead logging (journal_mode is " + mode + ")");
    }
    RETURN_IF_ERROR(writer.Exec("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;"));
    RETURN_IF_ERROR(sqlite::Migrate(writer, sqlite::JobStoreMigrations()));
    std::vector<Connection> readers;
    for (int i = 0; i < options.read_connections; ++i) {
      ASSIGN_OR_RETURN(Connection reader, Connection::Open(options.path));
      RETURN_IF_ERROR(reader.Exec("PRAGMA query_only = ON"));
      readers.push_back(std::move(reader));
    }
    auto impl = std::make_unique<Impl>(std::move(options), std::move(readers), std::move(writer));
    return std::unique_ptr<SqliteStore>(new SqliteStore(std::move(impl)));
  }();
  if (!opened.ok()) {
    return opened.error().WithContext(context);
  }
  return opened;
}

Result<Job> SqliteStore::Create(NewJob new_job) {
  Job job = QueuedJob(std::move(new_job));
  Status written =
      impl_->Write([&](sqlite::WriteContext& ctx) -> Status { return impl_->InsertNew(ctx, job); });
  RETURN_IF_ERROR(written);
  return job;
}

Result<Job> SqliteStore::Get(std::string_view id, std::string_view owner) {
  auto reader = impl_->readers().Acquire();
  return LoadJob(reader.conn(), id, owner);
}

// A reader is taken only when one is free. WAL readers take no lock that a writer holds, so what
// may remain is reading pages that the kernel does not have in memory.
std::optional<Result<Job>> SqliteStore::TryGet(std::string_view id, std::string_view owner) {
  std::optional<sqlite::ConnectionPool::Lease> reader = impl_->readers().TryAcquire();
  if (!reader) {
    return std::nullopt;
  }
  return LoadJob(reader->conn(), id, owner);
}

Result<JobPage> SqliteStore::List(const JobFilter& filter, const PageRequest& page) {
  auto reader = impl_->readers().Acquire();
  return ListOn(reader.conn(), filter, page);
}

std::optional<Result<JobPage>> SqliteStore::TryList(const JobFilter& filter,
                                                    const PageRequest& page) {
  std::optional<sqlite::ConnectionPool::Lease> reader = impl_->readers().TryAcquire();
  if (!reader) {
    return std::nullopt;
  }
  return ListOn(reader->conn(), filter, page);
}

Result<std::map<JobState, int64_t>> SqliteStore::CountByState(std::string_view owner) {
  std::map<JobState, int64_t> counts;
  for (JobState state : kAllJobStates) {
    counts[state] = 0;
  }
  auto reader = impl_->readers().Acquire();
  ASSIGN_OR_RETURN(Statement stmt, reader.conn().Prepare(
                                       owner.empty() ? "SELECT state, count(*) FROM jobs GROUP BY "
                                                       "state"
                                                     : "SELECT state, count(*) FROM jobs WHERE "
                                                       "owner = ?1 GROUP BY state"));
  if (!owner.empty()) {
    stmt.BindText(1, owner);
  }
  while (true) {
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) {
      return counts;
    }
    std::optional<JobState> state = ParseJobState(stmt.Text(0));
    if (!state) {
      return Error(ErrorCode::kDataLoss, "a job has the unknown state " + stmt.Text(0));
    }
    counts[*state] = stmt.Int(1);
  }
}

namespace {

// Fair share in a few index seeks (jobs_by_state_owner), however long the queue: walk the owners
// that have queued jobs (a loose index scan: each step seeks the next owner), take each one's
// oldest queued job and its running count, and claim the job of the owner with the fewest
// running, the oldest on a tie. ?3: the most an owner other than the operator ('') may run, or 0.
constexpr const char* kClaimSql = R"sql(
UPDATE jobs SET state = 'running', started_at_ms = ?1, worker = ?2, attempt = attempt + 1,
    lease_expires_at_ms = ?4 WHERE id = (
  WITH RECURSIVE owners(owner) AS (
    SELECT (SELECT min(owner) FROM jobs WHERE state = 'queued')
    UNION ALL
    SELECT (SELECT min(j.owner) FROM jobs j WHERE j.state = 'queued' AND j.owner > owners.owner)
      FROM owners WHERE owners.owner IS NOT NULL),
  heads(owner, oldest, running) AS (
    SELECT owner,
           (SELECT min(q.id) FROM jobs q WHERE q.state = 'queued' AND q.owner = owners.owner),
           (SELECT count(*) FROM jobs r WHERE r.state = 'running' AND r.owner = owners.owner)
      FROM owners WHERE owners.owner IS NOT NULL)
  SELECT oldest FROM heads WHERE ?3 = 0 OR owner = '' OR running < ?3
    ORDER BY running, oldest LIMIT 1)
RETURNING id)sql";

}  // namespace

Result<std::optional<Job>> SqliteStore::ClaimNext(std::string_view worker) {
  if (worker.empty()) {
    return Error(ErrorCode::kInvalidArgument, "a worker name is required to claim a job");
  }
  // Idle workers poll: answer "nothing queued" from a reader instead of taking the write lock.
  // A job queued just after this look is found by the next poll.
  ASSIGN_OR_RETURN(bool any, WaitForQueued(std::chrono::milliseconds(0)));
  if (!any) {
    return std::optional<Job>();
  }
  std::optional<Job> claimed;
  Status written = impl_->Write([&](sqlite::WriteContext& ctx) -> Status {
    const int64_t now = impl_->Now();
    ASSIGN_OR_RETURN(Statement claim, ctx.conn.Prepare(kClaimSql));
    claim.BindInt(1, now);
    claim.BindText(2, worker);
    claim.BindInt(3, impl_->options().store.max_running_per_owner);
    claim.BindInt(4, now + impl_->options().store.lease.count());
    ASSIGN_OR_RETURN(bool found, claim.Step());
    if (!found) {
      return OkStatus();  // another worker's claim in an earlier batch took the last one
    }
    std::string id = claim.Text(0);
    RETURN_IF_ERROR(InsertStateEvent(ctx.conn, id, now, JobState::kRunning, kReasonClaimed,
                                     {{"worker", worker}}));
    ASSIGN_OR_RETURN(claimed, LoadJob(ctx.conn, id, kAnyOwner));
    impl_->AdjustQueued(ctx, -1);
    return OkStatus();
  });
  RETURN_IF_ERROR(written);
  return claimed;
}

Result<bool> SqliteStore::WaitForQueued(std::chrono::milliseconds timeout) {
  return impl_->WaitUntil(
      [&]() -> Result<bool> {
        auto reader = impl_->readers().Acquire();
        ASSIGN_OR_RETURN(Statement stmt, reader.conn().Prepare("SELECT EXISTS (SELECT 1 FROM jobs "
                                                               "WHERE state = 'queued')"));
        ASSIGN_OR_RETURN(bool row, stmt.Step());
        return row && stmt.Int(0) != 0;
      },
      timeout);
}

}  // namespace warden::jobs
