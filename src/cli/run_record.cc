#include "cli/run_record.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <random>
#include <sstream>

#include <fmt/format.h>

#include "base/json_text.h"

namespace warden::cli {
namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t StartedAt(const json::object& run) {
  const json::value* value = run.if_contains("started_at_ms");
  return value != nullptr && value->is_number() ? value->to_number<int64_t>() : 0;
}

std::string IdOf(const json::object& run) {
  const json::value* value = run.if_contains("id");
  return value != nullptr && value->is_string() ? std::string(value->get_string()) : "";
}

}  // namespace

std::string NewRunId() {
  time_t now = ::time(nullptr);
  struct tm local {};
  ::localtime_r(&now, &local);
  std::mt19937 random{std::random_device{}()};
  return fmt::format("{:04}{:02}{:02}-{:02}{:02}{:02}-{:04x}", local.tm_year + 1900,
                     local.tm_mon + 1, local.tm_mday, local.tm_hour, local.tm_min, local.tm_sec,
                     random() & 0xffff);
}

Result<std::string> RunRecordsDir() {
  // NOLINTBEGIN(concurrency-mt-unsafe): read at start-up
  if (const char* state = std::getenv("XDG_STATE_HOME"); state != nullptr && state[0] == '/') {
    return std::string(state) + "/warden/runs";
  }
  if (const char* home = std::getenv("HOME"); home != nullptr && home[0] == '/') {
    return std::string(home) + "/.local/state/warden/runs";
  }
  // NOLINTEND(concurrency-mt-unsafe)
  return Error(ErrorCode::kFailedPrecondition,
               "no HOME (or XDG_STATE_HOME) to keep the run's transcript in");
}

RunRecord::RunRecord(std::string dir, json::object run)
    : dir_(std::move(dir)), transcript_path_(dir_ + "/transcript.jsonl"), run_(std::move(run)) {}

Result<std::unique_ptr<RunRecord>> RunRecord::Create(const std::string& id, const std::string& task,
                                                     const std::string& workspace) {
  ASSIGN_OR_RETURN(std::string base, RunRecordsDir());
  std::string dir = base + "/" + id;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return Error(ErrorCode::kFailedPrecondition,
                 fmt::format("cannot create {}: {}", dir, ec.message()));
  }
  json::object run{{"id", id},
                   {"task", task},
                   {"workspace", workspace},
                   {"started_at_ms", NowMs()},
                   {"state", "running"}};
  std::unique_ptr<RunRecord> record(new RunRecord(dir, std::move(run)));
  record->transcript_.open(record->transcript_path_, std::ios::out | std::ios::trunc);
  if (!record->transcript_) {
    return Error(ErrorCode::kFailedPrecondition,
                 fmt::format("cannot write {}", record->transcript_path_));
  }
  record->run_["transcript"] = record->transcript_path_;
  record->WriteRun();
  return record;
}

void RunRecord::Add(const agent::Event& event) {
  std::lock_guard lock(mutex_);
  transcript_ << SerializeJson(event.ToJson()) << '\n';
  transcript_.flush();  // a record to read while the run goes on, or after it was killed
}

void RunRecord::Finish(const agent::AgentResult& result) {
  std::lock_guard lock(mutex_);
  run_["state"] = result.status;
  run_["reason"] = result.reason;
  run_["summary"] = result.summary;
  run_["steps"] = result.steps;
  run_["finished_at_ms"] = NowMs();
  WriteRun();
}

void RunRecord::WriteRun() {
  // Whole or not at all: written aside, then renamed over the old one.
  std::string path = dir_ + "/run.json";
  std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::out | std::ios::trunc);
    out << SerializeJson(run_) << '\n';
  }
  std::error_code ec;
  std::filesystem::rename(temporary, path, ec);
}

std::vector<json::object> ListRuns(const std::string& records_dir) {
  std::vector<json::object> runs;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(records_dir, ec), end; !ec && it != end;
       it.increment(ec)) {
    std::ifstream in(it->path() / "run.json");
    std::stringstream text;
    text << in.rdbuf();
    boost::system::error_code parse_error;
    json::value value = json::parse(text.str(), parse_error);
    if (!parse_error && value.is_object()) {
      runs.push_back(std::move(value.as_object()));
    }
  }
  std::sort(runs.begin(), runs.end(), [](const json::object& a, const json::object& b) {
    int64_t at = StartedAt(a);
    int64_t bt = StartedAt(b);
    return at != bt ? at > bt : IdOf(a) > IdOf(b);
  });
  return runs;
}

}  // namespace warden::cli
