// The client verbs of `warden serve`'s API: submit, jobs, status, logs, cancel, retry, download,
// sessions.
// Each takes --server (or WARDEN_SERVER), --api-key (or WARDEN_API_KEY) and --json.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <string_view>
#include <vector>

#include "cli/api_client.h"
#include "cli/commands.h"
#include "cli/job_view.h"
#include "cli/render.h"
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "base/json.h"
#include "base/result.h"
#include "llm/http.h"

namespace warden::cli {
namespace {

using Common = ServerFlags;

Result<ApiReply> Call(const Common& common, const std::string& method, const std::string& path,
                      const std::string& body = "") {
  return CallApi(common, method, path, body);
}

int Fail(const char* verb, const Result<ApiReply>& reply) {
  return PrintApiFailure(verb, reply);
}

std::string Str(const json::object& object, std::string_view key) {
  const json::value* value = object.if_contains(key);
  return value != nullptr && value->is_string() ? std::string(value->get_string()) : "";
}

std::string Describe(const json::object& job) {
  std::string what;
  if (const json::value* input = job.if_contains("input"); input != nullptr && input->is_object()) {
    what = Str(input->get_object(), "task");
    if (what.empty()) {
      what = "(steps)";
    }
  }
  if (what.size() > 60) {
    what = what.substr(0, 57) + "...";
  }
  return what;
}

// A time in milliseconds since the epoch as local "YYYY-MM-DD HH:MM".
std::string FormatTime(int64_t ms) {
  std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm local{};
  if (::localtime_r(&seconds, &local) == nullptr) {
    return "?";
  }
  char text[32];
  size_t n = std::strftime(text, sizeof text, "%Y-%m-%d %H:%M", &local);
  return std::string(text, n);
}

// One line: id, state, the task, and why it ended when that was not simply finishing.
void PrintJob(const json::object& job) {
  std::string reason = Str(job, "reason");
  bool plain = reason.empty() || reason == "finished" || reason == "submitted" ||
               reason == "claimed" || Str(job, "state") == "running";
  fmt::print("{}  {:<9}  {}{}\n", Str(job, "id"), Str(job, "state"), Describe(job),
             plain ? "" : "  (" + reason + ")");
}

int ExitForState(const std::string& state) {
  return state == "succeeded" ? 0 : kExitFailed;
}

// The format an archive named `file` asks for by its extension; "" when it names none.
std::string FormatOfName(const std::string& file) {
  if (file.ends_with(".zip")) {
    return "zip";
  }
  if (file.ends_with(".tar.gz") || file.ends_with(".tgz")) {
    return "tar.gz";
  }
  return "";
}

// `warden download JOB [-o FILE|-]`: the job's files as one archive, streamed to the file (an
// archive can be larger than memory) or to standard output. `format`: --format, or "".
int Download(const Common& common, const std::string& path, const std::string& id,
             const std::string& output, std::string format) {
  if (format.empty()) {
    format = output.empty() || output == "-" ? "zip" : FormatOfName(output);
  }
  if (format.empty()) {
    fmt::print(stderr,
               "warden download: cannot tell the format from the name {}: end it in .zip or "
               ".tar.gz, or give --format\n",
               output);
    return kExitUsage;
  }
  bool to_stdout = output == "-";
  std::string file = output.empty() ? id + (format == "zip" ? ".zip" : ".tar.gz") : output;
  FILE* out = to_stdout ? stdout : std::fopen(file.c_str(), "wbe");
  if (out == nullptr) {
    fmt::print(stderr, "warden download: cannot write {}: {}\n", file, ErrnoDescription(errno));
    return kExitFailed;
  }
  llm::HttpRequest request;
  request.method = "GET";
  request.url = common.server + path + "/archive?format=" + format;
  if (!common.api_key.empty()) {
    request.headers.emplace_back("Authorization", "Bearer " + common.api_key);
  }
  size_t written = 0;
  std::string write_error;
  auto response = llm::PerformHttp(
      request,
      [&](std::string_view bytes) -> Status {
        if (std::fwrite(bytes.data(), 1, bytes.size(), out) != bytes.size()) {
          write_error = fmt::format("cannot write {}: {}", to_stdout ? "standard output" : file,
                                    ErrnoDescription(errno));
          return Error(ErrorCode::kResourceExhausted, write_error);
        }
        written += bytes.size();
        return OkStatus();
      },
      nullptr);
  bool closed = to_stdout ? std::fflush(out) == 0 : std::fclose(out) == 0;
  if (!closed && write_error.empty()) {
    write_error = fmt::format("cannot write {}: {}", to_stdout ? "standard output" : file,
                              ErrnoDescription(errno));
  }
  if (!response.ok() || response->status != 200 || !write_error.empty()) {
    if (!to_stdout) {
      ::unlink(file.c_str());
    }
    fmt::print(stderr, "warden download: {}\n",
               !write_error.empty() ? write_error
               : !response.ok()     ? response.error().message()
                                    : fmt::format("{}: {}", response->status, response->body));
    return kExitFailed;
  }
  if (!to_stdout) {
    std::printf("%s (%zu bytes)\n", file.c_str(), written);
  }
  return 0;
}

// One line per session: id, turns, when it was last used, and its last message with its state.
int ListSessions(const Common& common, int limit) {
  auto reply = Call(common, "GET", fmt::format("/v1/sessions?limit={}", limit));
  if (!reply.ok() || reply->status != 200) {
    return Fail("sessions", reply);
  }
  if (common.json) {
    std::printf("%s\n", reply->body.c_str());
    return 0;
  }
  const json::array& sessions = reply->value.as_object()["sessions"].as_array();
  if (sessions.empty()) {
    std::printf("No sessions yet: start one with `warden chat`.\n");
  }
  for (const json::value& item : sessions) {
    const json::object& session = item.as_object();
    int64_t turns = session.contains("turns") ? session.at("turns").to_number<int64_t>() : 0;
    std::string last = "(no message yet)";
    if (const json::value* turn = session.if_contains("last_turn"); turn && turn->is_object()) {
      const json::object& t = turn->get_object();
      std::string state = Str(t, "state");
      last = fmt::format("{} \"{}\"", state.empty() ? "deleted" : state, Str(t, "message"));
    }
    int64_t active_ms =
        session.contains("last_active_ms") ? session.at("last_active_ms").to_number<int64_t>() : 0;
    std::printf("%s  %3lld turn%s  %s  %s\n", Str(session, "id").c_str(),
                static_cast<long long>(turns), turns == 1 ? " " : "s",
                FormatTime(active_ms).c_str(), last.c_str());
  }
  if (const json::value* next = reply->value.as_object().if_contains("next_cursor");
      next != nullptr && next->is_string()) {
    std::printf("(more: --limit %d shows more)\n", limit * 2);
  }
  return 0;
}

}  // namespace

int Client(const std::string& verb, int argc, char** argv) {
  CLI::App app("", "warden " + verb);
  Common common;
  AddServerFlags(app, common);
  std::vector<std::string> task;
  std::string id, output, format = "zip", status, model, provider, approve;
  int limit = 20;
  bool wait = false, follow = false;
  CLI::Option* format_flag = nullptr;
  if (verb == "submit") {
    app.description("Submit a task as a job; prints its id (--wait: follows it to its end).");
    app.add_option("task", task, "The task, in plain language")->required();
    app.add_flag("--wait", wait, "Follow the job's output until it ends; exit 0 if it succeeded");
    app.add_option("--model", model, "Model for this job");
    app.add_option("--provider", provider, "Provider for this job");
    app.add_option("--approve", approve,
                   "Which actions wait for approval: never, risky (the server's default unless "
                   "configured otherwise) or always")
        ->check(CLI::IsMember({"never", "risky", "always"}));
  } else if (verb == "jobs") {
    app.description("List jobs, newest first.");
    app.add_option("--status", status, "Only jobs in this state");
    app.add_option("--limit", limit, "How many")->capture_default_str();
  } else if (verb == "sessions") {
    app.description("List chat sessions, newest first; continue one with `warden chat ID`.");
    app.add_option("--limit", limit, "How many")->capture_default_str();
  } else {
    app.add_option("id", id, "The job's id")->required();
    if (verb == "logs") {
      app.description(
          "Print a job's output as it was printed (--follow: its plan, actions, output and "
          "outcome as they come, until the job ends; --json: its events, one per line).");
      app.add_flag("-f,--follow", follow, "Follow");
    } else if (verb == "download") {
      app.description("Download a job's files, or a session's (ID s_...), as one archive.");
      app.add_option("-o,--output", output,
                     "Where to write: FILE (its extension picks the format), or - for standard "
                     "output (default ID.zip)");
      format_flag = app.add_option("--format", format, "zip or tar.gz")
                        ->check(CLI::IsMember({"zip", "tar.gz"}));
    } else {
      app.description(verb == "status"   ? "Show a job."
                      : verb == "cancel" ? "Cancel a job (its sandbox is killed)."
                                         : "Run a job again, as a new job.");
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : kExitUsage;
  }

  if (verb == "submit") {
    std::string text;
    for (const std::string& word : task) {
      text += (text.empty() ? "" : " ") + word;
    }
    json::object body{{"task", text}};
    json::object options;
    if (!model.empty()) {
      options["model"] = model;
    }
    if (!provider.empty()) {
      options["provider"] = provider;
    }
    if (!approve.empty()) {
      options["approve"] = approve;
    }
    if (!options.empty()) {
      body["options"] = std::move(options);
    }
    auto reply = Call(common, "POST", "/v1/jobs", json::serialize(body));
    if (!reply.ok() || reply->status != 201) {
      return Fail("submit", reply);
    }
    std::string job_id = Str(reply->value.as_object(), "id");
    if (!wait) {
      std::printf("%s\n", common.json ? reply->body.c_str() : job_id.c_str());
      return 0;
    }
    if (!common.json) {
      fmt::print(stderr, "job {} submitted; following it (Ctrl-C stops following, not the job)\n",
                 job_id);
    }
    Renderer renderer(TerminalRenderOptions(common.json));
    auto state = FollowJob(common, job_id, renderer, FilesShown::kAll);
    if (!state.ok()) {
      fmt::print(stderr, "warden submit: {}\n", state.error().message());
      return kExitFailed;
    }
    return ExitForState(*state);
  }
  if (verb == "jobs") {
    std::string path = fmt::format("/v1/jobs?limit={}", limit);
    if (!status.empty()) {
      path += "&status=" + status;
    }
    auto reply = Call(common, "GET", path);
    if (!reply.ok() || reply->status != 200) {
      return Fail("jobs", reply);
    }
    if (common.json) {
      std::printf("%s\n", reply->body.c_str());
      return 0;
    }
    const json::array& jobs = reply->value.as_object()["jobs"].as_array();
    if (jobs.empty()) {
      std::printf("%s\n", status.empty() ? "No jobs yet: submit one with `warden submit \"TASK\"`."
                                         : ("No jobs are " + status + ".").c_str());
    }
    for (const json::value& job : jobs) {
      PrintJob(job.as_object());
    }
    return 0;
  }
  if (verb == "sessions") {
    return ListSessions(common, limit);
  }
  if (verb == "logs" && follow) {
    Renderer renderer(TerminalRenderOptions(common.json));
    auto state = FollowJob(common, id, renderer, FilesShown::kAll);
    if (!state.ok()) {
      fmt::print(stderr, "warden logs: {}\n", state.error().message());
      return kExitFailed;
    }
    return 0;
  }
  if (verb == "logs" && common.json) {
    return PrintJobEvents(common, id);
  }
  if (verb == "status") {
    return ShowJobStatus(common, id);
  }
  std::string method = verb == "cancel" || verb == "retry" ? "POST" : "GET";
  std::string path = "/v1/jobs/" + id;
  if (verb == "logs") {
    path += "/logs";
  } else if (verb == "cancel" || verb == "retry") {
    path += "/" + verb;
  }
  if (verb == "download") {
    if (id.starts_with("s_")) {
      path = "/v1/sessions/" + id;  // a session's workspace, as it is now
    }
    return Download(common, path, id, output, format_flag->count() > 0 ? format : "");
  }
  auto reply = Call(common, method, path);
  if (!reply.ok() || reply->status >= 300) {
    return Fail(verb.c_str(), reply);
  }
  if (verb == "logs") {
    if (std::fwrite(reply->body.data(), 1, reply->body.size(), stdout) != reply->body.size()) {
      fmt::print(stderr, "warden logs: cannot write to standard output\n");
      return kExitFailed;
    }
    return 0;
  }
  if (common.json || !reply->value.is_object()) {
    std::printf("%s\n", reply->body.c_str());
  } else {
    PrintJob(reply->value.as_object());
  }
  return 0;
}

}  // namespace warden::cli
