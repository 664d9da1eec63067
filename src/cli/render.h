// How a task's events are shown, by `warden run` for a local task and by the clients of
// `warden serve` (submit --wait, logs -f, status, chat) for a job: for people (plan, steps, live
// output, outcome), or as JSON lines (--json), one event per line. Long outputs and long file
// lists are trimmed for people, with a note of where the whole is; JSON is never trimmed.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "cli/spinner.h"

#include "agent/agent.h"
#include "agent/events.h"

namespace warden::cli {

// Lines of one action's output shown, and files listed, before the rest is cut.
inline constexpr size_t kShownOutputLines = 40;
inline constexpr size_t kShownFiles = 20;

struct RenderOptions {
  bool json = false;
  bool color = false;
  bool spinner = false;  // draw "thinking… Ns" on stderr while the model thinks
};

// For standard output and error as they are: colour and a spinner only on a terminal, and
// never with NO_COLOR or --json.
RenderOptions TerminalRenderOptions(bool json);

// How a task ended, from a local run's result or a server job's record.
struct Outcome {
  std::string status;  // succeeded, failed, cancelled
  std::string reason;
  std::string summary;
  std::vector<agent::FileEntry> files;
  std::string files_title;           // "Files in /path", "Files (warden download j_…)"
  std::string no_files;              // what to say when there are none
  std::string all_files;             // where the whole list is, when it is cut
  std::vector<std::string> deleted;  // files the task deleted, when that is known
  int steps = 0;
  llm::Usage usage;
  std::optional<std::chrono::milliseconds> duration;
};

// Thread-safe: Show() may be called from the thread that runs actions while another asks.
class Renderer {
 public:
  explicit Renderer(RenderOptions options);

  // Where the whole output of an action is, named in the note when one is cut.
  void set_whole_output(std::string where) { whole_output_ = std::move(where); }

  void Start(const std::string& task, const std::string& provider, const std::string& workspace);
  void Show(const agent::Event& event);
  // The model is being asked (before the first event of a job): the spinner, on a terminal.
  void Waiting();
  void End(const Outcome& outcome);
  // Erases the spinner: before something else writes to the terminal.
  void Quiet() { spinner_.Stop(); }
  // The y/N question for an action that needs approval; with `always`, y/N/a.
  std::string ApprovalQuestion(const std::string& tool, const json::object& arguments,
                               const std::string& reason, bool always = false) const;

 private:
  std::string Paint(std::string_view text, const char* code) const;
  void Print(const std::string& text);
  void Output(const std::string& stream, std::string_view text);
  void ShowLocked(const agent::Event& event);
  std::string CutNote();
  // The outcome's files (at most kShownFiles, and a note of the rest) and the deleted ones.
  std::string FilesText(const Outcome& outcome) const;

  RenderOptions options_;
  std::string whole_output_;
  std::mutex mutex_;
  bool line_open_ = false;   // live output ended without a newline
  size_t output_lines_ = 0;  // lines of the current action's output shown
  size_t cut_lines_ = 0;     // and cut
  bool cut_open_ = false;    // a cut line goes on
  Spinner spinner_;
};

// The outcome of a local run, whose files are in `workspace`.
Outcome OutcomeOfRun(const agent::AgentResult& result, const std::string& workspace,
                     std::chrono::milliseconds duration);

}  // namespace warden::cli
