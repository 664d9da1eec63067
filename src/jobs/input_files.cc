#include "jobs/input_files.h"

#include <unistd.h>

#include <set>

#include <fmt/format.h>

#include "artifacts/names.h"
#include "artifacts/workspace_writer.h"
#include "base/base64.h"

namespace warden::jobs {
namespace {

constexpr size_t kMaxPathBytes = 4095;  // what the kernel resolves in one call

Error Invalid(std::string message) {
  return Error(ErrorCode::kInvalidArgument, std::move(message));
}

// `path` in quotes, as listings show it.
std::string Shown(std::string_view path) {
  return "\"" + artifacts::ShownName(path.substr(0, 200)) + "\"";
}

Result<InputFile> ParseEntry(const json::value& value, size_t index) {
  std::string what = fmt::format("files[{}]", index);
  const json::object* entry = value.if_object();
  if (entry == nullptr) {
    return Invalid(what + R"( must be an object: {"path": "data/in.csv", "content": "..."} or )" +
                   R"({"path": ..., "base64": "..."})");
  }
  for (const auto& field : *entry) {
    if (field.key() != "path" && field.key() != "content" && field.key() != "base64") {
      return Invalid(
          fmt::format("{}: unknown field \"{}\" (a file has \"path\" and \"content\" "
                      "or \"base64\")",
                      what, std::string_view{field.key()}));
    }
  }
  const json::value* path = entry->if_contains("path");
  if (path == nullptr || !path->is_string()) {
    return Invalid(what + ".path must be a string: where the file goes in the workspace");
  }
  InputFile file{std::string(path->get_string()), ""};
  RETURN_IF_ERROR(CheckClientPath(file.path, what + ".path"));
  const json::value* content = entry->if_contains("content");
  const json::value* base64 = entry->if_contains("base64");
  if ((content == nullptr) == (base64 == nullptr)) {
    return Invalid(what +
                   " must have either \"content\" (text) or \"base64\" (bytes), not both "
                   "or none");
  }
  if (content != nullptr) {
    if (!content->is_string()) {
      return Invalid(what + ".content must be a string");
    }
    file.content = std::string(content->get_string());
    return file;
  }
  std::optional<std::string> bytes =
      base64->is_string() ? Base64Decode(base64->get_string()) : std::nullopt;
  if (!bytes) {
    return Invalid(what +
                   ".base64 must be standard base64 with padding (RFC 4648, as `base64 -w0` "
                   "writes it)");
  }
  file.content = std::move(*bytes);
  return file;
}

}  // namespace

Status CheckClientPath(std::string_view path, std::string_view what) {
  auto invalid = [&](std::string_view why) {
    return Invalid(
        fmt::format("{} {} {}: give a path relative to the workspace, such as "
                    "\"data/in.csv\"",
                    what, Shown(path), why));
  };
  if (path.empty()) {
    return Invalid(
        fmt::format("{} is empty: give a path relative to the workspace, such as "
                    "\"data/in.csv\"",
                    what));
  }
  if (path.size() > kMaxPathBytes) {
    return invalid(fmt::format("is longer than {} bytes", kMaxPathBytes));
  }
  if (path.find('\0') != std::string_view::npos) {
    return invalid("contains a NUL byte");
  }
  if (path.front() == '/') {
    return invalid("is absolute");
  }
  size_t start = 0;
  for (;;) {
    size_t slash = path.find('/', start);
    std::string_view segment = path.substr(start, slash - start);
    if (segment == "..") {
      return invalid("goes up with \"..\"");
    }
    if (segment.empty()) {
      return invalid("has an empty segment (\"//\", or a \"/\" at the end)");
    }
    if (segment == ".") {
      return invalid("has a \".\" segment");
    }
    if (slash == std::string_view::npos) {
      return OkStatus();
    }
    start = slash + 1;
  }
}

Result<std::vector<InputFile>> ParseInputFiles(const json::value& files) {
  if (!files.is_array()) {
    return Invalid(R"("files" must be an array: [{"path": "data/in.csv", "content": "..."}])");
  }
  if (files.get_array().size() > kMaxInputFiles) {
    return Invalid(
        fmt::format("a job may carry at most {} files, not {}: put more in an archive, "
                    "or upload them to a session (PUT /v1/sessions/{{id}}/files/{{path}})",
                    kMaxInputFiles, files.get_array().size()));
  }
  std::vector<InputFile> parsed;
  std::set<std::string, std::less<>> paths;
  for (const json::value& value : files.get_array()) {
    ASSIGN_OR_RETURN(InputFile file, ParseEntry(value, parsed.size()));
    std::string what = fmt::format("files[{}].path", parsed.size());
    if (paths.contains(file.path)) {
      return Invalid(fmt::format("{} {} is given twice", what, Shown(file.path)));
    }
    // A file cannot be a directory of another entry, in either order.
    const std::string_view whole = file.path;
    for (size_t slash = whole.find('/'); slash != std::string_view::npos;
         slash = whole.find('/', slash + 1)) {
      if (paths.contains(whole.substr(0, slash))) {
        return Invalid(fmt::format("{} {} is below {}, another file", what, Shown(file.path),
                                   Shown(file.path.substr(0, slash))));
      }
    }
    if (auto after = paths.lower_bound(file.path + "/");
        after != paths.end() && after->starts_with(file.path + "/")) {
      return Invalid(fmt::format("{} {} is a directory of {}, another file", what, Shown(file.path),
                                 Shown(*after)));
    }
    paths.insert(file.path);
    parsed.push_back(std::move(file));
  }
  return parsed;
}

json::array InputFilesSummary(const json::value& files) {
  json::array summary;
  if (!files.is_array()) {
    return summary;
  }
  for (const json::value& value : files.get_array()) {
    const json::object* entry = value.if_object();
    if (entry == nullptr) {
      continue;
    }
    json::object item;
    if (const json::value* path = entry->if_contains("path"); path != nullptr) {
      item["path"] = *path;
    }
    if (const json::value* content = entry->if_contains("content");
        content != nullptr && content->is_string()) {
      item["size"] = content->get_string().size();
    } else if (const json::value* base64 = entry->if_contains("base64");
               base64 != nullptr && base64->is_string()) {
      std::string_view text = base64->get_string();
      size_t padding = text.ends_with("==") ? 2 : text.ends_with("=") ? 1 : 0;
      item["size"] = text.size() / 4 * 3 - padding;
    }
    summary.emplace_back(std::move(item));
  }
  return summary;
}

std::optional<uid_t> SandboxOwner(uid_t sandbox_uid) {
  return ::geteuid() == 0 ? std::optional<uid_t>(sandbox_uid) : std::nullopt;
}

Status WriteInputFiles(const std::string& workspace, const std::vector<InputFile>& files,
                       std::optional<uid_t> owner) {
  artifacts::WriteOptions options;
  options.owner = owner;
  for (const InputFile& file : files) {
    auto written = artifacts::WriteInWorkspace(workspace, file.path, file.content, options);
    if (!written.ok()) {
      return Error(written.error().code(),
                   fmt::format("input file {}: {}", Shown(file.path), written.error().message()),
                   written.error().sys_errno());
    }
  }
  return OkStatus();
}

}  // namespace warden::jobs
