// The handlers of a job's files: the manifest (GET /v1/jobs/{id}/files), one file
// (/files/{path}) and the archive (/archive). Part of JobsApi; the routes are added in jobs_api.cc.
#include <memory>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "api/jobs_api.h"
#include "artifacts/artifacts.h"
#include "artifacts/manifest_json.h"
#include "artifacts/names.h"

namespace warden::api {
namespace {

// 422 for a workspace too big to list: a permanent condition, which a client must not retry. The
// archive, whose limit is ten times higher, is the way to its files.
Response TooManyToList(const jobs::Job& job, std::string_view message) {
  return Response::Error(422, artifacts::kTooManyFiles,
                         fmt::format("{}: too many to list; download them all as one archive "
                                     "(GET /v1/jobs/{}/archive)",
                                     message, job.id));
}

}  // namespace

Response JobsApi::Files(Request& request) {
  auto job = JobOf(request);
  if (!job.ok()) {
    return Response::FromError(job.error());
  }
  // A job that has ended answers with the manifest taken (and hashed) once, at its end.
  if (jobs::IsFinal(job->state)) {
    if (const json::value* files = job->result.if_contains("files");
        files != nullptr && files->is_array()) {
      return Response::Json(200, json::object{{"files", *files}});
    }
    const json::value* error = job->result.if_contains("files_error");
    const json::object* refused = error != nullptr ? error->if_object() : nullptr;
    if (refused != nullptr && refused->contains("code") && refused->at("code").is_string() &&
        refused->at("code").get_string() == artifacts::kTooManyFiles &&
        refused->contains("message") && refused->at("message").is_string()) {
      return TooManyToList(*job, refused->at("message").get_string());
    }
  }
  // Still running, or ended without a manifest (the server stopped under it, or the listing
  // failed then): the workspace as it is now, listed without reading any file.
  artifacts::ManifestOptions live;
  live.hashing = std::nullopt;
  auto manifest = artifacts::Manifest(job->workspace, live);
  if (!manifest.ok()) {
    if (manifest.error().code() == ErrorCode::kNotFound) {
      return Response::Json(200, json::object{{"files", json::array{}}});
    }
    if (artifacts::IsTooManyFiles(manifest.error())) {
      return TooManyToList(*job, manifest.error().message());
    }
    return Response::FromError(manifest.error());
  }
  return Response::Json(200, json::object{{"files", artifacts::ManifestJson(*manifest)}});
}

Response JobsApi::File(Request& request) {
  auto job = JobOf(request);
  if (!job.ok()) {
    return Response::FromError(job.error());
  }
  // The path as listings show it (artifacts/names.h); raw bytes, percent-encoded, pass unchanged.
  auto name = artifacts::NameFromShown(request.params.at("path"));
  if (!name.ok()) {
    return Response::FromError(name.error());
  }
  auto file = artifacts::OpenInWorkspace(job->workspace, *name);
  if (!file.ok()) {
    return Response::FromError(file.error());
  }
  auto reader = std::make_shared<artifacts::FileReader>(std::move(*file));
  Response response =
      Response::Pull("application/octet-stream", [reader]() { return reader->Next(); });
  return response;
}

Response JobsApi::Archive(Request& request) {
  auto job = JobOf(request);
  if (!job.ok()) {
    return Response::FromError(job.error());
  }
  std::string format = "zip";
  if (auto it = request.query.find("format"); it != request.query.end()) {
    format = it->second;
  }
  auto parsed = artifacts::ParseArchiveFormat(format);
  if (!parsed) {
    return Response::Error(400, "invalid_argument", "format must be zip or tar.gz");
  }
  auto archive = artifacts::ArchiveStream::Open(job->workspace, *parsed);
  if (!archive.ok()) {
    if (artifacts::IsTooManyFiles(archive.error())) {
      return Response::Error(422, artifacts::kTooManyFiles,
                             fmt::format("{}: too many to archive; download files one by one (GET "
                                         "/v1/jobs/{}/files/{{path}})",
                                         archive.error().message(), job->id));
    }
    return Response::FromError(archive.error());
  }
  std::shared_ptr<artifacts::ArchiveStream> stream = std::move(*archive);
  bool zip = *parsed == artifacts::ArchiveFormat::kZip;
  Response response = Response::Pull(zip ? "application/zip" : "application/gzip",
                                     [stream]() { return stream->Next(); });
  response.headers.Set("Content-Disposition", fmt::format("attachment; filename=\"{}.{}\"", job->id,
                                                          zip ? "zip" : "tar.gz"));
  return response;
}

}  // namespace warden::api
