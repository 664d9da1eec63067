// ExecSlots: how many /v1/exec runs may be in progress at once, for the whole server and for one
// API key, so that no client (nor all of them together) can take every sandbox the host affords.
#pragma once

#include <cstddef>
#include <map>
#include <mutex>
#include <string>

#include "base/result.h"

namespace warden::api {

// Counts the runs in progress. A run holds a Slot from before it starts until it ended.
// Thread-safe.
class ExecSlots {
 public:
  // At most `per_server` runs at once (at least 1), and `per_owner` (at least 1) for one owner.
  ExecSlots(size_t per_server, size_t per_owner);

  // One run's place; gives it back when destroyed. Move-only.
  class Slot {
   public:
    Slot() = default;
    Slot(Slot&& other) noexcept;
    Slot& operator=(Slot&& other) noexcept;
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    ~Slot();

    // Gives the place back now (idempotent).
    void Release();

   private:
    friend class ExecSlots;
    Slot(ExecSlots* slots, std::string owner) : slots_(slots), owner_(std::move(owner)) {}

    ExecSlots* slots_ = nullptr;
    std::string owner_;
  };

  // A slot for a run of `owner` (the key's id; "" for a server without keys, which counts against
  // the server's slots only), or kResourceExhausted with a message that names the limit reached.
  Result<Slot> TryAcquire(const std::string& owner);

  size_t per_server() const { return per_server_; }
  size_t per_owner() const { return per_owner_; }
  size_t busy() const;

 private:
  void Release(const std::string& owner);

  const size_t per_server_;
  const size_t per_owner_;
  mutable std::mutex mu_;
  size_t busy_ = 0;
  std::map<std::string, size_t> by_owner_;  // owners with runs in progress only
};

}  // namespace warden::api
