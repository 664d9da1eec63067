#include "jobs/store_rows.h"

#include "agent/output.h"
#include "base/json_text.h"
#include "base/utf8.h"

namespace warden::jobs {

Result<json::object> ParseObject(const std::string& text, std::string_view what) {
  boost::system::error_code ec;
  json::value value = json::parse(text, ec);
  if (ec) {
    // Rows written before every JSON text was stored as valid UTF-8 may hold a program's raw
    // bytes: read them anyway, and show those bytes as U+FFFD.
    json::parse_options lenient;
    lenient.allow_invalid_utf8 = true;
    ec.clear();
    value = json::parse(text, ec, {}, lenient);
    if (!ec) {
      MakeValidUtf8(value);
    }
  }
  if (ec || !value.is_object()) {
    return Error(ErrorCode::kDataLoss, std::string(what) + " is not a JSON object in the database");
  }
  return std::move(value.as_object());
}

Result<json::object> ParseEventData(const std::string& text, std::string_view type) {
  boost::system::error_code ec;
  json::value value = json::parse(text, ec);
  if (!ec && value.is_object()) {
    return std::move(value.as_object());
  }
  if (type == "output") {
    // An output event stored before output was encoded: its text holds the program's bytes as
    // they were, which EncodeOutputText keeps, exactly, in "base64".
    json::parse_options lenient;
    lenient.allow_invalid_utf8 = true;
    ec.clear();
    value = json::parse(text, ec, {}, lenient);
    if (!ec && value.is_object()) {
      agent::EncodeOutputText(value.as_object());
      MakeValidUtf8(value);
      return std::move(value.as_object());
    }
  }
  return ParseObject(text, "an event's data");
}

namespace {

// A LIKE pattern (with ESCAPE '\\') that matches any text containing `text` literally.
std::string LikePattern(std::string_view text) {
  std::string pattern = "%";
  for (char c : text) {
    if (c == '\\' || c == '%' || c == '_') {
      pattern += '\\';
    }
    pattern += c;
  }
  pattern += '%';
  return pattern;
}

}  // namespace

std::vector<ListCondition> ListConditions(const JobFilter& filter, const PageRequest& page,
                                          std::string_view text_match) {
  std::vector<ListCondition> conditions;
  if (filter.state) {
    conditions.push_back({"state = ?", std::string(JobStateName(*filter.state))});
  }
  if (!filter.owner.empty()) {
    conditions.push_back({"owner = ?", filter.owner});
  }
  if (!filter.session_id.empty()) {
    conditions.push_back({"session_id = ?", filter.session_id});
  }
  if (filter.kind) {
    conditions.push_back({"kind = ?", std::string(JobKindName(*filter.kind))});
  }
  if (!filter.text.empty()) {
    conditions.push_back({std::string(text_match), LikePattern(filter.text)});
  }
  if (!page.cursor.empty()) {
    conditions.push_back({"id < ?", page.cursor});
  }
  return conditions;
}

Status CheckPageLimit(int limit) {
  if (limit < 1 || limit > kMaxPageLimit) {
    return Error(ErrorCode::kInvalidArgument, "limit must be between 1 and " +
                                                  std::to_string(kMaxPageLimit) + ", not " +
                                                  std::to_string(limit));
  }
  return OkStatus();
}

Job QueuedJob(NewJob new_job) {
  Job job;
  job.owner = std::move(new_job.owner);
  job.kind = new_job.kind;
  job.input = std::move(new_job.input);
  job.parent_id = std::move(new_job.parent_id);
  job.session_id = std::move(new_job.session_id);
  job.requeue_on_crash = new_job.requeue_on_crash;
  return job;
}

Error SessionBusy(std::string_view session_id, int64_t seq, std::string_view job_id,
                  std::string_view state) {
  return Error(ErrorCode::kAborted, "session " + std::string(session_id) +
                                        " is still answering message " + std::to_string(seq) +
                                        " (job " + std::string(job_id) + ", " + std::string(state) +
                                        "): wait for it to end, or cancel that job");
}

Error JobNotFound(std::string_view id) {
  return Error(ErrorCode::kNotFound, "job " + std::string(id) + " not found");
}

Error AlreadyFinished(const Job& job) {
  return Error(ErrorCode::kFailedPrecondition, "job " + job.id + " already finished (" +
                                                   std::string(JobStateName(job.state)) + ")");
}

Status CheckClaim(std::string_view job_id, JobState state, std::string_view worker, int64_t attempt,
                  std::string_view fence_worker, int64_t fence_attempt) {
  if (state == JobState::kRunning && worker == fence_worker &&
      (fence_attempt == 0 || attempt == fence_attempt)) {
    return OkStatus();
  }
  std::string now = std::string(JobStateName(state));
  if (state == JobState::kRunning) {
    now += " on " + std::string(worker) + ", attempt " + std::to_string(attempt);
  }
  return Error(ErrorCode::kFailedPrecondition,
               "job " + std::string(job_id) + ": the claim of worker " + std::string(fence_worker) +
                   " (attempt " + std::to_string(fence_attempt) +
                   ") is no longer current (its lease expired and the job was rescued, or it "
                   "ended); the job is now " +
                   now + ": stop working on it");
}

std::string WorkerLostSummary(const Job& job) {
  return "worker " + job.worker +
         " stopped renewing its lease (killed, cut off or its machine gone); its events up to then "
         "are kept";
}

}  // namespace warden::jobs
