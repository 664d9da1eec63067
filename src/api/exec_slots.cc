#include "api/exec_slots.h"

#include <algorithm>
#include <utility>

#include <fmt/format.h>

namespace warden::api {

ExecSlots::ExecSlots(size_t per_server, size_t per_owner)
    : per_server_(std::max<size_t>(per_server, 1)), per_owner_(std::max<size_t>(per_owner, 1)) {}

ExecSlots::Slot::Slot(Slot&& other) noexcept
    : slots_(std::exchange(other.slots_, nullptr)), owner_(std::move(other.owner_)) {}

ExecSlots::Slot& ExecSlots::Slot::operator=(Slot&& other) noexcept {
  if (this != &other) {
    Release();
    slots_ = std::exchange(other.slots_, nullptr);
    owner_ = std::move(other.owner_);
  }
  return *this;
}

ExecSlots::Slot::~Slot() {
  Release();
}

void ExecSlots::Slot::Release() {
  if (ExecSlots* slots = std::exchange(slots_, nullptr)) {
    slots->Release(owner_);
  }
}

Result<ExecSlots::Slot> ExecSlots::TryAcquire(const std::string& owner) {
  std::lock_guard lock(mu_);
  if (!owner.empty()) {
    auto it = by_owner_.find(owner);
    if (it != by_owner_.end() && it->second >= per_owner_) {
      return Error(ErrorCode::kResourceExhausted,
                   fmt::format("key '{}' already has {} /v1/exec run{} in progress, the most one "
                               "key may have at once: retry when one has ended (see Retry-After), "
                               "or submit a job (POST /v1/jobs), which waits in the queue",
                               owner, it->second, it->second == 1 ? "" : "s"));
    }
  }
  if (busy_ >= per_server_) {
    return Error(ErrorCode::kResourceExhausted,
                 fmt::format("all {} /v1/exec slots of this server are busy: retry when one is "
                             "free (see Retry-After), or submit a job (POST /v1/jobs), which "
                             "waits in the queue",
                             per_server_));
  }
  ++busy_;
  if (!owner.empty()) {
    ++by_owner_[owner];
  }
  return Slot(this, owner);
}

size_t ExecSlots::busy() const {
  std::lock_guard lock(mu_);
  return busy_;
}

void ExecSlots::Release(const std::string& owner) {
  std::lock_guard lock(mu_);
  --busy_;
  if (!owner.empty()) {
    auto it = by_owner_.find(owner);
    if (it != by_owner_.end() && --it->second == 0) {
      by_owner_.erase(it);
    }
  }
}

}  // namespace warden::api
