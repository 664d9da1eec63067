// What a session's turns said and did, read back from their jobs' events: the reply the API
// returns for a message, and the digest of earlier turns that the next message's agent sees.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "base/json.h"
#include "base/result.h"
#include "jobs/store.h"

namespace warden::jobs {

// The answer of a job, from its events: {"state", "reason", "summary", "plan": [..],
// "thoughts": [..], "actions": [{"step", "tool", "arguments", "observation": {"outcome",
// "exit_code", "ok", "summary"} | null}], "files": [..], "changes": {..} (a session's ended turn:
// turn_changes.h)}. Works for any job; a running job's reply is what it has done so far.
Result<json::object> ReplyOf(JobStore& store, const Job& job);

struct ContextLimits {
  size_t total_bytes = 16'384;   // the whole digest; the oldest turns go first
  size_t message_bytes = 2'048;  // each earlier message
  size_t action_bytes = 240;     // each action's one-line description
  size_t actions_per_turn = 12;  // the last ones are kept
  size_t summary_bytes = 1024;   // each turn's outcome
};

// The task the agent gets for `job`, a message of its session: the session's earlier turns (those
// of jobs made before this one), then the new message. A job outside a session gets its task
// unchanged.
Result<std::string> TaskWithSessionContext(JobStore& store, const Job& job,
                                           const ContextLimits& limits = {});

}  // namespace warden::jobs
