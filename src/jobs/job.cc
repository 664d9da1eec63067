#include "jobs/job.h"

#include <array>
#include <chrono>
#include <mutex>
#include <random>

#include "jobs/input_files.h"

namespace warden::jobs {
namespace {

constexpr std::array<std::string_view, 5> kStateNames = {"queued", "running", "succeeded", "failed",
                                                         "cancelled"};
constexpr std::array<std::string_view, 2> kKindNames = {"task", "steps"};

// Crockford's base32 in ascending ASCII order, so the encoded ids sort like the numbers.
constexpr std::string_view kBase32 = "0123456789abcdefghjkmnpqrstvwxyz";
constexpr size_t kIdChars = 26;

// The random part of the last id handed out, and its millisecond: the next id in the same (or an
// earlier) millisecond is this plus one, which keeps ids in creation order within the process.
struct IdState {
  std::mutex mu;
  int64_t last_ms = -1;
  uint16_t rand_hi = 0;  // 80 random bits: 16 here...
  uint64_t rand_lo = 0;  // ... and 64 here
  std::mt19937_64 rng{[] {
    std::random_device device;
    std::seed_seq seed{device(), device(), device(), device()};
    return std::mt19937_64(seed);
  }()};
};

IdState& GlobalIdState() {
  static IdState* state = new IdState;  // never destroyed: ids may be made during exit
  return *state;
}

void AppendBase32(uint64_t value, int chars, std::string* out) {
  for (int i = chars - 1; i >= 0; --i) {
    out->push_back(kBase32[(value >> (5 * i)) & 31]);
  }
}

json::value OptionalMs(const std::optional<int64_t>& ms) {
  return ms ? json::value(*ms) : json::value(nullptr);
}

}  // namespace

std::string_view JobStateName(JobState state) {
  return kStateNames[static_cast<size_t>(state)];
}

std::optional<JobState> ParseJobState(std::string_view name) {
  for (size_t i = 0; i < kStateNames.size(); ++i) {
    if (kStateNames[i] == name) {
      return static_cast<JobState>(i);
    }
  }
  return std::nullopt;
}

bool IsFinal(JobState state) {
  return state == JobState::kSucceeded || state == JobState::kFailed ||
         state == JobState::kCancelled;
}

std::string_view JobKindName(JobKind kind) {
  return kKindNames[static_cast<size_t>(kind)];
}

std::optional<JobKind> ParseJobKind(std::string_view name) {
  for (size_t i = 0; i < kKindNames.size(); ++i) {
    if (kKindNames[i] == name) {
      return static_cast<JobKind>(i);
    }
  }
  return std::nullopt;
}

int64_t SystemClockMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string NewId(std::string_view prefix, int64_t now_ms) {
  IdState& state = GlobalIdState();
  int64_t ms = 0;
  uint16_t hi = 0;
  uint64_t lo = 0;
  {
    std::lock_guard lock(state.mu);
    if (now_ms > state.last_ms) {
      state.last_ms = now_ms;
      state.rand_lo = state.rng();
      // Keep the top bit clear: a long burst in one millisecond then counts up for a long time
      // before it could carry into the time part.
      state.rand_hi = static_cast<uint16_t>(state.rng() & 0x7fff);
    } else if (++state.rand_lo == 0 && ++state.rand_hi == 0) {
      ++state.last_ms;  // 2^80 ids in one millisecond: borrow the next one
    }
    ms = state.last_ms;
    hi = state.rand_hi;
    lo = state.rand_lo;
  }
  std::string id(prefix);
  id.reserve(prefix.size() + kIdChars);
  AppendBase32(static_cast<uint64_t>(ms) & ((uint64_t{1} << 48) - 1), 10, &id);
  // The 80 random bits as 16 characters: 16 bits of `hi` and the top 4 of `lo` make the first 4.
  AppendBase32((uint64_t{hi} << 4) | (lo >> 60), 4, &id);
  AppendBase32(lo & ((uint64_t{1} << 60) - 1), 12, &id);
  return id;
}

bool IsValidId(std::string_view id, std::string_view prefix) {
  if (id.size() != prefix.size() + kIdChars || id.substr(0, prefix.size()) != prefix) {
    return false;
  }
  for (char c : id.substr(prefix.size())) {
    if (kBase32.find(c) == std::string_view::npos) {
      return false;
    }
  }
  return true;
}

json::object ToJson(const Job& job, Viewer viewer) {
  json::object out{
      {"id", job.id},
      {"owner", job.owner},
      {"kind", JobKindName(job.kind)},
      {"input", job.input},
      {"state", JobStateName(job.state)},
      {"reason", job.reason},
      {"summary", job.summary},
      {"result", job.result},
      {"parent_id", job.parent_id},
      {"session_id", job.session_id},
      {"created_at_ms", job.created_at_ms},
      {"started_at_ms", OptionalMs(job.started_at_ms)},
      {"finished_at_ms", OptionalMs(job.finished_at_ms)},
      {"worker", job.worker},
      {"cancel_requested", job.cancel_requested},
      {"requeue_on_crash", job.requeue_on_crash},
      {"workspace", job.workspace},
      {"last_event_seq", job.last_event_seq},
  };
  // Input files are listed by path and size: their contents would make every page of jobs as
  // large as all their files. GET /v1/jobs/{id}/files/{path} serves each.
  if (const json::value* files = job.input.if_contains("files"); files != nullptr) {
    out["input"].as_object()["files"] = InputFilesSummary(*files);
  }
  if (viewer == Viewer::kTenant) {
    out.erase("workspace");
    out.erase("worker");
  }
  return out;
}

json::object ToJson(const Event& event) {
  json::object out{
      {"seq", event.seq}, {"time_ms", event.time_ms}, {"type", event.type}, {"data", event.data}};
  if (event.type == kStateEventType) {
    out["data"].as_object().erase("worker");
  }
  return out;
}

json::object ToJson(const Session& session, Viewer viewer) {
  json::object out{{"id", session.id},
                   {"owner", session.owner},
                   {"created_at_ms", session.created_at_ms},
                   {"workspace", session.workspace}};
  if (viewer == Viewer::kTenant) {
    out.erase("workspace");
  }
  return out;
}

json::object ToJson(const SessionTurn& turn) {
  return {{"seq", turn.seq},
          {"job_id", turn.job_id},
          {"message", turn.message},
          {"created_at_ms", turn.created_at_ms}};
}

}  // namespace warden::jobs
