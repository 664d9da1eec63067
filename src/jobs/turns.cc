#include "jobs/turns.h"

#include <algorithm>
#include <deque>
#include <vector>

#include <fmt/format.h>

#include "jobs/input_files.h"

namespace warden::jobs {
namespace {

std::string Text(const json::object& object, std::string_view key) {
  const json::value* value = object.if_contains(key);
  return value != nullptr && value->is_string() ? std::string(value->get_string()) : "";
}

// `text` cut to at most `bytes`, on a UTF-8 boundary, with "..." when cut.
std::string Clip(std::string text, size_t bytes) {
  if (text.size() <= bytes) {
    return text;
  }
  size_t end = bytes > 3 ? bytes - 3 : 0;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) {
    --end;
  }
  text.resize(end);
  return text + "...";
}

std::string OneLine(std::string text) {
  std::replace(text.begin(), text.end(), '\n', ' ');
  std::replace(text.begin(), text.end(), '\r', ' ');
  return text;
}

// "run_shell: ls -la" — the tool and the argument that says what it did.
std::string DescribeAction(const json::object& action, size_t bytes) {
  std::string tool = Text(action, "tool");
  const json::value* arguments = action.if_contains("arguments");
  std::string what;
  if (arguments != nullptr && arguments->is_object()) {
    const json::object& args = arguments->get_object();
    for (std::string_view key : {"command", "code", "path"}) {
      if (what = Text(args, key); !what.empty()) {
        break;
      }
    }
  }
  return Clip(OneLine(what.empty() ? tool : tool + ": " + what), bytes);
}

// Every event of the job but its output, in order: a reply never holds what the job printed, which
// may be megabytes.
Result<std::vector<Event>> AllEvents(JobStore& store, const std::string& job_id) {
  std::vector<Event> all;
  EventQuery query;
  query.max_bytes = kEventPageBytes;
  for (bool more = true; more;) {
    ASSIGN_OR_RETURN(EventPage page, store.ReadEvents(job_id, query));
    more = page.more;
    if (!page.events.empty()) {
      query.after_seq = page.events.back().seq;
    }
    for (Event& event : page.events) {
      if (event.type != "output") {
        all.push_back(std::move(event));
      }
    }
  }
  return all;
}

// What the model is told of the files the client handed the job: their paths and sizes.
std::string InputFilesNote(const Job& job) {
  const json::value* files = job.input.if_contains("files");
  if (files == nullptr) {
    return "";
  }
  constexpr size_t kListed = 50;
  json::array summary = InputFilesSummary(*files);
  std::string note = "\n\nFiles given with this task, in the workspace (/workspace):";
  for (size_t i = 0; i < summary.size() && i < kListed; ++i) {
    const json::object& file = summary[i].get_object();
    const json::value* size = file.if_contains("size");
    note += fmt::format("\n- {} ({} bytes)", Text(file, "path"),
                        size != nullptr && size->is_number() ? size->to_number<uint64_t>() : 0);
  }
  if (summary.size() > kListed) {
    note += fmt::format("\n- and {} more", summary.size() - kListed);
  }
  return note;
}

}  // namespace

Result<json::object> ReplyOf(JobStore& store, const Job& job) {
  ASSIGN_OR_RETURN(std::vector<Event> events, AllEvents(store, job.id));
  json::array plan;
  json::array thoughts;
  json::array actions;
  for (const Event& event : events) {
    if (event.type == "plan") {
      if (const json::value* steps = event.data.if_contains("steps");
          steps != nullptr && steps->is_array()) {
        plan = steps->get_array();
      }
    } else if (event.type == "thought") {
      if (std::string text = Text(event.data, "text"); !text.empty()) {
        thoughts.emplace_back(text);
      }
    } else if (event.type == "action") {
      json::object action{
          {"step", event.data.contains("step") ? event.data.at("step") : json::value(nullptr)},
          {"tool", Text(event.data, "tool")},
          {"arguments", event.data.contains("arguments") ? event.data.at("arguments")
                                                         : json::value(json::object{})},
          {"observation", nullptr}};
      actions.emplace_back(std::move(action));
    } else if (event.type == "observation" && !actions.empty()) {
      // An observation answers the latest action of its step.
      json::object& last = actions.back().as_object();
      json::object observation;
      for (std::string_view key : {"outcome", "exit_code", "ok", "duration_ms", "summary"}) {
        if (const json::value* value = event.data.if_contains(key); value != nullptr) {
          observation[key] = *value;
        }
      }
      last["observation"] = std::move(observation);
    }
  }
  json::object reply{{"job_id", job.id},
                     {"state", JobStateName(job.state)},
                     {"reason", job.reason},
                     {"summary", job.summary},
                     {"plan", std::move(plan)},
                     {"thoughts", std::move(thoughts)},
                     {"actions", std::move(actions)}};
  if (const json::value* files = job.result.if_contains("files"); files != nullptr) {
    reply["files"] = *files;
  } else {
    reply["files"] = json::array{};
  }
  if (const json::value* changes = job.result.if_contains("changes"); changes != nullptr) {
    reply["changes"] = *changes;  // a session's turn: what it added, modified and deleted
  }
  return reply;
}

Result<std::string> TaskWithSessionContext(JobStore& store, const Job& job,
                                           const ContextLimits& limits) {
  std::string message;
  if (const json::value* task = job.input.if_contains("task");
      task != nullptr && task->is_string()) {
    message = std::string(task->get_string());
  }
  message += InputFilesNote(job);
  if (job.session_id.empty()) {
    return message;
  }
  ASSIGN_OR_RETURN(std::vector<SessionTurn> turns,
                   store.ListSessionTurns(job.session_id, kAnyOwner));
  // One block per earlier turn, newest kept first when the budget runs out.
  std::deque<std::string> blocks;
  size_t used = 0;
  size_t omitted = 0;
  for (auto it = turns.rbegin(); it != turns.rend(); ++it) {
    // Ids sort by creation: only turns made before this job are earlier.
    if (it->job_id == job.id || it->job_id > job.id) {
      continue;
    }
    if (used >= limits.total_bytes) {
      ++omitted;
      continue;
    }
    std::string block =
        fmt::format("[turn {}] User: {}\n", it->seq, Clip(it->message, limits.message_bytes));
    auto earlier = store.Get(it->job_id, kAnyOwner);
    if (!earlier.ok()) {
      block += "  (its job is gone: removed by retention)\n";
    } else {
      ASSIGN_OR_RETURN(json::object reply, ReplyOf(store, *earlier));
      const json::array& actions = reply.at("actions").get_array();
      size_t first =
          actions.size() > limits.actions_per_turn ? actions.size() - limits.actions_per_turn : 0;
      if (first > 0) {
        block += fmt::format("  ({} earlier actions not shown)\n", first);
      }
      for (size_t i = first; i < actions.size(); ++i) {
        const json::object& action = actions[i].get_object();
        if (Text(action, "tool") == "finish") {
          continue;
        }
        std::string outcome = "not run";
        if (const json::value* obs = action.if_contains("observation");
            obs != nullptr && obs->is_object()) {
          const json::object& o = obs->get_object();
          const json::value* code = o.if_contains("exit_code");
          outcome = code != nullptr && code->is_int64() ? fmt::format("exit {}", code->get_int64())
                                                        : Text(o, "outcome");
        }
        block += fmt::format("  You ran {} ({})\n", DescribeAction(action, limits.action_bytes),
                             outcome);
      }
      block += fmt::format("  Outcome: {} — {}\n", JobStateName(earlier->state),
                           Clip(OneLine(earlier->summary), limits.summary_bytes));
    }
    if (used + block.size() > limits.total_bytes && !blocks.empty()) {
      ++omitted;
      used = limits.total_bytes;  // older turns are left out too, so the digest has no gaps
      continue;
    }
    used += block.size();
    blocks.push_front(std::move(block));
  }
  if (blocks.empty() && omitted == 0) {
    return message;  // the session's first message
  }
  std::string task =
      "This message continues a conversation. The workspace (/workspace) still holds the files "
      "made in earlier turns.\n\nEarlier turns, oldest first:\n";
  if (omitted > 0) {
    task += fmt::format("({} older turns left out)\n", omitted);
  }
  for (const std::string& block : blocks) {
    task += block;
  }
  task += "\nThe user's new message, which is your task now:\n" + message;
  return task;
}

}  // namespace warden::jobs
