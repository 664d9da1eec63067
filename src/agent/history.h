// The conversation the agent sends each turn, kept under a byte budget: the system prompt, the
// task and the plan always; recent steps in full; older steps shortened, then folded into a
// digest of one line each. The request size therefore stops growing with the number of steps.
#pragma once

#include <deque>
#include <string>
#include <vector>

#include "llm/types.h"

namespace warden::agent {

class Turn {
 public:
  // The result of one action: a tool message for a native call (`call_id` set), else text that
  // goes back in a user message.
  void AddResult(const std::string& call_id, const std::string& tool, std::string text);
  // Words for the model after the results (a format error, calls that were not run).
  void AddNote(const std::string& text);

 private:
  friend class History;
  llm::Message assistant_;
  std::vector<llm::Message> results_;
  std::string user_text_;  // results of text calls, and notes
  bool shortened_ = false;
};

class History {
 public:
  History(std::string task, size_t budget_bytes);

  void SetSystem(std::string prompt) { system_ = std::move(prompt); }
  const std::string& system() const { return system_; }
  void SetPlan(std::string plan, std::string act_request);
  // A model reply: its text and native calls. The reference stays valid until the next call.
  Turn& AddTurn(std::string content, std::vector<llm::ToolCall> calls);
  // The server cut the prompt: keep less from now on.
  void Shrink() { budget_ = budget_ / 2; }

  // The messages to send, compacted to fit the budget.
  std::vector<llm::Message> Messages();

  size_t budget() const { return budget_; }
  size_t dropped() const { return dropped_; }

 private:
  static size_t Size(const Turn& turn);
  static void ShortenTurn(Turn& turn);
  static std::string Digest(const Turn& turn);

  std::string task_;
  size_t budget_;
  std::string system_;
  std::string plan_;
  std::string act_request_;
  std::deque<Turn> turns_;
  std::string digest_;  // one line per step folded away
  size_t dropped_ = 0;
};

}  // namespace warden::agent
