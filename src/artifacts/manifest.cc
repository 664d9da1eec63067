// Manifest(): the artifacts of a workspace with their sizes and SHA-256 digests.
#include <vector>

#include "artifacts/artifacts.h"
#include "artifacts/workspace_fs.h"
#include "base/log.h"
#include "base/sha256.h"

namespace warden::artifacts {

namespace {

constexpr size_t kReadBytes = size_t{64} * 1024;

// Hashes `file` to its end. The size is what was read, so that size and digest always agree even
// if the file changed after it was opened.
Result<FileInfo> Describe(const std::string& path, OpenFile file, std::vector<char>* buffer) {
  Sha256 hash;
  uint64_t size = 0;
  for (;;) {
    ASSIGN_OR_RETURN(size_t n, ReadSome(file.fd.get(), buffer->data(), buffer->size(), path));
    if (n == 0) {
      break;
    }
    hash.Update(buffer->data(), n);
    size += n;
  }
  return FileInfo{path, size, hash.FinishHex(), file.mtime_ms};
}

}  // namespace

Result<std::vector<FileInfo>> Manifest(const std::string& workspace, size_t max_files) {
  ASSIGN_OR_RETURN(UniqueFd root, OpenWorkspace(workspace));
  ASSIGN_OR_RETURN(std::vector<std::string> paths, ListRegularFiles(root.get(), max_files));
  std::vector<FileInfo> files;
  files.reserve(paths.size());
  std::vector<char> buffer(kReadBytes);
  for (const std::string& path : paths) {
    Result<OpenFile> file = OpenBeneath(root.get(), path);
    if (!file.ok()) {
      ErrorCode code = file.error().code();
      // Removed, or replaced by a symlink or a directory, since the listing: no longer an artifact.
      if (code == ErrorCode::kNotFound || code == ErrorCode::kInvalidArgument) {
        continue;
      }
      if (code == ErrorCode::kPermissionDenied) {
        LOG_WARN("artifacts: leaving unreadable '{}' out of the manifest of {}", path, workspace);
        continue;
      }
      return std::move(file).error();
    }
    ASSIGN_OR_RETURN(FileInfo info, Describe(path, std::move(file).value(), &buffer));
    files.push_back(std::move(info));
  }
  return files;
}

}  // namespace warden::artifacts
