// A thin RAII layer over libpq for the PostgreSQL job store: a connection with a cache of prepared
// statements, result rows, transactions, and a small pool that reopens connections a server
// restart broke. Errors become Results naming the statement and the server's message, never the
// URL (it may hold a password). <libpq-fe.h> stays in pg.cc.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/result.h"

struct pg_conn;
struct pg_result;

namespace warden::jobs::pg {

// One statement parameter, sent as text; nullopt is SQL NULL.
struct Param {
  Param(std::string_view value) : text(std::string(value)) {}  // NOLINT: implicit by design
  Param(const std::string& value) : text(value) {}             // NOLINT
  Param(const char* value) : text(std::string(value)) {}       // NOLINT
  Param(int64_t value) : text(std::to_string(value)) {}        // NOLINT
  Param(int value) : text(std::to_string(value)) {}            // NOLINT
  Param(bool value) : text(value ? "t" : "f") {}               // NOLINT
  Param(std::nullptr_t) {}                                     // NOLINT
  std::optional<std::string> text;
};

// "" as NULL: how optional ids are stored.
Param TextOrNull(std::string_view text);
Param OptionalInt(const std::optional<int64_t>& value);

// The rows a statement returned. Move-only; owns its PGresult.
class Rows {
 public:
  explicit Rows(pg_result* result);
  Rows(Rows&& other) noexcept;
  Rows& operator=(Rows&& other) noexcept;
  Rows(const Rows&) = delete;
  Rows& operator=(const Rows&) = delete;
  ~Rows();

  int size() const;
  bool empty() const { return size() == 0; }
  std::string Text(int row, int column) const;  // "" for NULL
  int64_t Int(int row, int column) const;       // 0 for NULL
  bool Bool(int row, int column) const;
  bool IsNull(int row, int column) const;
  std::optional<int64_t> OptionalInt(int row, int column) const;

 private:
  pg_result* result_;
};

// Where a URL points, for messages: "PostgreSQL at host:port, database db", no password.
std::string Describe(const std::string& url);

// One open connection. Not thread-safe: one thread at a time (the pool lends it). Move-only.
class Connection {
 public:
  // Connects within a few seconds (connect_timeout, unless the URL sets one). kUnavailable when
  // the server cannot be reached, kInvalidArgument for a malformed URL.
  static Result<Connection> Open(const std::string& url);

  Connection(Connection&& other) noexcept;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  Connection& operator=(Connection&&) = delete;
  ~Connection();

  // Runs `sql` ($1, $2, ... for params), prepared on first use and cached for the connection.
  Result<Rows> Query(std::string_view sql, std::span<const Param> params = {});
  Result<Rows> Query(std::string_view sql, std::initializer_list<Param> params) {
    return Query(sql, std::span<const Param>(params.begin(), params.size()));
  }
  // Query, for statements whose rows are not needed.
  Status Run(std::string_view sql, std::initializer_list<Param> params = {}) {
    Result<Rows> rows = Query(sql, params);
    return rows.ok() ? OkStatus() : Status(std::move(rows).error());
  }
  // Runs one or more statements without parameters (DDL, BEGIN, LISTEN), unprepared.
  Status Exec(std::string_view sql);

  // True once the connection to the server is lost: the pool then opens a new one.
  bool broken() const;
  // The server's version as a number (150004 for 15.4).
  int server_version() const;
  pg_conn* raw() { return conn_; }

 private:
  explicit Connection(pg_conn* conn) : conn_(conn) {}
  Error ResultError(pg_result* result, std::string_view sql) const;

  pg_conn* conn_;
  std::unordered_map<std::string, std::string> prepared_;  // sql -> statement name
};

// BEGIN ... COMMIT on a connection; rolls back on destruction unless committed.
class Transaction {
 public:
  static Result<Transaction> Begin(Connection& conn);
  Transaction(Transaction&& other) noexcept : conn_(std::exchange(other.conn_, nullptr)) {}
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  Transaction& operator=(Transaction&&) = delete;
  ~Transaction();
  Status Commit();

 private:
  explicit Transaction(Connection* conn) : conn_(conn) {}
  Connection* conn_;
};

// Up to `size` connections to one server, opened on demand and reopened after they break.
// Thread-safe.
class Pool {
 public:
  Pool(std::string url, int size);
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  // A borrowed connection, returned on destruction (and dropped if it broke meanwhile).
  class Lease {
   public:
    Lease(Lease&& other) noexcept
        : pool_(std::exchange(other.pool_, nullptr)), conn_(std::move(other.conn_)) {}
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Lease& operator=(Lease&&) = delete;
    ~Lease();
    Connection& conn() { return *conn_; }

   private:
    friend class Pool;
    Lease(Pool* pool, std::unique_ptr<Connection> conn) : pool_(pool), conn_(std::move(conn)) {}
    Pool* pool_;
    std::unique_ptr<Connection> conn_;
  };

  // Waits for a free connection; opens one when none is idle. kUnavailable, at once, when the
  // server cannot be reached.
  Result<Lease> Acquire();

  // Runs `body` inside BEGIN ... COMMIT on a pooled connection. A connection that broke while idle
  // (the server restarted) is noticed at BEGIN, and the whole thing runs again once on a new one;
  // nothing else is retried (a COMMIT that fails may have committed).
  Status InTransaction(const std::function<Status(Connection&)>& body);

  const std::string& url() const { return url_; }

 private:
  const std::string url_;
  const int size_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Connection>> idle_;
  int lent_ = 0;
};

}  // namespace warden::jobs::pg
