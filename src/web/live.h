// The dashboard's live channel: one WebSocket per browser tab at GET /v1/live, carrying every
// subscription of the page (a browser holds six HTTP/1.1 connections per host: one SSE stream
// per view would leave a seventh tab waiting). SSE stays as it is for API clients.
//
// JSON text messages, client → server:
//   {"type": "auth", "key": "..."}      first ("" on a server without API keys)
//   {"type": "subscribe", "sub": "s1", "topic": "jobs"}
//   {"type": "subscribe", "sub": "s2", "topic": "job", "job": "ID", "after": 0}
//   {"type": "unsubscribe", "sub": "s2"}
// server → client:
//   {"type": "ready", "owner": "...", "defaults": {...}}   the key is good
//   {"type": "jobs_changed", "sub": "s1"}   at once, then whenever a job of the caller is
//                                           submitted or changes state (the page re-reads its list)
//   {"type": "event", "sub": "s2", "event": {seq, time_ms, type, data}}   a job's events, from
//                                           `after` on, live
//   {"type": "end", "sub": "s2"}            the job ended and every event was sent
//   {"type": "error", ["sub": ...,] "code": "...", "message": "..."}   a message that could not
//                                           be served (the socket stays open)
// A socket without a valid key is closed with code 4401 after an "unauthorized" error; a key
// sees exactly the jobs the API lets it see.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "api/event_followers.h"
#include "api/router.h"
#include "base/json.h"
#include "jobs/store.h"

namespace warden::web {

inline constexpr uint16_t kCloseUnauthorized = 4401;

struct LiveOptions {
  // The owner a key acts as, or std::nullopt for a key that is not valid. Unset: the server has no
  // keys and every socket acts as the operator (owner "").
  std::function<std::optional<std::string>(std::string_view key)> check_key;
  // Sent with "ready": the defaults of the job options, shown by the new job form.
  json::object defaults;
  // How often the job lists of subscribed owners are compared for changes.
  std::chrono::milliseconds jobs_poll{200};
  size_t max_subscriptions = 64;  // per socket
};

// Thread-safe. Must outlive the HTTP server it is routed from (stop the server first).
class LiveHub {
 public:
  LiveHub(jobs::JobStore& store, LiveOptions options);
  ~LiveHub();
  LiveHub(const LiveHub&) = delete;
  LiveHub& operator=(const LiveHub&) = delete;

  // GET /v1/live (a WebSocket; 426 for any other request).
  void AddRoutes(api::Router& router);

 private:
  struct Client;
  class SubscriptionStream;

  api::Response Accept(api::Request& request);
  void OnMessage(const std::shared_ptr<Client>& client, const std::string& text);
  void Authenticate(Client& client, const json::object& message);
  void Subscribe(const std::shared_ptr<Client>& client, const json::object& message);
  void FollowJob(Client& client, const std::string& sub, const json::object& message);
  void Unsubscribe(Client& client, const json::object& message);
  void Forget(const std::shared_ptr<Client>& client);

  // live_jobs.cc: the job lists.
  std::string Fingerprint(const std::string& owner);
  void WatchJobs();

  jobs::JobStore& store_;
  const LiveOptions options_;
  api::EventFollowers followers_;

  std::mutex mu_;
  std::condition_variable wake_;
  std::list<std::shared_ptr<Client>> clients_;       // guarded by mu_
  std::map<std::string, std::string> fingerprints_;  // owner -> its jobs' last fingerprint; mu_
  bool stopping_ = false;                            // guarded by mu_
  std::thread watcher_;
};

}  // namespace warden::web
