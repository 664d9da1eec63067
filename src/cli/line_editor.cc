#include "cli/line_editor.h"

#include <editline/readline.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

namespace warden::cli {
namespace {

constexpr int kHistoryLines = 500;

std::string HistoryPath() {
  // NOLINTBEGIN(concurrency-mt-unsafe): read at start-up
  std::string base;
  if (const char* state = std::getenv("XDG_STATE_HOME"); state != nullptr && state[0] == '/') {
    base = state;
  } else if (const char* home = std::getenv("HOME"); home != nullptr && home[0] == '/') {
    base = std::string(home) + "/.local/state";
  } else {
    return "";
  }
  // NOLINTEND(concurrency-mt-unsafe)
  std::error_code ec;
  std::filesystem::create_directories(base + "/warden", ec);
  return ec ? "" : base + "/warden/chat_history";
}

}  // namespace

LineEditor::LineEditor() : history_path_(HistoryPath()) {
  rl_readline_name = "warden";
  using_history();
  stifle_history(kHistoryLines);
  if (!history_path_.empty()) {
    (void)read_history(history_path_.c_str());  // none yet: a first chat
  }
}

LineEditor::~LineEditor() {
  if (!history_path_.empty()) {
    (void)write_history(history_path_.c_str());
  }
}

std::optional<std::string> LineEditor::Read(const std::string& prompt) {
  char* line = readline(prompt.c_str());
  if (line == nullptr) {
    std::fputc('\n', stdout);  // NOLINT(cert-err33-c): nothing to do when the terminal is gone
    return std::nullopt;
  }
  std::string text(line);
  std::free(line);  // NOLINT(cppcoreguidelines-no-malloc): readline's contract
  if (text.find_first_not_of(" \t\r") != std::string::npos) {
    add_history(text.c_str());
  }
  return text;
}

}  // namespace warden::cli
