#include "sandbox/workspace_watch.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>

#include <fmt/format.h>

namespace warden::sandbox {
namespace {

constexpr uint32_t kEvents = IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_ONLYDIR | IN_DONT_FOLLOW;
constexpr int kMaxDepth = 64;

}  // namespace

std::optional<WorkspaceWatch> WorkspaceWatch::Start(int dir_fd) {
  UniqueFd fd(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  if (!fd) {
    return std::nullopt;
  }
  WorkspaceWatch watch(std::move(fd), dir_fd);
  watch.Add("", 0);
  if (watch.dirs_.empty()) {
    return std::nullopt;
  }
  return watch;
}

void WorkspaceWatch::Add(const std::string& relative, int depth) {
  if (dirs_.size() >= kMaxWatches || depth > kMaxDepth) {
    complete_ = false;
    return;
  }
  std::string path = fmt::format("/proc/self/fd/{}/{}", dir_fd_, relative);
  int wd = ::inotify_add_watch(fd_.get(), path.c_str(), kEvents);
  if (wd < 0) {
    complete_ = false;
    return;
  }
  dirs_[wd] = relative;
  // Directories that already exist below it.
  int sub = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (sub < 0) {
    complete_ = false;
    return;
  }
  DIR* dir = ::fdopendir(sub);
  if (dir == nullptr) {
    ::close(sub);
    complete_ = false;
    return;
  }
  while (struct dirent* entry = ::readdir(dir)) {
    std::string_view name = entry->d_name;
    complete_ = complete_ && entry->d_type != DT_UNKNOWN;  // a directory we cannot tell
    if (entry->d_type == DT_DIR && name != "." && name != "..") {
      Add(relative.empty() ? std::string(name) : relative + "/" + std::string(name), depth + 1);
    }
  }
  ::closedir(dir);
}

bool WorkspaceWatch::Drain() {
  alignas(struct inotify_event) char buffer[16 * 1024];
  bool changed = false;
  for (;;) {
    ssize_t n = ::read(fd_.get(), buffer, sizeof(buffer));
    if (n <= 0) {
      changed_ = changed_ || changed;
      return changed;  // EAGAIN: drained
    }
    for (ssize_t at = 0; at < n;) {
      const auto* event = reinterpret_cast<const struct inotify_event*>(buffer + at);  // NOLINT
      at += static_cast<ssize_t>(sizeof(struct inotify_event) + event->len);
      changed = true;
      if ((event->mask & IN_ISDIR) != 0 && (event->mask & (IN_CREATE | IN_MOVED_TO)) != 0 &&
          event->len > 0) {
        auto parent = dirs_.find(event->wd);
        if (parent != dirs_.end()) {
          std::string name(event->name);
          Add(parent->second.empty() ? name : parent->second + "/" + name, 1);
        }
      }
      if ((event->mask & IN_IGNORED) != 0) {
        dirs_.erase(event->wd);
      }
    }
  }
}

bool WorkspaceWatch::Unchanged() {
  Drain();
  return complete_ && !changed_;
}

}  // namespace warden::sandbox
