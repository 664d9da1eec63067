// `warden chat [SESSION]`: a conversation with the agent through `warden serve`. Each message runs
// as a job in the session's workspace with the earlier turns in view; its plan, actions, live
// output and outcome are shown as they happen. Ctrl-C cancels the running message; at the prompt,
// Ctrl-C or Ctrl-D ends the chat (the session stays, to be resumed by its id).
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <string>
#include <vector>

#include "cli/api_client.h"
#include "cli/commands.h"
#include "cli/job_view.h"
#include "cli/line_editor.h"
#include "cli/render.h"
#include <CLI/CLI.hpp>
#include <fmt/format.h>

namespace warden::cli {
namespace {

std::atomic<bool> g_interrupted{false};

extern "C" void OnInterrupt(int /*sig*/) {
  g_interrupted.store(true);
}

// SIGINT sets g_interrupted and interrupts a blocking read (no SA_RESTART).
void CatchInterrupts() {
  struct sigaction action = {};
  action.sa_handler = OnInterrupt;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;
  sigaction(SIGINT, &action, nullptr);
}

// The next line from stdin (not a terminal) without its newline; nullopt at the end of input or
// on Ctrl-C.
std::optional<std::string> ReadLine() {
  std::string line;
  for (;;) {
    int c = std::fgetc(stdin);
    if (c == EOF) {
      if (!line.empty() && !g_interrupted.load()) {
        return line;
      }
      return std::nullopt;
    }
    if (c == '\n') {
      return line;
    }
    line.push_back(static_cast<char>(c));
  }
}

class ChatSession {
 public:
  ChatSession(ServerFlags flags, json::object options)
      : flags_(std::move(flags)),
        options_(std::move(options)),
        renderer_(TerminalRenderOptions(flags_.json)) {}

  // Opens `session`, or a new one when it is "". Prints what the user needs to know.
  bool Open(const std::string& session) {
    if (session.empty()) {
      auto created = CallApi(flags_, "POST", "/v1/sessions", "{}");
      if (!created.ok() || created->status != 201) {
        PrintApiFailure("chat", created);
        return false;
      }
      session_ = StringField(created->value.as_object(), "id");
      Note(fmt::format("new session {} (resume it with: warden chat {})", session_, session_));
      return true;
    }
    auto got = CallApi(flags_, "GET", "/v1/sessions/" + session);
    if (!got.ok() || got->status != 200) {
      PrintApiFailure("chat", got);
      return false;
    }
    session_ = session;
    const json::value* turns = got->value.as_object().if_contains("turns");
    size_t count = turns != nullptr && turns->is_array() ? turns->get_array().size() : 0;
    Note(fmt::format("session {}: {} earlier message{}", session_, count, count == 1 ? "" : "s"));
    if (count > 0) {
      const json::object& last = turns->get_array().back().get_object();
      std::string summary;
      if (const json::value* job = last.if_contains("job"); job != nullptr && job->is_object()) {
        summary = StringField(job->get_object(), "summary");
      }
      Note(fmt::format("last: \"{}\" → {}", StringField(last, "message"), summary));
    }
    return true;
  }

  const std::string& id() const { return session_; }

  // Sends one message and shows its run. Returns the job's final state, or "" when it could not
  // be sent.
  std::string Send(const std::string& message) {
    g_interrupted.store(false);  // a Ctrl-C from here on cancels this message
    json::object body{{"message", message}};
    if (!options_.empty()) {
      body["options"] = options_;
    }
    auto posted =
        CallApi(flags_, "POST", "/v1/sessions/" + session_ + "/messages", json::serialize(body));
    if (!posted.ok() || posted->status != 201) {
      PrintApiFailure("chat", posted);
      return "";
    }
    const json::value* job_value = posted->value.as_object().if_contains("job");
    std::string job = job_value != nullptr && job_value->is_object()
                          ? StringField(job_value->get_object(), "id")
                          : "";
    Note(fmt::format("job {} (warden status {})", job, job));
    auto state = FollowJob(flags_, job, renderer_, FilesShown::kChangedByJob, &g_interrupted);
    if (!state.ok() && state.error().code() == ErrorCode::kCancelled) {
      g_interrupted.store(false);
      auto cancelled = CallApi(flags_, "POST", "/v1/jobs/" + job + "/cancel");
      if (!cancelled.ok() || cancelled->status != 202) {
        PrintApiFailure("chat", cancelled);
        return "";
      }
      // The session takes the next message only once this one has ended: wait for that (its
      // sandbox is killed at once; a Ctrl-C again stops waiting).
      Note("cancelling...");
      auto ended = FollowEvents(
          flags_, job, [](const std::string&, const json::object&, const std::string&) {},
          &g_interrupted);
      Note(ended.ok() ? "cancelled" : "still ending; the next message may have to wait");
      return "cancelled";
    }
    if (!state.ok()) {
      fmt::print(stderr, "warden chat: {}\n", state.error().message());
      return "";
    }
    return *state;
  }

 private:
  void Note(const std::string& text) const {
    if (!flags_.json) {
      fmt::print(stderr, "{}\n", text);
    }
  }

  ServerFlags flags_;
  json::object options_;
  Renderer renderer_;
  std::string session_;
};

}  // namespace

int Chat(int argc, char** argv) {
  CLI::App app(
      "Talk with the agent through `warden serve`. Each message runs as a job in the session's\n"
      "workspace, with the earlier messages in view. Without SESSION a new session starts.\n"
      "Messages come from -m, or one per line from standard input. Ctrl-C cancels the message\n"
      "that runs; Ctrl-D ends the chat.",
      "warden chat");
  ServerFlags flags;
  AddServerFlags(app, flags);
  std::string session;
  std::vector<std::string> messages;
  std::string model, provider, approve;
  app.add_option("session", session, "The session to continue (s_...)");
  app.add_option("-m,--message", messages, "Send this message (repeatable), then exit");
  app.add_option("--model", model, "Model for these messages");
  app.add_option("--provider", provider, "Provider for these messages");
  app.add_option("--approve", approve,
                 "Which actions wait for approval (asked here): never, risky (the server's "
                 "default unless configured otherwise) or always")
      ->check(CLI::IsMember({"never", "risky", "always"}));
  std::vector<std::string> inputs;
  app.add_option("--input", inputs,
                 "Upload this file (repeatable) into the session's workspace before the first "
                 "message");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : kExitUsage;
  }
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
  CatchInterrupts();
  ChatSession chat(flags, options);
  if (!chat.Open(session)) {
    return kExitFailed;
  }
  if (int uploaded = UploadFiles(flags, chat.id(), inputs, "", "chat"); uploaded != 0) {
    return uploaded;
  }
  std::string last;
  if (!messages.empty()) {
    for (const std::string& message : messages) {
      last = chat.Send(message);
      if (last != "succeeded") {
        break;
      }
    }
    return last == "succeeded" ? 0 : kExitFailed;
  }
  bool interactive = ::isatty(STDIN_FILENO) == 1;
  bool sent = false;
  std::optional<LineEditor> editor;
  if (interactive) {
    editor.emplace();
  }
  auto next = [&] {
    return editor ? editor->Read("you> ") : ReadLine();
  };
  while (auto line = next()) {
    if (line->find_first_not_of(" \t\r") == std::string::npos) {
      continue;
    }
    last = chat.Send(*line);
    sent = true;
  }
  // Read from a pipe, the exit code says how the last message went.
  return interactive || !sent || last == "succeeded" ? 0 : kExitFailed;
}

}  // namespace warden::cli
