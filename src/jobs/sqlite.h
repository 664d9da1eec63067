// A thin RAII layer over the sqlite3 C API for the SQLite job store: a connection with a cache of
// prepared statements, a borrowed statement handle, transaction and savepoint guards, schema
// migrations over PRAGMA user_version, a pool of read connections and a group-commit write queue.
// Errors become Results naming the statement and SQLite's message. <sqlite3.h> stays in sqlite.cc.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/result.h"

struct sqlite3;
struct sqlite3_stmt;

namespace warden::jobs::sqlite {

// An SQLite result code (primary or extended) as an Error: "<what>: <message> (SQLITE_BUSY)",
// coded by kind (busy -> kUnavailable, full -> kResourceExhausted, corrupt -> kDataLoss, ...).
// `db`, when given, supplies the detailed message and the errno of a failed I/O call.
Error SqliteError(int code, std::string_view what, sqlite3* db = nullptr);

// A prepared statement borrowed from a Connection's cache. Bind parameters (1-based), Step through
// rows, read columns (0-based). Destruction resets it and clears its bindings, so the next user
// starts clean and no read transaction stays open. Move-only; must not outlive its Connection.
class Statement {
 public:
  Statement(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  Statement& operator=(Statement&&) = delete;
  ~Statement();

  // A bind failure (index out of range, out of memory) is reported by the next Step or Run.
  void BindInt(int index, int64_t value);
  void BindText(int index, std::string_view text);
  void BindNull(int index);
  // Binds `text`, or NULL when it is empty: how optional ids are stored.
  void BindTextOrNull(int index, std::string_view text);

  // True when a row is ready to read; false when the statement is done.
  Result<bool> Step();
  // Steps to the end, ignoring any rows: for INSERT, UPDATE, DELETE.
  Status Run();

  int64_t Int(int column) const;
  std::string Text(int column) const;  // "" for NULL
  bool IsNull(int column) const;

 private:
  friend class Connection;
  Statement(sqlite3_stmt* stmt, sqlite3* db) : stmt_(stmt), db_(db) {}
  Error StepError(int code) const;

  sqlite3_stmt* stmt_;
  sqlite3* db_;
  int bind_error_ = 0;  // the first failed bind's code, 0 if none
};

// One open database connection and its prepared statements. Not thread-safe: one thread at a time
// uses it (the store gives each connection to one thread, or lends it from a pool). Move-only.
class Connection {
 public:
  // Opens (creating if missing) the database file at `path`, with extended result codes and a
  // busy timeout, in SQLite's multi-thread mode. Errors name the path.
  static Result<Connection> Open(const std::string& path);

  Connection(Connection&& other) noexcept;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  Connection& operator=(Connection&&) = delete;
  ~Connection();

  // Runs one or more statements that return no rows needed (DDL, PRAGMA settings, BEGIN).
  Status Exec(std::string_view sql);
  // For destructors: runs `sql` (a NUL-terminated literal), ignoring any error; never throws.
  void ExecQuietly(const char* sql) noexcept;
  // The first column of the first row of `sql`, e.g. "PRAGMA user_version".
  Result<int64_t> QueryInt(std::string_view sql);
  Result<std::string> QueryText(std::string_view sql);

  // A statement for `sql`, prepared on first use and cached for the connection's life.
  Result<Statement> Prepare(std::string_view sql);

  // False after an error made SQLite roll back the whole transaction on its own (SQLITE_FULL,
  // SQLITE_IOERR, SQLITE_BUSY, ...): the work done so far in it is gone.
  bool InTransaction() const;
  const std::string& path() const { return path_; }

 private:
  Connection(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}

  sqlite3* db_;
  std::string path_;
  std::unordered_map<std::string, sqlite3_stmt*> statements_;
};

// BEGIN ... COMMIT; rolls back on destruction unless committed. Move-only.
class Transaction {
 public:
  // kImmediate takes the write lock at once (a writer never fails half-way with SQLITE_BUSY);
  // kDeferred is for reads that must see one snapshot.
  enum class Mode { kDeferred, kImmediate };

  static Result<Transaction> Begin(Connection& conn, Mode mode);
  Transaction(Transaction&& other) noexcept : conn_(std::exchange(other.conn_, nullptr)) {}
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  Transaction& operator=(Transaction&&) = delete;
  ~Transaction();

  // After a failed commit the transaction is rolled back.
  Status Commit();

 private:
  explicit Transaction(Connection* conn) : conn_(conn) {}
  Connection* conn_;  // null once committed or rolled back
};

// A SAVEPOINT inside a transaction: Release keeps its work, destruction without Release undoes
// just that work and leaves the transaction open. Move-only.
class Savepoint {
 public:
  static Result<Savepoint> Begin(Connection& conn);
  Savepoint(Savepoint&& other) noexcept : conn_(std::exchange(other.conn_, nullptr)) {}
  Savepoint(const Savepoint&) = delete;
  Savepoint& operator=(const Savepoint&) = delete;
  Savepoint& operator=(Savepoint&&) = delete;
  ~Savepoint();

  Status Release();

 private:
  explicit Savepoint(Connection* conn) : conn_(conn) {}
  Connection* conn_;
};

// The schema version recorded in the database file (PRAGMA user_version; 0 for a new file).
Result<int64_t> SchemaVersion(Connection& conn);

// Brings the schema to version scripts.size(): script i (0-based) moves version i to i + 1, and is
// applied with its version bump in one transaction, so a failure leaves the database at the last
// good version. kFailedPrecondition, naming both versions and the path, when the database is newer
// than `scripts` (written by a newer Warden).
Status Migrate(Connection& conn, std::span<const std::string_view> scripts);

// A fixed set of connections, each lent to one thread at a time. Thread-safe.
class ConnectionPool {
 public:
  explicit ConnectionPool(std::vector<Connection> connections);
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;

  // A borrowed connection, returned to the pool on destruction.
  class Lease {
   public:
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Lease(Lease&& other) noexcept
        : pool_(std::exchange(other.pool_, nullptr)), conn_(other.conn_) {}
    Lease& operator=(Lease&&) = delete;
    ~Lease();
    Connection& conn() { return *conn_; }

   private:
    friend class ConnectionPool;
    Lease(ConnectionPool* pool, Connection* conn) : pool_(pool), conn_(conn) {}
    ConnectionPool* pool_;  // null once moved from
    Connection* conn_;
  };

  // Waits until a connection is free.
  Lease Acquire();
  // A free connection, or std::nullopt at once when every one is lent.
  std::optional<Lease> TryAcquire();

 private:
  std::vector<Connection> connections_;  // never resized: free_ points into it
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Connection*> free_;
};

// What a write op gets: the writer's connection, inside the batch's transaction and the op's own
// savepoint, and the batch's number, for ops that cache per batch something the batch's
// transaction holds still (ops run one at a time, on the writer's thread).
struct WriteContext {
  Connection& conn;
  uint64_t batch;
  // How many times work already done was undone (a batch rolled back or failed to commit, an op's
  // savepoint could not be released), this batch included so far: a cache of the database's
  // state kept by the ops is valid while this stays the same.
  const uint64_t* undone;
};

// An op's failure undoes its own work only; its success counts once its batch commits.
using WriteOp = std::function<Status(WriteContext&)>;

// Group commit. One thread owns the write connection; callers queue ops and wait. The thread
// takes every op waiting (up to a cap), runs them in one BEGIN IMMEDIATE transaction, each inside a
// savepoint, and commits once: one fsync for the whole batch, however many callers. While it
// commits, the next batch gathers, so batches grow with load; a batch smaller than the one before
// waits up to half a millisecond for its stragglers. Thread-safe.
class WriteQueue {
 public:
  // `after_commit` runs on the writer thread after each batch: how waiters learn of changes.
  WriteQueue(Connection conn, std::function<void()> after_commit);
  WriteQueue(const WriteQueue&) = delete;
  WriteQueue& operator=(const WriteQueue&) = delete;
  // Runs the ops already queued, then stops the thread.
  ~WriteQueue();

  // Runs `op` in a batch and returns once the batch is committed: the op's own error, or the
  // batch's (commit failed, or SQLite rolled the whole transaction back), or OK when durable.
  Status Run(const WriteOp& op);

 private:
  struct Request {
    const WriteOp* op;
    Status status;
    bool done = false;
  };

  void Loop();
  void RunBatch(std::span<Request* const> batch);

  Connection conn_;  // the writer thread's alone
  std::function<void()> after_commit_;
  uint64_t batch_number_ = 0;       // writer thread only
  uint64_t undone_ = 0;             // writer thread only: see WriteContext::undone
  size_t previous_batch_size_ = 0;  // writer thread only
  std::mutex mu_;
  std::condition_variable work_cv_;
  std::condition_variable done_cv_;
  std::deque<Request*> queue_;
  bool stopping_ = false;
  std::jthread thread_;  // last: started once everything it uses exists
};

}  // namespace warden::jobs::sqlite
