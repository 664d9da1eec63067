// Tells the run monitor, through inotify, the moment anything in a caller's workspace is written,
// so that the disk limit is checked right then instead of only on a timer; and, when it watches
// every directory of the tree, that nothing was written at all, so that the tree need not be
// measured again (a run that only reads its workspace never walks it after the baseline).
#pragma once

#include <optional>
#include <string>
#include <unordered_map>

#include "base/unique_fd.h"

namespace warden::sandbox {

// Watches a directory tree. New subdirectories are watched as their creation is seen (what is
// written into one before that is caught by the monitor's periodic check). Not thread-safe.
class WorkspaceWatch {
 public:
  // Watches `dir_fd` and up to kMaxWatches directories below it. Nothing when inotify is not
  // available; the monitor then relies on its timer alone.
  static std::optional<WorkspaceWatch> Start(int dir_fd);

  int fd() const { return fd_.get(); }
  // Reads pending events. Returns true when something was written, created or moved in.
  bool Drain();
  // True while nothing in the tree can have grown since Start(): every directory was watched
  // from the start and no event (nor a lost one: a queue overflow) has arrived. Drains first.
  bool Unchanged();

 private:
  static constexpr size_t kMaxWatches = 4096;
  WorkspaceWatch(UniqueFd fd, int dir_fd) : fd_(std::move(fd)), dir_fd_(dir_fd) {}
  void Add(const std::string& relative, int depth);

  UniqueFd fd_;
  int dir_fd_;
  std::unordered_map<int, std::string> dirs_;  // watch descriptor -> path below the workspace
  bool complete_ = true;                       // every directory of the tree was watched at Start()
  bool changed_ = false;                       // an event arrived
};

}  // namespace warden::sandbox
