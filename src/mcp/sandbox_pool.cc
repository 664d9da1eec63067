#include "mcp/sandbox_pool.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <random>
#include <vector>

#include <fmt/format.h>

#include "base/log.h"
#include "sys/fs.h"

namespace warden::mcp {
namespace {

// "sbx_" and 16 hex digits from the kernel's random source: not guessable by another owner.
std::string NewBoxId() {
  std::random_device random;
  return fmt::format("sbx_{:08x}{:08x}", random(), random());
}

Status MakeDir(const std::string& path, uid_t uid) {
  if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
    return ErrnoError("mkdir(" + path + ")");
  }
  if (::geteuid() == 0 && ::chown(path.c_str(), uid, uid) != 0) {
    return ErrnoError("chown(" + path + ")");
  }
  return OkStatus();
}

}  // namespace

Box::Box(std::string id, std::string owner, std::string workspace)
    : id_(std::move(id)), owner_(std::move(owner)), workspace_(std::move(workspace)) {}

Box::~Box() {
  if (Status removed = sys::RemoveTree(workspace_); !removed.ok()) {
    LOG_WARN("removing the workspace of sandbox {}: {}", id_, removed.error().message());
  }
}

Result<std::unique_ptr<SandboxPool>> SandboxPool::Create(const PoolOptions& options) {
  (void)sys::RemoveTree(options.root);  // what a server that crashed left behind
  RETURN_IF_ERROR(MakeDir(options.root, options.sandbox_uid));
  return std::unique_ptr<SandboxPool>(new SandboxPool(options));
}

SandboxPool::SandboxPool(PoolOptions options) : options_(std::move(options)) {
  if (options_.sweep_thread) {
    sweeper_ = std::jthread([this](const std::stop_token& stop) { SweepLoop(stop); });
  }
}

SandboxPool::~SandboxPool() {
  if (sweeper_.joinable()) {
    sweeper_.request_stop();
    sweeper_.join();
  }
  {
    std::lock_guard lock(mu_);
    boxes_.clear();
  }
  (void)sys::RemoveTree(options_.root);
}

Result<std::shared_ptr<Box>> SandboxPool::Open(const std::string& owner) {
  std::lock_guard lock(mu_);
  size_t owned = 0;
  for (const auto& [id, entry] : boxes_) {
    owned += entry.box->owner() == owner ? 1 : 0;
  }
  if (owned >= options_.max_per_owner) {
    return Error(ErrorCode::kResourceExhausted,
                 fmt::format("you have {} live sandboxes, the most allowed: destroy one with "
                             "sandbox_destroy, or reuse one by passing its sandbox_id",
                             owned));
  }
  std::string id = NewBoxId();
  std::string workspace = fmt::format("{}/{}", options_.root, id);
  RETURN_IF_ERROR(MakeDir(workspace, options_.sandbox_uid));
  auto box = std::make_shared<Box>(id, owner, workspace);
  boxes_[id] = Entry{box, Clock::now()};
  return box;
}

Result<std::shared_ptr<Box>> SandboxPool::Get(const std::string& owner, const std::string& id) {
  std::lock_guard lock(mu_);
  auto it = boxes_.find(id);
  if (it == boxes_.end() || it->second.box->owner() != owner) {
    return Error(ErrorCode::kNotFound,
                 fmt::format("no sandbox \"{}\": it was destroyed or expired after {} s idle; omit "
                             "sandbox_id to get a new one",
                             id, options_.idle_ttl.count() / 1000));
  }
  it->second.last_used = Clock::now();
  return it->second.box;
}

Status SandboxPool::Destroy(const std::string& owner, const std::string& id) {
  std::shared_ptr<Box> doomed;  // released after the lock: removing a tree takes a while
  {
    std::lock_guard lock(mu_);
    auto it = boxes_.find(id);
    if (it == boxes_.end() || it->second.box->owner() != owner) {
      return Error(ErrorCode::kNotFound, fmt::format("no sandbox \"{}\" to destroy", id));
    }
    doomed = std::move(it->second.box);
    boxes_.erase(it);
  }
  return OkStatus();
}

size_t SandboxPool::DestroyOwner(const std::string& owner) {
  std::vector<std::shared_ptr<Box>> doomed;
  {
    std::lock_guard lock(mu_);
    for (auto it = boxes_.begin(); it != boxes_.end();) {
      if (it->second.box->owner() == owner) {
        doomed.push_back(std::move(it->second.box));
        it = boxes_.erase(it);
      } else {
        ++it;
      }
    }
  }
  return doomed.size();
}

size_t SandboxPool::SweepIdle(Clock::time_point now) {
  std::vector<std::shared_ptr<Box>> doomed;
  {
    std::lock_guard lock(mu_);
    for (auto it = boxes_.begin(); it != boxes_.end();) {
      if (now - it->second.last_used >= options_.idle_ttl) {
        doomed.push_back(std::move(it->second.box));
        it = boxes_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (const auto& box : doomed) {
    LOG_INFO("sandbox {} of {} expired after {} ms idle", box->id(), box->owner(),
             options_.idle_ttl.count());
  }
  return doomed.size();
}

size_t SandboxPool::live() const {
  std::lock_guard lock(mu_);
  return boxes_.size();
}

void SandboxPool::SweepLoop(const std::stop_token& stop) {
  std::mutex sleep_mu;
  std::unique_lock lock(sleep_mu);
  while (!stop.stop_requested()) {
    tick_.wait_for(lock, stop, std::chrono::seconds(5), [] { return false; });
    if (!stop.stop_requested()) {
      SweepIdle(Clock::now());
    }
  }
}

}  // namespace warden::mcp
