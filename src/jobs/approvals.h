// Approvals of a server job's actions. No one sits at a server's terminal: a worker whose agent
// needs approval records the request in the job's event log and waits for an answer recorded
// there too, so that the API of any node answers the worker of another.
//
//   request  "approval" {"decision": "pending", "step", "tool", "arguments", "reason",
//            "expires_at"}: the approval's id is the seq of this event.
//   answer   "approval_answer" {"id", "decision": "approved"|"denied", "always", "reason", "by",
//            "risk"}: the first answer to an id is the one that counts.
//
// An approval nobody answers by its expiry is denied (by "timeout"). An answer "always" approves
// this action and every later one of the same risk in the job and in later turns of its session.
// The agent then records its own "approval" event (decision approved or refused), as in
// `warden run`.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/json.h"
#include "base/result.h"
#include "jobs/event_log.h"
#include "jobs/store.h"
#include "sandbox/sandbox.h"

namespace warden::jobs {

inline constexpr std::string_view kApprovalEventType = "approval";
inline constexpr std::string_view kApprovalAnswerEventType = "approval_answer";

// Every member has an initializer: designated initializers name only what they set.
struct ApprovalAnswer {
  int64_t id = 0;  // the request's seq
  bool approved = false;
  bool always = false;   // approved for every later action of the same risk in the session
  std::string reason{};  // a denial's reason, which the model is told
  std::string by{};      // who answered: an API key's id, "operator", or "timeout"
  std::string risk{};    // the request's reason: what made the action risky
  int64_t seq = 0;       // the answer's own event
  int64_t time_ms = 0;
};

// One approval asked in a job, with its first answer if it has one.
struct ApprovalRecord {
  int64_t id = 0;
  int64_t requested_at_ms = 0;
  json::object request;  // the request event's data
  std::optional<ApprovalAnswer> answer;
};

// Every approval asked in the job, oldest first.
Result<std::vector<ApprovalRecord>> ListApprovals(JobStore& store, std::string_view job_id);

// Whether the request was asked by the job's current attempt (a job queued again after a crash
// asks anew; what an earlier attempt asked waits for nothing).
bool IsCurrent(const ApprovalRecord& record, const Job& job);

// {"id", "state": "pending"|"approved"|"denied", "step", "tool", "arguments", "reason",
//  "requested_at", "expires_at", "answer": {"decision", "always", "reason", "by", "answered_at"}
//  | null}
json::object ToJson(const ApprovalRecord& record);

struct AnswerRequest {
  int64_t id = 0;  // the approval answered; 0: the one pending
  bool approve = false;
  bool always = false;
  std::string reason;
  std::string by;
};

// Answers the pending approval of a running job. kFailedPrecondition when the job does not run or
// waits for no approval (or not for this one), or when the approval was answered already (the
// message says how, and by whom); kNotFound for an id the job never asked.
Result<ApprovalAnswer> AnswerApproval(JobStore& store, const Job& job, const AnswerRequest& answer);

// The agent's approval function in a server job (agent::ApprovalFn's shape, through Ask): asks
// through the job's events and waits for the answer, the job's cancellation, or the expiry.
class ServerApprovals {
 public:
  ServerApprovals(JobStore& store, EventLog& log, Lease claim, const sandbox::CancelToken& cancel,
                  std::chrono::milliseconds timeout,
                  std::chrono::steady_clock::time_point job_deadline);

  // Reads the "always" answers given in the earlier turns of the job's session.
  Status LoadSessionGrants(const Job& job);
  // The step of the action about to be checked (from the agent's "action" events).
  void SetStep(int step) { step_ = step; }

  bool Ask(const std::string& tool, const json::object& arguments, const std::string& reason,
           std::string* why);

 private:
  Result<std::optional<ApprovalAnswer>> FirstAnswer(int64_t id);
  Result<int64_t> NewestSeq(int64_t after_seq);
  bool Apply(const ApprovalAnswer& answer, const std::string& risk,
             std::chrono::milliseconds waited, std::string* why);

  JobStore& store_;
  EventLog& log_;
  Lease claim_;
  const sandbox::CancelToken& cancel_;
  std::chrono::milliseconds timeout_;
  std::chrono::steady_clock::time_point job_deadline_;
  std::set<std::string> granted_risks_;  // answered "always"
  int step_ = 0;
};

}  // namespace warden::jobs
