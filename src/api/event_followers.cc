#include "api/event_followers.h"

#include <algorithm>
#include <chrono>

#include <fmt/format.h>

#include "base/json_text.h"
#include "base/log.h"

namespace warden::api {
namespace {

using std::chrono::milliseconds;

constexpr size_t kCongested = size_t{256} * 1024;  // unsent bytes
constexpr int kPage = 500;                         // events per read
// Bytes per read: about what a follower may have unsent, so a read is not mostly thrown away.
constexpr size_t kPageBytes = kCongested;
constexpr milliseconds kRound{100};
constexpr uint64_t kSweepRounds = 50;

bool IsFinalStateEvent(const jobs::Event& event) {
  if (event.type != jobs::kStateEventType) {
    return false;
  }
  const json::value* state = event.data.if_contains("state");
  if (state == nullptr || !state->is_string()) {
    return false;
  }
  auto parsed = jobs::ParseJobState(std::string_view{state->get_string()});
  return parsed && jobs::IsFinal(*parsed);
}

// A failed read that a later round may get past (the database busy or closing). Any other error
// stays, and ends the streams of its job.
bool Transient(const Error& error) {
  switch (error.code()) {
    case ErrorCode::kUnavailable:
    case ErrorCode::kInternal:
    case ErrorCode::kResourceExhausted:
    case ErrorCode::kDeadlineExceeded:
    case ErrorCode::kAborted:
      return true;
    default:
      return false;
  }
}

// The last words of a stream whose job cannot be read: an "error" event without an id, so that a
// client that reconnects resumes where it was.
std::string SseError(const Error& error) {
  json::object body{
      {"error", json::object{{"code", ErrorCodeName(error.code())}, {"message", error.message()}}}};
  return fmt::format("event: error\ndata: {}\n\n", SerializeJson(body));
}

}  // namespace

std::string SseOf(const jobs::Event& event) {
  return fmt::format("id: {}\nevent: {}\ndata: {}\n\n", event.seq, event.type,
                     SerializeJson(jobs::ToJson(event)));
}

EventFormat SseFormat() {
  return {SseOf, SseError};
}

EventFollowers::EventFollowers(jobs::JobStore& store) : store_(store) {
  thread_ = std::thread([this] { Run(); });
}

EventFollowers::~EventFollowers() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
  for (Follower& follower : followers_) {
    follower.stream->Close();
  }
}

void EventFollowers::Follow(std::shared_ptr<Stream> stream, const std::string& job_id,
                            int64_t after, EventFormat format) {
  Follower follower{std::move(stream), job_id, after, std::move(format)};
  // The history, while the client keeps up; the hub sends the rest.
  while (follower.stream->unsent_bytes() < kCongested) {
    Result<jobs::EventPage> page = ReadPage(job_id, follower.after);
    if (!page.ok() && !Transient(page.error())) {
      LOG_WARN("SSE follower of job {}: {}", job_id, page.error().message());
      follower.stream->Write(follower.format.error(page.error()));
      follower.stream->Close();
      return;
    }
    if (!page.ok() || page->events.empty()) {
      break;
    }
    if (Deliver(follower, page->events)) {
      follower.stream->Close();
      return;
    }
    if (!page->more) {
      break;
    }
  }
  // A job that has ended and whose events were all sent (a client resuming after the last one)
  // has nothing more to say; nor has one that is gone.
  if (Finished(follower)) {
    follower.stream->Close();
    return;
  }
  std::lock_guard lock(mutex_);
  followers_.push_back(std::move(follower));
  wake_.notify_all();
}

Result<jobs::EventPage> EventFollowers::ReadPage(const std::string& job_id, int64_t after) const {
  jobs::EventQuery query;
  query.after_seq = after;
  query.limit = kPage;
  query.max_bytes = kPageBytes;
  return store_.ReadEvents(job_id, query);
}

// True when nothing more will come for this follower: its job is gone (retention), or ended and
// every event up to its last was sent.
bool EventFollowers::Finished(const Follower& follower) const {
  auto job = store_.Get(follower.job_id, jobs::kAnyOwner);
  if (!job.ok()) {
    return job.error().code() == ErrorCode::kNotFound;
  }
  return jobs::IsFinal(job->state) && follower.after >= job->last_event_seq;
}

// Writes the events past the follower's position; true when the stream is done (the job ended, or
// the client left).
bool EventFollowers::Deliver(Follower& follower, const std::vector<jobs::Event>& events) {
  for (const jobs::Event& event : events) {
    if (event.seq <= follower.after) {
      continue;
    }
    if (follower.stream->unsent_bytes() >= kCongested) {
      return false;  // later, once the client has read some
    }
    if (!follower.stream->Write(follower.format.event(event))) {
      return true;
    }
    follower.after = event.seq;
    if (IsFinalStateEvent(event)) {
      return true;  // the job ended: so does its stream
    }
  }
  return false;
}

void EventFollowers::Run() {
  std::unique_lock lock(mutex_);
  for (uint64_t round = 1; !stopping_; ++round) {
    // job -> the lowest position followed, of followers that can take more now.
    std::map<std::string, int64_t> wanted;
    bool congested = false;
    for (auto it = followers_.begin(); it != followers_.end();) {
      if (it->stream->closed()) {
        it = followers_.erase(it);
        continue;
      }
      if (it->stream->unsent_bytes() >= kCongested) {
        congested = true;
      } else if (auto [entry, added] = wanted.emplace(it->job_id, it->after); !added) {
        entry->second = std::min(entry->second, it->after);
      }
      ++it;
    }
    if (round % kSweepRounds == 0) {
      SweepFinished(lock);
      continue;
    }
    if (wanted.empty()) {
      wake_.wait_for(lock, congested ? kRound : milliseconds(1000));
      continue;
    }
    lock.unlock();
    bool transient_failure = false;
    std::map<std::string, Read> news = ReadNews(wanted, congested, &transient_failure);
    if (transient_failure) {
      std::this_thread::sleep_for(kRound);  // the store is in trouble: do not spin
    }
    lock.lock();
    DeliverNews(news);
  }
}

std::map<std::string, EventFollowers::Read> EventFollowers::ReadNews(
    const std::map<std::string, int64_t>& wanted, bool congested, bool* transient_failure) {
  std::map<std::string, Read> reads;
  auto news = store_.WaitForAnyEvents(wanted, congested ? kRound / 2 : kRound);
  if (!news.ok()) {
    LOG_WARN("SSE followers: {}", news.error().message());
    *transient_failure = true;
    return reads;
  }
  for (const auto& [job_id, last] : *news) {
    auto position = wanted.find(job_id);
    if (position == wanted.end()) {
      continue;
    }
    Read read{position->second, ReadPage(job_id, position->second)};
    if (!read.page.ok()) {
      LOG_WARN("SSE followers of job {}: {}", job_id, read.page.error().message());
      if (Transient(read.page.error())) {
        *transient_failure = true;
        continue;
      }
    }
    reads.emplace(job_id, std::move(read));
  }
  return reads;
}

void EventFollowers::DeliverNews(const std::map<std::string, Read>& news) {
  for (auto it = followers_.begin(); it != followers_.end();) {
    auto found = news.find(it->job_id);
    // Only to followers at or past where the read began: one that was congested when it began
    // (or joined since) is further behind, and gets its events from its own position next round
    // rather than with a gap now.
    bool done = false;
    if (found != news.end() && it->after >= found->second.from) {
      const Result<jobs::EventPage>& page = found->second.page;
      if (!page.ok()) {
        it->stream->Write(it->format.error(page.error()));
        done = true;
      } else {
        done = Deliver(*it, page->events);
      }
    }
    if (done) {
      it->stream->Close();
      it = followers_.erase(it);
    } else {
      ++it;
    }
  }
}

// Closes the streams of followers with nothing more to come (see Finished): jobs removed by
// retention while followed report no news, so the rounds alone would never end them.
void EventFollowers::SweepFinished(std::unique_lock<std::mutex>& lock) {
  std::vector<std::pair<std::shared_ptr<Stream>, Follower>> all;
  for (const Follower& follower : followers_) {
    all.emplace_back(follower.stream, follower);
  }
  lock.unlock();
  std::vector<std::shared_ptr<Stream>> done;
  for (const auto& [stream, follower] : all) {
    if (Finished(follower)) {
      done.push_back(stream);
    }
  }
  lock.lock();
  for (const std::shared_ptr<Stream>& stream : done) {
    stream->Close();  // the next round drops it
  }
}

}  // namespace warden::api
