#include "api/workspace_files.h"

#include <cctype>
#include <filesystem>
#include <memory>
#include <optional>

#include <fmt/format.h>

#include "artifacts/artifacts.h"
#include "artifacts/manifest_json.h"
#include "artifacts/names.h"

namespace warden::api {

std::string PercentEncodePath(std::string_view path) {
  std::string out;
  for (unsigned char c : path) {
    if (std::isalnum(c) != 0 || c == '/' || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

Response TooManyToList(std::string_view message, std::string_view archive_route) {
  return Response::Error(422, artifacts::kTooManyFiles,
                         fmt::format("{}: too many to list; download them all as one archive "
                                     "(GET {})",
                                     message, archive_route));
}

Response LiveManifest(const std::string& workspace, std::string_view archive_route) {
  artifacts::ManifestOptions live;
  live.hashing = std::nullopt;
  auto manifest = artifacts::Manifest(workspace, live);
  if (!manifest.ok()) {
    if (manifest.error().code() == ErrorCode::kNotFound) {
      return Response::Json(200, json::object{{"files", json::array{}}});
    }
    if (artifacts::IsTooManyFiles(manifest.error())) {
      return TooManyToList(manifest.error().message(), archive_route);
    }
    return Response::FromError(manifest.error());
  }
  return Response::Json(200, json::object{{"files", artifacts::ManifestJson(*manifest)}});
}

Response WorkspaceFile(const std::string& workspace, const std::string& shown_path) {
  // The path as listings show it (artifacts/names.h); raw bytes, percent-encoded, pass unchanged.
  auto name = artifacts::NameFromShown(shown_path);
  if (!name.ok()) {
    return Response::FromError(name.error());
  }
  // Nothing written yet: say so without naming the directory on the host.
  std::error_code ec;
  if (!std::filesystem::is_directory(workspace, ec)) {
    return Response::Error(404, "not_found",
                           "no file '" + artifacts::ShownName(*name) + "' in the workspace");
  }
  auto file = artifacts::OpenInWorkspace(workspace, *name);
  if (!file.ok()) {
    return Response::FromError(file.error());
  }
  auto reader = std::make_shared<artifacts::FileReader>(std::move(*file));
  return Response::Pull("application/octet-stream", [reader]() { return reader->Next(); });
}

Response WorkspaceArchive(const Request& request, const std::string& workspace,
                          std::string_view name, std::string_view files_route) {
  std::string format = "zip";
  if (auto it = request.query.find("format"); it != request.query.end()) {
    format = it->second;
  }
  auto parsed = artifacts::ParseArchiveFormat(format);
  if (!parsed) {
    return Response::Error(400, "invalid_argument", "format must be zip or tar.gz");
  }
  auto archive = artifacts::ArchiveStream::Open(workspace, *parsed);
  if (!archive.ok()) {
    if (artifacts::IsTooManyFiles(archive.error())) {
      return Response::Error(422, artifacts::kTooManyFiles,
                             fmt::format("{}: too many to archive; download files one by one (GET "
                                         "{})",
                                         archive.error().message(), files_route));
    }
    return Response::FromError(archive.error());
  }
  std::shared_ptr<artifacts::ArchiveStream> stream = std::move(*archive);
  bool zip = *parsed == artifacts::ArchiveFormat::kZip;
  Response response = Response::Pull(zip ? "application/zip" : "application/gzip",
                                     [stream]() { return stream->Next(); });
  response.headers.Set("Content-Disposition",
                       fmt::format("attachment; filename=\"{}.{}\"", name, zip ? "zip" : "tar.gz"));
  return response;
}

}  // namespace warden::api
