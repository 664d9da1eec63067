// The live side of GET /v1/jobs/{id}/events with Accept: text/event-stream: one thread that feeds
// every SSE follower of every job.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "api/http.h"
#include "jobs/store.h"

namespace warden::api {

// "id: 7\nevent: output\ndata: {...}\n\n": one stored event as SSE. The data line is JSON in valid
// UTF-8 whatever the program wrote (see agent/output.h for how output keeps its bytes).
std::string SseOf(const jobs::Event& event);

// How a follower's stream spells an event and the error that ends it. The default is SSE (SseOf);
// the dashboard's WebSocket wraps them in JSON messages of its own.
struct EventFormat {
  std::function<std::string(const jobs::Event&)> event;
  std::function<std::string(const Error&)> error;
};
EventFormat SseFormat();

// Feeds every SSE follower. A new follower gets the job's history on the handler thread that
// accepted it; then one thread waits for news of every followed job at once
// (JobStore::WaitForAnyEvents: one read per change, none while nothing happens) and reads the new
// events of each job once, however many follow it. Reads are pages bounded in events and bytes. A
// follower costs its stream and its position. A follower whose client reads slowly is left alone
// until its queue drains, so a long history never overflows its stream. A job whose events cannot
// be read for good (its data is damaged) ends its followers' streams with an "error" event rather
// than keeping them, and the thread, waiting. Thread-safe.
class EventFollowers {
 public:
  explicit EventFollowers(jobs::JobStore& store);
  ~EventFollowers();

  // Sends the job's events after `after`, then the live ones until the job ends.
  void Follow(std::shared_ptr<Stream> stream, const std::string& job_id, int64_t after,
              EventFormat format = SseFormat());

 private:
  struct Follower {
    std::shared_ptr<Stream> stream;
    std::string job_id;
    int64_t after = 0;
    EventFormat format;
  };
  // What one round read of a job: its events after `from`, or the error that ends its streams.
  struct Read {
    int64_t from = 0;
    Result<jobs::EventPage> page = jobs::EventPage{};
  };

  bool Finished(const Follower& follower) const;
  static bool Deliver(Follower& follower, const std::vector<jobs::Event>& events);
  Result<jobs::EventPage> ReadPage(const std::string& job_id, int64_t after) const;
  void Run();
  // Reads what `wanted` (job -> lowest position followed) asks for, once there is news.
  std::map<std::string, Read> ReadNews(const std::map<std::string, int64_t>& wanted, bool congested,
                                       bool* transient_failure);
  void DeliverNews(const std::map<std::string, Read>& news);
  void SweepFinished(std::unique_lock<std::mutex>& lock);

  jobs::JobStore& store_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::list<Follower> followers_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace warden::api
