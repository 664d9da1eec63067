// JobStore: the durable home of jobs, their event logs and sessions. The API, the workers and the
// CLI program against this interface; SqliteStore implements it on one machine, a PostgreSQL store
// across many. store_test.cc is the conformance suite every implementation must pass.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "jobs/job.h"

namespace warden::jobs {

// Settings every backend shares.
struct StoreOptions {
  // Create refuses with kResourceExhausted while this many jobs are queued; 0 = no limit.
  int64_t max_queued = 0;
  // Create refuses with kResourceExhausted while one owner (an API key; not kAnyOwner, the
  // operator's) has this many jobs queued; 0 = no limit. So that one tenant cannot fill the queue.
  int64_t max_queued_per_owner = 0;
  // ClaimNext leaves an owner's (an API key's) jobs queued while it has this many running; 0 = no
  // limit. Bounds one tenant's live sandboxes, so that others find a free worker.
  int64_t max_running_per_owner = 0;
  // Jobs work in <workspace_root>/<job id>, sessions (and their jobs) in <workspace_root>/<session
  // id>. The store only records the paths; workers create and remove the directories. "" leaves
  // every workspace "".
  std::string workspace_root;
  // How long a claim lasts without a heartbeat. A job whose lease ran out is rescued by any node
  // (RescueExpiredLeases): its worker is presumed dead.
  std::chrono::milliseconds lease{10'000};
  // Source of every time the store records; unset = SystemClockMs. Tests set a fake one.
  Clock clock;
};

// Which jobs List returns. Empty strings match everything.
// Every member has an initializer: designated initializers name only what they filter on.
struct JobFilter {
  std::optional<JobState> state{};
  std::string owner{kAnyOwner};
  std::string session_id{};
  std::optional<JobKind> kind{};
  // Only jobs whose task (or message), or whose steps, contain this text, case-insensitively for
  // ASCII letters; "" for every job.
  std::string text{};
};

inline constexpr int kMaxPageLimit = 1000;

struct PageRequest {
  int limit = 50;      // 1..kMaxPageLimit
  std::string cursor;  // "" for the first page, then the previous page's next_cursor
};

struct JobPage {
  std::vector<Job> jobs;    // newest first
  std::string next_cursor;  // "" when there is nothing after this page
};

// A session as a list shows it: its last turn, if it has one.
struct SessionSummary {
  Session session;
  int64_t turns = 0;
  int64_t last_active_ms = 0;  // the last turn's time, else the session's creation
  std::string last_message;    // the last turn's message, "" without turns
  std::string last_job_id;     // the job that answered it, "" without turns
  std::string last_job_state;  // that job's state; "" without turns, or once retention deleted it
};

struct SessionPage {
  std::vector<SessionSummary> sessions;  // newest first
  std::string next_cursor;               // "" when there is nothing after this page
};

// Which of a job's events ReadEvents returns: one page, in order of seq.
struct EventQuery {
  int64_t after_seq = 0;           // only events with a larger seq
  int64_t before_seq = INT64_MAX;  // and a smaller one
  std::string type;                // only events of this type; "" for every type
  bool newest_first = false;       // from before_seq down rather than from after_seq up
  int limit = kMaxPageLimit;       // at most this many events, 1..kMaxPageLimit
  // The page ends once its events' data reach this many bytes (as stored, in JSON), whatever
  // `limit` says; it always holds at least one event. 0: no bound. Output events reach 64 kB each:
  // a reader that bounds its pages by bytes holds one page, not a thousand of them.
  size_t max_bytes = 0;
};

inline constexpr size_t kEventPageBytes = 1 << 20;  // what the API's readers hold at a time

struct EventPage {
  std::vector<Event> events;
  bool more = false;  // more events matched past this page when it was read
};

struct FinishRequest {
  JobState state = JobState::kSucceeded;  // must be final
  std::string reason;                     // kReasonFinished, kReasonTimeout, ...
  std::string summary;
  json::object result;
  // When set, the job must be running on this worker in this attempt (its claim): a worker that
  // lost its job (rescued, perhaps claimed again) cannot finish someone else's run.
  std::string worker;
  int64_t attempt = 0;  // 0: any attempt of `worker`
  // What the job's workspace holds on disk at its end (sys::DiskUsage: sparse files at their full
  // length). Counted against its owner's workspace quota while the job is kept (WorkspaceBytes).
  int64_t workspace_bytes = 0;
};

// A worker's claim on a running job: what heartbeats renew and every write of the worker is fenced
// by.
struct Lease {
  std::string job_id;
  std::string worker;
  int64_t attempt = 0;
};

// What a heartbeat learnt of one lease.
struct LeaseStatus {
  std::string job_id;
  bool held = false;  // renewed; false: the job was rescued or ended, stop working on it
  bool cancel_requested = false;  // someone asked to cancel it: kill its sandbox
};

struct RecoveryCounts {
  int64_t failed = 0;     // ended failed, reason server_restart or worker_lost
  int64_t requeued = 0;   // requeue_on_crash: queued again
  int64_t cancelled = 0;  // cancellation had been requested: ended cancelled
};

struct DeletedJob {
  std::string id;
  // The directory the caller should now remove, or "" when there is none or it is a session's
  // (shared with the session's other jobs, so it stays).
  std::string workspace;
};

struct DeletedSession {
  std::string id;
  std::string workspace;  // to remove, or ""
};

// A message sent to a session: the job that answers it and its turn.
struct PostedMessage {
  Job job;
  SessionTurn turn;
};

// Every method is thread-safe. A method returns only once its change is durable (it survives a
// crash of the process or the machine), and a read that starts after a change returned sees it.
//
// Errors common to all methods: kNotFound for an unknown id (or one owned by someone else, when an
// owner is given), kInvalidArgument for malformed arguments, kFailedPrecondition for a change the
// job's state does not allow (the job is then unchanged), kUnavailable/kInternal/kDataLoss/
// kResourceExhausted from the database itself.
class JobStore {
 public:
  virtual ~JobStore() = default;

  // --- Submitting and reading jobs ---

  // Writes a queued job and its first "state" event (reason "submitted") in one transaction.
  // kResourceExhausted when max_queued jobs are already queued (the API answers 429). A retry is
  // a Create with parent_id set and the parent's input copied by the caller.
  virtual Result<Job> Create(NewJob job) = 0;

  // `owner` = kAnyOwner sees every job; otherwise another owner's job is kNotFound.
  virtual Result<Job> Get(std::string_view id, std::string_view owner) = 0;

  // Jobs matching `filter`, newest first, one page at a time. kInvalidArgument for a limit outside
  // 1..kMaxPageLimit or a cursor that is not a job id.
  virtual Result<JobPage> List(const JobFilter& filter, const PageRequest& page) = 0;

  // Get and List when the store can answer at once, from memory or a local file, without waiting
  // for a lock, a connection or the network; std::nullopt when it cannot, and then the caller uses
  // Get or List, which may wait. For callers that must not block: the HTTP server's I/O threads.
  // By default std::nullopt, the answer of a store whose every read is a network round trip.
  virtual std::optional<Result<Job>> TryGet(std::string_view /*id*/, std::string_view /*owner*/) {
    return std::nullopt;
  }
  virtual std::optional<Result<JobPage>> TryList(const JobFilter& /*filter*/,
                                                 const PageRequest& /*page*/) {
    return std::nullopt;
  }

  // Number of jobs of `owner` (kAnyOwner: of everyone) in each state, every state present (zero
  // if none): for metrics, and for a key's own view of its jobs.
  virtual Result<std::map<JobState, int64_t>> CountByState(std::string_view owner) = 0;

  // The disk held by the workspaces of `owner`'s kept jobs, as each job's Finish recorded it
  // (FinishRequest::workspace_bytes). A workspace is counted once: a session's turns share one,
  // counted as its latest turn left it. Jobs that have not finished count 0 (their sandboxes'
  // disk limits bound them meanwhile).
  virtual Result<int64_t> WorkspaceBytes(std::string_view owner) = 0;

  // --- Running jobs (workers) ---

  // Moves a queued job to running on `worker` (started_at, "state" event with reason "claimed",
  // the next attempt, a lease until now + StoreOptions::lease) and returns it; nullopt when nothing
  // is queued. Fair share: the oldest queued job of the owner with the fewest running jobs, so that
  // one owner's long queue does not hold back another's jobs; within an owner, oldest first; none
  // of an owner at max_running_per_owner. Each job is claimed exactly once, however many callers
  // race.
  virtual Result<std::optional<Job>> ClaimNext(std::string_view worker) = 0;

  // Blocks until a job may be queued (true) or `timeout` passes (false): a worker's idle wait.
  // A true answer is a hint; ClaimNext decides.
  virtual Result<bool> WaitForQueued(std::chrono::milliseconds timeout) = 0;

  // Appends one event to a queued or running job; returns its seq. kFailedPrecondition for a
  // finished job, kInvalidArgument for an empty type or the reserved type "state".
  virtual Result<int64_t> AppendEvent(std::string_view job_id, std::string_view type,
                                      json::object data) = 0;
  // Appends a batch (for one or several jobs) in one transaction, all or nothing; returns the seqs
  // in the batch's order. The cheap way to record many output lines.
  virtual Result<std::vector<int64_t>> AppendEvents(std::vector<NewEvent> events) = 0;

  // One page of the job's events (see EventQuery). Callers that serve an owner check it with Get
  // first. kInvalidArgument for a limit outside 1..kMaxPageLimit.
  virtual Result<EventPage> ReadEvents(std::string_view job_id, const EventQuery& query) = 0;

  // The job's events with seq > after_seq, in order, at most `limit` (1..kMaxPageLimit).
  Result<std::vector<Event>> Events(std::string_view job_id, int64_t after_seq, int limit) {
    EventQuery query;
    query.after_seq = after_seq;
    query.limit = limit;
    ASSIGN_OR_RETURN(EventPage page, ReadEvents(job_id, query));
    return std::move(page.events);
  }

  // Blocks until the job has an event with seq > after_seq (true) or `timeout` passes (false): how
  // a live follower waits. A finished job's last event is its final "state" event, so a follower
  // that has seen it can stop.
  virtual Result<bool> WaitForEvents(std::string_view job_id, int64_t after_seq,
                                     std::chrono::milliseconds timeout) = 0;

  // Blocks until at least one job of `after` (job id -> the seq its follower has seen) has a newer
  // event, or `timeout` passes. Returns each such job with the seq of its newest event; empty on
  // timeout. Ids of jobs that do not exist (any more) are left out. How one thread follows many
  // jobs at the cost of one read per change, not one per job.
  virtual Result<std::map<std::string, int64_t>> WaitForAnyEvents(
      const std::map<std::string, int64_t>& after, std::chrono::milliseconds timeout) = 0;

  // Ends a running job (or a queued one, as cancelled only) and appends its final "state" event
  // {state, reason, summary}. Returns the finished job. Finishing a finished job is
  // kFailedPrecondition and changes nothing.
  virtual Result<Job> Finish(std::string_view job_id, FinishRequest request) = 0;

  // A queued job ends cancelled at once. A running job gets cancel_requested set and a
  // "cancel_requested" event, and keeps running until its worker notices and calls Finish (asking
  // twice is harmless). A finished job: kFailedPrecondition. Returns the job as it now is.
  virtual Result<Job> RequestCancel(std::string_view job_id, std::string_view owner) = 0;
  virtual Result<bool> IsCancelRequested(std::string_view job_id) = 0;

  // At server start, before any worker runs. A store for one machine (SQLite): every job left
  // running ends failed (reason server_restart, a summary saying so), or is queued again if
  // requeue_on_crash, or ends cancelled if cancellation had been requested; the caller must be the
  // only one running jobs from it. A store shared by many nodes (PostgreSQL) cannot tell a dead
  // worker's job from a live one's but by its lease: it rescues expired leases only
  // (RescueExpiredLeases). Events already stored are kept.
  virtual Result<RecoveryCounts> RecoverAfterCrash() = 0;

  // --- Leases: many workers on many nodes ---
  //
  // A claim gives the job a new attempt and a lease of StoreOptions::lease. The worker renews the
  // leases of its running jobs with Heartbeat; a job whose lease expired is rescued by whichever
  // node calls RescueExpiredLeases first. Every write of a worker (events with a worker set,
  // Finish with a worker set) is fenced by (job, worker, attempt): once rescued, nothing the old
  // worker sends changes the job, and no job is finalised twice.

  // Renews each lease still held (the job runs on that worker in that attempt) and says, for each,
  // whether it is held and whether cancellation was requested: a worker's one periodic write.
  virtual Result<std::vector<LeaseStatus>> Heartbeat(const std::vector<Lease>& leases) = 0;

  // Running jobs whose lease expired: each ends failed (reason worker_lost, the summary naming the
  // worker), or is queued again if requeue_on_crash, or ends cancelled if cancellation had been
  // requested. At most `limit` (1..kMaxPageLimit) per call; nodes calling at once rescue different
  // jobs.
  virtual Result<RecoveryCounts> RescueExpiredLeases(int limit) = 0;

  // Retention: deletes up to `limit` finished jobs (oldest finish first) that finished before
  // `cutoff_ms`, with their events. Returns what was deleted; call again until it returns fewer
  // than `limit`. Session turns keep naming deleted jobs.
  virtual Result<std::vector<DeletedJob>> DeleteFinishedBefore(int64_t cutoff_ms, int limit) = 0;

  // Deletes one finished job of `owner` (kAnyOwner: any) with its events; returns it, with the
  // workspace the caller should now remove. kFailedPrecondition while it is queued or running
  // (cancel it first).
  virtual Result<DeletedJob> DeleteJob(std::string_view id, std::string_view owner) = 0;

  // Retention of sessions: deletes up to `limit` sessions idle since before `cutoff_ms` (made
  // before it, no turn since, no job running, queued or finished since) with their turns and any
  // jobs of theirs still kept. Returns them; the caller removes their workspaces.
  virtual Result<std::vector<DeletedSession>> DeleteSessionsIdleBefore(int64_t cutoff_ms,
                                                                       int limit) = 0;

  // --- Sessions ---

  virtual Result<Session> CreateSession(std::string_view owner) = 0;
  virtual Result<Session> GetSession(std::string_view id, std::string_view owner) = 0;
  // Records that `job_id` (a job of this session) answered `message`; returns the turn.
  virtual Result<SessionTurn> AddSessionTurn(std::string_view session_id, std::string_view owner,
                                             std::string_view job_id, std::string message) = 0;
  // Sends `message` to session `job.session_id` as `job.owner`: creates `job` (as Create) and its
  // turn in one transaction. One message at a time: while the session's last message is still
  // being answered (its job queued or running), kAborted, naming that message and job, and nothing
  // changes; this holds across every process sharing the store. kInvalidArgument without a
  // session id; Create's errors otherwise.
  virtual Result<PostedMessage> PostSessionMessage(NewJob job, std::string message) = 0;
  // The session's turns, oldest first.
  virtual Result<std::vector<SessionTurn>> ListSessionTurns(std::string_view session_id,
                                                            std::string_view owner) = 0;
  // One page of `owner`'s sessions (kAnyOwner: everyone's), newest first; the cursor is the last
  // session id of the previous page.
  virtual Result<SessionPage> ListSessions(std::string_view owner, const PageRequest& page) = 0;
};

}  // namespace warden::jobs
