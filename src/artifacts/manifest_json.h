// A manifest as JSON: the "files" of a job's result and of GET /v1/jobs/{id}/files, and the
// "files_error" recorded instead when the workspace could not be listed.
#pragma once

#include <string_view>
#include <vector>

#include "artifacts/artifacts.h"
#include "base/json.h"
#include "base/result.h"

namespace warden::artifacts {

// The code of a manifest refused because the workspace holds too many files or is nested too
// deep: a permanent condition, not one to retry.
inline constexpr std::string_view kTooManyFiles = "too_many_files";

// One object per file, in the manifest's order:
//   {"path": shown form (names.h), "size": bytes, "sha256": 64 hex digits | null,
//    "sha256_skipped": "budget" | "live" (only when "sha256" is null), "modified_at": ms}
// "budget": the hashing budget of the job's end ran out before this file; "live": a listing of the
// workspace as it is now, which hashes nothing.
json::array ManifestJson(const std::vector<FileInfo>& files);

// True for Manifest()'s and ArchiveStream::Open()'s own kResourceExhausted (too many files, too
// deep), as opposed to a system call's (EMFILE, ENOMEM), which may pass.
bool IsTooManyFiles(const Error& error);

// {"code", "message"} for a manifest that could not be taken: code kTooManyFiles when
// IsTooManyFiles(error), else the error's code name.
json::object ManifestErrorJson(const Error& error);

}  // namespace warden::artifacts
