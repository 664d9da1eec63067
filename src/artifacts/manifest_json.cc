#include "artifacts/manifest_json.h"

#include "artifacts/names.h"

namespace warden::artifacts {

json::array ManifestJson(const std::vector<FileInfo>& files) {
  json::array out;
  out.reserve(files.size());
  for (const FileInfo& file : files) {
    json::object entry{{"path", ShownName(file.path)}, {"size", file.size}};
    if (file.sha256) {
      entry["sha256"] = *file.sha256;
    } else {
      entry["sha256"] = nullptr;
      entry["sha256_skipped"] = file.unhashed == Unhashed::kOverBudget ? "budget" : "live";
    }
    entry["modified_at"] = file.mtime_ms;
    out.push_back(std::move(entry));
  }
  return out;
}

bool IsTooManyFiles(const Error& error) {
  return error.code() == ErrorCode::kResourceExhausted && error.sys_errno() == 0;
}

json::object ManifestErrorJson(const Error& error) {
  std::string_view code = IsTooManyFiles(error) ? kTooManyFiles : ErrorCodeName(error.code());
  return json::object{{"code", code}, {"message", error.message()}};
}

}  // namespace warden::artifacts
