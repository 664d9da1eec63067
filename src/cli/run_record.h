// What `warden run` keeps of each local run, for `warden runs` and for reading later: under
// $XDG_STATE_HOME/warden/runs/ID/ (default ~/.local/state/...), the transcript (the event JSON
// lines, as --json prints them) and run.json (task, workspace, times, outcome). Kept apart from
// the workspace: the sandboxed actions can neither read nor change it.
#pragma once

#include <cstdint>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "agent/agent.h"
#include "agent/events.h"
#include "base/json.h"
#include "base/result.h"

namespace warden::cli {

// A new run's id: DATE-TIME-XXXX in local time (sorts by when it started).
std::string NewRunId();

// The directory of every run's record; an error when there is no HOME to put it in.
Result<std::string> RunRecordsDir();

// One run's record while it runs. Thread-safe: Add() may be called from any thread.
class RunRecord {
 public:
  // Creates `<RunRecordsDir()>/<id>/` with run.json saying the run is running.
  static Result<std::unique_ptr<RunRecord>> Create(const std::string& id, const std::string& task,
                                                   const std::string& workspace);

  const std::string& transcript_path() const { return transcript_path_; }
  void Add(const agent::Event& event);
  // Records the outcome in run.json.
  void Finish(const agent::AgentResult& result);

 private:
  RunRecord(std::string dir, json::object run);
  void WriteRun();

  std::string dir_;
  std::string transcript_path_;
  json::object run_;
  std::mutex mutex_;
  std::ofstream transcript_;
};

// Every recorded run's run.json, newest first; unreadable records are skipped.
std::vector<json::object> ListRuns(const std::string& records_dir);

}  // namespace warden::cli
