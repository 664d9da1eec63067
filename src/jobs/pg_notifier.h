// Wake-ups for the PostgreSQL job store's waiters (WaitForQueued, WaitForEvents, ...): a thread
// LISTENs on the channel every node NOTIFYs after a change, and local commits wake waiters at
// once. A wake-up is only a hint to look again: the data is always read from the tables, and
// waiters also look every `safety_poll`, so a lost notification (a dropped connection, a server
// restart) delays a waiter, never strands it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "base/result.h"
#include "base/unique_fd.h"

namespace warden::jobs::pg {

// What a committed transaction changed that waiters on other nodes care about.
struct Changes {
  bool queued = false;  // a job became queued (WaitForQueued)
  bool events = false;  // a job has new events (WaitForEvents, WaitForAnyEvents)
  bool any() const { return queued || events; }
};

// Owns the listening connection and its thread, and the announcing connection and its thread.
// Thread-safe.
class Notifier {
 public:
  Notifier(std::string url, std::chrono::milliseconds safety_poll);
  Notifier(const Notifier&) = delete;
  Notifier& operator=(const Notifier&) = delete;
  // Stops the thread and fails current waits with kUnavailable.
  ~Notifier();

  // Something changed: every waiter of this process looks again.
  void Wake();

  // Tells the other nodes (NOTIFY warden_jobs, payload "queued" or "events"), from a thread of its
  // own so that the caller does not wait. Announcements made while one is being sent go out
  // together, as one NOTIFY: a burst of commits costs the server one notification.
  void Announce(const Changes& changes);

  // Calls `check` until it returns true (true), an error, or `timeout` passes (false); again after
  // every wake-up and at least every safety_poll.
  Result<bool> WaitUntil(const std::function<Result<bool>()>& check,
                         std::chrono::milliseconds timeout);

 private:
  void Loop(const std::stop_token& stop);
  // Listens until the connection breaks or `stop`; errors are the connection's.
  Status Listen(const std::stop_token& stop);
  void AnnounceLoop(const std::stop_token& stop);

  const std::string url_;
  const std::chrono::milliseconds safety_poll_;
  UniqueFd stop_fd_;  // an eventfd that interrupts the thread's poll
  std::mutex mu_;
  std::condition_variable cv_;
  uint64_t generation_ = 0;
  bool closing_ = false;
  std::condition_variable announce_cv_;
  Changes pending_;  // announced, not yet sent
  // Last: started once everything they use exists.
  std::jthread thread_;
  std::jthread announcer_;
};

}  // namespace warden::jobs::pg
