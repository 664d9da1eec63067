#include "cli/approve.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "cli/commands.h"
#include "cli/render.h"
#include <CLI/CLI.hpp>
#include <fmt/format.h>

namespace warden::cli {
namespace {

std::string DescribeAction(const json::object& approval) {
  std::string what;
  if (const json::value* arguments = approval.if_contains("arguments");
      arguments != nullptr && arguments->is_object()) {
    for (const char* key : {"command", "code", "path"}) {
      if (what = StringField(arguments->get_object(), key); !what.empty()) {
        break;
      }
    }
  }
  if (auto newline = what.find('\n'); newline != std::string::npos) {
    what = what.substr(0, newline) + " ...";
  }
  if (what.size() > 120) {
    what = what.substr(0, 117) + "...";
  }
  std::string tool = StringField(approval, "tool");
  return what.empty() ? tool : tool + ": " + what;
}

// y, n or a from the terminal; "" without one.
std::string AskTerminal(const std::string& question) {
  int tty = ::open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
  if (tty < 0) {
    return "";
  }
  if (::isatty(STDIN_FILENO) != 1) {
    ::close(tty);
    return "";
  }
  (void)::write(tty, question.data(), question.size());
  std::string line;
  char c;
  while (::read(tty, &c, 1) == 1 && c != '\n') {
    line += c;
  }
  ::close(tty);
  if (line == "a" || line == "A" || line == "always") {
    return "a";
  }
  return line == "y" || line == "Y" || line == "yes" ? "y" : "n";
}

// POSTs the answer; prints what became of it. Returns the exit code.
int SendAnswer(const ServerFlags& flags, const std::string& job_id, const json::object& answer) {
  auto reply = CallApi(flags, "POST", "/v1/jobs/" + job_id + "/approvals", json::serialize(answer));
  if (!reply.ok() || reply->status != 200) {
    return PrintApiFailure("approve", reply);
  }
  if (flags.json) {
    std::printf("%s\n", reply->body.c_str());
    return 0;
  }
  const json::object& body = reply->value.as_object();
  const json::value* always = body.if_contains("always");
  fmt::print(stderr, "approval {} of job {}: {}{}\n",
             body.contains("id") ? json::serialize(body.at("id")) : "?", job_id,
             StringField(body, "decision"),
             always != nullptr && always->is_bool() && always->get_bool()
                 ? " (and from now on in this session, for the same risk)"
                 : "");
  return 0;
}

int ListApprovals(const ServerFlags& flags, const std::string& job_id) {
  auto reply = CallApi(flags, "GET", "/v1/jobs/" + job_id + "/approvals");
  if (!reply.ok() || reply->status != 200) {
    return PrintApiFailure("approve", reply);
  }
  if (flags.json) {
    std::printf("%s\n", reply->body.c_str());
    return 0;
  }
  const json::value* items = reply->value.as_object().if_contains("approvals");
  if (items == nullptr || !items->is_array() || items->get_array().empty()) {
    std::printf("job %s has asked no approval\n", job_id.c_str());
    return 0;
  }
  for (const json::value& item : items->get_array()) {
    const json::object& approval = item.as_object();
    std::string by;
    if (const json::value* answer = approval.if_contains("answer");
        answer != nullptr && answer->is_object()) {
      by = " by " + StringField(answer->get_object(), "by");
    }
    std::printf("%s  %-10s  %s (%s)%s\n", json::serialize(approval.at("id")).c_str(),
                StringField(approval, "state").c_str(), DescribeAction(approval).c_str(),
                StringField(approval, "reason").c_str(), by.c_str());
  }
  return 0;
}

}  // namespace

void AnswerOnTerminal(const ServerFlags& flags, const std::string& job_id,
                      const json::object& event) {
  const json::value* data_value = event.if_contains("data");
  const json::value* seq = event.if_contains("seq");
  if (data_value == nullptr || !data_value->is_object() || seq == nullptr || !seq->is_int64()) {
    return;
  }
  const json::object& data = data_value->get_object();
  if (StringField(data, "decision") != "pending") {
    return;
  }
  const json::value* arguments = data.if_contains("arguments");
  Renderer renderer(RenderOptions{false, ColorWanted(STDERR_FILENO), false});
  std::string question = renderer.ApprovalQuestion(
      StringField(data, "tool"),
      arguments != nullptr && arguments->is_object() ? arguments->get_object() : json::object{},
      StringField(data, "reason"), true);
  std::string answer = flags.json ? "" : AskTerminal(question);
  if (answer.empty()) {
    fmt::print(stderr,
               "job {} waits for approval {} of {} ({}): answer with `warden approve {}` or "
               "`warden approve {} --deny --reason '...'`\n",
               job_id, seq->get_int64(), DescribeAction(data), StringField(data, "reason"), job_id,
               job_id);
    return;
  }
  json::object body{{"id", seq->get_int64()},
                    {"decision", answer == "y"   ? "approve"
                                 : answer == "a" ? "always"
                                                 : "deny"}};
  if (answer == "n") {
    body["reason"] = "the user said no";
  }
  (void)SendAnswer(flags, job_id, body);
}

int Approve(int argc, char** argv) {
  CLI::App app(
      "Answer a job's request for approval (a risky action waits for it). Without --deny it is "
      "approved.",
      "warden approve");
  ServerFlags flags;
  AddServerFlags(app, flags);
  std::string job_id, reason;
  bool deny = false, always = false, list = false;
  int64_t id = 0;
  app.add_option("job", job_id, "The job's id")->required();
  app.add_flag("--deny", deny, "Deny it: the model is told so (and --reason)");
  app.add_flag("--always", always,
               "Approve it and every later action of the same risk in this job and its session");
  app.add_option("--reason", reason, "Why it is denied, for the model");
  app.add_option("--id", id, "The approval to answer (default: the one pending)");
  app.add_flag("--list", list, "List the job's approvals instead");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : kExitUsage;
  }
  if (list) {
    return ListApprovals(flags, job_id);
  }
  if (deny && always) {
    fmt::print(stderr, "warden approve: --deny and --always contradict each other\n");
    return kExitUsage;
  }
  json::object body{{"decision", deny ? "deny" : always ? "always" : "approve"}};
  if (!reason.empty()) {
    body["reason"] = reason;
  }
  if (id > 0) {
    body["id"] = id;
  }
  return SendAnswer(flags, job_id, body);
}

}  // namespace warden::cli
