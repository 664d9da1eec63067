#include "jobs/sqlite.h"

#include <algorithm>
#include <chrono>
#include <string>

#include <sqlite3.h>

namespace warden::jobs::sqlite {
namespace {

constexpr int kBusyTimeoutMs = 5000;

std::string_view PrimaryCodeName(int code) {
  switch (code & 0xff) {
    case SQLITE_ERROR:
      return "SQLITE_ERROR";
    case SQLITE_INTERNAL:
      return "SQLITE_INTERNAL";
    case SQLITE_PERM:
      return "SQLITE_PERM";
    case SQLITE_ABORT:
      return "SQLITE_ABORT";
    case SQLITE_BUSY:
      return "SQLITE_BUSY";
    case SQLITE_LOCKED:
      return "SQLITE_LOCKED";
    case SQLITE_NOMEM:
      return "SQLITE_NOMEM";
    case SQLITE_READONLY:
      return "SQLITE_READONLY";
    case SQLITE_INTERRUPT:
      return "SQLITE_INTERRUPT";
    case SQLITE_IOERR:
      return "SQLITE_IOERR";
    case SQLITE_CORRUPT:
      return "SQLITE_CORRUPT";
    case SQLITE_FULL:
      return "SQLITE_FULL";
    case SQLITE_CANTOPEN:
      return "SQLITE_CANTOPEN";
    case SQLITE_PROTOCOL:
      return "SQLITE_PROTOCOL";
    case SQLITE_SCHEMA:
      return "SQLITE_SCHEMA";
    case SQLITE_TOOBIG:
      return "SQLITE_TOOBIG";
    case SQLITE_CONSTRAINT:
      return "SQLITE_CONSTRAINT";
    case SQLITE_MISMATCH:
      return "SQLITE_MISMATCH";
    case SQLITE_MISUSE:
      return "SQLITE_MISUSE";
    case SQLITE_AUTH:
      return "SQLITE_AUTH";
    case SQLITE_RANGE:
      return "SQLITE_RANGE";
    case SQLITE_NOTADB:
      return "SQLITE_NOTADB";
    default:
      return "SQLITE_UNKNOWN";
  }
}

ErrorCode CodeFor(int code) {
  switch (code & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_PROTOCOL:
      return ErrorCode::kUnavailable;
    case SQLITE_FULL:
    case SQLITE_NOMEM:
    case SQLITE_TOOBIG:
      return ErrorCode::kResourceExhausted;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return ErrorCode::kDataLoss;
    case SQLITE_PERM:
    case SQLITE_READONLY:
    case SQLITE_AUTH:
      return ErrorCode::kPermissionDenied;
    case SQLITE_CONSTRAINT:
      return ErrorCode::kFailedPrecondition;
    case SQLITE_INTERRUPT:
      return ErrorCode::kCancelled;
    default:
      // SQLITE_ERROR (bad SQL), SQLITE_MISUSE, SQLITE_RANGE, ...: a bug in this program.
      return ErrorCode::kInternal;
  }
}

// The first line of a statement's SQL, cut short: enough to tell which statement failed.
std::string Abbreviate(const char* sql) {
  std::string_view text(sql != nullptr ? sql : "");
  size_t start = text.find_first_not_of(" \n");
  if (start == std::string_view::npos) {
    return "";
  }
  text.remove_prefix(start);
  return std::string(text.substr(0, std::min(text.find('\n'), size_t{60})));
}

}  // namespace

Error SqliteError(int code, std::string_view what, sqlite3* db) {
  std::string message(what);
  message += ": ";
  // The connection's message is more precise ("no such table: jobs"), but only describes its most
  // recent failure, which is this one only if the codes agree.
  bool db_knows = db != nullptr && sqlite3_extended_errcode(db) == code;
  message += db_knows ? sqlite3_errmsg(db) : sqlite3_errstr(code);
  message += " (";
  message += PrimaryCodeName(code);
  message += ")";
  int sys_errno = 0;
  if (db_knows && ((code & 0xff) == SQLITE_IOERR || (code & 0xff) == SQLITE_CANTOPEN)) {
    sys_errno = sqlite3_system_errno(db);
    if (sys_errno != 0) {
      message += ": " + ErrnoDescription(sys_errno);
    }
  }
  return Error(CodeFor(code), std::move(message), sys_errno);
}

// --- Statement ---

Statement::Statement(Statement&& other) noexcept
    : stmt_(std::exchange(other.stmt_, nullptr)), db_(other.db_), bind_error_(other.bind_error_) {}

Statement::~Statement() {
  if (stmt_ != nullptr) {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
}

void Statement::BindInt(int index, int64_t value) {
  int rc = sqlite3_bind_int64(stmt_, index, value);
  if (rc != SQLITE_OK && bind_error_ == 0) {
    bind_error_ = rc;
  }
}

void Statement::BindText(int index, std::string_view text) {
  // SQLITE_TRANSIENT copies: the caller's buffer may be a temporary gone before Step.
  int rc =
      sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  if (rc != SQLITE_OK && bind_error_ == 0) {
    bind_error_ = rc;
  }
}

void Statement::BindNull(int index) {
  int rc = sqlite3_bind_null(stmt_, index);
  if (rc != SQLITE_OK && bind_error_ == 0) {
    bind_error_ = rc;
  }
}

void Statement::BindTextOrNull(int index, std::string_view text) {
  if (text.empty()) {
    BindNull(index);
  } else {
    BindText(index, text);
  }
}

Error Statement::StepError(int code) const {
  return SqliteError(code, Abbreviate(sqlite3_sql(stmt_)), db_);
}

Result<bool> Statement::Step() {
  if (bind_error_ != 0) {
    return SqliteError(bind_error_, "binding " + Abbreviate(sqlite3_sql(stmt_)));
  }
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) {
    return true;
  }
  if (rc == SQLITE_DONE) {
    return false;
  }
  return StepError(rc);
}

Status Statement::Run() {
  while (true) {
    ASSIGN_OR_RETURN(bool row, Step());
    if (!row) {
      return OkStatus();
    }
  }
}

int64_t Statement::Int(int column) const {
  return sqlite3_column_int64(stmt_, column);
}

std::string Statement::Text(int column) const {
  const unsigned char* text = sqlite3_column_text(stmt_, column);
  if (text == nullptr) {
    return "";
  }
  return std::string(reinterpret_cast<const char*>(text),
                     static_cast<size_t>(sqlite3_column_bytes(stmt_, column)));
}

bool Statement::IsNull(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

// --- Connection ---

Result<Connection> Connection::Open(const std::string& path) {
  sqlite3* db = nullptr;
  // NOMUTEX: each connection is used by one thread at a time, so SQLite's own locking is waste.
  int flags =
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    Error error = SqliteError(rc, "sqlite3_open(" + path + ")", db);
    sqlite3_close_v2(db);  // a handle is returned even on failure
    if ((rc & 0xff) == SQLITE_CANTOPEN) {
      // SQLite retries read-only after a failed read-write open, so the errno it reports (often
      // ENOENT) is from the retry, not the reason.
      return Error(error.code(),
                   error.message() +
                       "; the file must be creatable and writable: is its "
                       "directory writable, on a writable file system?",
                   error.sys_errno());
    }
    return error;
  }
  sqlite3_busy_timeout(db, kBusyTimeoutMs);
  return Connection(db, path);
}

Connection::Connection(Connection&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)),
      path_(std::move(other.path_)),
      statements_(std::move(other.statements_)) {}

Connection::~Connection() {
  for (auto& [sql, stmt] : statements_) {
    sqlite3_finalize(stmt);
  }
  if (db_ != nullptr) {
    sqlite3_close_v2(db_);
  }
}

Status Connection::Exec(std::string_view sql) {
  std::string text(sql);
  char* message = nullptr;
  int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &message);
  sqlite3_free(message);  // the same text is available from sqlite3_errmsg
  if (rc != SQLITE_OK) {
    return SqliteError(rc, Abbreviate(text.c_str()), db_);
  }
  return OkStatus();
}

void Connection::ExecQuietly(const char* sql) noexcept {
  (void)sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
}

Result<int64_t> Connection::QueryInt(std::string_view sql) {
  ASSIGN_OR_RETURN(Statement stmt, Prepare(sql));
  ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) {
    return Error(ErrorCode::kInternal, std::string(sql) + ": returned no row");
  }
  return stmt.Int(0);
}

Result<std::string> Connection::QueryText(std::string_view sql) {
  ASSIGN_OR_RETURN(Statement stmt, Prepare(sql));
  ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) {
    return Error(ErrorCode::kInternal, std::string(sql) + ": returned no row");
  }
  return stmt.Text(0);
}

Result<Statement> Connection::Prepare(std::string_view sql) {
  std::string key(sql);
  auto it = statements_.find(key);
  if (it != statements_.end()) {
    return Statement(it->second, db_);
  }
  sqlite3_stmt* stmt = nullptr;
  const char* tail = nullptr;
  int rc = sqlite3_prepare_v3(db_, key.c_str(), static_cast<int>(key.size()),
                              SQLITE_PREPARE_PERSISTENT, &stmt, &tail);
  if (rc != SQLITE_OK) {
    return SqliteError(rc, "preparing " + Abbreviate(key.c_str()), db_);
  }
  if (stmt == nullptr) {
    return Error(ErrorCode::kInternal, "preparing an empty statement");
  }
  statements_.emplace(std::move(key), stmt);
  return Statement(stmt, db_);
}

bool Connection::InTransaction() const {
  return sqlite3_get_autocommit(db_) == 0;
}

// --- Transaction, Savepoint ---

Result<Transaction> Transaction::Begin(Connection& conn, Mode mode) {
  ASSIGN_OR_RETURN(Statement begin,
                   conn.Prepare(mode == Mode::kImmediate ? "BEGIN IMMEDIATE" : "BEGIN DEFERRED"));
  RETURN_IF_ERROR(begin.Run());
  return Transaction(&conn);
}

Transaction::~Transaction() {
  if (conn_ != nullptr && conn_->InTransaction()) {
    conn_->ExecQuietly("ROLLBACK");  // if even this fails, SQLite rolls back on close
  }
}

Status Transaction::Commit() {
  Status status = [&]() -> Status {
    ASSIGN_OR_RETURN(Statement commit, conn_->Prepare("COMMIT"));
    return commit.Run();
  }();
  if (status.ok()) {
    conn_ = nullptr;
  }
  return status;  // on failure the destructor rolls back
}

Result<Savepoint> Savepoint::Begin(Connection& conn) {
  ASSIGN_OR_RETURN(Statement begin, conn.Prepare("SAVEPOINT op"));
  RETURN_IF_ERROR(begin.Run());
  return Savepoint(&conn);
}

Savepoint::~Savepoint() {
  // If SQLite already rolled back the whole transaction, there is no savepoint left to undo.
  if (conn_ != nullptr && conn_->InTransaction()) {
    conn_->ExecQuietly("ROLLBACK TO op; RELEASE op");
  }
}

Status Savepoint::Release() {
  ASSIGN_OR_RETURN(Statement release, conn_->Prepare("RELEASE op"));
  RETURN_IF_ERROR(release.Run());
  conn_ = nullptr;
  return OkStatus();
}

// --- Migrations ---

Result<int64_t> SchemaVersion(Connection& conn) {
  return conn.QueryInt("PRAGMA user_version");
}

Status Migrate(Connection& conn, std::span<const std::string_view> scripts) {
  const auto latest = static_cast<int64_t>(scripts.size());
  while (true) {
    // Read the version under the write lock: another process may be migrating the same file.
    ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(conn, Transaction::Mode::kImmediate));
    ASSIGN_OR_RETURN(int64_t version, SchemaVersion(conn));
    if (version == latest) {
      return OkStatus();
    }
    if (version > latest || version < 0) {
      return Error(ErrorCode::kFailedPrecondition,
                   "database " + conn.path() + " has schema version " + std::to_string(version) +
                       ", newer than the latest this Warden knows (" + std::to_string(latest) +
                       "); it was written by a newer Warden: upgrade Warden, or use another file");
    }
    std::string context =
        "applying schema migration " + std::to_string(version + 1) + " to " + conn.path();
    Status applied = conn.Exec(scripts[static_cast<size_t>(version)]);
    if (applied.ok()) {
      // PRAGMA cannot take a bound parameter; the value is our own integer.
      applied = conn.Exec("PRAGMA user_version = " + std::to_string(version + 1));
    }
    if (applied.ok()) {
      applied = tx.Commit();
    }
    if (!applied.ok()) {
      return applied.error().WithContext(context);
    }
  }
}

// --- ConnectionPool ---

ConnectionPool::ConnectionPool(std::vector<Connection> connections)
    : connections_(std::move(connections)) {
  for (Connection& conn : connections_) {
    free_.push_back(&conn);
  }
}

ConnectionPool::Lease ConnectionPool::Acquire() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return !free_.empty(); });
  Connection* conn = free_.back();
  free_.pop_back();
  return Lease(this, conn);
}

std::optional<ConnectionPool::Lease> ConnectionPool::TryAcquire() {
  std::lock_guard lock(mu_);
  if (free_.empty()) {
    return std::nullopt;
  }
  Connection* conn = free_.back();
  free_.pop_back();
  return Lease(this, conn);
}

ConnectionPool::Lease::~Lease() {
  if (pool_ == nullptr) {
    return;
  }
  {
    std::lock_guard lock(pool_->mu_);
    pool_->free_.push_back(conn_);
  }
  pool_->cv_.notify_one();
}

// --- WriteQueue ---

namespace {
// Bounds a batch's transaction, so one batch cannot hold the write lock for long.
constexpr size_t kMaxBatch = 1000;
// How long the writer waits for a batch to fill up: a fraction of one fsync on an ordinary disk.
constexpr std::chrono::microseconds kGatherTime(500);
}  // namespace

WriteQueue::WriteQueue(Connection conn, std::function<void()> after_commit)
    : conn_(std::move(conn)), after_commit_(std::move(after_commit)), thread_([this] { Loop(); }) {}

WriteQueue::~WriteQueue() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  work_cv_.notify_one();
  // thread_ joins in its destructor, after draining the queue.
}

Status WriteQueue::Run(const WriteOp& op) {
  Request request{&op, OkStatus()};
  {
    std::lock_guard lock(mu_);
    if (stopping_) {
      return Error(ErrorCode::kUnavailable, "the job store is closing");
    }
    queue_.push_back(&request);
  }
  work_cv_.notify_one();
  std::unique_lock lock(mu_);
  done_cv_.wait(lock, [&] { return request.done; });
  return std::move(request.status);
}

void WriteQueue::Loop() {
  std::vector<Request*> batch;
  while (true) {
    {
      std::unique_lock lock(mu_);
      work_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) {
        return;  // stopping, and nothing left to run
      }
      // The last batch's callers were released together and are about to queue again. Taking
      // the first of them alone would leave the rest for the batch after: under steady load the
      // batches would alternate between 1 and N-1 callers, twice the fsyncs per write. So wait,
      // briefly, for as many as the last batch had. A lone caller never waits.
      if (!stopping_ && queue_.size() < previous_batch_size_) {
        work_cv_.wait_for(lock, kGatherTime,
                          [&] { return stopping_ || queue_.size() >= previous_batch_size_; });
      }
      while (!queue_.empty() && batch.size() < kMaxBatch) {
        batch.push_back(queue_.front());
        queue_.pop_front();
      }
    }
    previous_batch_size_ = batch.size();  // writer thread only
    RunBatch(batch);
    {
      // Statuses were written before this lock; the waiters read them after taking it.
      std::lock_guard lock(mu_);
      for (Request* request : batch) {
        request->done = true;
      }
    }
    done_cv_.notify_all();
    if (after_commit_) {
      after_commit_();
    }
    batch.clear();
  }
}

void WriteQueue::RunBatch(std::span<Request* const> batch) {
  auto fail_all = [&](const Error& error) {
    for (Request* request : batch) {
      if (request->status.ok()) {
        request->status = error;
      }
    }
  };
  WriteContext context{conn_, ++batch_number_, &undone_};
  auto tx = Transaction::Begin(conn_, Transaction::Mode::kImmediate);
  if (!tx.ok()) {
    fail_all(tx.error());
    return;
  }
  for (Request* request : batch) {
    auto savepoint = Savepoint::Begin(conn_);
    if (!savepoint.ok()) {
      request->status = savepoint.error();
    } else {
      request->status = (*request->op)(context);
      if (request->status.ok()) {
        request->status = savepoint->Release();
        if (!request->status.ok()) {
          ++undone_;  // the op's work is rolled back after it reported it done
        }
      }
    }
    // Disk full, I/O errors and the like make SQLite roll back the whole transaction: the ops
    // before this one are undone too, so none of the batch may report success.
    if (!conn_.InTransaction()) {
      ++undone_;
      Error error = request->status.ok()
                        ? Error(ErrorCode::kInternal, "transaction ended unexpectedly")
                        : request->status.error();
      fail_all(error.WithContext("the write batch was rolled back"));
      return;
    }
  }
  Status commit = tx->Commit();
  if (!commit.ok()) {
    ++undone_;
    fail_all(commit.error().WithContext("committing a write batch"));
  }
}

}  // namespace warden::jobs::sqlite
