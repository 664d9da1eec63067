// The handlers of a job's approvals: the list (GET /v1/jobs/{id}/approvals) and the answer
// (POST /v1/jobs/{id}/approvals). Part of JobsApi; the routes are added in jobs_api.cc. The
// protocol itself, through the job's events, is jobs/approvals.h's.
#include <string>

#include <fmt/format.h>

#include "api/jobs_api.h"
#include "base/utf8.h"
#include "jobs/approvals.h"

namespace warden::api {
namespace {

constexpr size_t kMaxAnswerBody = size_t{16} * 1024;
constexpr size_t kMaxReasonBytes = size_t{2} * 1024;

// The answer a request asks for, or the 400 that says what is wrong with it.
Result<jobs::AnswerRequest> ReadAnswer(const Request& request) {
  auto invalid = [](std::string message) {
    return Error(ErrorCode::kInvalidArgument, std::move(message));
  };
  if (request.body.size() > kMaxAnswerBody) {
    return invalid(fmt::format("an answer may be at most {} bytes", kMaxAnswerBody));
  }
  boost::system::error_code ec;
  json::value body = json::parse(request.body, ec);
  if (ec || !body.is_object()) {
    return invalid(
        R"(the body must be a JSON object such as {"decision": "approve"}, {"decision": "deny", "reason": "..."} or {"decision": "always"})");
  }
  const json::object& object = body.get_object();
  jobs::AnswerRequest answer;
  const json::value* decision = object.if_contains("decision");
  std::string_view text;
  if (decision != nullptr && decision->is_string()) {
    text = decision->get_string();
  }
  if (text == "approve" || text == "always") {
    answer.approve = true;
    answer.always = text == "always";
  } else if (text != "deny") {
    return invalid(R"("decision" must be "approve", "deny" or "always")");
  }
  if (const json::value* reason = object.if_contains("reason"); reason != nullptr) {
    if (!reason->is_string() || reason->get_string().size() > kMaxReasonBytes ||
        !IsValidUtf8(reason->get_string())) {
      return invalid(
          fmt::format(R"("reason" must be UTF-8 text of at most {} bytes)", kMaxReasonBytes));
    }
    answer.reason = std::string(reason->get_string());
  }
  if (const json::value* id = object.if_contains("id"); id != nullptr) {
    if (!id->is_int64() || id->get_int64() <= 0) {
      return invalid(R"("id" must be the positive id of an approval (its request event's seq))");
    }
    answer.id = id->get_int64();
  }
  for (const auto& member : object) {
    if (member.key() != "decision" && member.key() != "reason" && member.key() != "id") {
      return invalid(fmt::format(
          R"(unknown field "{}": an answer has "decision", "reason" and "id")", member.key()));
    }
  }
  return answer;
}

}  // namespace

Response JobsApi::Approvals(Request& request) {
  auto job = JobOf(request);
  if (!job.ok()) {
    return Response::FromError(job.error());
  }
  auto records = jobs::ListApprovals(store_, job->id);
  if (!records.ok()) {
    return Response::FromError(records.error());
  }
  json::array items;
  json::value pending = nullptr;
  for (const jobs::ApprovalRecord& record : *records) {
    json::object item = jobs::ToJson(record);
    // Only a running job's last unanswered request still waits: one that ended waits for nothing.
    if (!record.answer && job->state == jobs::JobState::kRunning && jobs::IsCurrent(record, *job)) {
      pending = item;
    } else if (!record.answer) {
      item["state"] = "unanswered";
    }
    items.emplace_back(std::move(item));
  }
  return Response::Json(
      200, json::object{{"pending", std::move(pending)}, {"approvals", std::move(items)}});
}

Response JobsApi::Approve(Request& request) {
  auto job = JobOf(request);
  if (!job.ok()) {
    return Response::FromError(job.error());
  }
  auto answer = ReadAnswer(request);
  if (!answer.ok()) {
    return Response::Error(400, "invalid_answer", answer.error().message());
  }
  std::string owner = OwnerOf(request);
  answer->by = owner.empty() ? "operator" : owner;
  auto answered = jobs::AnswerApproval(store_, *job, *answer);
  if (!answered.ok()) {
    if (answered.error().code() == ErrorCode::kFailedPrecondition) {
      return Response::Error(409, "not_pending", answered.error().message());
    }
    return Response::FromError(answered.error());
  }
  return Response::Json(200, json::object{{"id", answered->id},
                                          {"decision", answered->approved ? "approved" : "denied"},
                                          {"always", answered->always},
                                          {"reason", answered->reason},
                                          {"by", answered->by}});
}

}  // namespace warden::api
