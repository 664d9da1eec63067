// The rows of the SQLite job store: its schema (as migrations), and reading and writing jobs,
// events and sessions on a connection. Shared by SqliteStore's reads and its write ops; callers
// choose the connection and the transaction.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "jobs/job.h"
#include "jobs/sqlite.h"
#include "jobs/store_rows.h"

namespace warden::jobs::sqlite {

// The schema's migrations, oldest first (see Migrate).
std::span<const std::string_view> JobStoreMigrations();

// `head` + every column ReadJob reads, in its order + `tail`:
//   JobSql("SELECT ", " FROM jobs WHERE id = ?1")
std::string JobSql(std::string_view head, std::string_view tail);
Result<Job> ReadJob(const Statement& row);
// Steps `stmt`, a JobSql SELECT, to the end.
Result<std::vector<Job>> ReadJobs(Statement& stmt);
// Inserts `job` as it is, minus its events.
Status InsertJob(Connection& conn, const Job& job);

// Shared with the PostgreSQL store (store_rows.h).
using ::warden::jobs::AlreadyFinished;
using ::warden::jobs::JobNotFound;
using ::warden::jobs::ParseEventData;
using ::warden::jobs::ParseObject;

// The job, or kNotFound when it is missing or, with a non-empty `owner`, someone else's: ids
// cannot be probed across owners.
Result<Job> LoadJob(Connection& conn, std::string_view id, std::string_view owner);
Result<JobState> LoadState(Connection& conn, std::string_view id);
Result<Session> LoadSession(Connection& conn, std::string_view id, std::string_view owner);

// Appends an event without looking at the job's state (the caller has); returns its seq.
Result<int64_t> InsertEvent(Connection& conn, std::string_view job_id, int64_t now_ms,
                            std::string_view type, const json::object& data);
// A "state" event: `extra` plus {"state", "reason"}.
Result<int64_t> InsertStateEvent(Connection& conn, std::string_view job_id, int64_t now_ms,
                                 JobState state, std::string_view reason, json::object extra = {});

// Deletes job `id` and its events (explicitly, though the foreign key cascades: correct whatever
// the foreign_keys setting).
Status DeleteJobRows(Connection& conn, std::string_view id);

// Moves `job` to the final `state` with its state event, and updates `job` to match the row.
Status EndJob(Connection& conn, int64_t now_ms, Job& job, JobState state, std::string reason,
              std::string summary, json::object result);

}  // namespace warden::jobs::sqlite
