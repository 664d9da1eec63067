// Files a client puts into a session's workspace between its turns (PUT /v1/sessions/{id}/files/
// {path}): written only while no message of the session is being answered, so that the files a
// turn worked on stay what it saw, and never through a symbolic link an earlier turn left.
#pragma once

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <mutex>
#include <string_view>

#include "artifacts/workspace_writer.h"
#include "base/result.h"
#include "jobs/job.h"
#include "jobs/store.h"

namespace warden::jobs {

struct SessionFilesOptions {
  uid_t sandbox_uid = 2'100'001'000;  // owns what is written, when Warden runs as root
  // What a session's workspace may hold after an upload: a job's disk limit, since the next turn
  // could not run in more.
  uint64_t max_workspace_bytes = 1ULL << 30;
};

// Thread-safe.
class SessionFiles {
 public:
  SessionFiles(JobStore& store, SessionFilesOptions options) : store_(store), options_(options) {}

  // Held while a message is posted to the session, so that within this process an upload and a
  // new turn of one session never interleave: a turn's job cannot be queued between an upload's
  // check and its write. (Across API nodes sharing a store the window is the upload's own write.)
  std::unique_lock<std::mutex> Exclude(std::string_view session_id);

  // Writes `content` at `path` (checked as CheckClientPath(); artifacts::WriteInWorkspace's
  // refusals) in the session's workspace, creating the workspace if no turn has yet. kAborted,
  // naming the job, while a job of the session is queued or running; kResourceExhausted when the
  // workspace would hold more than max_workspace_bytes; kFailedPrecondition when the server keeps
  // no workspaces.
  Result<artifacts::WrittenFile> Put(const Session& session, std::string_view path,
                                     std::string_view content);

 private:
  Status CheckIdle(const Session& session);

  JobStore& store_;
  const SessionFilesOptions options_;
  std::array<std::mutex, 64> stripes_;  // by a hash of the session id
};

}  // namespace warden::jobs
