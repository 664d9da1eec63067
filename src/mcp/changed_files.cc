#include "mcp/changed_files.h"

#include <map>

#include "base/sha256.h"

namespace warden::mcp {
namespace {

// The SHA-256 of one file of the workspace, or std::nullopt when it cannot be read (it went away,
// or a link stands in its place).
std::optional<std::string> HashOf(const std::string& workspace, const std::string& path) {
  auto file = artifacts::OpenInWorkspace(workspace, path);
  if (!file.ok()) {
    return std::nullopt;
  }
  artifacts::FileReader reader(std::move(file).value());
  Sha256 hash;
  for (;;) {
    auto piece = reader.Next();
    if (!piece.ok()) {
      return std::nullopt;
    }
    if (!piece->has_value()) {
      return hash.FinishHex();
    }
    hash.Update(**piece);
  }
}

}  // namespace

Result<std::vector<artifacts::FileInfo>> Snapshot(const std::string& workspace) {
  artifacts::ManifestOptions options;
  options.hashing = std::nullopt;
  return artifacts::Manifest(workspace, options);
}

Result<Changes> ChangesSince(const std::string& workspace,
                             const std::vector<artifacts::FileInfo>& before) {
  ASSIGN_OR_RETURN(std::vector<artifacts::FileInfo> after, Snapshot(workspace));
  std::map<std::string_view, const artifacts::FileInfo*> old;
  for (const auto& file : before) {
    old[file.path] = &file;
  }
  Changes changes;
  uint64_t budget = kChangedHashBudgetBytes;
  for (const auto& file : after) {
    auto it = old.find(file.path);
    bool same =
        it != old.end() && it->second->size == file.size && it->second->mtime_ms == file.mtime_ms;
    if (it != old.end()) {
      old.erase(it);
    }
    if (same) {
      continue;
    }
    if (changes.changed.size() == kMaxChangedFiles) {
      changes.truncated = true;
      continue;
    }
    ChangedFile changed{file.path, file.size, std::nullopt};
    if (file.size <= budget) {
      budget -= file.size;
      changed.sha256 = HashOf(workspace, file.path);
    }
    changes.changed.push_back(std::move(changed));
  }
  for (const auto& [path, file] : old) {
    changes.deleted.emplace_back(path);
  }
  return changes;
}

void AddChangesJson(const Changes& changes, json::object& out) {
  json::array changed;
  for (const ChangedFile& file : changes.changed) {
    json::object entry{{"path", file.path}, {"size", file.size}};
    entry["sha256"] = file.sha256 ? json::value(*file.sha256) : json::value(nullptr);
    changed.push_back(std::move(entry));
  }
  json::array deleted;
  for (const std::string& path : changes.deleted) {
    deleted.push_back(json::value(path));
  }
  out["changed_files"] = std::move(changed);
  out["deleted_files"] = std::move(deleted);
  out["changes_truncated"] = changes.truncated;
}

}  // namespace warden::mcp
