// Writing a file into a workspace from an untrusted relative path: a job's input files and a
// session's uploads. Never follows a symbolic link, never leaves the workspace, whatever earlier
// sandbox runs left in it.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"

namespace warden::artifacts {

struct WriteOptions {
  // When set, the file and every directory created for it get this uid and gid (the sandbox
  // user's, when Warden runs as root); otherwise they belong to the caller.
  std::optional<uid_t> owner;
  mode_t file_mode = 0644;
  mode_t dir_mode = 0755;
};

// What WriteInWorkspace() wrote.
struct WrittenFile {
  std::string path;  // as given
  uint64_t size = 0;
  std::string sha256;  // 64 lower-case hex digits
};

// Writes `content` to the regular file `relative` below the directory `workspace`, creating the
// directories on the way (with WriteOptions::dir_mode), replacing a regular file already there.
// `relative` is checked as CheckRelativePath() does (kInvalidArgument). Each directory is opened
// from its parent with O_NOFOLLOW, and the file is written to a new temporary file in its
// directory, flushed to disk and renamed over the name: a symbolic link on the way or at the name
// (planted before or during the call) is refused with kInvalidArgument "goes through a symbolic
// link" / "is a symbolic link", never followed, and a reader never sees half a file. A directory at
// the name, or a file where a directory is needed, is kInvalidArgument too; errors name the path.
// kNotFound when `workspace` does not exist.
Result<WrittenFile> WriteInWorkspace(const std::string& workspace, std::string_view relative,
                                     std::string_view content, const WriteOptions& options = {});

}  // namespace warden::artifacts
