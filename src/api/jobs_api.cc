#include "api/jobs_api.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <list>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "artifacts/artifacts.h"
#include "base/log.h"

namespace warden::api {
namespace {

using std::chrono::milliseconds;

bool WantsEventStream(const Request& request) {
  return request.headers.Get("Accept").find("text/event-stream") != std::string_view::npos;
}

// "id: 7\nevent: output\ndata: {...}\n\n"
std::string SseOf(const jobs::Event& event) {
  return fmt::format("id: {}\nevent: {}\ndata: {}\n\n", event.seq, event.type,
                     json::serialize(jobs::ToJson(event)));
}

bool IsFinalStateEvent(const jobs::Event& event) {
  if (event.type != jobs::kStateEventType) {
    return false;
  }
  const json::value* state = event.data.if_contains("state");
  if (state == nullptr || !state->is_string()) {
    return false;
  }
  auto parsed = jobs::ParseJobState(std::string_view(state->get_string()));
  return parsed && jobs::IsFinal(*parsed);
}

// 201 with the new job, or 429 when the queue is full, or the store's error.
Response Created(const Result<jobs::Job>& created) {
  if (!created.ok()) {
    return JobRefused(created.error());
  }
  Response response = Response::Json(201, jobs::ToJson(*created));
  response.headers.Set("Location", "/v1/jobs/" + created->id);
  return response;
}

}  // namespace

// Feeds every SSE follower. A new follower gets the job's history on the handler thread that
// accepted it; then one thread waits for news of every followed job at once
// (JobStore::WaitForAnyEvents: one read per change, none while nothing happens) and reads the new
// events of each job once, however many follow it. A follower costs its stream and its position.
// A follower whose client reads slowly is left alone until its queue drains, so a long history
// never overflows its stream.
class EventFollowers {
 public:
  explicit EventFollowers(jobs::JobStore& store) : store_(store) {
    thread_ = std::thread([this] { Run(); });
  }
  ~EventFollowers() {
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

  // Sends the job's events after `after`, then the live ones until the job ends.
  void Follow(std::shared_ptr<Stream> stream, const std::string& job_id, int64_t after) {
    Follower follower{std::move(stream), job_id, after};
    // The history, while the client keeps up; the hub sends the rest.
    while (follower.stream->unsent_bytes() < kCongested) {
      auto events = store_.Events(job_id, follower.after, kPage);
      if (!events.ok() || events->empty()) {
        break;
      }
      if (Deliver(follower, *events)) {
        follower.stream->Close();
        return;
      }
      if (events->size() < static_cast<size_t>(kPage)) {
        break;
      }
    }
    // A job that has ended and whose events were all sent (a client resuming after the last
    // one) has nothing more to say; nor has one that is gone.
    if (Finished(follower)) {
      follower.stream->Close();
      return;
    }
    std::lock_guard lock(mutex_);
    followers_.push_back(std::move(follower));
    wake_.notify_all();
  }

 private:
  static constexpr size_t kCongested = 256 * 1024;  // unsent bytes
  static constexpr int kPage = 500;
  static constexpr milliseconds kRound{100};
  static constexpr uint64_t kSweepRounds = 50;

  struct Follower {
    std::shared_ptr<Stream> stream;
    std::string job_id;
    int64_t after = 0;
  };

  // True when nothing more will come for this follower: its job is gone (retention), or ended
  // and every event up to its last was sent.
  bool Finished(const Follower& follower) const {
    auto job = store_.Get(follower.job_id, jobs::kAnyOwner);
    if (!job.ok()) {
      return job.error().code() == ErrorCode::kNotFound;
    }
    return jobs::IsFinal(job->state) && follower.after >= job->last_event_seq;
  }

  // Writes the events past the follower's position; true when the stream is done (the job ended,
  // or the client left).
  static bool Deliver(Follower& follower, const std::vector<jobs::Event>& events) {
    for (const jobs::Event& event : events) {
      if (event.seq <= follower.after) {
        continue;
      }
      if (follower.stream->unsent_bytes() >= kCongested) {
        return false;  // later, once the client has read some
      }
      if (!follower.stream->Write(SseOf(event))) {
        return true;
      }
      follower.after = event.seq;
      if (IsFinalStateEvent(event)) {
        return true;  // the job ended: so does its stream
      }
    }
    return false;
  }

  void Run() {
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
      auto news = store_.WaitForAnyEvents(wanted, congested ? kRound / 2 : kRound);
      // job -> the events read, from the position they were read after.
      std::map<std::string, std::pair<int64_t, std::vector<jobs::Event>>> fresh;
      bool failed = !news.ok();
      if (failed) {
        LOG_WARN("SSE followers: {}", news.error().message());
      } else {
        for (const auto& [job_id, last] : *news) {
          int64_t from = wanted[job_id];
          auto events = store_.Events(job_id, from, kPage);
          if (events.ok()) {
            fresh[job_id] = {from, std::move(*events)};
          } else {
            failed = true;
          }
        }
      }
      if (failed) {
        std::this_thread::sleep_for(kRound);  // the store is in trouble: do not spin
      }
      lock.lock();
      for (auto it = followers_.begin(); it != followers_.end();) {
        auto found = fresh.find(it->job_id);
        // Only to followers at or past where the read began: one that was congested when it began
        // (or joined since) is further behind, and gets its events from its own position next
        // round rather than with a gap now.
        if (found != fresh.end() && it->after >= found->second.first &&
            Deliver(*it, found->second.second)) {
          it->stream->Close();
          it = followers_.erase(it);
        } else {
          ++it;
        }
      }
    }
  }

  // Closes the streams of followers with nothing more to come (see Finished): jobs removed by
  // retention while followed report no news, so the rounds alone would never end them.
  void SweepFinished(std::unique_lock<std::mutex>& lock) {
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

  jobs::JobStore& store_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::list<Follower> followers_;
  bool stopping_ = false;
  std::thread thread_;
};

Response JobRefused(const Error& error) {
  if (error.code() == ErrorCode::kResourceExhausted) {
    Response response = Response::Error(429, "queue_full", error.message());
    response.headers.Set("Retry-After", "1");
    return response;
  }
  return Response::FromError(error);
}

Response SpecRefused(const Error& error, std::string_view code) {
  if (error.code() == ErrorCode::kPermissionDenied) {
    return Response::Error(403, "not_allowed", error.message());
  }
  return Response::Error(400, code, error.message());
}

std::string OwnerOf(const Request& request) {
  auto it = request.params.find("owner");
  return it == request.params.end() ? "" : it->second;
}

JobsApi::JobsApi(jobs::JobStore& store, jobs::WorkerPool* workers, JobsApiOptions options)
    : store_(store),
      workers_(workers),
      options_(options),
      followers_(std::make_unique<EventFollowers>(store)) {}

JobsApi::~JobsApi() = default;

void JobsApi::AddRoutes(Router& router) {
  auto bind = [this](Response (JobsApi::*method)(Request&)) {
    return [this, method](Request& request) {
      return (this->*method)(request);
    };
  };
  router.Add("GET", "/healthz", [](Request&) {
    return Response::Json(200, json::object{{"status", "ok"}});
  });
  router.Add("GET", "/readyz", [this](Request&) {
    auto counts = store_.CountByState();
    if (!counts.ok()) {
      return Response::Error(503, "unavailable", counts.error().message());
    }
    return Response::Json(200, json::object{{"status", "ready"}});
  });
  router.Add("POST", "/v1/jobs", bind(&JobsApi::Submit));
  router.Add("GET", "/v1/jobs", bind(&JobsApi::List));
  router.Add("GET", "/v1/jobs/{id}", bind(&JobsApi::Get));
  router.Add("GET", "/v1/jobs/{id}/events", bind(&JobsApi::Events));
  router.Add("GET", "/v1/jobs/{id}/logs", bind(&JobsApi::Logs));
  router.Add("POST", "/v1/jobs/{id}/cancel", bind(&JobsApi::Cancel));
  router.Add("POST", "/v1/jobs/{id}/retry", bind(&JobsApi::Retry));
  router.Add("GET", "/v1/jobs/{id}/files", bind(&JobsApi::Files));
  router.Add("GET", "/v1/jobs/{id}/files/{path...}", bind(&JobsApi::File));
  router.Add("GET", "/v1/jobs/{id}/archive", bind(&JobsApi::Archive));
}

Result<jobs::Job> JobsApi::JobOf(const Request& request) {
  const std::string& id = request.params.at("id");
  if (!jobs::IsValidId(id, jobs::kJobIdPrefix)) {
    return Error(ErrorCode::kNotFound, fmt::format("no job {}", id));
  }
  auto job = store_.Get(id, OwnerOf(request));
  if (!job.ok() && job.error().code() == ErrorCode::kNotFound) {
    return Error(ErrorCode::kNotFound, fmt::format("no job {}", id));
  }
  return job;
}

Response JobsApi::Submit(Request& request) {
  if (request.body.size() > options_.max_task_bytes) {
    return Response::Error(413, "too_large",
                           fmt::format("a job may be at most {} bytes", options_.max_task_bytes));
  }
  boost::system::error_code ec;
  json::value body = json::parse(request.body, ec);
  if (ec || !body.is_object()) {
    return Response::Error(400, "invalid_json",
                           ec ? fmt::format("the body is not valid JSON: {}", ec.message())
                              : std::string("the body must be a JSON object"));
  }
  auto spec = jobs::ParseJobSpec(body.get_object(), options_.bounds);
  if (!spec.ok()) {
    return SpecRefused(spec.error(), "invalid_job");
  }
  jobs::NewJob job;
  job.owner = OwnerOf(request);
  job.kind = spec->kind;
  job.input = std::move(body.get_object());
  job.requeue_on_crash = spec->requeue_on_crash;
  return Created(store_.Create(std::move(job)));
}

Response JobsApi::List(Request& request) {
  jobs::JobFilter filter;
  filter.owner = OwnerOf(request);
  if (auto it = request.query.find("status"); it != request.query.end() && !it->second.empty()) {
    filter.state = jobs::ParseJobState(it->second);
    if (!filter.state) {
      return Response::Error(400, "invalid_argument",
                             "status must be queued, running, succeeded, failed or cancelled");
    }
  }
  auto limit = QueryInt(request, "limit", 50, 1, jobs::kMaxPageLimit);
  if (!limit.ok()) {
    return Response::FromError(limit.error());
  }
  jobs::PageRequest page{static_cast<int>(*limit), ""};
  if (auto it = request.query.find("cursor"); it != request.query.end()) {
    page.cursor = it->second;
  }
  auto result = store_.List(filter, page);
  if (!result.ok()) {
    return Response::FromError(result.error());
  }
  json::array items;
  for (const jobs::Job& job : result->jobs) {
    items.push_back(jobs::ToJson(job));
  }
  json::object out{{"jobs", std::move(items)}};
  out["next_cursor"] =
      result->next_cursor.empty() ? json::value(nullptr) : json::value(result->next_cursor);
  return Response::Json(200, out);
}

Response JobsApi::Get(Request& request) {
  auto job = JobOf(request);
  return job.ok() ? Response::Json(200, jobs::ToJson(*job)) : Response::FromError(job.error());
}

Response JobsApi::Events(Request& request) {
  auto job = JobOf(request);
  if (!job.ok()) {
    return Response::FromError(job.error());
  }
  int64_t after = 0;
  if (std::string_view last = request.headers.Get("Last-Event-ID"); !last.empty()) {
    after = std::strtoll(std::string(last).c_str(), nullptr, 10);
  }
  auto query_after = QueryInt(request, "after", after, 0, INT64_MAX);
  if (!query_after.ok()) {
    return Response::FromError(query_after.error());
  }
  after = *query_after;
  if (WantsEventStream(request)) {
    std::string id = job->id;
    return Response::EventStream([this, id, after](std::shared_ptr<Stream> stream) {
      followers_->Follow(std::move(stream), id, after);
    });
  }
  auto limit = QueryInt(request, "limit", jobs::kMaxPageLimit, 1, jobs::kMaxPageLimit);
  if (!limit.ok()) {
    return Response::FromError(limit.error());
  }
  auto events = store_.Events(job->id, after, static_cast<int>(*limit));
  if (!events.ok()) {
    return Response::FromError(events.error());
  }
  json::array items;
  for (const jobs::Event& event : *events) {
    items.push_back(jobs::ToJson(event));
  }
  return Response::Json(200, json::object{{"events", std::move(items)}});
}

Response JobsApi::Logs(Request& request) {
  auto job = JobOf(request);
  if (!job.ok()) {
    return Response::FromError(job.error());
  }
  auto tail = QueryInt(request, "tail", 0, 0, 1'000'000);
  if (!tail.ok()) {
    return Response::FromError(tail.error());
  }
  // The output of every step, in order; then the last `tail` lines of it.
  std::string text;
  for (int64_t after = 0;;) {
    auto events = store_.Events(job->id, after, jobs::kMaxPageLimit);
    if (!events.ok()) {
      return Response::FromError(events.error());
    }
    for (const jobs::Event& event : *events) {
      if (event.type == "output") {
        if (const json::value* t = event.data.if_contains("text"); t != nullptr && t->is_string()) {
          text.append(t->get_string().data(), t->get_string().size());
        }
      }
      after = event.seq;
    }
    if (events->size() < static_cast<size_t>(jobs::kMaxPageLimit)) {
      break;
    }
  }
  if (*tail > 0) {
    size_t at = text.size();
    int64_t lines = 0;
    if (!text.empty() && text.back() == '\n') {
      --at;
    }
    while (at > 0 && lines < *tail) {
      at = text.rfind('\n', at - 1);
      if (at == std::string::npos) {
        at = 0;
        break;
      }
      ++lines;
    }
    text = text.substr(at == 0 ? 0 : at + 1);
  }
  Response response = Response::Text(200, std::move(text));
  response.headers.Set("Content-Type", "text/plain; charset=utf-8");
  return response;
}

Response JobsApi::Cancel(Request& request) {
  auto job = JobOf(request);
  if (!job.ok()) {
    return Response::FromError(job.error());
  }
  auto cancelled = store_.RequestCancel(job->id, OwnerOf(request));
  if (!cancelled.ok()) {
    if (cancelled.error().code() == ErrorCode::kFailedPrecondition) {
      return Response::Error(409, "already_finished", cancelled.error().message());
    }
    return Response::FromError(cancelled.error());
  }
  if (workers_ != nullptr) {
    workers_->NotifyCancel(job->id);
  }
  return Response::Json(202, jobs::ToJson(*cancelled));
}

Response JobsApi::Retry(Request& request) {
  auto job = JobOf(request);
  if (!job.ok()) {
    return Response::FromError(job.error());
  }
  if (!job->session_id.empty()) {
    // Run beside the session's turns, it would share their workspace unseen by the session.
    return Response::Error(409, "session_job",
                           fmt::format("{} answers a message of session {}: post the message to "
                                       "the session again (POST /v1/sessions/{}/messages)",
                                       job->id, job->session_id, job->session_id));
  }
  jobs::NewJob retry;
  retry.owner = job->owner;
  retry.kind = job->kind;
  retry.input = job->input;
  retry.parent_id = job->id;
  retry.requeue_on_crash = job->requeue_on_crash;
  return Created(store_.Create(std::move(retry)));
}

Response JobsApi::Files(Request& request) {
  auto job = JobOf(request);
  if (!job.ok()) {
    return Response::FromError(job.error());
  }
  auto manifest = artifacts::Manifest(job->workspace);
  if (!manifest.ok()) {
    if (manifest.error().code() == ErrorCode::kNotFound) {
      return Response::Json(200, json::object{{"files", json::array{}}});
    }
    return Response::FromError(manifest.error());
  }
  json::array files;
  for (const artifacts::FileInfo& file : *manifest) {
    files.push_back(json::object{{"path", file.path},
                                 {"size", file.size},
                                 {"sha256", file.sha256},
                                 {"modified_at", file.mtime_ms}});
  }
  return Response::Json(200, json::object{{"files", std::move(files)}});
}

Response JobsApi::File(Request& request) {
  auto job = JobOf(request);
  if (!job.ok()) {
    return Response::FromError(job.error());
  }
  auto file = artifacts::OpenInWorkspace(job->workspace, request.params.at("path"));
  if (!file.ok()) {
    return Response::FromError(file.error());
  }
  auto reader = std::make_shared<artifacts::FileReader>(std::move(*file));
  Response response =
      Response::Pull("application/octet-stream", [reader]() { return reader->Next(); });
  return response;
}

Response JobsApi::Archive(Request& request) {
  auto job = JobOf(request);
  if (!job.ok()) {
    return Response::FromError(job.error());
  }
  std::string format = "zip";
  if (auto it = request.query.find("format"); it != request.query.end()) {
    format = it->second;
  }
  auto parsed = artifacts::ParseArchiveFormat(format);
  if (!parsed) {
    return Response::Error(400, "invalid_argument", "format must be zip or tar.gz");
  }
  auto archive = artifacts::ArchiveStream::Open(job->workspace, *parsed);
  if (!archive.ok()) {
    return Response::FromError(archive.error());
  }
  std::shared_ptr<artifacts::ArchiveStream> stream = std::move(*archive);
  bool zip = *parsed == artifacts::ArchiveFormat::kZip;
  Response response = Response::Pull(zip ? "application/zip" : "application/gzip",
                                     [stream]() { return stream->Next(); });
  response.headers.Set("Content-Disposition", fmt::format("attachment; filename=\"{}.{}\"", job->id,
                                                          zip ? "zip" : "tar.gz"));
  return response;
}

}  // namespace warden::api
