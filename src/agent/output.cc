#include "agent/output.h"

#include "base/base64.h"
#include "base/utf8.h"

namespace warden::agent {
namespace {

std::string_view StreamName(sandbox::Stream stream) {
  return stream == sandbox::Stream::kStdout ? "stdout" : "stderr";
}

size_t StreamIndex(sandbox::Stream stream) {
  return stream == sandbox::Stream::kStdout ? 0 : 1;
}

}  // namespace

json::object OutputEventData(int64_t step, sandbox::Stream stream, std::string_view bytes) {
  json::object data{{"step", step}, {"stream", StreamName(stream)}, {"text", bytes}};
  EncodeOutputText(data);
  return data;
}

void EncodeOutputText(json::object& data) {
  json::value* text = data.if_contains("text");
  if (text == nullptr || !text->is_string() || data.contains("base64") ||
      IsValidUtf8(text->get_string())) {
    return;
  }
  std::string base64 = Base64Encode(text->get_string());
  *text = ToValidUtf8(text->get_string());
  data["base64"] = base64;  // may move the object's elements: `text` is not used after
}

std::string OutputBytes(const json::object& data) {
  if (const json::value* base64 = data.if_contains("base64");
      base64 != nullptr && base64->is_string()) {
    if (std::optional<std::string> bytes = Base64Decode(base64->get_string())) {
      return std::move(*bytes);
    }
  }
  const json::value* text = data.if_contains("text");
  return text != nullptr && text->is_string() ? std::string(text->get_string()) : std::string();
}

std::optional<json::object> OutputEncoder::Add(sandbox::Stream stream, std::string_view bytes) {
  std::string& held = held_[StreamIndex(stream)];
  std::string joined;
  if (!held.empty()) {
    joined = std::move(held);
    held.clear();
    joined.append(bytes);
    bytes = joined;
  }
  size_t keep = Utf8UnfinishedTail(bytes);
  held.assign(bytes.substr(bytes.size() - keep));
  bytes.remove_suffix(keep);
  if (bytes.empty()) {
    return std::nullopt;
  }
  return OutputEventData(step_, stream, bytes);
}

std::vector<json::object> OutputEncoder::Finish() {
  std::vector<json::object> events;
  for (sandbox::Stream stream : {sandbox::Stream::kStdout, sandbox::Stream::kStderr}) {
    std::string& held = held_[StreamIndex(stream)];
    if (!held.empty()) {
      events.push_back(OutputEventData(step_, stream, held));
      held.clear();
    }
  }
  return events;
}

}  // namespace warden::agent
