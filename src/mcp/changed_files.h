// The files a run changed in a workspace: a listing before (names, sizes, times; nothing read)
// compared with one after, and the SHA-256 of each new or changed file.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "artifacts/artifacts.h"
#include "base/json.h"
#include "base/result.h"

namespace warden::mcp {

// At most this many changed files are reported (with a flag saying there were more), and at most
// this many bytes hashed for them in all; a file past the budget has no sha256.
inline constexpr size_t kMaxChangedFiles = 200;
inline constexpr uint64_t kChangedHashBudgetBytes = 256ULL << 20;

struct ChangedFile {
  std::string path;  // relative to /workspace
  uint64_t size = 0;
  std::optional<std::string> sha256;
};

struct Changes {
  std::vector<ChangedFile> changed;  // new or modified, by path
  std::vector<std::string> deleted;  // by path
  bool truncated = false;            // more than kMaxChangedFiles changed
};

// The listing of `workspace` to compare with after the run (no file is read).
Result<std::vector<artifacts::FileInfo>> Snapshot(const std::string& workspace);

// What differs in `workspace` from `before`: a file is changed when it is new or its size or
// modification time differs.
Result<Changes> ChangesSince(const std::string& workspace,
                             const std::vector<artifacts::FileInfo>& before);

// {"changed_files": [{"path","size","sha256"}], "deleted_files": [...], "changes_truncated"}
void AddChangesJson(const Changes& changes, json::object& out);

}  // namespace warden::mcp
