#include "cli/workspace_flags.h"

#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <set>
#include <system_error>

#include "cli/reachable.h"
#include <fmt/format.h>

namespace warden::cli {
namespace fs = std::filesystem;

Result<std::string> PrepareWorkspace(const std::string& path, uid_t sandbox_uid) {
  bool created = false;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    std::error_code ec;
    fs::create_directories(path, ec);
    if (ec) {
      return Error(ErrorCode::kFailedPrecondition,
                   fmt::format("cannot create the workspace {}: {}", path, ec.message()));
    }
    created = true;
  } else if (!S_ISDIR(st.st_mode)) {
    return Error(ErrorCode::kInvalidArgument,
                 fmt::format("--workspace {} is not a directory", path));
  }
  char resolved[PATH_MAX];
  if (::realpath(path.c_str(), resolved) == nullptr) {
    return Error::FromErrno("--workspace " + path, errno);
  }
  std::string real = resolved;
  RETURN_IF_ERROR(CheckSandboxCanReach(real));
  if (::geteuid() != 0) {
    return real;  // sandboxes run as the caller: what the caller may write, they may
  }
  if (created && ::chown(real.c_str(), sandbox_uid, sandbox_uid) != 0) {
    return Error::FromErrno("chown(" + real + ")", errno);
  }
  return real;
}

Result<std::vector<sandbox::BindMount>> ParseRoBinds(const std::vector<std::string>& binds) {
  std::vector<sandbox::BindMount> mounts;
  for (const std::string& bind : binds) {
    size_t colon = bind.find(':');
    std::string source = bind.substr(0, colon);
    std::string target = colon == std::string::npos ? source : bind.substr(colon + 1);
    char resolved[PATH_MAX];
    if (::realpath(source.c_str(), resolved) == nullptr) {
      return Error::FromErrno(fmt::format("--ro-bind source {}", source), errno);
    }
    if (colon == std::string::npos && (target.empty() || target[0] != '/')) {
      target = resolved;  // `--ro-bind .`: where it is on the host
    }
    if (target.empty() || target[0] != '/') {
      return Error(ErrorCode::kInvalidArgument,
                   fmt::format("--ro-bind {}: the target {} must be an absolute path", bind,
                               target.empty() ? "(empty)" : target));
    }
    mounts.push_back({resolved, target});
  }
  return mounts;
}

namespace {

// Gives what was copied to the sandbox user (root only), so that the agent may change it.
Status GiveTo(const fs::path& path, uid_t sandbox_uid) {
  if (::geteuid() != 0) {
    return OkStatus();
  }
  std::error_code ec;
  if (::lchown(path.c_str(), sandbox_uid, sandbox_uid) != 0) {
    return Error::FromErrno("chown(" + path.string() + ")", errno);
  }
  if (fs::is_directory(fs::symlink_status(path, ec))) {
    for (const fs::directory_entry& entry : fs::recursive_directory_iterator(path, ec)) {
      if (::lchown(entry.path().c_str(), sandbox_uid, sandbox_uid) != 0) {
        return Error::FromErrno("chown(" + entry.path().string() + ")", errno);
      }
    }
  }
  return OkStatus();
}

}  // namespace

Status CopyInputs(const std::vector<std::string>& files, const std::string& workspace,
                  uid_t sandbox_uid) {
  std::set<std::string> names;
  for (const std::string& file : files) {
    fs::path source(file);
    std::string name = source.lexically_normal().filename().string();
    if (name.empty() || name == "." || name == "..") {
      name = fs::weakly_canonical(source).filename().string();
    }
    std::error_code ec;
    if (!fs::exists(source, ec)) {
      return Error(ErrorCode::kNotFound, fmt::format("--input {}: no such file", file));
    }
    if (!names.insert(name).second) {
      return Error(ErrorCode::kInvalidArgument,
                   fmt::format("--input {}: another input is also named {}; copy them into a "
                               "directory and give that",
                               file, name));
    }
    fs::path target = fs::path(workspace) / name;
    if (fs::exists(fs::symlink_status(target, ec))) {
      return Error(ErrorCode::kAlreadyExists,
                   fmt::format("--input {}: the workspace already holds {}; remove it, or use "
                               "--workspace without --input",
                               file, target.string()));
    }
    fs::copy(source, target, fs::copy_options::recursive | fs::copy_options::copy_symlinks, ec);
    if (ec) {
      return Error(
          ErrorCode::kFailedPrecondition,
          fmt::format("--input {}: cannot copy it into {}: {}", file, workspace, ec.message()));
    }
    RETURN_IF_ERROR(GiveTo(target, sandbox_uid));
  }
  return OkStatus();
}

}  // namespace warden::cli
