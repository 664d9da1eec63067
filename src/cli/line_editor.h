// The interactive prompt of `warden chat`: line editing and history (libedit, linked
// statically), the history kept between chats in $XDG_STATE_HOME/warden/chat_history (default
// ~/.local/state/...).
#pragma once

#include <optional>
#include <string>

namespace warden::cli {

// Owns libedit's global readline state: one per process, used from one thread.
class LineEditor {
 public:
  LineEditor();
  ~LineEditor();  // saves the history
  LineEditor(const LineEditor&) = delete;
  LineEditor& operator=(const LineEditor&) = delete;

  // The next line, without its newline; nullopt at the end of input (Ctrl-D) or on Ctrl-C.
  std::optional<std::string> Read(const std::string& prompt);

 private:
  std::string history_path_;  // "" when there is no HOME to keep it in
};

}  // namespace warden::cli
