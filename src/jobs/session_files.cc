#include "jobs/session_files.h"

#include <functional>
#include <string>

#include <fmt/format.h>

#include "base/units.h"
#include "jobs/input_files.h"
#include "jobs/workspace_dir.h"
#include "sys/fs.h"

namespace warden::jobs {

std::unique_lock<std::mutex> SessionFiles::Exclude(std::string_view session_id) {
  return std::unique_lock(stripes_[std::hash<std::string_view>{}(session_id) % stripes_.size()]);
}

Status SessionFiles::CheckIdle(const Session& session) {
  // A session answers one message at a time: its newest job is the only one that may be active.
  JobFilter filter;
  filter.session_id = session.id;
  ASSIGN_OR_RETURN(JobPage newest, store_.List(filter, PageRequest{1, ""}));
  if (newest.jobs.empty() || IsFinal(newest.jobs.front().state)) {
    return OkStatus();
  }
  const Job& job = newest.jobs.front();
  return Error(ErrorCode::kAborted,
               fmt::format("session {} is answering a message (job {} is {}): files can be "
                           "uploaded once it has ended, so that a turn's files stay what it saw; "
                           "wait for the job (or cancel it) and upload again",
                           session.id, job.id, JobStateName(job.state)));
}

Result<artifacts::WrittenFile> SessionFiles::Put(const Session& session, std::string_view path,
                                                 std::string_view content) {
  RETURN_IF_ERROR(CheckClientPath(path, "the path"));
  if (session.workspace.empty()) {
    return Error(ErrorCode::kFailedPrecondition,
                 "this server keeps no workspaces (it has no data directory)");
  }
  std::unique_lock lock = Exclude(session.id);
  RETURN_IF_ERROR(CheckIdle(session));
  RETURN_IF_ERROR(PrepareWorkspace(session.workspace, options_.sandbox_uid));
  ASSIGN_OR_RETURN(uint64_t used, sys::DiskUsage(session.workspace));
  if (used + content.size() > options_.max_workspace_bytes) {
    return Error(ErrorCode::kResourceExhausted,
                 fmt::format("the session's workspace holds {}, and {} more would take it past "
                             "{}, what a job may have (disk_limit): have a message remove files, "
                             "or start a new session",
                             FormatBytes(used), FormatBytes(content.size()),
                             FormatBytes(options_.max_workspace_bytes)));
  }
  artifacts::WriteOptions write;
  write.owner = SandboxOwner(options_.sandbox_uid);
  return artifacts::WriteInWorkspace(session.workspace, path, content, write);
}

}  // namespace warden::jobs
