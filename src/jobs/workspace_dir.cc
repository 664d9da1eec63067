#include "jobs/workspace_dir.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include <fmt/format.h>

namespace warden::jobs {

Status PrepareWorkspace(const std::string& path, uid_t sandbox_uid) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  if (ec) {
    return Error(ErrorCode::kInternal,
                 fmt::format("cannot create the workspace {}: {}", path, ec.message()));
  }
  if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
    return Error::FromErrno("mkdir(" + path + ")", errno);
  }
  if (::chmod(path.c_str(), 0700) != 0) {
    return Error::FromErrno("chmod(" + path + ")", errno);
  }
  if (::geteuid() == 0 && ::chown(path.c_str(), sandbox_uid, sandbox_uid) != 0) {
    return Error::FromErrno("chown(" + path + ")", errno);
  }
  return OkStatus();
}

}  // namespace warden::jobs
