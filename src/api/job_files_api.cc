// The handlers of a job's files: the manifest (GET /v1/jobs/{id}/files), one file
// (/files/{path}) and the archive (/archive). Part of JobsApi; the routes are added in jobs_api.cc.
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "api/jobs_api.h"
#include "api/workspace_files.h"
#include "artifacts/artifacts.h"
#include "artifacts/manifest_json.h"
#include "base/log.h"

namespace warden::api {
namespace {

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

std::string ArchiveRoute(const jobs::Job& job) {
  return fmt::format("/v1/jobs/{}/archive", job.id);
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
      return TooManyToList(refused->at("message").get_string(), ArchiveRoute(*job));
    }
  }
  // Still running, or ended without a manifest (the server stopped under it, or the listing
  // failed then): the workspace as it is now, listed without reading any file.
  if (auto unreachable = WorkspaceUnreachable(*job, OwnerOf(request))) {
    return std::move(*unreachable);
  }
  return LiveManifest(job->workspace, ArchiveRoute(*job));
}

Response JobsApi::File(Request& request) {
  auto job = JobOf(request);
  if (!job.ok()) {
    return Response::FromError(job.error());
  }
  if (auto unreachable = WorkspaceUnreachable(*job, OwnerOf(request))) {
    return std::move(*unreachable);
  }
  return WorkspaceFile(job->workspace, request.params.at("path"));
}

Response JobsApi::Archive(Request& request) {
  auto job = JobOf(request);
  if (!job.ok()) {
    return Response::FromError(job.error());
  }
  if (auto unreachable = WorkspaceUnreachable(*job, OwnerOf(request))) {
    return std::move(*unreachable);
  }
  return WorkspaceArchive(request, job->workspace, job->id,
                          fmt::format("/v1/jobs/{}/files/{{path}}", job->id));
}

}  // namespace warden::api
