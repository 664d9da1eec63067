// Cleanup: runs a callable when the scope ends, unless cancelled.
//
//   auto remove_dir = Cleanup([&] { rmdir(path.c_str()); });
//   RETURN_IF_ERROR(Populate(path));   // on error, the directory is removed
//   std::move(remove_dir).Cancel();    // success: keep it
#pragma once

#include <optional>
#include <utility>

namespace warden {

template <typename F>
class [[nodiscard]] Cleanup {
 public:
  explicit Cleanup(F f) : f_(std::move(f)) {}
  Cleanup(Cleanup&& other) noexcept : f_(std::exchange(other.f_, std::nullopt)) {}
  Cleanup(const Cleanup&) = delete;
  Cleanup& operator=(const Cleanup&) = delete;
  Cleanup& operator=(Cleanup&&) = delete;
  ~Cleanup() {
    if (f_) {
      (*f_)();
    }
  }

  // Drops the callable without running it.
  void Cancel() && { f_.reset(); }

 private:
  std::optional<F> f_;
};

}  // namespace warden
