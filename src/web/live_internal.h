// What live.cc and live_jobs.cc share: a socket's state and its job subscriptions.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "api/http.h"
#include "base/json.h"
#include "base/json_text.h"
#include "web/live.h"

namespace warden::web {

inline std::string Message(const json::object& message) {
  return SerializeJson(message);
}

// One subscription to a job's events, as the stream EventFollowers writes to: each write is one
// WebSocket message; closing it says "end". Its OnClose callbacks run on the thread that closes
// it (EventFollowers registers none).
class LiveHub::SubscriptionStream : public api::Stream {
 public:
  SubscriptionStream(std::shared_ptr<api::WebSocket> socket, std::string sub)
      : socket_(std::move(socket)), sub_(std::move(sub)) {}

  bool Write(std::string data) override { return !closed() && socket_->Send(std::move(data)); }
  void Close() override {
    if (Stop()) {
      socket_->Send(Message({{"type", "end"}, {"sub", sub_}}));
    }
  }
  // Ends the subscription without a word: the client asked.
  bool Stop() {
    std::vector<std::function<void()>> callbacks;
    {
      std::lock_guard lock(mu_);
      if (stopped_) {
        return false;
      }
      stopped_ = true;
      callbacks.swap(callbacks_);
    }
    for (auto& callback : callbacks) {
      callback();
    }
    return true;
  }
  bool closed() const override {
    std::lock_guard lock(mu_);
    return stopped_ || socket_->closed();
  }
  size_t unsent_bytes() const override { return socket_->unsent_bytes(); }
  void OnClose(std::function<void()> callback) override {
    {
      std::lock_guard lock(mu_);
      if (!stopped_) {
        callbacks_.push_back(std::move(callback));
        return;
      }
    }
    callback();
  }

 private:
  const std::shared_ptr<api::WebSocket> socket_;
  const std::string sub_;
  mutable std::mutex mu_;
  bool stopped_ = false;  // guarded by mu_
  std::vector<std::function<void()>> callbacks_;
};

// One browser tab. Its messages are handled one at a time (the server reads the next once the
// last was handled); the job-list watcher reads `owner` and `job_lists` too, under `mu`.
struct LiveHub::Client {
  std::shared_ptr<api::WebSocket> socket;
  std::mutex mu;
  std::optional<std::string> owner;                                    // once authenticated
  std::set<std::string> job_lists;                                     // subs of topic "jobs"
  std::map<std::string, std::shared_ptr<SubscriptionStream>> follows;  // subs of topic "job"
};

}  // namespace warden::web
