// A server job shown the way `warden run` shows a local task: its API events ({seq, time_ms,
// type, data}) go through the same Renderer, and its record gives the outcome block. Used by
// `warden submit --wait`, `logs`, `status` and `chat`.
#pragma once

#include <atomic>
#include <optional>
#include <string>

#include "cli/api_client.h"
#include "cli/render.h"

#include "base/json.h"
#include "base/result.h"

namespace warden::cli {

// The agent event an API event carries; nullopt for the job's own events (state, ...).
std::optional<agent::Event> EventOfApi(const std::string& type, const json::object& event);

// Which files of the job's manifest the outcome lists: all, or those changed after the job started
// (a session's turn: what this message made).
enum class FilesShown { kAll, kChangedByJob };

// The outcome of an ended job, from its record (GET /v1/jobs/ID).
Outcome OutcomeOfJob(const ServerFlags& flags, const json::object& job, FilesShown shown);

// Follows job `id` to its end: every event as a JSON line (flags.json), or rendered, with an
// approval that waits asked on the terminal, then its outcome block. Returns the final state
// (kCancelled when `cancel` became true).
Result<std::string> FollowJob(const ServerFlags& flags, const std::string& id, Renderer& renderer,
                              FilesShown shown, const std::atomic<bool>* cancel = nullptr);

// Prints every event the job has so far as JSON lines, unrendered (`warden logs --json`).
int PrintJobEvents(const ServerFlags& flags, const std::string& id);

// `warden status ID`: the job's line, then its outcome block when it ended, or what it is doing.
int ShowJobStatus(const ServerFlags& flags, const std::string& id);

}  // namespace warden::cli
