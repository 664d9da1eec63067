// What every database backend of the JobStore shares about its rows: reading the JSON texts it
// stored, and the errors for a missing or finished job.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/json.h"
#include "base/result.h"
#include "jobs/job.h"
#include "jobs/store.h"

namespace warden::jobs {

// A JSON object from a column the store wrote (with SerializeJson: valid UTF-8). Text written
// before that, with raw bytes in its strings, is read too, those bytes shown as U+FFFD.
// kDataLoss, naming `what`, for anything else.
Result<json::object> ParseObject(const std::string& text, std::string_view what);
// An event's data, as ParseObject; the raw bytes of an old output event are kept exactly, in
// "base64" (agent/output.h).
Result<json::object> ParseEventData(const std::string& text, std::string_view type);

// The job Create writes, before the store gives it an id, times and a workspace.
Job QueuedJob(NewJob job);

// kInvalidArgument for a page limit outside 1..kMaxPageLimit.
Status CheckPageLimit(int limit);

// One condition of a List query: SQL with one `?` where its value is bound, and the value.
struct ListCondition {
  std::string sql;
  std::string value;
};

// The conditions of a List query for `filter` and `page`, in order, the same on every backend
// but for how a job's text is matched: `text_match` is that condition, with one `?` for a LIKE
// pattern escaped with '\\'. One statement per combination of filters, so each
// can use its index; values are always bound, never pasted.
std::vector<ListCondition> ListConditions(const JobFilter& filter, const PageRequest& page,
                                          std::string_view text_match);

Error JobNotFound(std::string_view id);
// kAborted: the session's last message (turn `seq`, answered by `job_id`, in `state`) has not
// been answered yet.
Error SessionBusy(std::string_view session_id, int64_t seq, std::string_view job_id,
                  std::string_view state);
// "job j_… already finished (succeeded)", kFailedPrecondition.
Error AlreadyFinished(const Job& job);

// The fence of a worker's write: OK while the job (in `state`, claimed by `worker` in `attempt`)
// still runs on the claim `fence_worker`/`fence_attempt` (attempt 0: any of that worker's);
// otherwise kFailedPrecondition saying the claim was lost and what became of the job.
Status CheckClaim(std::string_view job_id, JobState state, std::string_view worker, int64_t attempt,
                  std::string_view fence_worker, int64_t fence_attempt);

// What a rescued job's summary says: its worker stopped renewing its lease.
std::string WorkerLostSummary(const Job& job);

}  // namespace warden::jobs
