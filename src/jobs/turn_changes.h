// What one turn of a session changed in the session's workspace: the files it added, modified or
// deleted, found by comparing the manifest at the job's end with the one its session's previous
// turn recorded at its own end. Recorded in the job's result ("changes"), so that each turn says
// what it did even after later turns changed the same files.
#pragma once

#include "base/json.h"
#include "base/result.h"
#include "jobs/store.h"

namespace warden::jobs {

// {"added": [entry...], "modified": [entry...], "deleted": [path...]}, each entry as the manifest
// has it (path, size, sha256, modified_at). A file is modified when its size, its sha256 (when both
// manifests hashed it) or, unhashed, its modification time differ. `files`: the manifest at this
// job's end. A job outside a session, or the first turn, has every file added.
Result<json::object> TurnChanges(JobStore& store, const Job& job, const json::array& files);

}  // namespace warden::jobs
