// How `warden run` shows a task's events: for people (plan, steps, live output, summary), or as
// JSON lines (--json), one event per line, the same objects the job service stores.
#pragma once

#include <mutex>
#include <string>

#include "agent/agent.h"
#include "agent/events.h"

namespace warden::cli {

class Renderer {
 public:
  Renderer(bool json, bool color) : json_(json), color_(color) {}

  void Start(const std::string& task, const std::string& provider, const std::string& workspace);
  void Show(const agent::Event& event);
  void End(const agent::AgentResult& result, const std::string& workspace);
  // The y/N question for an action that needs approval; with `always`, y/N/a.
  std::string ApprovalQuestion(const std::string& tool, const json::object& arguments,
                               const std::string& reason, bool always = false) const;

 private:
  std::string Paint(std::string_view text, const char* code) const;
  void Print(const std::string& text);
  void Output(const std::string& stream, std::string_view text);

  bool json_;
  bool color_;
  std::mutex mutex_;
  bool line_open_ = false;  // live output ended without a newline
};

}  // namespace warden::cli
