#include "cli/reachable.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include <fmt/format.h>

namespace warden::cli {

Status CheckSandboxCanReach(const std::string& path) {
  if (::geteuid() != 0) {
    return OkStatus();
  }
  std::error_code ec;
  std::filesystem::path dir = std::filesystem::absolute(path, ec).parent_path();
  for (; !dir.empty() && dir != dir.root_path(); dir = dir.parent_path()) {
    struct stat st {};
    if (::stat(dir.c_str(), &st) == 0 && (st.st_mode & S_IXOTH) == 0) {
      return Error(ErrorCode::kFailedPrecondition,
                   fmt::format("the sandbox user cannot enter {} (mode {:o}), above {}: use a "
                               "directory elsewhere, or chmod o+x {}",
                               dir.string(), st.st_mode & 07777, path, dir.string()));
    }
  }
  return OkStatus();
}

}  // namespace warden::cli
