// The sandboxes of MCP clients: a workspace that keeps its files across calls, named by a handle
// the client passes back. Created explicitly or on first use, destroyed explicitly, after an idle
// time-to-live, with its owner (a stdio client that exits), or with the pool.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "base/result.h"

namespace warden::mcp {

using Clock = std::chrono::steady_clock;

// One live sandbox. Its workspace is removed with the last reference: a run that holds one keeps
// the directory until it ends, even if the sandbox was destroyed meanwhile.
class Box {
 public:
  Box(std::string id, std::string owner, std::string workspace);
  ~Box();
  Box(const Box&) = delete;
  Box& operator=(const Box&) = delete;

  const std::string& id() const { return id_; }
  const std::string& owner() const { return owner_; }
  const std::string& workspace() const { return workspace_; }  // host path of /workspace
  // Runs in one sandbox take turns: two at once would race on the same files.
  std::mutex& run_mutex() { return run_mu_; }

 private:
  const std::string id_;
  const std::string owner_;
  const std::string workspace_;
  std::mutex run_mu_;
};

struct PoolOptions {
  // The directory the workspaces lie in (under the supervisor's workspace_root); emptied of what
  // an earlier process left there, and removed with the pool.
  std::string root;
  uid_t sandbox_uid = 0;     // when running as root, the owner of the workspaces
  size_t max_per_owner = 8;  // live sandboxes of one owner at once
  std::chrono::milliseconds idle_ttl{30 * 60 * 1000};  // unused this long: destroyed
  bool sweep_thread = true;  // a thread that destroys expired sandboxes every few seconds
};

// Owns the live sandboxes and their workspaces. Thread-safe.
class SandboxPool {
 public:
  static Result<std::unique_ptr<SandboxPool>> Create(const PoolOptions& options);
  ~SandboxPool();
  SandboxPool(const SandboxPool&) = delete;
  SandboxPool& operator=(const SandboxPool&) = delete;

  // A new sandbox of `owner`. kResourceExhausted when the owner has max_per_owner live ones.
  Result<std::shared_ptr<Box>> Open(const std::string& owner);
  // The sandbox `id` of `owner`, its idle clock restarted. kNotFound (the same for another
  // owner's sandbox as for none) saying that it may have expired and how to get a new one.
  Result<std::shared_ptr<Box>> Get(const std::string& owner, const std::string& id);
  // Destroys one sandbox; kNotFound as Get().
  Status Destroy(const std::string& owner, const std::string& id);
  // Destroys every sandbox of `owner`; returns how many.
  size_t DestroyOwner(const std::string& owner);
  // Destroys the sandboxes unused since `now - idle_ttl`; returns how many.
  size_t SweepIdle(Clock::time_point now);

  size_t live() const;
  const PoolOptions& options() const { return options_; }

 private:
  explicit SandboxPool(PoolOptions options);
  void SweepLoop(const std::stop_token& stop);

  struct Entry {
    std::shared_ptr<Box> box;
    Clock::time_point last_used;
  };
  const PoolOptions options_;
  mutable std::mutex mu_;
  std::map<std::string, Entry> boxes_;  // by id; guarded by mu_
  std::condition_variable_any tick_;    // never notified: the sweeper's stoppable wait
  std::jthread sweeper_;                // last: stops before the members it uses go
};

}  // namespace warden::mcp
