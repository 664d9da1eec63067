#include "jobs/pg_notifier.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <memory>
#include <utility>

#include <libpq-fe.h>

#include "base/log.h"
#include "jobs/pg.h"

namespace warden::jobs::pg {
namespace {

// How long the thread waits before it connects again after losing the server.
constexpr std::chrono::milliseconds kReconnectDelay(500);

}  // namespace

Notifier::Notifier(std::string url, std::chrono::milliseconds safety_poll)
    : url_(std::move(url)),
      safety_poll_(safety_poll),
      stop_fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)),
      thread_([this](const std::stop_token& stop) { Loop(stop); }),
      announcer_([this](const std::stop_token& stop) { AnnounceLoop(stop); }) {}

Notifier::~Notifier() {
  {
    std::lock_guard lock(mu_);
    closing_ = true;
  }
  cv_.notify_all();
  announce_cv_.notify_all();
  announcer_.request_stop();
  thread_.request_stop();
  uint64_t one = 1;
  (void)!write(stop_fd_.get(), &one, sizeof(one));
  // thread_ joins in its destructor.
}

void Notifier::Wake() {
  {
    std::lock_guard lock(mu_);
    ++generation_;
  }
  cv_.notify_all();
}

void Notifier::Announce(const Changes& changes) {
  if (!changes.any()) {
    return;
  }
  {
    std::lock_guard lock(mu_);
    pending_.queued = pending_.queued || changes.queued;
    pending_.events = pending_.events || changes.events;
  }
  announce_cv_.notify_one();
}

void Notifier::AnnounceLoop(const std::stop_token& stop) {
  std::unique_ptr<Connection> conn;
  while (true) {
    Changes changes;
    {
      std::unique_lock lock(mu_);
      announce_cv_.wait(lock, [&] { return closing_ || pending_.any(); });
      if (closing_ || stop.stop_requested()) {
        return;
      }
      changes = std::exchange(pending_, Changes{});
    }
    if (conn == nullptr || conn->broken()) {
      Result<Connection> opened = Connection::Open(url_);
      if (!opened.ok()) {
        continue;  // other nodes' waiters fall back on their safety poll
      }
      conn = std::make_unique<Connection>(std::move(*opened));
    }
    // One notification (its own transaction, with no writes: no commit to flush).
    std::string_view payload =
        changes.queued ? (changes.events ? "queued,events" : "queued") : "events";
    (void)conn->Run("SELECT pg_notify('warden_jobs', $1)", {payload});
  }
}

Result<bool> Notifier::WaitUntil(const std::function<Result<bool>()>& check,
                                 std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    uint64_t generation = 0;
    {
      std::lock_guard lock(mu_);
      if (closing_) {
        return Error(ErrorCode::kUnavailable, "the job store is closing");
      }
      generation = generation_;
    }
    // A wake-up after reading the generation ends the wait below, so none is missed.
    ASSIGN_OR_RETURN(bool done, check());
    if (done) {
      return true;
    }
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) {
      return false;
    }
    std::unique_lock lock(mu_);
    cv_.wait_until(lock, std::min(deadline, now + safety_poll_),
                   [&] { return generation_ != generation || closing_; });
  }
}

void Notifier::Loop(const std::stop_token& stop) {
  bool reported = false;
  while (!stop.stop_requested()) {
    Status listened = Listen(stop);
    if (stop.stop_requested()) {
      return;
    }
    if (!listened.ok() && !reported) {
      LOG_WARN(
          "job store: not listening for changes ({}); waiters look every {} ms until it is "
          "back",
          listened.error().message(), safety_poll_.count());
      reported = true;
    }
    pollfd stop_poll{stop_fd_.get(), POLLIN, 0};
    (void)poll(&stop_poll, 1, static_cast<int>(kReconnectDelay.count()));
  }
}

Status Notifier::Listen(const std::stop_token& stop) {
  ASSIGN_OR_RETURN(Connection conn, Connection::Open(url_));
  RETURN_IF_ERROR(conn.Exec("LISTEN warden_jobs"));
  Wake();  // changes made while nobody listened would otherwise wait for the safety poll
  PGconn* raw = conn.raw();
  while (!stop.stop_requested()) {
    pollfd fds[2] = {{PQsocket(raw), POLLIN, 0}, {stop_fd_.get(), POLLIN, 0}};
    if (poll(fds, 2, -1) < 0 && errno != EINTR) {
      return Error(ErrorCode::kInternal, "poll: " + ErrnoDescription(errno), errno);
    }
    if (fds[1].revents != 0) {
      return OkStatus();
    }
    if (PQconsumeInput(raw) == 0) {
      return Error(ErrorCode::kUnavailable, PQerrorMessage(raw));
    }
    bool any = false;
    while (PGnotify* note = PQnotifies(raw)) {
      PQfreemem(note);
      any = true;
    }
    if (any) {
      Wake();
    }
  }
  return OkStatus();
}

}  // namespace warden::jobs::pg
