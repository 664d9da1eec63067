// The handlers of a session's files: uploads (PUT /v1/sessions/{id}/files/{path}), the listing
// (GET /files), one file (GET /files/{path}) and the archive (GET /archive). Part of SessionsApi;
// the routes are added in sessions_api.cc.
#include <filesystem>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "api/jobs_api.h"
#include "api/sessions_api.h"
#include "api/workspace_files.h"
#include "artifacts/names.h"
#include "base/units.h"

namespace warden::api {
namespace {

// The answer to an upload SessionFiles refused.
Response UploadRefused(const Error& error) {
  switch (error.code()) {
    case ErrorCode::kAborted: {
      Response busy = Response::Error(409, "session_busy", error.message());
      busy.headers.Set("Retry-After", "1");
      return busy;
    }
    case ErrorCode::kInvalidArgument:
      return Response::Error(400, "invalid_path", error.message());
    case ErrorCode::kResourceExhausted:
      return Response::Error(413, "workspace_full", error.message());
    default:
      return Response::FromError(error);
  }
}

}  // namespace

Response SessionsApi::PutFile(Request& request) {
  auto session = SessionOf(request);
  if (!session.ok()) {
    return Response::FromError(session.error());
  }
  if (request.body.size() > options_.max_upload_bytes) {
    return Response::Error(
        413, "too_large",
        fmt::format("an upload may be at most {} (this server's --max-upload), not {}",
                    FormatBytes(options_.max_upload_bytes), FormatBytes(request.body.size())));
  }
  auto path = artifacts::NameFromShown(request.params.at("path"));
  if (!path.ok()) {
    return Response::Error(400, "invalid_path", path.error().message());
  }
  if (options_.quota != nullptr) {
    if (std::optional<Response> refused = options_.quota->Check(session->owner)) {
      return std::move(*refused);
    }
  }
  auto written = files_.Put(*session, *path, request.body);
  if (!written.ok()) {
    return UploadRefused(written.error());
  }
  std::string shown = artifacts::ShownName(written->path);
  Response response = Response::Json(
      201, json::object{{"path", shown}, {"size", written->size}, {"sha256", written->sha256}});
  response.headers.Set(
      "Location", fmt::format("/v1/sessions/{}/files/{}", session->id, PercentEncodePath(shown)));
  return response;
}

Response SessionsApi::Files(Request& request) {
  auto session = SessionOf(request);
  if (!session.ok()) {
    return Response::FromError(session.error());
  }
  return LiveManifest(session->workspace, fmt::format("/v1/sessions/{}/archive", session->id));
}

Response SessionsApi::File(Request& request) {
  auto session = SessionOf(request);
  if (!session.ok()) {
    return Response::FromError(session.error());
  }
  return WorkspaceFile(session->workspace, request.params.at("path"));
}

Response SessionsApi::Archive(Request& request) {
  auto session = SessionOf(request);
  if (!session.ok()) {
    return Response::FromError(session.error());
  }
  std::error_code ec;
  if (!std::filesystem::is_directory(session->workspace, ec)) {
    return Response::Error(404, "not_found",
                           fmt::format("session {} has no files yet: upload some (PUT "
                                       "/v1/sessions/{}/files/{{path}}) or send a message",
                                       session->id, session->id));
  }
  return WorkspaceArchive(request, session->workspace, session->id,
                          fmt::format("/v1/sessions/{}/files/{{path}}", session->id));
}

}  // namespace warden::api
