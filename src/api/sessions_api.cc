#include "api/sessions_api.h"

#include <chrono>

#include <fmt/format.h>

#include "api/jobs_api.h"
#include "base/utf8.h"
#include "jobs/turns.h"

namespace warden::api {
namespace {

using Clock = std::chrono::steady_clock;

// The job as it is once it has ended, or as it is at `deadline`.
Result<jobs::Job> WaitForEnd(jobs::JobStore& store, const std::string& job_id,
                             Clock::time_point deadline) {
  for (;;) {
    ASSIGN_OR_RETURN(jobs::Job job, store.Get(job_id, jobs::kAnyOwner));
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (jobs::IsFinal(job.state) || left.count() <= 0) {
      return job;
    }
    RETURN_IF_ERROR(store.WaitForEvents(job.id, job.last_event_seq,
                                        std::min(left, std::chrono::milliseconds(1000))));
  }
}

// {"turn": ..., "job": ..., "reply": ...} for one turn; the reply only when asked for.
Result<json::object> TurnJson(jobs::JobStore& store, const jobs::SessionTurn& turn, bool with_reply,
                              jobs::Viewer viewer) {
  json::object out = jobs::ToJson(turn);
  auto job = store.Get(turn.job_id, jobs::kAnyOwner);
  if (!job.ok()) {
    if (job.error().code() != ErrorCode::kNotFound) {
      return job.error();
    }
    out["job"] = nullptr;  // removed by retention since
    out["reply"] = nullptr;
    return out;
  }
  out["job"] = jobs::ToJson(*job, viewer);
  if (with_reply) {
    ASSIGN_OR_RETURN(json::object reply, jobs::ReplyOf(store, *job));
    out["reply"] = std::move(reply);
  }
  return out;
}

// A message as a list shows it: its first line, at most 200 bytes, cut between characters.
std::string ShortMessage(std::string_view message) {
  constexpr size_t kMaxBytes = 200;
  std::string_view line = message.substr(0, message.find('\n'));
  if (line.size() <= kMaxBytes && line.size() == message.size()) {
    return std::string(line);
  }
  line = line.substr(0, kMaxBytes);
  return ToValidUtf8(line.substr(0, line.size() - Utf8UnfinishedTail(line))) + "…";
}

}  // namespace

void SessionsApi::AddRoutes(Router& router) {
  router.Add("POST", "/v1/sessions", [this](Request& request) { return Create(request); });
  router.Add("GET", "/v1/sessions", [this](Request& request) { return List(request); });
  router.Add("GET", "/v1/sessions/{id}", [this](Request& request) { return Get(request); });
  router.Add("POST", "/v1/sessions/{id}/messages",
             [this](Request& request) { return PostMessage(request); });
  router.Add("PUT", "/v1/sessions/{id}/files/{path...}",
             [this](Request& request) { return PutFile(request); });
  router.Add("GET", "/v1/sessions/{id}/files", [this](Request& request) { return Files(request); });
  router.Add("GET", "/v1/sessions/{id}/files/{path...}",
             [this](Request& request) { return File(request); });
  router.Add("GET", "/v1/sessions/{id}/archive",
             [this](Request& request) { return Archive(request); });
}

Result<jobs::Session> SessionsApi::SessionOf(const Request& request) {
  const std::string& id = request.params.at("id");
  auto session = jobs::IsValidId(id, jobs::kSessionIdPrefix)
                     ? store_.GetSession(id, OwnerOf(request))
                     : Result<jobs::Session>(Error(ErrorCode::kNotFound, ""));
  if (!session.ok() && session.error().code() == ErrorCode::kNotFound) {
    return Error(ErrorCode::kNotFound, fmt::format("no session {}", id));
  }
  return session;
}

Response SessionsApi::Create(Request& request) {
  if (!request.body.empty()) {
    boost::system::error_code ec;
    json::value body = json::parse(request.body, ec);
    if (ec || !body.is_object()) {
      return Response::Error(400, "invalid_json",
                             "the body must be empty or a JSON object (sessions take no options "
                             "yet; each message has its own)");
    }
  }
  auto session = store_.CreateSession(OwnerOf(request));
  if (!session.ok()) {
    return Response::FromError(session.error());
  }
  json::object out = jobs::ToJson(*session, jobs::ViewerFor(OwnerOf(request)));
  out["turns"] = json::array{};
  Response response = Response::Json(201, out);
  response.headers.Set("Location", "/v1/sessions/" + session->id);
  return response;
}

Response SessionsApi::List(Request& request) {
  auto limit = QueryInt(request, "limit", 50, 1, jobs::kMaxPageLimit);
  if (!limit.ok()) {
    return Response::FromError(limit.error());
  }
  jobs::PageRequest page{static_cast<int>(*limit), ""};
  if (auto it = request.query.find("cursor"); it != request.query.end()) {
    page.cursor = it->second;
  }
  auto result = store_.ListSessions(OwnerOf(request), page);
  if (!result.ok()) {
    return Response::FromError(result.error());
  }
  json::array items;
  for (const jobs::SessionSummary& summary : result->sessions) {
    json::object item = jobs::ToJson(summary.session, jobs::ViewerFor(OwnerOf(request)));
    item["turns"] = summary.turns;
    item["last_active_ms"] = summary.last_active_ms;
    if (summary.turns == 0) {
      item["last_turn"] = nullptr;
    } else {
      item["last_turn"] = json::object{
          {"message", ShortMessage(summary.last_message)},
          {"job_id", summary.last_job_id},
          {"state", summary.last_job_state.empty() ? json::value(nullptr)
                                                   : json::value(summary.last_job_state)}};
    }
    items.push_back(std::move(item));
  }
  json::object out{{"sessions", std::move(items)}};
  out["next_cursor"] =
      result->next_cursor.empty() ? json::value(nullptr) : json::value(result->next_cursor);
  return Response::Json(200, out);
}

Response SessionsApi::Get(Request& request) {
  auto session = SessionOf(request);
  if (!session.ok()) {
    return Response::FromError(session.error());
  }
  auto turns = store_.ListSessionTurns(session->id, OwnerOf(request));
  if (!turns.ok()) {
    return Response::FromError(turns.error());
  }
  json::array items;
  for (const jobs::SessionTurn& turn : *turns) {
    auto item = TurnJson(store_, turn, /*with_reply=*/true, jobs::ViewerFor(OwnerOf(request)));
    if (!item.ok()) {
      return Response::FromError(item.error());
    }
    items.emplace_back(std::move(*item));
  }
  json::object out = jobs::ToJson(*session, jobs::ViewerFor(OwnerOf(request)));
  out["turns"] = std::move(items);
  return Response::Json(200, out);
}

Response SessionsApi::PostMessage(Request& request) {
  if (request.body.size() > options_.max_message_bytes) {
    return Response::Error(
        413, "too_large",
        fmt::format("a message may be at most {} bytes", options_.max_message_bytes));
  }
  auto wait = QueryInt(request, "wait", 0, 0, options_.max_wait_seconds);  // seconds
  if (!wait.ok()) {
    return Response::FromError(wait.error());
  }
  const int wait_seconds = static_cast<int>(*wait);
  boost::system::error_code ec;
  json::value body = json::parse(request.body, ec);
  if (ec || !body.is_object()) {
    return Response::Error(
        400, "invalid_json",
        R"(the body must be a JSON object: {"message": "...", "options": {}, "files": []})");
  }
  const json::object& fields = body.get_object();
  const json::value* message = fields.if_contains("message");
  if (message == nullptr || !message->is_string() || message->get_string().empty()) {
    return Response::Error(400, "invalid_message", "\"message\" must be a non-empty string");
  }
  for (const auto& field : fields) {
    if (field.key() != "message" && field.key() != "options" && field.key() != "files") {
      return Response::Error(
          400, "invalid_message",
          fmt::format("unknown field \"{}\": a message has \"message\", \"options\" and \"files\"",
                      static_cast<std::string_view>(field.key())));
    }
  }
  // The job is an agent task whose text is the message; its options are checked like a job's.
  jobs::NewJob job;
  job.owner = OwnerOf(request);
  job.kind = jobs::JobKind::kTask;
  job.input["task"] = *message;
  for (std::string_view key : {"options", "files"}) {
    if (const json::value* value = fields.if_contains(key); value != nullptr) {
      job.input[key] = *value;
    }
  }
  auto spec = jobs::ParseJobSpec(job.input, options_.bounds);
  if (!spec.ok()) {
    return SpecRefused(spec.error(), "invalid_message");
  }
  auto session = SessionOf(request);
  if (!session.ok()) {
    return Response::FromError(session.error());
  }
  if (std::optional<Response> refused = RefuseWithoutLlm(options_.llm, *spec, "invalid_message")) {
    return std::move(*refused);
  }
  job.session_id = session->id;
  if (options_.quota != nullptr) {
    if (std::optional<Response> refused = options_.quota->Check(job.owner)) {
      return std::move(*refused);
    }
  }

  // One message at a time is the store's rule, kept in its transaction across every server; an
  // upload to the session waits for the post, then sees its job.
  std::unique_lock no_upload = files_.Exclude(session->id);
  auto posted = store_.PostSessionMessage(std::move(job), std::string(message->get_string()));
  no_upload.unlock();
  if (!posted.ok()) {
    if (posted.error().code() == ErrorCode::kAborted) {
      Response busy = Response::Error(409, "session_busy", posted.error().message());
      busy.headers.Set("Retry-After", "1");
      return busy;
    }
    return JobRefused(posted.error());
  }
  const jobs::Job* created = &posted->job;
  const jobs::SessionTurn* turn = &posted->turn;
  const jobs::Viewer viewer = jobs::ViewerFor(created->owner);
  json::object out{{"turn", jobs::ToJson(*turn)}, {"job", jobs::ToJson(*created, viewer)}};
  // A wait holds a handler thread: only a few at once, so that waiting clients cannot starve
  // everyone else. Beyond that the answer comes at once, without the reply (follow the job's
  // events, or GET the session, instead).
  bool may_wait = wait_seconds > 0 && waiters_.fetch_add(1) < options_.max_waiters;
  if (wait_seconds > 0 && !may_wait) {
    waiters_.fetch_sub(1);
  }
  if (may_wait) {
    auto ended = WaitForEnd(store_, created->id, Clock::now() + std::chrono::seconds(wait_seconds));
    waiters_.fetch_sub(1);
    if (!ended.ok()) {
      return Response::FromError(ended.error());
    }
    auto reply = jobs::ReplyOf(store_, *ended);
    if (!reply.ok()) {
      return Response::FromError(reply.error());
    }
    out["job"] = jobs::ToJson(*ended, viewer);
    out["reply"] = std::move(*reply);
  }
  Response response = Response::Json(201, out);
  response.headers.Set("Location", "/v1/jobs/" + created->id);
  return response;
}

}  // namespace warden::api
