// The REST API of sessions: conversations whose messages run as agent jobs, one after another, in
// the session's workspace, each with the earlier turns in view (see jobs/turns.h).
//
//   POST /v1/sessions                      → 201 the session
//   GET  /v1/sessions[?limit=N&cursor=C]   → {"sessions": [...], "next_cursor"}: the key's
//   sessions,
//        newest first, each with its turn count and last turn (message shortened, job, state)
//   GET  /v1/sessions/{id}                 → the session and its turns, each with its job and reply
//   POST /v1/sessions/{id}/messages[?wait=SECONDS]
//        {"message": "...", "options": {...}, "files": [...]} → 201 {"turn", "job"[, "reply"]};
//        409 while the previous message's job has not ended
//   PUT  /v1/sessions/{id}/files/{path...}  body: the file → 201 {"path", "size", "sha256"}; 409
//        while a message's job is queued or running; 413 past max_upload_bytes
//   GET  /v1/sessions/{id}/files            → {"files": [...]}: the workspace as it is now
//   GET  /v1/sessions/{id}/files/{path...}  → one file
//   GET  /v1/sessions/{id}/archive[?format=zip|tar.gz] → the whole workspace
#pragma once

#include <atomic>
#include <utility>

#include "api/router.h"
#include "api/workspace_quota.h"
#include "jobs/job_spec.h"
#include "jobs/llm_availability.h"
#include "jobs/session_files.h"
#include "jobs/store.h"
#include "jobs/worker.h"

namespace warden::api {

struct SessionsApiOptions {
  size_t max_message_bytes = 1 << 20;
  int max_wait_seconds = 300;  // ?wait= longer than this is refused
  // Requests waiting (?wait=) at once; more are answered at once, without the reply. Keep it well
  // under the server's handler threads.
  int max_waiters = 2;
  // What a message's options may ask for (a message runs as a job).
  jobs::JobBounds bounds;
  // Checked before a message's job is stored; null: none.
  WorkspaceQuota* quota = nullptr;
  // As JobsApiOptions::llm: a message is a task.
  jobs::LlmAvailability* llm = nullptr;
  // The largest upload (PUT .../files/{path}): the whole body is held in memory, so it must also
  // fit in the HTTP server's body limit (ServerOptions::max_body_bytes).
  size_t max_upload_bytes = 8 << 20;
  // The host uid of the sandbox user, who owns uploads when Warden runs as root.
  uid_t sandbox_uid = 2'100'001'000;
};

class SessionsApi {
 public:
  explicit SessionsApi(jobs::JobStore& store, SessionsApiOptions options = {})
      : store_(store),
        options_(std::move(options)),
        files_(store,
               jobs::SessionFilesOptions{options_.sandbox_uid, options_.bounds.job_disk_bytes}) {}
  void AddRoutes(Router& router);

 private:
  Response Create(Request& request);
  Response List(Request& request);
  Response Get(Request& request);
  Response PostMessage(Request& request);
  // session_files_api.cc
  Response PutFile(Request& request);
  Response Files(Request& request);
  Response File(Request& request);
  Response Archive(Request& request);
  Result<jobs::Session> SessionOf(const Request& request);

  jobs::JobStore& store_;
  SessionsApiOptions options_;
  jobs::SessionFiles files_;
  std::atomic<int> waiters_{0};
};

}  // namespace warden::api
