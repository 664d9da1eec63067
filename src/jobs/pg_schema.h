// The PostgreSQL job store's schema, as numbered migrations, and how a node brings a database up
// to date: whichever node starts first migrates, others wait for it (an advisory lock held by each
// migration's transaction) and then find nothing left to do.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "base/result.h"
#include "jobs/pg.h"

namespace warden::jobs::pg {

// The schema's migrations, oldest first: script i moves version i to i + 1. Append, never edit one
// that has shipped.
std::span<const std::string_view> JobStoreMigrations();

// The version recorded in the database (0 for a database Warden never touched).
Result<int64_t> SchemaVersion(Connection& conn);

// Applies the scripts the database lacks, each with its version bump in one transaction that
// holds the migration lock, so that nodes starting together apply each script once. A failure
// leaves the database at the last good version. kFailedPrecondition, naming both versions, when
// the database is newer than `scripts` (written by a newer Warden).
Status Migrate(Connection& conn, std::span<const std::string_view> scripts);

}  // namespace warden::jobs::pg
