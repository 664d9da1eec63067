// The job model: what a job, its events and a session are, shared by every JobStore backend, the
// API and the workers. Plain values; no storage here.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "base/json.h"

namespace warden::jobs {

// A job's life: queued -> running -> one of the three final states. A queued job may also go
// straight to cancelled, and a running one back to queued when the server restarts (see
// JobStore::RecoverAfterCrash). Names are the lower-case words ("queued"), stored and sent as is.
enum class JobState { kQueued, kRunning, kSucceeded, kFailed, kCancelled };

inline constexpr JobState kAllJobStates[] = {JobState::kQueued, JobState::kRunning,
                                             JobState::kSucceeded, JobState::kFailed,
                                             JobState::kCancelled};

std::string_view JobStateName(JobState state);
std::optional<JobState> ParseJobState(std::string_view name);
// Succeeded, failed or cancelled: nothing more happens to the job.
bool IsFinal(JobState state);

// "task": an LLM-driven task; "steps": a list of explicit shell/python steps, no LLM.
enum class JobKind { kTask, kSteps };

std::string_view JobKindName(JobKind kind);
std::optional<JobKind> ParseJobKind(std::string_view name);

// Why a job ended (Job::reason), or why a state changed (the "reason" of a "state" event). An open
// set: workers may report others; these are the ones every part of Warden knows.
inline constexpr std::string_view kReasonSubmitted = "submitted";  // event only: created, queued
inline constexpr std::string_view kReasonClaimed = "claimed";      // event only: a worker took it
inline constexpr std::string_view kReasonFinished = "finished";    // the agent called finish
inline constexpr std::string_view kReasonMaxSteps = "max_steps";
inline constexpr std::string_view kReasonTimeout = "timeout";
inline constexpr std::string_view kReasonCancelled = "cancelled";
inline constexpr std::string_view kReasonServerRestart = "server_restart";
// The worker running the job stopped renewing its lease (killed, cut off, its machine gone).
inline constexpr std::string_view kReasonWorkerLost = "worker_lost";

// The event type every state change is recorded under; data {"state", "reason", ...}. Only the
// store writes it, so a follower can trust that the job's last event is its last state change.
inline constexpr std::string_view kStateEventType = "state";
// Recorded when cancellation of a running job is requested; data {}.
inline constexpr std::string_view kCancelRequestedEventType = "cancel_requested";

// Owner filter meaning "every owner": no API keys are configured, or the caller is the operator.
inline constexpr std::string_view kAnyOwner = "";

// Times are milliseconds since the Unix epoch (UTC), as read from a Clock.
using Clock = std::function<int64_t()>;
int64_t SystemClockMs();

struct Job {
  std::string id;     // "j_" + 26 characters; sorts by creation time
  std::string owner;  // the API key's id; "" when no keys are configured
  JobKind kind = JobKind::kTask;
  json::object input;  // the whole submitted body: task or steps, options
  JobState state = JobState::kQueued;
  std::string reason;      // why it ended; "" until it does
  std::string summary;     // for humans: what happened
  json::object result;     // usage, files manifest, ...
  std::string parent_id;   // the job this one retries, or ""; may name a job deleted since
  std::string session_id;  // the session it runs in, or ""
  int64_t created_at_ms = 0;
  std::optional<int64_t> started_at_ms;   // set when claimed
  std::optional<int64_t> finished_at_ms;  // set when final
  std::string worker;                     // who runs (or ran) it, or ""
  // How many times it was claimed: a claim's fence, with `worker` (see JobStore's leases).
  int64_t attempt = 0;
  // While running: when its worker's lease ends unless a heartbeat renews it.
  std::optional<int64_t> lease_expires_at_ms;
  bool cancel_requested = false;
  bool requeue_on_crash =
      false;                   // a server restart puts it back in the queue instead of failing it
  std::string workspace;       // directory the job works in; "" when the store has no root
  int64_t last_event_seq = 0;  // seq of its newest event (every job has at least one)
};

// What Create needs; the store fills in the id, times, state and workspace.
struct NewJob {
  std::string owner;
  JobKind kind = JobKind::kTask;
  json::object input;
  std::string parent_id;   // retry: the job copied from (must exist, same owner)
  std::string session_id;  // must exist, same owner; the job then works in the session's workspace
  bool requeue_on_crash = false;
};

// One entry of a job's log. Seqs start at 1 and have no gaps within a job.
struct Event {
  int64_t seq = 0;
  int64_t time_ms = 0;
  std::string type;  // "state", "thought", "output", ...: a vocabulary shared with agent/ and api/
  json::object data;
};

// One event to append (AppendEvents takes a batch of these, possibly for several jobs).
struct NewEvent {
  std::string job_id;
  std::string type;
  json::object data;
  // When set, the event is written only while the job still runs on this worker in this attempt
  // (its claim): a worker presumed dead cannot write into a job rescued since.
  std::string worker{};
  int64_t attempt = 0;
};

// A conversation: jobs run one after another in one workspace.
struct Session {
  std::string id;  // "s_" + 26 characters
  std::string owner;
  int64_t created_at_ms = 0;
  std::string workspace;
};

// One turn of a session: the user's message and the job that answered it.
struct SessionTurn {
  int64_t seq = 0;  // from 1 within the session
  std::string job_id;
  std::string message;
  int64_t created_at_ms = 0;
};

// A new id: `prefix` + 26 lower-case Crockford base32 characters, 48 bits of `now_ms` then 80
// random bits. Ids compare (as strings) in the order they were made within this process, even in
// the same millisecond or when the clock steps back; across processes, by millisecond. Thread-safe.
std::string NewId(std::string_view prefix, int64_t now_ms);
// True for a string NewId could have made with this prefix.
bool IsValidId(std::string_view id, std::string_view prefix);

inline constexpr std::string_view kJobIdPrefix = "j_";
inline constexpr std::string_view kSessionIdPrefix = "s_";

// Who reads a job or session. A tenant (the holder of an API key, when keys are configured) is
// not told where on the host its work happens: no "workspace" (a host path) and no "worker"
// (which names the server's process). The operator (a server without keys) sees both.
enum class Viewer { kOperator, kTenant };
// The viewer a request acting as `owner` is: kAnyOwner (no keys configured) is the operator.
inline Viewer ViewerFor(std::string_view owner) {
  return owner == kAnyOwner ? Viewer::kOperator : Viewer::kTenant;
}

// The JSON shape of each value, the one the API sends. Times stay numbers (ms); missing times are
// null.
json::object ToJson(const Job& job, Viewer viewer);
// A "state" event never shows the worker that claimed the job (events written before it was
// left out of them included it).
json::object ToJson(const Event& event);
json::object ToJson(const Session& session, Viewer viewer);
json::object ToJson(const SessionTurn& turn);

}  // namespace warden::jobs
