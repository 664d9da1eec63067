// Manifest(): the artifacts of a workspace with their sizes and, within a budget, their SHA-256.
#include <algorithm>
#include <numeric>
#include <vector>

#include "artifacts/artifacts.h"
#include "artifacts/workspace_fs.h"
#include "base/config.h"
#include "base/log.h"
#include "base/sha256.h"
#include "base/units.h"

namespace warden::artifacts {

namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr size_t kReadBytes = size_t{64} * 1024;

// What is left to spend on digests; shared by every file of one manifest.
struct Spending {
  uint64_t bytes_left = 0;
  SteadyClock::time_point deadline;

  bool OutOfTime() const { return SteadyClock::now() >= deadline; }
};

// Hashes `file` up to the size it had when opened. The size is what was read, so that size and
// digest always agree even if the file shrank after it was opened. Sets info->unhashed instead
// when the budget runs out before the end of the file (what was read of it is spent all the
// same).
Status Describe(OpenFile file, std::vector<char>* buffer, Spending* spending, FileInfo* info) {
  info->size = file.size;
  info->mtime_ms = file.mtime_ms;
  if (file.size > spending->bytes_left || spending->OutOfTime()) {
    info->unhashed = Unhashed::kOverBudget;
    return OkStatus();
  }
  Sha256 hash;
  uint64_t read = 0;
  while (read < file.size) {
    if (spending->OutOfTime()) {
      spending->bytes_left -= read;
      info->unhashed = Unhashed::kOverBudget;
      return OkStatus();
    }
    size_t want = static_cast<size_t>(std::min<uint64_t>(buffer->size(), file.size - read));
    ASSIGN_OR_RETURN(size_t n, ReadSome(file.fd.get(), buffer->data(), want, info->path));
    if (n == 0) {
      break;
    }
    hash.Update(buffer->data(), n);
    read += n;
  }
  spending->bytes_left -= read;
  info->size = read;
  info->sha256 = hash.FinishHex();
  return OkStatus();
}

// Hashes the file at `info->path`, smallest files first being the caller's business. Returns false
// when the file is no longer an artifact (removed or replaced since the listing, or unreadable).
Result<bool> Hash(int root_fd, const std::string& workspace, std::vector<char>* buffer,
                  Spending* spending, FileInfo* info) {
  if (info->size > spending->bytes_left || spending->OutOfTime()) {
    info->unhashed = Unhashed::kOverBudget;  // not even opened
    return true;
  }
  Result<OpenFile> file = OpenBeneath(root_fd, info->path);
  if (!file.ok()) {
    ErrorCode code = file.error().code();
    // Removed, or replaced by a symlink or a directory, since the listing: no longer an artifact.
    if (code == ErrorCode::kNotFound || code == ErrorCode::kInvalidArgument) {
      return false;
    }
    if (code == ErrorCode::kPermissionDenied) {
      LOG_WARN("artifacts: leaving unreadable {} out of the manifest of {}", Quoted(info->path),
               workspace);
      return false;
    }
    return std::move(file).error();
  }
  RETURN_IF_ERROR(Describe(std::move(file).value(), buffer, spending, info));
  return true;
}

}  // namespace

Result<HashBudget> HashBudgetFromConfig(const Config& config) {
  HashBudget budget;
  if (config.Has("artifacts.hash_budget")) {
    Result<uint64_t> bytes = ParseBytes(config.String("artifacts.hash_budget").value_or(""));
    if (!bytes.ok()) {
      return Error(ErrorCode::kInvalidArgument,
                   "artifacts.hash_budget in " + config.origin() +
                       " must be a size such as \"512M\" or \"2G\": the bytes read to hash a "
                       "job's files at its end");
    }
    budget.bytes = *bytes;
  }
  if (config.Has("artifacts.hash_time")) {
    Result<std::chrono::milliseconds> time =
        ParseDuration(config.String("artifacts.hash_time").value_or(""));
    if (!time.ok() || time->count() < 0) {
      return Error(ErrorCode::kInvalidArgument,
                   "artifacts.hash_time in " + config.origin() +
                       " must be a duration such as \"10s\" or \"1m\": how long hashing a job's "
                       "files at its end may take");
    }
    budget.time = *time;
  }
  return budget;
}

Result<std::vector<FileInfo>> Manifest(const std::string& workspace,
                                       const ManifestOptions& options) {
  ASSIGN_OR_RETURN(UniqueFd root, OpenWorkspace(workspace));
  ASSIGN_OR_RETURN(std::vector<ListedFile> listed, ListRegularFiles(root.get(), options.max_files));
  std::vector<FileInfo> files;
  files.reserve(listed.size());
  for (ListedFile& file : listed) {
    FileInfo info;
    info.path = std::move(file.path);
    info.size = file.size;
    info.mtime_ms = file.mtime_ms;
    info.unhashed = Unhashed::kNotAsked;
    files.push_back(std::move(info));
  }
  if (!options.hashing) {
    return files;
  }
  Spending spending{options.hashing->bytes, SteadyClock::now() + options.hashing->time};
  // Smallest first (then by path, so that the choice is the same every time).
  std::vector<size_t> order(files.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return files[a].size < files[b].size; });
  std::vector<bool> gone(files.size(), false);
  std::vector<char> buffer(kReadBytes);
  for (size_t index : order) {
    files[index].unhashed = Unhashed::kNo;
    ASSIGN_OR_RETURN(bool still_there,
                     Hash(root.get(), workspace, &buffer, &spending, &files[index]));
    gone[index] = !still_there;
  }
  std::vector<FileInfo> kept;
  kept.reserve(files.size());
  for (size_t i = 0; i < files.size(); ++i) {
    if (!gone[i]) {
      kept.push_back(std::move(files[i]));
    }
  }
  return kept;
}

}  // namespace warden::artifacts
