// A job's input files: what a client hands a job with it ("files": [{"path": "data/in.csv",
// "content": "..."} or {"path": ..., "base64": "..."}]), checked once with the job spec, and
// written into the job's workspace before its first action.
//
//   ASSIGN_OR_RETURN(std::vector<InputFile> files, ParseInputFiles(input.at("files")));
//   ...
//   RETURN_IF_ERROR(WriteInputFiles(job.workspace, files, SandboxOwner(sandbox_uid)));
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/json.h"
#include "base/result.h"

namespace warden::jobs {

struct InputFile {
  std::string path;     // relative to the workspace, checked by CheckClientPath()
  std::string content;  // the bytes (base64 decoded)
};

// Files one job may carry at most (all of them also fit in the request's body limit).
inline constexpr size_t kMaxInputFiles = 1000;

// OK when `path` may name a file a client puts into a workspace: relative, not empty, no NUL,
// no "", "." or ".." segment, at most 4095 bytes. kInvalidArgument otherwise, starting with `what`
// (such as "files[2].path") and saying what to give instead.
Status CheckClientPath(std::string_view path, std::string_view what);

// The files of a job's "files" field. kInvalidArgument naming the entry (files[2].path ...) for
// anything but an array of at most kMaxInputFiles objects, each with "path" and one of "content"
// (text) or "base64" (canonical, padded); for a path CheckClientPath() refuses; for the same path
// twice; and for a path below another entry (a file cannot also be a directory).
Result<std::vector<InputFile>> ParseInputFiles(const json::value& files);

// "files" as a listing shows it: [{"path", "size"}] without the contents, which would make every
// page of jobs as large as all their files.
json::array InputFilesSummary(const json::value& files);

// The owner of what the service writes into workspaces: the sandbox user's `sandbox_uid` when
// Warden runs as root, else nobody in particular (the service's own uid).
std::optional<uid_t> SandboxOwner(uid_t sandbox_uid);

// Writes each file into `workspace` (mode 0644, directories created; see
// artifacts::WriteInWorkspace: no symbolic link is followed). The first that fails stops the
// writing, with an error that names it ("input file 'x/passwd' goes through a symbolic link ...").
Status WriteInputFiles(const std::string& workspace, const std::vector<InputFile>& files,
                       std::optional<uid_t> owner);

}  // namespace warden::jobs
