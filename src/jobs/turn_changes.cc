#include "jobs/turn_changes.h"

#include <map>
#include <string>

namespace warden::jobs {
namespace {

std::string PathOf(const json::value& entry) {
  const json::value* path = entry.is_object() ? entry.get_object().if_contains("path") : nullptr;
  return path != nullptr && path->is_string() ? std::string(path->get_string()) : "";
}

bool Same(const json::object& before, const json::object& after) {
  auto at = [](const json::object& entry, std::string_view key) {
    const json::value* value = entry.if_contains(key);
    return value != nullptr ? *value : json::value(nullptr);
  };
  if (at(before, "size") != at(after, "size")) {
    return false;
  }
  json::value old_hash = at(before, "sha256");
  json::value new_hash = at(after, "sha256");
  if (old_hash.is_string() && new_hash.is_string()) {
    return old_hash == new_hash;
  }
  return at(before, "modified_at") == at(after, "modified_at");
}

// The manifest the session's turn before `job` recorded; empty when there is none (or its job
// was deleted since).
Result<json::array> PreviousManifest(JobStore& store, const Job& job) {
  if (job.session_id.empty()) {
    return json::array{};
  }
  ASSIGN_OR_RETURN(std::vector<SessionTurn> turns,
                   store.ListSessionTurns(job.session_id, kAnyOwner));
  std::string previous;
  for (const SessionTurn& turn : turns) {
    if (turn.job_id == job.id) {
      break;
    }
    previous = turn.job_id;
  }
  if (previous.empty()) {
    return json::array{};
  }
  Result<Job> before = store.Get(previous, kAnyOwner);
  if (!before.ok()) {
    if (before.error().code() == ErrorCode::kNotFound) {
      return json::array{};
    }
    return before.error();
  }
  const json::value* files = before->result.if_contains("files");
  return files != nullptr && files->is_array() ? files->get_array() : json::array{};
}

}  // namespace

Result<json::object> TurnChanges(JobStore& store, const Job& job, const json::array& files) {
  ASSIGN_OR_RETURN(json::array previous, PreviousManifest(store, job));
  std::map<std::string, const json::object*> before;
  for (const json::value& entry : previous) {
    if (std::string path = PathOf(entry); !path.empty()) {
      before[path] = &entry.get_object();
    }
  }
  json::array added;
  json::array modified;
  for (const json::value& entry : files) {
    std::string path = PathOf(entry);
    auto it = before.find(path);
    if (it == before.end()) {
      added.push_back(entry);
    } else {
      if (!Same(*it->second, entry.get_object())) {
        modified.push_back(entry);
      }
      before.erase(it);
    }
  }
  json::array deleted;
  for (const auto& [path, entry] : before) {
    deleted.emplace_back(path);
  }
  return json::object{{"added", std::move(added)},
                      {"modified", std::move(modified)},
                      {"deleted", std::move(deleted)}};
}

}  // namespace warden::jobs
