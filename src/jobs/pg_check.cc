#include "jobs/pg_check.h"

#include "jobs/pg.h"
#include "jobs/pg_schema.h"

namespace warden::jobs {
namespace {

using Level = sandbox::HostCheck::Level;

sandbox::HostCheck SchemaCheck(pg::Connection& conn) {
  const auto latest = static_cast<int64_t>(pg::JobStoreMigrations().size());
  sandbox::HostCheck check{"store schema", Level::kOk, ""};
  Result<int64_t> version = pg::SchemaVersion(conn);
  if (!version.ok()) {
    return {check.name, Level::kFail, version.error().message()};
  }
  check.detail = std::to_string(*version) + " of " + std::to_string(latest) + " migrations applied";
  if (*version < latest) {
    check.level = Level::kWarn;
    check.detail += "; the first node that starts applies the rest";
  } else if (*version > latest) {
    check.level = Level::kFail;
    check.detail += ": the database was written by a newer Warden; upgrade this one";
  }
  return check;
}

sandbox::HostCheck TransactionCheck(pg::Connection& conn, std::chrono::seconds limit) {
  sandbox::HostCheck check{"store transactions", Level::kOk, ""};
  Result<pg::Rows> rows = conn.Query(
      "SELECT pid, coalesce(usename, ''), coalesce(application_name, ''), state, "
      "extract(epoch FROM now() - xact_start)::bigint FROM pg_stat_activity WHERE xact_start IS "
      "NOT NULL AND pid <> pg_backend_pid() AND now() - xact_start >= make_interval(secs => $1) "
      "ORDER BY xact_start",
      {static_cast<int64_t>(limit.count())});
  if (!rows.ok()) {
    return {check.name, Level::kFail, rows.error().message()};
  }
  if (rows->empty()) {
    check.detail = "none open longer than " + std::to_string(limit.count()) + " s";
    return check;
  }
  check.level = Level::kWarn;
  check.detail = std::to_string(rows->size()) + " open longer than " +
                 std::to_string(limit.count()) +
                 " s (they hold back vacuum and can block migrations):";
  for (int i = 0; i < rows->size(); ++i) {
    check.detail += " pid " + rows->Text(i, 0) + " (" + rows->Text(i, 1) + ", " +
                    (rows->Text(i, 2).empty() ? "no application" : rows->Text(i, 2)) + ", " +
                    rows->Text(i, 3) + ", " + rows->Text(i, 4) + " s);";
  }
  check.detail.pop_back();
  return check;
}

}  // namespace

std::vector<sandbox::HostCheck> CheckPgStore(const std::string& url,
                                             std::chrono::seconds long_transaction) {
  Result<pg::Connection> conn = pg::Connection::Open(url);
  if (!conn.ok()) {
    return {{"job store", Level::kFail, conn.error().message()}};
  }
  std::vector<sandbox::HostCheck> checks;
  const int version = conn->server_version();
  std::string detail = pg::Describe(url) + ", server " + std::to_string(version / 10000) + "." +
                       std::to_string(version % 10000);
  if (version < 120000) {
    checks.push_back({"job store", Level::kFail, detail + ": Warden needs PostgreSQL 12 or newer"});
    return checks;
  }
  checks.push_back({"job store", Level::kOk, detail});
  checks.push_back(SchemaCheck(*conn));
  checks.push_back(TransactionCheck(*conn, long_transaction));
  return checks;
}

}  // namespace warden::jobs
