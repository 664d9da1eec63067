#include "jobs/open_store.h"

#include "jobs/pg.h"
#include "jobs/pg_store.h"
#include "jobs/sqlite_store.h"

namespace warden::jobs {

Result<StoreLocation> ParseStoreLocation(std::string_view value,
                                         const std::string& default_sqlite_path) {
  if (value.empty()) {
    return StoreLocation{StoreKind::kSqlite, default_sqlite_path};
  }
  if (value.starts_with("postgresql://") || value.starts_with("postgres://")) {
    return StoreLocation{StoreKind::kPostgres, std::string(value)};
  }
  constexpr std::string_view kSqlitePrefix = "sqlite:";
  if (value.starts_with(kSqlitePrefix) && value.size() > kSqlitePrefix.size()) {
    return StoreLocation{StoreKind::kSqlite, std::string(value.substr(kSqlitePrefix.size()))};
  }
  // Never echo the value: it may hold a password.
  return Error(ErrorCode::kInvalidArgument,
               "the job store must be a PostgreSQL URL (postgresql://user:password@host:port/"
               "database, or postgresql:///database?host=/run/postgresql for a unix socket) or "
               "sqlite:PATH; leave it out for SQLite in the data directory");
}

std::string DescribeStore(const StoreLocation& location) {
  return location.kind == StoreKind::kPostgres ? pg::Describe(location.target)
                                               : "SQLite file " + location.target;
}

Result<std::unique_ptr<JobStore>> OpenStore(const StoreLocation& location, StoreOptions options) {
  if (location.kind == StoreKind::kPostgres) {
    PgStoreOptions pg_options;
    pg_options.url = location.target;
    pg_options.store = std::move(options);
    ASSIGN_OR_RETURN(std::unique_ptr<PgStore> store, PgStore::Open(std::move(pg_options)));
    return std::unique_ptr<JobStore>(std::move(store));
  }
  SqliteStoreOptions sqlite_options;
  sqlite_options.path = location.target;
  sqlite_options.store = std::move(options);
  ASSIGN_OR_RETURN(std::unique_ptr<SqliteStore> store,
                   SqliteStore::Open(std::move(sqlite_options)));
  return std::unique_ptr<JobStore>(std::move(store));
}

}  // namespace warden::jobs
