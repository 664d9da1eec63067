#include "jobs/pg.h"

#include <algorithm>
#include <cstdlib>

#include <libpq-fe.h>

#include "jobs/libpq_loader.h"

namespace warden::jobs::pg {
namespace {

ErrorCode CodeForState(std::string_view state) {
  if (state.starts_with("08") || state == "57P01" || state == "57P02" || state == "57P03") {
    return ErrorCode::kUnavailable;  // connection lost, server shutting down or starting
  }
  if (state == "40001" || state == "40P01") {
    return ErrorCode::kAborted;  // serialization failure, deadlock
  }
  if (state.starts_with("23")) {
    return ErrorCode::kFailedPrecondition;  // a constraint
  }
  if (state.starts_with("53")) {
    return ErrorCode::kResourceExhausted;  // disk full, out of memory, too many connections
  }
  if (state.starts_with("22")) {
    return ErrorCode::kInvalidArgument;  // a value the column cannot hold
  }
  if (state.starts_with("28") || state == "42501") {
    return ErrorCode::kPermissionDenied;
  }
  return ErrorCode::kInternal;  // bad SQL: a bug in this program
}

// The first line of a statement, cut short: enough to tell which one failed.
std::string Abbreviate(std::string_view sql) {
  size_t start = sql.find_first_not_of(" \n");
  if (start == std::string_view::npos) {
    return "";
  }
  sql.remove_prefix(start);
  return std::string(sql.substr(0, std::min(sql.find('\n'), size_t{60})));
}

std::string Trimmed(const char* message) {
  std::string text(message != nullptr ? message : "");
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) {
    text.pop_back();
  }
  return text;
}

constexpr int kDefaultConnectTimeoutS = 3;

}  // namespace

Param TextOrNull(std::string_view text) {
  return text.empty() ? Param(nullptr) : Param(text);
}

Param OptionalInt(const std::optional<int64_t>& value) {
  return value ? Param(*value) : Param(nullptr);
}

// --- Rows ---

Rows::Rows(pg_result* result) : result_(result) {}
Rows::Rows(Rows&& other) noexcept : result_(std::exchange(other.result_, nullptr)) {}
Rows& Rows::operator=(Rows&& other) noexcept {
  std::swap(result_, other.result_);
  return *this;
}
Rows::~Rows() {
  PQclear(result_);
}

int Rows::size() const {
  return result_ == nullptr ? 0 : PQntuples(result_);
}

std::string Rows::Text(int row, int column) const {
  return std::string(PQgetvalue(result_, row, column),
                     static_cast<size_t>(PQgetlength(result_, row, column)));
}

int64_t Rows::Int(int row, int column) const {
  return IsNull(row, column) ? 0 : std::strtoll(PQgetvalue(result_, row, column), nullptr, 10);
}

bool Rows::Bool(int row, int column) const {
  return !IsNull(row, column) && PQgetvalue(result_, row, column)[0] == 't';
}

bool Rows::IsNull(int row, int column) const {
  return PQgetisnull(result_, row, column) != 0;
}

std::optional<int64_t> Rows::OptionalInt(int row, int column) const {
  return IsNull(row, column) ? std::nullopt : std::optional<int64_t>(Int(row, column));
}

// --- Connection ---

std::string Describe(const std::string& url) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(url.c_str(), &error);
  if (options == nullptr) {
    PQfreemem(error);
    return "PostgreSQL (a malformed URL)";
  }
  std::string host = "localhost";
  std::string port = "5432";
  std::string dbname;
  for (PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
    if (o->val == nullptr || *o->val == '\0') {
      continue;
    }
    std::string_view key = o->keyword;
    if (key == "host") {
      host = o->val;
    } else if (key == "port") {
      port = o->val;
    } else if (key == "dbname") {
      dbname = o->val;
    }
  }
  PQconninfoFree(options);
  return "PostgreSQL at " + host + ":" + port + (dbname.empty() ? "" : ", database " + dbname);
}

Result<Connection> Connection::Open(const std::string& url) {
  RETURN_IF_ERROR(LoadLibpq());
  char* parse_error = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(url.c_str(), &parse_error);
  if (parsed == nullptr) {
    std::string message = Trimmed(parse_error);
    PQfreemem(parse_error);
    return Error(ErrorCode::kInvalidArgument,
                 "the job store URL is malformed (" + message +
                     "); expected postgresql://user:password@host:port/database");
  }
  // libpq would only say "invalid integer value" once it tries to connect.
  std::string bad_port;
  for (PQconninfoOption* o = parsed; o->keyword != nullptr; ++o) {
    if (std::string_view(o->keyword) == "port" && o->val != nullptr &&
        std::string_view(o->val).find_first_not_of("0123456789,") != std::string_view::npos) {
      bad_port = o->val;
    }
  }
  PQconninfoFree(parsed);
  if (!bad_port.empty()) {
    return Error(ErrorCode::kInvalidArgument,
                 "the job store URL's port \"" + bad_port +
                     "\" is not a number; expected postgresql://user:password@host:port/database");
  }
  // Keywords after dbname override what the URL says, so the defaults come first.
  const std::string timeout = std::to_string(kDefaultConnectTimeoutS);
  const char* keys[] = {"connect_timeout", "application_name", "dbname", nullptr};
  const char* values[] = {timeout.c_str(), "warden", url.c_str(), nullptr};
  PGconn* conn = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
  if (conn == nullptr || PQstatus(conn) != CONNECTION_OK) {
    std::string message = conn == nullptr ? "out of memory" : Trimmed(PQerrorMessage(conn));
    PQfinish(conn);
    return Error(ErrorCode::kUnavailable,
                 "cannot connect to the job store, " + Describe(url) + ": " + message +
                     "; is the server running and reachable? (`warden doctor --store URL` "
                     "checks it)");
  }
  // Notices ("relation already exists, skipping") are for people at a psql prompt.
  PQsetNoticeProcessor(
      conn, [](void*, const char*) {}, nullptr);
  return Connection(conn);
}

Connection::Connection(Connection&& other) noexcept
    : conn_(std::exchange(other.conn_, nullptr)), prepared_(std::move(other.prepared_)) {}

Connection::~Connection() {
  PQfinish(conn_);
}

bool Connection::broken() const {
  return PQstatus(conn_) != CONNECTION_OK;
}

int Connection::server_version() const {
  return PQserverVersion(conn_);
}

Error Connection::ResultError(pg_result* result, std::string_view sql) const {
  std::string message = Abbreviate(sql) + ": ";
  if (broken()) {
    return Error(ErrorCode::kUnavailable,
                 message + "lost the connection to the job store's PostgreSQL (" +
                     Trimmed(PQerrorMessage(conn_)) + "); try again once it is back");
  }
  const char* state = result == nullptr ? nullptr : PQresultErrorField(result, PG_DIAG_SQLSTATE);
  message +=
      result == nullptr ? Trimmed(PQerrorMessage(conn_)) : Trimmed(PQresultErrorMessage(result));
  if (state == nullptr) {
    return Error(ErrorCode::kUnavailable, message);
  }
  return Error(CodeForState(state), message + " (SQLSTATE " + state + ")");
}

Result<Rows> Connection::Query(std::string_view sql, std::span<const Param> params) {
  std::string key(sql);
  auto it = prepared_.find(key);
  if (it == prepared_.end()) {
    std::string name = "w" + std::to_string(prepared_.size());
    PGresult* prepared = PQprepare(conn_, name.c_str(), key.c_str(), 0, nullptr);
    if (prepared == nullptr || PQresultStatus(prepared) != PGRES_COMMAND_OK) {
      Error error = ResultError(prepared, sql);
      PQclear(prepared);
      return error.WithContext("preparing");
    }
    PQclear(prepared);
    it = prepared_.emplace(key, name).first;
  }
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const Param& param : params) {
    values.push_back(param.text ? param.text->c_str() : nullptr);
  }
  PGresult* result = PQexecPrepared(conn_, it->second.c_str(), static_cast<int>(values.size()),
                                    values.data(), nullptr, nullptr, 0);
  ExecStatusType status = result == nullptr ? PGRES_FATAL_ERROR : PQresultStatus(result);
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
    Error error = ResultError(result, sql);
    PQclear(result);
    return error;
  }
  return Rows(result);
}

Status Connection::Exec(std::string_view sql) {
  std::string text(sql);
  PGresult* result = PQexec(conn_, text.c_str());
  ExecStatusType status = result == nullptr ? PGRES_FATAL_ERROR : PQresultStatus(result);
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
    Error error = ResultError(result, sql);
    PQclear(result);
    return error;
  }
  PQclear(result);
  return OkStatus();
}

// --- Transaction ---

Result<Transaction> Transaction::Begin(Connection& conn) {
  RETURN_IF_ERROR(conn.Exec("BEGIN"));
  return Transaction(&conn);
}

Transaction::~Transaction() {
  if (conn_ != nullptr && !conn_->broken()) {
    (void)conn_->Exec("ROLLBACK");
  }
}

Status Transaction::Commit() {
  Status status = conn_->Exec("COMMIT");
  if (status.ok()) {
    conn_ = nullptr;
  }
  return status;
}

// --- Pool ---

Pool::Pool(std::string url, int size) : url_(std::move(url)), size_(std::max(size, 1)) {}

Result<Pool::Lease> Pool::Acquire() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return !idle_.empty() || lent_ < size_; });
  ++lent_;
  if (!idle_.empty()) {
    std::unique_ptr<Connection> conn = std::move(idle_.back());
    idle_.pop_back();
    return Lease(this, std::move(conn));
  }
  lock.unlock();
  Result<Connection> opened = Connection::Open(url_);
  if (!opened.ok()) {
    lock.lock();
    --lent_;
    cv_.notify_one();
    return opened.error();
  }
  return Lease(this, std::make_unique<Connection>(std::move(*opened)));
}

Pool::Lease::~Lease() {
  if (pool_ == nullptr) {
    return;
  }
  {
    std::lock_guard lock(pool_->mu_);
    --pool_->lent_;
    if (!conn_->broken()) {
      pool_->idle_.push_back(std::move(conn_));
    }
  }
  pool_->cv_.notify_one();
}

Status Pool::InTransaction(const std::function<Status(Connection&)>& body) {
  for (int attempt = 0;; ++attempt) {
    ASSIGN_OR_RETURN(Lease lease, Acquire());
    Result<Transaction> tx = Transaction::Begin(lease.conn());
    if (!tx.ok()) {
      if (attempt == 0 && lease.conn().broken()) {
        continue;  // the server went away while this connection sat idle: one more try, fresh
      }
      return tx.error();
    }
    RETURN_IF_ERROR(body(lease.conn()));
    return tx->Commit();
  }
}

}  // namespace warden::jobs::pg
