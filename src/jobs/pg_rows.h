// The rows of the PostgreSQL job store: reading and writing jobs, events and sessions on a
// connection. Shared by PgStore's operations; callers choose the connection and the transaction.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "jobs/job.h"
#include "jobs/pg.h"
#include "jobs/store_rows.h"

namespace warden::jobs::pg {

// `head` + every column ReadJob reads, in its order + `tail`:
//   JobSql("SELECT ", " FROM jobs WHERE id = $1")
std::string JobSql(std::string_view head, std::string_view tail);
Result<Job> ReadJob(const Rows& rows, int row);
Result<std::vector<Job>> ReadJobs(const Rows& rows);
// Inserts `job` as it is, minus its events.
Status InsertJob(Connection& conn, const Job& job);

// Whether a read takes the row's lock until the transaction ends (SELECT ... FOR UPDATE).
enum class Lock { kNone, kForUpdate };

// The job, or kNotFound when it is missing or, with a non-empty `owner`, someone else's.
Result<Job> LoadJob(Connection& conn, std::string_view id, std::string_view owner,
                    Lock lock = Lock::kNone);
Result<JobState> LoadState(Connection& conn, std::string_view id);
Result<Session> LoadSession(Connection& conn, std::string_view id, std::string_view owner,
                            Lock lock = Lock::kNone);

// Whether InsertEvent refuses a job that has finished (kFailedPrecondition).
enum class OnlyOpenJobs { kNo, kYes };

// Appends an event (one statement: the job's seq counter and the event row); returns its seq.
Result<int64_t> InsertEvent(Connection& conn, std::string_view job_id, int64_t now_ms,
                            std::string_view type, const json::object& data,
                            OnlyOpenJobs only_open = OnlyOpenJobs::kNo);
// A "state" event: `extra` plus {"state", "reason"}.
Result<int64_t> InsertStateEvent(Connection& conn, std::string_view job_id, int64_t now_ms,
                                 JobState state, std::string_view reason, json::object extra = {});

// Moves `job` to the final `state` with its state event, and updates `job` to match the row.
Status EndJob(Connection& conn, int64_t now_ms, Job& job, JobState state, std::string reason,
              std::string summary, json::object result);

}  // namespace warden::jobs::pg
