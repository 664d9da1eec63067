#include "jobs/sqlite_store.h"

#include <condition_variable>
#include <filesystem>
#include <mutex>

#include "base/log.h"
#include "jobs/db_files.h"
#include "jobs/sqlite.h"
#include "jobs/sqlite_rows.h"

namespace warden::jobs {
namespace {

using sqlite::AlreadyFinished;
using sqlite::Connection;
using sqlite::EndJob;
using sqlite::InsertEvent;
using sqlite::InsertStateEvent;
using sqlite::JobNotFound;
using sqlite::JobSql;
using sqlite::LoadJob;
using sqlite::LoadSession;
using sqlite::LoadState;
using sqlite::ParseEventData;
using sqlite::Statement;

constexpr std::string_view kRestartSummary =
    "the server stopped while the job was running; its events up to then are kept";

Status CheckLimit(int limit) {
  if (limit < 1 || limit > kMaxPageLimit) {
    return Error(ErrorCode::kInvalidArgument, "limit must be between 1 and " +
                                                  std::to_string(kMaxPageLimit) + ", not " +
                                                  std::to_string(limit));
  }
  return OkStatus();
}

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

}  // namespace

// ---------------------------------------------------------------------------------------------

class SqliteStore::Impl {
 public:
  Impl(SqliteStoreOptions options, std::vector<Connection> readers, Connection writer)
      : options_(std::move(options)),
        readers_(std::move(readers)),
        writer_(std::move(writer), [this] { OnCommit(); }) {}

  ~Impl() {
    {
      std::lock_guard lock(commit_mu_);
      closing_ = true;
    }
    commit_cv_.notify_all();
  }

  const SqliteStoreOptions& options() const { return options_; }
  int64_t Now() const { return options_.store.clock(); }
  sqlite::ConnectionPool& readers() { return readers_; }
  // Runs `op` in the writer's next batch; returns once that batch is durable (or failed).
  Status Write(const sqlite::WriteOp& op) { return writer_.Run(op); }

  std::string WorkspaceFor(const std::string& id) const {
    const std::string& root = options_.store.workspace_root;
    if (root.empty()) {
      return "";
    }
    return root.back() == '/' ? root + id : root + "/" + id;
  }

  // Calls `check` (a read) until it returns true, waking after each commit; false at the deadline.
  Result<bool> WaitUntil(const std::function<Result<bool>()>& check,
                         std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      uint64_t generation = 0;
      {
        std::lock_guard lock(commit_mu_);
        if (closing_) {
          return Error(ErrorCode::kUnavailable, "the job store is closing");
        }
        generation = commit_generation_;
      }
      // A commit after reading the generation wakes the wait below, so none is missed.
      ASSIGN_OR_RETURN(bool done, check());
      if (done) {
        return true;
      }
      std::unique_lock lock(commit_mu_);
      if (!commit_cv_.wait_until(lock, deadline,
                                 [&] { return commit_generation_ != generation || closing_; })) {
        return false;
      }
    }
  }

  // Refuses a job whose parent or session is missing (or another owner's), or one too many in the
  // queue. A session job gets the session's workspace.
  Status CheckNewJob(const sqlite::WriteContext& ctx, Job& job) {
    if (!job.parent_id.empty()) {
      Result<Job> parent = LoadJob(ctx.conn, job.parent_id, job.owner);
      if (!parent.ok()) {
        return parent.error().WithContext("retrying");
      }
    }
    if (!job.session_id.empty()) {
      ASSIGN_OR_RETURN(Session session, LoadSession(ctx.conn, job.session_id, job.owner));
      job.workspace = session.workspace;
    }
    if (options_.store.max_queued > 0) {
      ASSIGN_OR_RETURN(int64_t queued, QueuedCount(ctx));
      if (queued >= options_.store.max_queued) {
        return Error(ErrorCode::kResourceExhausted,
                     std::to_string(queued) +
                         " jobs are queued, the most this server accepts "
                         "(max_queued); try again later");
      }
    }
    if (options_.store.max_queued_per_owner > 0 && job.owner != kAnyOwner) {
      ASSIGN_OR_RETURN(Statement count,
                       ctx.conn.Prepare("SELECT count(*) FROM jobs WHERE state = 'queued' AND "
                                        "owner = ?1"));
      count.BindText(1, job.owner);
      ASSIGN_OR_RETURN(bool row, count.Step());
      int64_t queued = row ? count.Int(0) : 0;
      if (queued >= options_.store.max_queued_per_owner) {
        return Error(ErrorCode::kResourceExhausted,
                     std::to_string(queued) +
                         " of your jobs are queued, the most this server accepts from one key "
                         "(max_queued_per_key); wait for some to start, then try again");
      }
    }
    return OkStatus();
  }

  // Jobs queued at this point of the batch. Counted once, then kept current by the ops that queue
  // and unqueue jobs (only this process writes the database), and counted again whenever work was
  // undone since: so a submission costs no scan of the queue. Writer thread only.
  Result<int64_t> QueuedCount(const sqlite::WriteContext& ctx) {
    if (!QueuedCountValid(ctx)) {
      ASSIGN_OR_RETURN(queued_count_,
                       ctx.conn.QueryInt("SELECT count(*) FROM jobs WHERE state = 'queued'"));
      queued_count_known_ = true;
      queued_count_undone_ = *ctx.undone;
    }
    return queued_count_;
  }
  // Ops call this after the last step that can fail: a failed op must leave the count alone.
  void AdjustQueued(const sqlite::WriteContext& ctx, int64_t delta) {
    if (QueuedCountValid(ctx)) {
      queued_count_ += delta;
    }
  }

 private:
  void OnCommit() {
    {
      std::lock_guard lock(commit_mu_);
      ++commit_generation_;
    }
    commit_cv_.notify_all();
  }

  SqliteStoreOptions options_;
  sqlite::ConnectionPool readers_;
  std::mutex commit_mu_;
  std::condition_variable commit_cv_;
  uint64_t commit_generation_ = 0;
  bool closing_ = false;
  bool QueuedCountValid(const sqlite::WriteContext& ctx) {
    queued_count_known_ = queued_count_known_ && queued_count_undone_ == *ctx.undone;
    return queued_count_known_;
  }

  bool queued_count_known_ = false;
  uint64_t queued_count_undone_ = 0;
  int64_t queued_count_ = 0;
  // Last: its thread stops (after draining its queue) before the members it calls back into go.
  sqlite::WriteQueue writer_;
};

// ---------------------------------------------------------------------------------------------

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
  Job job;
  job.owner = std::move(new_job.owner);
  job.kind = new_job.kind;
  job.input = std::move(new_job.input);
  job.parent_id = std::move(new_job.parent_id);
  job.session_id = std::move(new_job.session_id);
  job.requeue_on_crash = new_job.requeue_on_crash;
  Status written = impl_->Write([&](sqlite::WriteContext& ctx) -> Status {
    RETURN_IF_ERROR(impl_->CheckNewJob(ctx, job));
    // The id is made here, on the writer's thread, so ids also sort in commit order.
    job.created_at_ms = impl_->Now();
    job.id = NewId(kJobIdPrefix, job.created_at_ms);
    if (job.session_id.empty()) {
      job.workspace = impl_->WorkspaceFor(job.id);
    }
    RETURN_IF_ERROR(sqlite::InsertJob(ctx.conn, job));
    ASSIGN_OR_RETURN(job.last_event_seq, InsertStateEvent(ctx.conn, job.id, job.created_at_ms,
                                                          JobState::kQueued, kReasonSubmitted));
    impl_->AdjustQueued(ctx, +1);
    return OkStatus();
  });
  RETURN_IF_ERROR(written);
  return job;
}

Result<Job> SqliteStore::Get(std::string_view id, std::string_view owner) {
  auto reader = impl_->readers().Acquire();
  return LoadJob(reader.conn(), id, owner);
}

Result<JobPage> SqliteStore::List(const JobFilter& filter, const PageRequest& page) {
  RETURN_IF_ERROR(CheckLimit(page.limit));
  if (!page.cursor.empty() && !IsValidId(page.cursor, kJobIdPrefix)) {
    return Error(ErrorCode::kInvalidArgument, "cursor " + page.cursor + " is not a job id");
  }
  // One statement per combination of filters, so each can use its index (an "x = ? OR ? = ''"
  // would defeat them). Values are always bound, never pasted.
  std::string sql = JobSql("SELECT ", " FROM jobs WHERE 1");
  std::vector<std::string_view> values;
  auto add = [&](std::string_view condition, std::string_view value) {
    values.push_back(value);
    sql += " AND " + std::string(condition) + " ?" + std::to_string(values.size());
  };
  if (filter.state) {
    add("state =", JobStateName(*filter.state));
  }
  if (!filter.owner.empty()) {
    add("owner =", filter.owner);
  }
  if (!filter.session_id.empty()) {
    add("session_id =", filter.session_id);
  }
  if (!page.cursor.empty()) {
    add("id <", page.cursor);
  }
  sql += " ORDER BY id DESC LIMIT ?" + std::to_string(values.size() + 1);

  auto reader = impl_->readers().Acquire();
  ASSIGN_OR_RETURN(Statement stmt, reader.conn().Prepare(sql));
  for (size_t i = 0; i < values.size(); ++i) {
    stmt.BindText(static_cast<int>(i + 1), values[i]);
  }
  // One row more than asked tells whether another page follows.
  stmt.BindInt(static_cast<int>(values.size() + 1), page.limit + 1);
  JobPage result;
  ASSIGN_OR_RETURN(result.jobs, sqlite::ReadJobs(stmt));
  if (static_cast<int>(result.jobs.size()) > page.limit) {
    result.jobs.pop_back();
    result.next_cursor = result.jobs.back().id;
  }
  return result;
}

Result<std::map<JobState, int64_t>> SqliteStore::CountByState() {
  std::map<JobState, int64_t> counts;
  for (JobState state : kAllJobStates) {
    counts[state] = 0;
  }
  auto reader = impl_->readers().Acquire();
  ASSIGN_OR_RETURN(Statement stmt,
                   reader.conn().Prepare("SELECT state, count(*) FROM jobs GROUP BY state"));
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
UPDATE jobs SET state = 'running', started_at_ms = ?1, worker = ?2 WHERE id = (
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
  RETURN_IF_ERROR(CheckLimit(query.limit));
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
    if (!was_queued && !request.worker.empty() && request.worker != job.worker) {
      return Error(ErrorCode::kFailedPrecondition,
                   "job " + job.id + " runs on worker " + job.worker + ", not " + request.worker);
    }
    RETURN_IF_ERROR(EndJob(ctx.conn, impl_->Now(), job, request.state, request.reason,
                           request.summary, request.result));
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

Result<RecoveryCounts> SqliteStore::RecoverAfterCrash() {
  RecoveryCounts counts;
  Status written = impl_->Write([&](sqlite::WriteContext& ctx) -> Status {
    counts = RecoveryCounts{};
    const int64_t now = impl_->Now();
    // Read them all first: the updates below change the rows this query walks.
    std::vector<Job> running;
    {
      ASSIGN_OR_RETURN(Statement stmt,
                       ctx.conn.Prepare(JobSql("SELECT ", " FROM jobs WHERE state = 'running'")));
      ASSIGN_OR_RETURN(running, sqlite::ReadJobs(stmt));
    }
    for (Job& job : running) {
      if (job.cancel_requested) {
        RETURN_IF_ERROR(EndJob(ctx.conn, now, job, JobState::kCancelled,
                               std::string(kReasonCancelled),
                               "cancelled: " + std::string(kRestartSummary), {}));
        ++counts.cancelled;
      } else if (job.requeue_on_crash) {
        ASSIGN_OR_RETURN(Statement requeue,
                         ctx.conn.Prepare("UPDATE jobs SET state = 'queued', started_at_ms = "
                                          "NULL, worker = '' WHERE id = ?1"));
        requeue.BindText(1, job.id);
        RETURN_IF_ERROR(requeue.Run());
        RETURN_IF_ERROR(
            InsertStateEvent(ctx.conn, job.id, now, JobState::kQueued, kReasonServerRestart));
        ++counts.requeued;
      } else {
        RETURN_IF_ERROR(EndJob(ctx.conn, now, job, JobState::kFailed,
                               std::string(kReasonServerRestart), std::string(kRestartSummary),
                               job.result));
        ++counts.failed;
      }
    }
    impl_->AdjustQueued(ctx, counts.requeued);
    return OkStatus();
  });
  RETURN_IF_ERROR(written);
  if (counts.failed + counts.requeued + counts.cancelled > 0) {
    LOG_WARN(
        "job store: after a restart, {} running jobs failed, {} were queued again, {} ended "
        "cancelled",
        counts.failed, counts.requeued, counts.cancelled);
  }
  return counts;
}

Result<std::vector<DeletedJob>> SqliteStore::DeleteFinishedBefore(int64_t cutoff_ms, int limit) {
  RETURN_IF_ERROR(CheckLimit(limit));
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
      // Explicitly, though the foreign key cascades: correct whatever the foreign_keys setting.
      for (std::string_view sql :
           {"DELETE FROM events WHERE job_id = ?1", "DELETE FROM jobs WHERE id = ?1"}) {
        ASSIGN_OR_RETURN(Statement stmt, ctx.conn.Prepare(sql));
        stmt.BindText(1, job.id);
        RETURN_IF_ERROR(stmt.Run());
      }
    }
    return OkStatus();
  });
  RETURN_IF_ERROR(written);
  return deleted;
}

Result<std::vector<DeletedSession>> SqliteStore::DeleteSessionsIdleBefore(int64_t cutoff_ms,
                                                                          int limit) {
  RETURN_IF_ERROR(CheckLimit(limit));
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
    ASSIGN_OR_RETURN(Statement next, ctx.conn.Prepare("SELECT coalesce(max(seq), 0) + 1 FROM "
                                                      "session_turns WHERE session_id = ?1"));
    next.BindText(1, session_id);
    ASSIGN_OR_RETURN(bool row, next.Step());
    turn = SessionTurn{row ? next.Int(0) : 1, job.id, message, impl_->Now()};
    ASSIGN_OR_RETURN(Statement insert,
                     ctx.conn.Prepare("INSERT INTO session_turns (session_id, seq, job_id, "
                                      "message, created_at_ms) VALUES (?1, ?2, ?3, ?4, ?5)"));
    insert.BindText(1, session_id);
    insert.BindInt(2, turn.seq);
    insert.BindText(3, turn.job_id);
    insert.BindText(4, turn.message);
    insert.BindInt(5, turn.created_at_ms);
    return insert.Run();
  });
  RETURN_IF_ERROR(written);
  return turn;
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

}  // namespace warden::jobs
