#include "cli/data_dir.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include <fmt/format.h>

#include "base/log.h"

namespace warden::cli {
namespace {

// mkdir(path, 0700), or chmod an existing directory to 0700.
Status MakePrivateDir(const std::string& path) {
  if (::mkdir(path.c_str(), 0700) == 0) {
    return OkStatus();
  }
  if (errno != EEXIST) {
    return ErrnoError(fmt::format("mkdir({})", path));
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return ErrnoError(fmt::format("stat({})", path));
  }
  if ((st.st_mode & 077) == 0) {
    return OkStatus();
  }
  if (::chmod(path.c_str(), 0700) != 0) {
    return ErrnoError(fmt::format("chmod({})", path));
  }
  LOG_INFO("{} was mode {:o}: made it 0700, private to the service", path, st.st_mode & 07777);
  return OkStatus();
}

}  // namespace

Result<std::string> PrepareDataDir(const std::string& data_dir, uid_t sandbox_uid) {
  std::error_code ec;
  std::filesystem::path parent = std::filesystem::path(data_dir).parent_path();
  if (!parent.empty()) {
    std::filesystem::create_directories(parent, ec);
  }
  if (ec) {
    return Error(ErrorCode::kFailedPrecondition,
                 fmt::format("cannot create the data directory {}: {}", data_dir, ec.message()));
  }
  RETURN_IF_ERROR(MakePrivateDir(data_dir));
  std::string workspaces = data_dir + "/workspaces";
  RETURN_IF_ERROR(MakePrivateDir(workspaces));
  if (::geteuid() == 0 && ::chown(workspaces.c_str(), sandbox_uid, sandbox_uid) != 0) {
    return ErrnoError(fmt::format("chown({})", workspaces));
  }
  return workspaces;
}

}  // namespace warden::cli
