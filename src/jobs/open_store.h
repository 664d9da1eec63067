// Which job store a `--store` value (or WARDEN_STORE) names, and opening it: SQLite in the data
// directory by default, PostgreSQL for a postgresql:// or postgres:// URL. What `warden serve`
// and `warden doctor` share.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "base/result.h"
#include "jobs/store.h"

namespace warden::jobs {

enum class StoreKind { kSqlite, kPostgres };

struct StoreLocation {
  StoreKind kind = StoreKind::kSqlite;
  std::string target;  // the SQLite file, or the libpq URL
};

// "" is SQLite at `default_sqlite_path`; "sqlite:PATH" SQLite at PATH; "postgresql://..." or
// "postgres://..." (any libpq URL, unix sockets included) PostgreSQL. kInvalidArgument, saying
// what is accepted, for anything else.
Result<StoreLocation> ParseStoreLocation(std::string_view value,
                                         const std::string& default_sqlite_path);

// For logs and messages: "SQLite file PATH" or "PostgreSQL at host:port, database db"; never a
// password.
std::string DescribeStore(const StoreLocation& location);

// Opens (and migrates) the store. Its errors name it (without a password).
Result<std::unique_ptr<JobStore>> OpenStore(const StoreLocation& location, StoreOptions options);

}  // namespace warden::jobs
