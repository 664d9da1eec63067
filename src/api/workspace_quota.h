// Each API key's workspace quota: the disk its kept jobs' workspaces hold (JobStore::
// WorkspaceBytes), checked before a job, a retry or a session message is accepted, so that one key
// cannot fill the server's disk with finished jobs. Jobs running meanwhile are bounded by their
// own disk limits; the operator (no API keys) has no quota.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "api/http.h"
#include "jobs/store.h"

namespace warden::api {

class WorkspaceQuota {
 public:
  // `max_bytes` 0: no quota. `retention`: how long finished jobs are kept, for the refusal's text.
  WorkspaceQuota(jobs::JobStore& store, uint64_t max_bytes, std::chrono::milliseconds retention)
      : store_(store), max_bytes_(max_bytes), retention_(retention) {}

  // nullopt when `owner` may add a job; otherwise the answer: 429 workspace_quota, saying what its
  // workspaces hold and how to free room. A store error is answered too (503 when it is away).
  // The owner's total is read at most once a second.
  std::optional<Response> Check(std::string_view owner);
  // The same as a Status: kResourceExhausted with that text when the quota is full.
  Status Admit(std::string_view owner);
  // `owner` deleted a job: its next Check reads the total again.
  void Forget(std::string_view owner);

 private:
  static constexpr std::chrono::seconds kFresh{1};
  struct Reading {
    int64_t bytes = 0;
    std::chrono::steady_clock::time_point at;
  };

  jobs::JobStore& store_;
  const uint64_t max_bytes_;
  const std::chrono::milliseconds retention_;
  std::mutex mutex_;
  std::map<std::string, Reading, std::less<>> readings_;
};

}  // namespace warden::api
