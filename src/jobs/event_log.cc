#include "jobs/event_log.h"

#include "base/log.h"

namespace warden::jobs {
namespace {

size_t TextBytes(const json::object& data) {
  const json::value* text = data.if_contains("text");
  return text != nullptr && text->is_string() ? text->get_string().size() : 0;
}

}  // namespace

EventLog::EventLog(JobStore& store, Lease claim)
    : store_(store),
      claim_(std::move(claim)),
      flusher_([this](const std::stop_token& stop) { FlushPeriodically(stop); }) {}

EventLog::~EventLog() {
  flusher_.request_stop();
  flusher_.join();
  Flush();
}

void EventLog::Add(std::string type, json::object data) {
  std::lock_guard lock(mutex_);
  bool output = type == "output";
  pending_bytes_ += output ? TextBytes(data) : 0;
  pending_.push_back(
      {claim_.job_id, std::move(type), std::move(data), claim_.worker, claim_.attempt});
  bool due = std::chrono::steady_clock::now() - last_flush_ > kOutputDelay;
  // While the store is unavailable, the flusher thread retries every kOutputDelay.
  if (holding_ ? due : !output || pending_bytes_ > size_t{16} * 1024 || due) {
    FlushLocked();
  }
}

bool EventLog::Flush() {
  std::lock_guard lock(mutex_);
  FlushLocked();
  return pending_.empty();
}

void EventLog::FlushPeriodically(const std::stop_token& stop) {
  std::unique_lock lock(mutex_);
  while (!stop.stop_requested()) {
    tick_.wait_for(lock, stop, kOutputDelay, [] { return false; });
    FlushLocked();
  }
}

void EventLog::FlushLocked() {
  if (pending_.empty()) {
    return;
  }
  last_flush_ = std::chrono::steady_clock::now();
  // A copy: while the store is unreachable (a database restarting) the batch is kept and sent
  // again with the next flush, up to kMaxHeldBytes; past that, the oldest events are dropped.
  auto written = store_.AppendEvents(pending_);
  if (!written.ok() && written.error().code() == ErrorCode::kUnavailable &&
      pending_bytes_ + pending_.size() * 256 <= kMaxHeldBytes) {
    if (!holding_) {
      LOG_WARN("job {}: events held until the store answers again: {}", claim_.job_id,
               written.error().message());
      holding_ = true;
    }
    return;
  }
  if (!written.ok()) {
    LOG_WARN("job {}: {} events lost: {}", claim_.job_id, pending_.size(),
             written.error().message());
  } else if (holding_) {
    LOG_INFO("job {}: the events held were written", claim_.job_id);
  }
  holding_ = false;
  pending_.clear();
  pending_bytes_ = 0;
}

}  // namespace warden::jobs
