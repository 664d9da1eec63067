#include "llm/stream.h"

namespace warden::llm {
namespace {

// Lines end with \n, \r\n or a lone \r (the SSE grammar allows all three; a \r\n split across two
// pieces must not count twice, so a trailing \r waits for the next byte).
template <typename OnLine>
Status SplitLines(std::string& pending, std::string_view bytes, OnLine&& on_line) {
  pending.append(bytes);
  size_t start = 0;
  for (size_t i = 0; i < pending.size(); ++i) {
    char c = pending[i];
    if (c != '\n' && c != '\r') {
      continue;
    }
    if (c == '\r' && i + 1 == pending.size()) {
      break;  // maybe the first half of \r\n
    }
    RETURN_IF_ERROR(on_line(std::string_view(pending).substr(start, i - start)));
    if (c == '\r' && pending[i + 1] == '\n') {
      ++i;
    }
    start = i + 1;
  }
  pending.erase(0, start);
  return OkStatus();
}

}  // namespace

Status SseParser::Feed(std::string_view bytes) {
  std::string pending = std::move(line_);
  line_.clear();
  Status status = SplitLines(pending, bytes, [&](std::string_view line) { return Line(line); });
  line_ = std::move(pending);
  return status;
}

Status SseParser::Line(std::string_view line) {
  if (line.empty()) {
    if (!has_data_) {
      current_ = {};
      return OkStatus();
    }
    SseEvent event = std::move(current_);
    current_ = {};
    has_data_ = false;
    return handler_(event);
  }
  if (line.front() == ':') {
    return OkStatus();  // a comment: keep-alive
  }
  size_t colon = line.find(':');
  std::string_view field = line.substr(0, colon);
  std::string_view value = colon == std::string_view::npos ? "" : line.substr(colon + 1);
  if (!value.empty() && value.front() == ' ') {
    value.remove_prefix(1);
  }
  if (field == "data") {
    if (has_data_) {
      current_.data += '\n';
    }
    current_.data.append(value);
    has_data_ = true;
  } else if (field == "event") {
    current_.event = std::string(value);
  }
  return OkStatus();
}

Status LineSplitter::Feed(std::string_view bytes) {
  return SplitLines(line_, bytes, [&](std::string_view line) -> Status {
    if (line.find_first_not_of(" \t") == std::string_view::npos) {
      return OkStatus();
    }
    return handler_(line);
  });
}

Status LineSplitter::Finish() {
  std::string last = std::move(line_);
  line_.clear();
  if (last.find_first_not_of(" \t\r") == std::string::npos) {
    return OkStatus();
  }
  return handler_(last);
}

}  // namespace warden::llm
