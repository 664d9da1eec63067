// The handlers of a job's files: the manifest (GET /v1/jobs/{id}/files), one file
// (/files/{path}) and the archive (/archive). Part of JobsApi; the routes are added in jobs_api.cc.
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "api/jobs_api.h"
#include "artifacts/artifacts.h"
#include "artifacts/manifest_json.h"
#include "artifacts/names.h"
#include "base/log.h"

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

// A job's files are where its worker wrote them: in the job's workspace, on storage every node
// mounts at the same path (docs/decisions/0011-files-on-many-nodes.md). A job that ran, whose
// workspace this node cannot see, gets 503 files_unavailable at once, naming the node that ran it
// (to the operator; a tenant is not told the names of the service's machines).
std::optional<Response> WorkspaceUnreachable(const jobs::Job& job, std::string_view owner) {
  if (!job.started_at_ms || job.workspace.empty()) {
    return std::nullopt;  // never ran: it has no files, wherever one looks
  }
  std::error_code ec;
  if (std::filesystem::is_directory(job.workspace, ec)) {
    return std::nullopt;
  }
  LOG_WARN("job {}: its workspace {} (written by worker {}) is not readable on this node ({})",
           job.id, job.workspace, job.worker, ec ? ec.message() : "no such directory");
  std::string who = jobs::ViewerFor(owner) == jobs::Viewer::kOperator
                        ? "worker " + job.worker + " wrote them to " + job.workspace
                        : "the node that ran it wrote them to storage";
  return Response::Error(
      503, "files_unavailable",
      fmt::format("the files of job {} cannot be read on this node: {}, which this node does not "
                  "see (shared workspace storage not mounted here, or removed); mount the "
                  "workspace storage at the same path on every node (docs/deployment.md)",
                  job.id, who));
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
  if (auto unreachable = WorkspaceUnreachable(*job, OwnerOf(request))) {
    return std::move(*unreachable);
  }
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
  if (auto unreachable = WorkspaceUnreachable(*job, OwnerOf(request))) {
    return std::move(*unreachable);
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
  if (auto unreachable = WorkspaceUnreachable(*job, OwnerOf(request))) {
    return std::move(*unreachable);
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
