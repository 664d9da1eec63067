// Answers that serve a workspace's files over HTTP, shared by a job's files (job_files_api.cc)
// and a session's (session_files_api.cc): the live listing, one file, and the whole workspace as
// an archive.
#pragma once

#include <string>
#include <string_view>

#include "api/http.h"

namespace warden::api {

// `path` (a file's shown name) as it goes into a files URL: unreserved characters and '/' as they
// are, every other byte as %XX. The server and its clients (`warden upload`) agree on it.
std::string PercentEncodePath(std::string_view path);

// 422 too_many_files for a workspace too big to list: a permanent condition, which a client must
// not retry. `archive_route` names the way to its files.
Response TooManyToList(std::string_view message, std::string_view archive_route);

// {"files": [...]}: the workspace as it is now, listed without reading any file ("sha256": null,
// "sha256_skipped": "live"); an empty list when it does not exist (yet).
Response LiveManifest(const std::string& workspace, std::string_view archive_route);

// One file, streamed; `shown_path` as listings show it (artifacts/names.h). Never one outside the
// workspace, nor one reached through a symbolic link.
Response WorkspaceFile(const std::string& workspace, const std::string& shown_path);

// The whole workspace as ?format=zip (default) or tar.gz, streamed, as an attachment named
// `name`.zip or `name`.tar.gz. `files_route` names the way to files one by one when there are
// too many to archive.
Response WorkspaceArchive(const Request& request, const std::string& workspace,
                          std::string_view name, std::string_view files_route);

}  // namespace warden::api
