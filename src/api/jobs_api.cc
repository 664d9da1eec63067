#include "api/jobs_api.h"

#include <memory>
#include <utility>

#include <fmt/format.h>

#include "api/event_followers.h"
#include "base/log.h"
#include "base/utf8.h"
#include "jobs/output_reader.h"
#include "sys/fs.h"

namespace warden::api {
namespace {

// JSON /events pages hold this many events unless the client asks for another number.
constexpr int64_t kDefaultEventsLimit = 100;

bool WantsEventStream(const Request& request) {
  return request.headers.Get("Accept").find("text/event-stream") != std::string_view::npos;
}

// 201 with the new job, or 429 when the queue is full, or the store's error.
Response Created(const Result<jobs::Job>& created, jobs::Viewer viewer) {
  if (!created.ok()) {
    return JobRefused(created.error());
  }
  Response response = Response::Json(201, jobs::ToJson(*created, viewer));
  response.headers.Set("Location", "/v1/jobs/" + created->id);
  return response;
}

// The store's answer for job `id`, its kNotFound worded for the client.
Result<jobs::Job> Named(const std::string& id, Result<jobs::Job> job) {
  if (!job.ok() && job.error().code() == ErrorCode::kNotFound) {
    return Error(ErrorCode::kNotFound, fmt::format("no job {}", id));
  }
  return job;
}

// The answer to GET /v1/jobs/{id}.
Response JobAnswer(const Request& request, const Result<jobs::Job>& job) {
  return job.ok() ? Response::Json(200, jobs::ToJson(*job, jobs::ViewerFor(OwnerOf(request))))
                  : Response::FromError(job.error());
}

// The filter and page that GET /v1/jobs asks for; the 400 answer when they are malformed.
std::optional<Response> ReadListRequest(const Request& request, jobs::JobFilter* filter,
                                        jobs::PageRequest* page) {
  filter->owner = OwnerOf(request);
  if (auto it = request.query.find("status"); it != request.query.end() && !it->second.empty()) {
    filter->state = jobs::ParseJobState(it->second);
    if (!filter->state) {
      return Response::Error(400, "invalid_argument",
                             "status must be queued, running, succeeded, failed or cancelled");
    }
  }
  if (auto it = request.query.find("kind"); it != request.query.end() && !it->second.empty()) {
    filter->kind = jobs::ParseJobKind(it->second);
    if (!filter->kind) {
      return Response::Error(400, "invalid_argument", "kind must be task or steps");
    }
  }
  if (auto it = request.query.find("q"); it != request.query.end()) {
    constexpr size_t kMaxText = 200;
    if (it->second.size() > kMaxText) {
      return Response::Error(400, "invalid_argument",
                             fmt::format("q may be at most {} bytes", kMaxText));
    }
    if (!IsValidUtf8(it->second)) {
      return Response::Error(400, "invalid_argument", "q must be UTF-8 text");
    }
    filter->text = it->second;
  }
  auto limit = QueryInt(request, "limit", 50, 1, jobs::kMaxPageLimit);
  if (!limit.ok()) {
    return Response::FromError(limit.error());
  }
  page->limit = static_cast<int>(*limit);
  if (auto it = request.query.find("cursor"); it != request.query.end()) {
    page->cursor = it->second;
  }
  return std::nullopt;
}

bool WantsCounts(const Request& request) {
  auto it = request.query.find("counts");
  return it != request.query.end() && it->second == "true";
}

// A page of GET /v1/jobs as JSON.
json::object PageJson(const jobs::JobFilter& filter, const jobs::JobPage& page) {
  json::array items;
  for (const jobs::Job& job : page.jobs) {
    items.push_back(jobs::ToJson(job, jobs::ViewerFor(filter.owner)));
  }
  json::object out{{"jobs", std::move(items)}};
  out["next_cursor"] =
      page.next_cursor.empty() ? json::value(nullptr) : json::value(page.next_cursor);
  return out;
}

}  // namespace

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
      options_(std::move(options)),
      followers_(std::make_unique<EventFollowers>(store)) {}

JobsApi::~JobsApi() = default;

void JobsApi::AddRoutes(Router& router) {
  auto bind = [this](Response (JobsApi::*method)(Request&)) {
    return [this, method](Request& request) {
      return (this->*method)(request);
    };
  };
  router.AddQuick("GET", "/healthz", [](Request&) {
    return Response::Json(200, json::object{{"status", "ok"}});
  });
  router.Add("GET", "/readyz", [this](Request&) {
    auto counts = store_.CountByState(jobs::kAnyOwner);
    if (!counts.ok()) {
      Response unready = Response::Error(503, "unavailable", counts.error().message());
      unready.headers.Set("Retry-After", "2");
      return unready;
    }
    // Ready without an LLM too: steps jobs run; "llm" says whether tasks can.
    json::object ready{{"status", "ready"}};
    if (options_.llm != nullptr) {
      ready["llm"] = options_.llm->Describe();
    }
    return Response::Json(200, ready);
  });
  router.Add("POST", "/v1/jobs", bind(&JobsApi::Submit));
  // Answered on the I/O thread when a read of the store need not wait.
  router.Add(
      "GET", "/v1/jobs", [this](Request& request) { return QuickList(request); },
      bind(&JobsApi::List));
  router.Add(
      "GET", "/v1/jobs/{id}", [this](Request& request) { return QuickGet(request); },
      bind(&JobsApi::Get));
  router.Add("GET", "/v1/jobs/{id}/events", bind(&JobsApi::Events));
  router.Add("GET", "/v1/jobs/{id}/logs", bind(&JobsApi::Logs));
  router.Add("POST", "/v1/jobs/{id}/cancel", bind(&JobsApi::Cancel));
  router.Add("POST", "/v1/jobs/{id}/retry", bind(&JobsApi::Retry));
  router.Add("DELETE", "/v1/jobs/{id}", bind(&JobsApi::Delete));
  router.Add("GET", "/v1/jobs/{id}/files", bind(&JobsApi::Files));
  router.Add("GET", "/v1/jobs/{id}/files/{path...}", bind(&JobsApi::File));
  router.Add("GET", "/v1/jobs/{id}/archive", bind(&JobsApi::Archive));
  router.Add("GET", "/v1/jobs/{id}/approvals", bind(&JobsApi::Approvals));
  router.Add("POST", "/v1/jobs/{id}/approvals", bind(&JobsApi::Approve));
}

std::optional<Response> RefuseWithoutLlm(jobs::LlmAvailability* llm, const jobs::JobSpec& spec,
                                         std::string_view code) {
  if (llm == nullptr) {
    return std::nullopt;
  }
  Status usable = llm->Check(spec);
  if (usable.ok()) {
    return std::nullopt;
  }
  if (usable.error().code() == ErrorCode::kInvalidArgument) {
    return Response::Error(400, code, "options.provider: " + usable.error().message());
  }
  return Response::Error(503, "llm_unavailable", usable.error().message());
}

Result<jobs::Job> JobsApi::JobOf(const Request& request) {
  const std::string& id = request.params.at("id");
  if (!jobs::IsValidId(id, jobs::kJobIdPrefix)) {
    return Error(ErrorCode::kNotFound, fmt::format("no job {}", id));
  }
  return Named(id, store_.Get(id, OwnerOf(request)));
}

Response JobsApi::Submit(Request& request) {
  if (request.body.size() > options_.max_task_bytes) {
    return Response::Error(
        413, "too_large",
        fmt::format("a job may be at most {} bytes, its files included (larger "
                    "files go to a session: PUT /v1/sessions/{{id}}/files/{{path}})",
                    options_.max_task_bytes));
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
  if (std::optional<Response> refused = RefuseWithoutLlm(options_.llm, *spec, "invalid_job")) {
    return std::move(*refused);
  }
  jobs::NewJob job;
  job.owner = OwnerOf(request);
  if (options_.quota != nullptr) {
    if (std::optional<Response> refused = options_.quota->Check(job.owner)) {
      return std::move(*refused);
    }
  }
  job.kind = spec->kind;
  job.input = std::move(body.get_object());
  job.requeue_on_crash = spec->requeue_on_crash;
  jobs::Viewer viewer = jobs::ViewerFor(job.owner);
  return Created(store_.Create(std::move(job)), viewer);
}

Response JobsApi::List(Request& request) {
  jobs::JobFilter filter;
  jobs::PageRequest page;
  if (std::optional<Response> refused = ReadListRequest(request, &filter, &page)) {
    return std::move(*refused);
  }
  auto result = store_.List(filter, page);
  if (!result.ok()) {
    return Response::FromError(result.error());
  }
  json::object out = PageJson(filter, *result);
  // ?counts=true: how many of the caller's jobs are in each state, whatever the filters.
  if (WantsCounts(request)) {
    auto counts = store_.CountByState(filter.owner);
    if (!counts.ok()) {
      return Response::FromError(counts.error());
    }
    json::object by_state;
    for (const auto& [state, count] : *counts) {
      by_state[jobs::JobStateName(state)] = count;
    }
    out["counts"] = std::move(by_state);
  }
  return Response::Json(200, out);
}

std::optional<Response> JobsApi::QuickList(Request& request) {
  jobs::JobFilter filter;
  jobs::PageRequest page;
  if (std::optional<Response> refused = ReadListRequest(request, &filter, &page)) {
    return refused;
  }
  // A kind or a text to match has no index (the page may take a scan), nor have the counts.
  if (filter.kind || !filter.text.empty() || WantsCounts(request)) {
    return std::nullopt;
  }
  std::optional<Result<jobs::JobPage>> result = store_.TryList(filter, page);
  if (!result) {
    return std::nullopt;
  }
  if (!result->ok()) {
    return Response::FromError(result->error());
  }
  return Response::Json(200, PageJson(filter, **result));
}

Response JobsApi::Get(Request& request) {
  return JobAnswer(request, JobOf(request));
}

std::optional<Response> JobsApi::QuickGet(Request& request) {
  const std::string& id = request.params.at("id");
  if (!jobs::IsValidId(id, jobs::kJobIdPrefix)) {
    return JobAnswer(request, JobOf(request));  // a 404 that asks nothing of the store
  }
  std::optional<Result<jobs::Job>> job = store_.TryGet(id, OwnerOf(request));
  if (!job) {
    return std::nullopt;
  }
  return JobAnswer(request, Named(id, std::move(*job)));
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
  // One page: at most `limit` events and about kEventPageBytes of them, whatever the job printed.
  auto limit = QueryInt(request, "limit", kDefaultEventsLimit, 1, jobs::kMaxPageLimit);
  if (!limit.ok()) {
    return Response::FromError(limit.error());
  }
  jobs::EventQuery query;
  query.after_seq = after;
  query.limit = static_cast<int>(*limit);
  query.max_bytes = jobs::kEventPageBytes;
  auto page = store_.ReadEvents(job->id, query);
  if (!page.ok()) {
    return Response::FromError(page.error());
  }
  json::array items;
  items.reserve(page->events.size());
  for (const jobs::Event& event : page->events) {
    items.push_back(jobs::ToJson(event));
  }
  json::object body{{"events", std::move(items)}, {"has_more", page->more}};
  // Where the next page starts: also the position a poller of a running job keeps.
  body["next_after"] = page->events.empty() ? after : page->events.back().seq;
  return Response::Json(200, body);
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
  // Streamed a page of events at a time: a reader holds one page, never the whole output.
  auto reader = jobs::OutputReader::Open(store_, *job, *tail);
  if (!reader.ok()) {
    return Response::FromError(reader.error());
  }
  std::shared_ptr<jobs::OutputReader> output = std::move(*reader);
  return Response::Pull("text/plain; charset=utf-8", [output]() { return output->Next(); });
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
  return Response::Json(202, jobs::ToJson(*cancelled, jobs::ViewerFor(OwnerOf(request))));
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
  if (auto spec = jobs::ParseJobSpec(job->input, options_.bounds); spec.ok()) {
    if (std::optional<Response> refused = RefuseWithoutLlm(options_.llm, *spec, "invalid_job")) {
      return std::move(*refused);
    }
  }
  if (options_.quota != nullptr) {
    if (std::optional<Response> refused = options_.quota->Check(job->owner)) {
      return std::move(*refused);
    }
  }
  jobs::NewJob retry;
  retry.owner = job->owner;
  retry.kind = job->kind;
  retry.input = job->input;
  retry.parent_id = job->id;
  retry.requeue_on_crash = job->requeue_on_crash;
  return Created(store_.Create(std::move(retry)), jobs::ViewerFor(OwnerOf(request)));
}

// 204 once the job, its events and its workspace are gone; 409 while it has not ended.
Response JobsApi::Delete(Request& request) {
  std::string owner = OwnerOf(request);
  auto deleted = store_.DeleteJob(request.params.at("id"), owner);
  if (!deleted.ok()) {
    if (deleted.error().code() == ErrorCode::kFailedPrecondition) {
      return Response::Error(409, "not_ended", deleted.error().message());
    }
    return Response::FromError(deleted.error());
  }
  if (!deleted->workspace.empty()) {
    if (Status removed = sys::RemoveTree(deleted->workspace);
        !removed.ok() && removed.error().code() != ErrorCode::kNotFound) {
      LOG_WARN("job {} deleted, but not its workspace: {}", deleted->id, removed.error().message());
    }
  }
  if (options_.quota != nullptr) {
    options_.quota->Forget(owner);
  }
  Response gone;
  gone.status = 204;
  return gone;
}

}  // namespace warden::api
