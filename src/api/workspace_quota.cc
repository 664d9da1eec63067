#include "api/workspace_quota.h"

#include <fmt/format.h>

#include "base/units.h"

namespace warden::api {

Status WorkspaceQuota::Admit(std::string_view owner) {
  if (max_bytes_ == 0 || owner == jobs::kAnyOwner) {
    return OkStatus();
  }
  const auto now = std::chrono::steady_clock::now();
  std::optional<int64_t> bytes;
  {
    std::lock_guard lock(mutex_);
    if (auto it = readings_.find(owner); it != readings_.end() && now - it->second.at < kFresh) {
      bytes = it->second.bytes;
    }
  }
  if (!bytes) {
    Result<int64_t> read = store_.WorkspaceBytes(owner);
    if (!read.ok()) {
      return read.error().WithContext("reading the size of your workspaces");
    }
    bytes = *read;
    std::lock_guard lock(mutex_);
    if (readings_.size() > 10'000) {
      readings_.clear();  // a bound on keys seen; each is read again within a second anyway
    }
    readings_[std::string(owner)] = Reading{*bytes, now};
  }
  if (static_cast<uint64_t>(*bytes) < max_bytes_) {
    return OkStatus();
  }
  return Error(
      ErrorCode::kResourceExhausted,
      fmt::format("the workspaces of your kept jobs hold {}, and this server keeps at most "
                  "{} for one API key (--max-workspace-bytes-per-key): delete finished "
                  "jobs you no longer need (DELETE /v1/jobs/{{id}}), or wait until they "
                  "are {} old and removed",
                  FormatBytes(static_cast<uint64_t>(*bytes)), FormatBytes(max_bytes_),
                  FormatDuration(retention_)));
}

std::optional<Response> WorkspaceQuota::Check(std::string_view owner) {
  Status admitted = Admit(owner);
  if (admitted.ok()) {
    return std::nullopt;
  }
  if (admitted.error().code() != ErrorCode::kResourceExhausted) {
    return Response::FromError(admitted.error());
  }
  Response refused = Response::Error(429, "workspace_quota", admitted.error().message());
  refused.headers.Set("Retry-After", "60");
  return refused;
}

void WorkspaceQuota::Forget(std::string_view owner) {
  std::lock_guard lock(mutex_);
  if (auto it = readings_.find(owner); it != readings_.end()) {
    readings_.erase(it);
  }
}

}  // namespace warden::api
