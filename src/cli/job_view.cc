#include "cli/job_view.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "cli/approve.h"
#include <fmt/format.h>

#include "base/json_text.h"
#include "base/units.h"

namespace warden::cli {
namespace {

const json::object* ObjectAt(const json::object& object, std::string_view key) {
  const json::value* value = object.if_contains(key);
  return value != nullptr && value->is_object() ? &value->get_object() : nullptr;
}

int64_t NumberAt(const json::object& object, std::string_view key, int64_t fallback = 0) {
  const json::value* value = object.if_contains(key);
  return value != nullptr && value->is_number() ? value->to_number<int64_t>() : fallback;
}

// Every event the job has so far, read page by page (GET /v1/jobs/ID/events).
Result<std::vector<json::object>> ReadEvents(const ServerFlags& flags, const std::string& id) {
  std::vector<json::object> events;
  int64_t after = 0;
  for (;;) {
    ASSIGN_OR_RETURN(
        ApiReply reply,
        CallApi(flags, "GET", fmt::format("/v1/jobs/{}/events?after={}&limit=1000", id, after)));
    if (reply.status != 200 || !reply.value.is_object()) {
      return Error(ErrorCode::kUnavailable,
                   fmt::format("reading the events of {}: {} {}", id, reply.status, reply.body));
    }
    const json::object& page = reply.value.get_object();
    if (const json::value* items = page.if_contains("events"); items && items->is_array()) {
      for (const json::value& item : items->get_array()) {
        if (item.is_object()) {
          events.push_back(item.get_object());
        }
      }
    }
    const json::value* more = page.if_contains("has_more");
    int64_t next = NumberAt(page, "next_after", after);
    if (more == nullptr || !more->is_bool() || !more->get_bool() || next <= after) {
      return events;
    }
    after = next;
  }
}

// What a running job is doing, from its events so far.
std::string Doing(const std::string& id, const std::vector<json::object>& events) {
  std::string now = "the model is thinking (the plan)";
  for (const json::object& event : events) {
    std::string type = StringField(event, "type");
    const json::object* data = ObjectAt(event, "data");
    if (data == nullptr) {
      continue;
    }
    int64_t step = NumberAt(*data, "step");
    if (type == "action") {
      std::string what;
      if (const json::object* arguments = ObjectAt(*data, "arguments")) {
        for (const char* key : {"command", "code", "path"}) {
          if (what = StringField(*arguments, key); !what.empty()) {
            break;
          }
        }
      }
      if (auto newline = what.find('\n'); newline != std::string::npos) {
        what = what.substr(0, newline) + " …";
      }
      now = fmt::format("step {}, {}: {}", step, StringField(*data, "tool"), what);
    } else if (type == "observation") {
      now = fmt::format("the model is thinking (after step {})", step);
    } else if (type == "approval" && StringField(*data, "decision") == "pending") {
      now = fmt::format("waiting for approval of {} ({}): answer with `warden approve {}`",
                        StringField(*data, "tool"), StringField(*data, "reason"), id);
    } else if (type == "approval_answer") {
      now = "the approval was answered; the action goes on";
    }
  }
  return now;
}

// The entries of the file list at `key` (path, size, modified_at) modified at `since_ms` or later.
void AddFiles(const json::object& object, std::string_view key, int64_t since_ms,
              std::vector<agent::FileEntry>* files) {
  const json::value* list = object.if_contains(key);
  if (list == nullptr || !list->is_array()) {
    return;
  }
  for (const json::value& item : list->get_array()) {
    const json::object* file = item.if_object();
    if (file != nullptr && NumberAt(*file, "modified_at") >= since_ms) {
      files->push_back(agent::FileEntry{StringField(*file, "path"),
                                        static_cast<uint64_t>(NumberAt(*file, "size"))});
    }
  }
}

}  // namespace

std::optional<agent::Event> EventOfApi(const std::string& type, const json::object& event) {
  std::optional<agent::EventType> parsed = agent::ParseEventType(type);
  if (!parsed) {
    return std::nullopt;
  }
  agent::Event shown;
  shown.type = *parsed;
  shown.seq = static_cast<uint64_t>(NumberAt(event, "seq"));
  if (const json::object* data = ObjectAt(event, "data")) {
    shown.data = *data;
  }
  return shown;
}

Outcome OutcomeOfJob(const ServerFlags& flags, const json::object& job, FilesShown shown) {
  std::string id = StringField(job, "id");
  Outcome outcome;
  outcome.status = StringField(job, "state");
  outcome.reason = StringField(job, "reason");
  outcome.summary = StringField(job, "summary");
  const json::object* result = ObjectAt(job, "result");
  if (result != nullptr) {
    // A session's turn records what it changed ("changes"); without that record, the files
    // modified since the job started.
    const json::object* changes =
        shown == FilesShown::kChangedByJob ? ObjectAt(*result, "changes") : nullptr;
    if (changes != nullptr) {
      AddFiles(*changes, "added", 0, &outcome.files);
      AddFiles(*changes, "modified", 0, &outcome.files);
      std::sort(
          outcome.files.begin(), outcome.files.end(),
          [](const agent::FileEntry& a, const agent::FileEntry& b) { return a.path < b.path; });
      if (const json::value* deleted = changes->if_contains("deleted");
          deleted && deleted->is_array()) {
        for (const json::value& path : deleted->get_array()) {
          if (path.is_string()) {
            outcome.deleted.emplace_back(path.get_string());
          }
        }
      }
    } else {
      AddFiles(*result, "files",
               shown == FilesShown::kChangedByJob ? NumberAt(job, "started_at_ms") : 0,
               &outcome.files);
    }
    outcome.steps = static_cast<int>(NumberAt(*result, "steps"));
    if (const json::object* usage = ObjectAt(*result, "usage")) {
      outcome.usage.input_tokens = static_cast<uint64_t>(NumberAt(*usage, "input_tokens"));
      outcome.usage.output_tokens = static_cast<uint64_t>(NumberAt(*usage, "output_tokens"));
    }
    if (const json::value* ms = result->if_contains("duration_ms"); ms && ms->is_number()) {
      outcome.duration = std::chrono::milliseconds(ms->to_number<int64_t>());
    }
  }
  std::string get =
      fmt::format("`warden download {}` or {}", id, ApiUrl(flags, "/v1/jobs/" + id + "/archive"));
  outcome.files_title = fmt::format(
      "{} (get them with {})", shown == FilesShown::kChangedByJob ? "Files it made" : "Files", get);
  outcome.no_files = shown == FilesShown::kChangedByJob ? "No files made or changed" : "No files";
  outcome.all_files = get;
  return outcome;
}

Result<std::string> FollowJob(const ServerFlags& flags, const std::string& id, Renderer& renderer,
                              FilesShown shown, const std::atomic<bool>* cancel) {
  renderer.set_whole_output(fmt::format("`warden logs {}`", id));
  if (!flags.json) {
    renderer.Waiting();
  }
  auto state = FollowEvents(
      flags, id,
      [&](const std::string& type, const json::object& event, const std::string& raw) {
        if (flags.json) {
          std::printf("%s\n", raw.c_str());
          std::fflush(stdout);  // NOLINT(cert-err33-c): nothing to do when the terminal is gone
          return;
        }
        if (std::optional<agent::Event> shown_event = EventOfApi(type, event)) {
          renderer.Show(*shown_event);
        }
        if (type == "approval") {
          renderer.Quiet();
          AnswerOnTerminal(flags, id, event);
        }
      },
      cancel);
  renderer.Quiet();
  if (!state.ok() || flags.json) {
    return state;
  }
  auto ended = CallApi(flags, "GET", "/v1/jobs/" + id);
  if (ended.ok() && ended->status == 200 && ended->value.is_object()) {
    renderer.End(OutcomeOfJob(flags, ended->value.get_object(), shown));
  }
  return state;
}

int PrintJobEvents(const ServerFlags& flags, const std::string& id) {
  auto events = ReadEvents(flags, id);
  if (!events.ok()) {
    fmt::print(stderr, "warden logs: {}\n", events.error().message());
    return kExitFailed;
  }
  for (const json::object& event : *events) {
    fmt::print("{}\n", SerializeJson(event));
  }
  return 0;
}

int ShowJobStatus(const ServerFlags& flags, const std::string& id) {
  auto reply = CallApi(flags, "GET", "/v1/jobs/" + id);
  if (!reply.ok() || reply->status != 200 || !reply->value.is_object()) {
    return PrintApiFailure("status", reply);
  }
  if (flags.json) {
    std::printf("%s\n", reply->body.c_str());
    return 0;
  }
  const json::object& job = reply->value.get_object();
  std::string state = StringField(job, "state");
  std::string task;
  if (const json::object* input = ObjectAt(job, "input")) {
    task = StringField(*input, "task");
  }
  fmt::print("{}  {}  {}\n", id, state, task.empty() ? "(steps)" : task);
  if (state == "queued") {
    fmt::print("  now: waiting for a worker (follow it: warden logs -f {})\n", id);
    return 0;
  }
  if (state == "running") {
    auto events = ReadEvents(flags, id);
    fmt::print("  now: {}\n  follow it: warden logs -f {}\n",
               events.ok() ? Doing(id, *events) : events.error().message(), id);
    return 0;
  }
  std::fflush(stdout);  // NOLINT(cert-err33-c): the renderer writes to the descriptor
  Renderer renderer(TerminalRenderOptions(false));
  renderer.End(OutcomeOfJob(flags, job, FilesShown::kAll));
  return 0;
}

}  // namespace warden::cli
