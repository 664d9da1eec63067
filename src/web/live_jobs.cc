// The "jobs" topic of the live channel: which owners' job lists changed since the last look.
#include <set>
#include <vector>

#include <fmt/format.h>

#include "base/json_text.h"
#include "base/log.h"
#include "web/live.h"
#include "web/live_internal.h"

namespace warden::web {

// What changes when a job of `owner` is submitted, claimed, asked to cancel or ends: the newest
// job, and each queued or running job with its state. Three reads of at most kMaxPageLimit rows.
// "" when the store cannot be read (no change is reported then).
std::string LiveHub::Fingerprint(const std::string& owner) {
  std::string fingerprint;
  jobs::JobFilter filter;
  filter.owner = owner;
  auto newest = store_.List(filter, jobs::PageRequest{1, ""});
  if (!newest.ok()) {
    return "";
  }
  if (!newest->jobs.empty()) {
    fingerprint += newest->jobs.front().id;
  }
  for (jobs::JobState state : {jobs::JobState::kQueued, jobs::JobState::kRunning}) {
    filter.state = state;
    auto page = store_.List(filter, jobs::PageRequest{jobs::kMaxPageLimit, ""});
    if (!page.ok()) {
      return "";
    }
    for (const jobs::Job& job : page->jobs) {
      fmt::format_to(std::back_inserter(fingerprint), " {}:{}{}", job.id,
                     jobs::JobStateName(job.state), job.cancel_requested ? "!" : "");
    }
  }
  return fingerprint;
}

void LiveHub::WatchJobs() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    wake_.wait_for(lock, options_.jobs_poll);
    if (stopping_) {
      break;
    }
    // Who watches which owner's list; the store is read outside the lock.
    std::map<std::string, std::vector<std::pair<std::shared_ptr<Client>, std::string>>> watchers;
    for (const std::shared_ptr<Client>& client : clients_) {
      std::lock_guard client_lock(client->mu);
      for (const std::string& sub : client->job_lists) {
        watchers[*client->owner].emplace_back(client, sub);
      }
    }
    std::erase_if(fingerprints_,
                  [&](const auto& entry) { return !watchers.contains(entry.first); });
    lock.unlock();
    std::map<std::string, std::string> now;
    for (const auto& [owner, subs] : watchers) {
      now[owner] = Fingerprint(owner);
    }
    lock.lock();
    for (auto& [owner, fingerprint] : now) {
      if (fingerprint.empty()) {
        continue;
      }
      auto [it, added] = fingerprints_.try_emplace(owner, fingerprint);
      if (added || it->second == fingerprint) {
        continue;
      }
      it->second = fingerprint;
      for (const auto& [client, sub] : watchers[owner]) {
        client->socket->Send(Message({{"type", "jobs_changed"}, {"sub", sub}}));
      }
    }
  }
}

}  // namespace warden::web
