#include "jobs/approvals.h"

#include <algorithm>
#include <map>
#include <utility>

#include <fmt/format.h>

#include "base/units.h"

namespace warden::jobs {
namespace {

using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

// How long a waiting worker sleeps at most before it looks at its cancel token again (a cancel
// through the API also writes an event, which wakes it at once).
constexpr milliseconds kWakeEvery{500};

std::string Text(const json::object& object, std::string_view key) {
  const json::value* value = object.if_contains(key);
  return value != nullptr && value->is_string() ? std::string(value->get_string()) : "";
}

int64_t Number(const json::object& object, std::string_view key) {
  const json::value* value = object.if_contains(key);
  return value != nullptr && value->is_number() ? value->to_number<int64_t>() : 0;
}

bool Flag(const json::object& object, std::string_view key) {
  const json::value* value = object.if_contains(key);
  return value != nullptr && value->is_bool() && value->get_bool();
}

ApprovalAnswer AnswerOf(const Event& event) {
  return ApprovalAnswer{.id = Number(event.data, "id"),
                        .approved = Text(event.data, "decision") == "approved",
                        .always = Flag(event.data, "always"),
                        .reason = Text(event.data, "reason"),
                        .by = Text(event.data, "by"),
                        .risk = Text(event.data, "risk"),
                        .seq = event.seq,
                        .time_ms = event.time_ms};
}

json::object AnswerData(const ApprovalAnswer& answer) {
  return json::object{
      {"id", answer.id},         {"decision", answer.approved ? "approved" : "denied"},
      {"always", answer.always}, {"reason", answer.reason},
      {"by", answer.by},         {"risk", answer.risk}};
}

// Every event of `type` after `after_seq`, in order.
Result<std::vector<Event>> EventsOfType(JobStore& store, std::string_view job_id,
                                        std::string_view type, int64_t after_seq) {
  std::vector<Event> all;
  EventQuery query;
  query.type = std::string(type);
  query.after_seq = after_seq;
  query.max_bytes = kEventPageBytes;
  for (bool more = true; more;) {
    ASSIGN_OR_RETURN(EventPage page, store.ReadEvents(job_id, query));
    more = page.more && !page.events.empty();
    if (!page.events.empty()) {
      query.after_seq = page.events.back().seq;
    }
    std::move(page.events.begin(), page.events.end(), std::back_inserter(all));
  }
  return all;
}

std::string DescribeAnswer(const ApprovalAnswer& answer) {
  return fmt::format("{}{} by {}", answer.approved ? "approved" : "denied",
                     answer.always ? " (always)" : "", answer.by);
}

}  // namespace

Result<std::vector<ApprovalRecord>> ListApprovals(JobStore& store, std::string_view job_id) {
  ASSIGN_OR_RETURN(std::vector<Event> requests, EventsOfType(store, job_id, kApprovalEventType, 0));
  ASSIGN_OR_RETURN(std::vector<Event> answers,
                   EventsOfType(store, job_id, kApprovalAnswerEventType, 0));
  std::map<int64_t, ApprovalAnswer> first;  // id -> its first answer
  for (const Event& event : answers) {
    ApprovalAnswer answer = AnswerOf(event);
    first.try_emplace(answer.id, std::move(answer));
  }
  std::vector<ApprovalRecord> records;
  for (Event& event : requests) {
    // The agent's own "approval" events (decision approved, refused, denied) record what it did.
    if (Text(event.data, "decision") != "pending") {
      continue;
    }
    ApprovalRecord record{event.seq, event.time_ms, std::move(event.data), std::nullopt};
    if (auto it = first.find(record.id); it != first.end()) {
      record.answer = it->second;
    }
    records.push_back(std::move(record));
  }
  return records;
}

bool IsCurrent(const ApprovalRecord& record, const Job& job) {
  const json::value* attempt = record.request.if_contains("attempt");
  return attempt == nullptr || !attempt->is_int64() || attempt->get_int64() == job.attempt;
}

json::object ToJson(const ApprovalRecord& record) {
  json::object out{{"id", record.id},
                   {"state", !record.answer            ? "pending"
                             : record.answer->approved ? "approved"
                                                       : "denied"},
                   {"step", Number(record.request, "step")},
                   {"tool", Text(record.request, "tool")},
                   {"reason", Text(record.request, "reason")},
                   {"requested_at", record.requested_at_ms},
                   {"expires_at", Number(record.request, "expires_at")}};
  const json::value* arguments = record.request.if_contains("arguments");
  out["arguments"] = arguments != nullptr ? *arguments : json::value(json::object{});
  if (record.answer) {
    out["answer"] = json::object{{"decision", record.answer->approved ? "approved" : "denied"},
                                 {"always", record.answer->always},
                                 {"reason", record.answer->reason},
                                 {"by", record.answer->by},
                                 {"answered_at", record.answer->time_ms}};
  } else {
    out["answer"] = nullptr;
  }
  return out;
}

Result<ApprovalAnswer> AnswerApproval(JobStore& store, const Job& job,
                                      const AnswerRequest& request) {
  if (job.state != JobState::kRunning) {
    return Error(
        ErrorCode::kFailedPrecondition,
        fmt::format("job {} is {}: it waits for no approval", job.id, JobStateName(job.state)));
  }
  ASSIGN_OR_RETURN(std::vector<ApprovalRecord> records, ListApprovals(store, job.id));
  const ApprovalRecord* target = nullptr;
  for (const ApprovalRecord& record : records) {
    if (request.id == 0 ? !record.answer && IsCurrent(record, job) : record.id == request.id) {
      target = &record;
    }
  }
  if (target == nullptr) {
    return request.id == 0
               ? Error(ErrorCode::kFailedPrecondition,
                       fmt::format("job {} waits for no approval now", job.id))
               : Error(ErrorCode::kNotFound,
                       fmt::format("job {} never asked approval {}", job.id, request.id));
  }
  if (!target->answer && !IsCurrent(*target, job)) {
    return Error(ErrorCode::kFailedPrecondition,
                 fmt::format("approval {} of job {} was asked by an earlier attempt of the job, "
                             "which no longer waits for it",
                             target->id, job.id));
  }
  if (target->answer) {
    return Error(ErrorCode::kFailedPrecondition,
                 fmt::format("approval {} of job {} was already answered: {}", target->id, job.id,
                             DescribeAnswer(*target->answer)));
  }
  ApprovalAnswer answer{.id = target->id,
                        .approved = request.approve,
                        .always = request.approve && request.always,
                        .reason = request.reason,
                        .by = request.by,
                        .risk = Text(target->request, "reason")};
  ASSIGN_OR_RETURN(answer.seq,
                   store.AppendEvent(job.id, kApprovalAnswerEventType, AnswerData(answer)));
  // Two answers may race (two clients, or one and the expiry): the first recorded counts.
  ASSIGN_OR_RETURN(std::vector<Event> answers,
                   EventsOfType(store, job.id, kApprovalAnswerEventType, target->id));
  for (const Event& event : answers) {
    ApprovalAnswer recorded = AnswerOf(event);
    if (recorded.id != target->id) {
      continue;
    }
    if (recorded.seq != answer.seq) {
      return Error(ErrorCode::kFailedPrecondition,
                   fmt::format("approval {} of job {} was already answered: {}", target->id, job.id,
                               DescribeAnswer(recorded)));
    }
    return recorded;
  }
  return answer;
}

ServerApprovals::ServerApprovals(JobStore& store, EventLog& log, Lease claim,
                                 const sandbox::CancelToken& cancel, milliseconds timeout,
                                 SteadyClock::time_point job_deadline)
    : store_(store),
      log_(log),
      claim_(std::move(claim)),
      cancel_(cancel),
      timeout_(timeout),
      job_deadline_(job_deadline) {}

Status ServerApprovals::LoadSessionGrants(const Job& job) {
  if (job.session_id.empty()) {
    return OkStatus();
  }
  ASSIGN_OR_RETURN(std::vector<SessionTurn> turns,
                   store_.ListSessionTurns(job.session_id, kAnyOwner));
  for (const SessionTurn& turn : turns) {
    if (turn.job_id == job.id) {
      break;  // later turns cannot have answered anything yet
    }
    auto answers = EventsOfType(store_, turn.job_id, kApprovalAnswerEventType, 0);
    if (!answers.ok()) {
      if (answers.error().code() == ErrorCode::kNotFound) {
        continue;  // deleted by retention since
      }
      return answers.error();
    }
    for (const Event& event : *answers) {
      ApprovalAnswer answer = AnswerOf(event);
      if (answer.approved && answer.always && !answer.risk.empty()) {
        granted_risks_.insert(answer.risk);
      }
    }
  }
  return OkStatus();
}

Result<std::optional<ApprovalAnswer>> ServerApprovals::FirstAnswer(int64_t id) {
  ASSIGN_OR_RETURN(std::vector<Event> answers,
                   EventsOfType(store_, claim_.job_id, kApprovalAnswerEventType, id));
  for (const Event& event : answers) {
    if (ApprovalAnswer answer = AnswerOf(event); answer.id == id) {
      return std::optional<ApprovalAnswer>(std::move(answer));
    }
  }
  return std::optional<ApprovalAnswer>();
}

Result<int64_t> ServerApprovals::NewestSeq(int64_t after_seq) {
  EventQuery query;
  query.after_seq = after_seq;
  query.newest_first = true;
  query.limit = 1;
  ASSIGN_OR_RETURN(EventPage page, store_.ReadEvents(claim_.job_id, query));
  return page.events.empty() ? after_seq : page.events.front().seq;
}

bool ServerApprovals::Apply(const ApprovalAnswer& answer, const std::string& risk,
                            milliseconds waited, std::string* why) {
  if (answer.approved) {
    if (answer.always) {
      granted_risks_.insert(risk);
    }
    return true;
  }
  if (answer.by == "timeout") {
    *why = fmt::format("no one answered within {}, so it was denied", FormatDuration(waited));
  } else {
    *why = answer.reason.empty() ? "the user denied it" : "the user denied it: " + answer.reason;
  }
  return false;
}

bool ServerApprovals::Ask(const std::string& tool, const json::object& arguments,
                          const std::string& reason, std::string* why) {
  if (granted_risks_.contains(reason)) {
    return true;
  }
  auto now = SteadyClock::now();
  auto wait = std::min<SteadyClock::duration>(
      timeout_, std::max<SteadyClock::duration>(job_deadline_ - now, milliseconds(0)));
  auto expires = now + wait;
  const auto waited = std::chrono::duration_cast<milliseconds>(wait);
  int64_t expires_at_ms = SystemClockMs() + waited.count();
  log_.Flush();  // the request follows every event before it
  NewEvent request{claim_.job_id, std::string(kApprovalEventType),
                   json::object{{"decision", "pending"},
                                {"attempt", claim_.attempt},
                                {"step", step_},
                                {"tool", tool},
                                {"arguments", arguments},
                                {"reason", reason},
                                {"expires_at", expires_at_ms}},
                   claim_.worker, claim_.attempt};
  auto seqs = store_.AppendEvents({std::move(request)});
  if (!seqs.ok() || seqs->empty()) {
    *why = "the request for approval could not be recorded: " +
           (seqs.ok() ? std::string("no event") : seqs.error().message());
    return false;
  }
  const int64_t id = seqs->front();
  int64_t seen = id;
  while (true) {
    auto answer = FirstAnswer(id);
    if (answer.ok() && answer->has_value()) {
      return Apply(**answer, reason, waited, why);
    }
    if (cancel_.cancelled()) {
      *why = "the job was cancelled while it waited for approval";
      return false;
    }
    now = SteadyClock::now();
    if (now >= expires) {
      ApprovalAnswer timeout{.id = id, .approved = false, .by = "timeout", .risk = reason};
      (void)store_.AppendEvents({NewEvent{claim_.job_id, std::string(kApprovalAnswerEventType),
                                          AnswerData(timeout), claim_.worker, claim_.attempt}});
      auto first = FirstAnswer(id);  // an answer may have come in just before
      return first.ok() && first->has_value() ? Apply(**first, reason, waited, why)
                                              : Apply(timeout, reason, waited, why);
    }
    auto slice = std::min<SteadyClock::duration>(kWakeEvery, expires - now);
    auto woken = store_.WaitForEvents(
        claim_.job_id, seen, std::chrono::duration_cast<milliseconds>(slice) + milliseconds(1));
    if (woken.ok() && *woken) {
      if (auto newest = NewestSeq(seen); newest.ok()) {
        seen = *newest;
      }
    }
  }
}

}  // namespace warden::jobs
