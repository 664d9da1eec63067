// Detectors for Hermes-2-Pro's variants (<function name="NAME">{json}</function>, and JSON calls
// in <function_call>, <response> or <json> tags, possibly inside a ```xml or ```json
// fence) and for Functionary v3.2 (>>>NAME, then the JSON arguments or, for python, the code).
#include <string>
#include <utility>

#include "llm/text_scan.h"

namespace warden::llm::text_scan {
namespace {

constexpr size_t kNpos = std::string_view::npos;

// Widens [begin, end) over a ``` / ```xml / ```json line just before it and the ``` just after.
void WidenOverFence(std::string_view text, size_t& begin, size_t& end) {
  if (begin == 0) {
    return;
  }
  size_t last = text.find_last_not_of(" \t\r\n", begin - 1);
  if (last == kNpos) {
    return;
  }
  size_t line = text.rfind('\n', last);
  line = line == kNpos ? 0 : line + 1;
  std::string_view fence = Trim(text.substr(line, last + 1 - line));
  if (fence != "```" && fence != "```xml" && fence != "```json") {
    return;
  }
  size_t after = SkipSpace(text, end);
  if (text.substr(after).starts_with("```")) {
    begin = line;
    end = after + 3;
  }
}

// A wrapper tag and whether text in it that is no call is an error (true) or prose (false).
// <tools> is left out: models echo the tool definitions in it, which are no calls.
struct Wrapper {
  std::string_view tag;
  bool always_call;
};
constexpr Wrapper kWrappers[] = {{"function_call", true}, {"response", false}, {"json", false}};

void FindWrapped(const ScanContext& ctx, const Wrapper& w, std::vector<Candidate>& out) {
  std::string_view text = ctx.text();
  std::string open = "<" + std::string(w.tag) + ">";
  std::string close = "</" + std::string(w.tag) + ">";
  for (size_t pos = text.find(open); pos != kNpos;) {
    size_t after = pos + open.size();
    size_t stop = text.find(close, after);
    size_t body_end = stop == kNpos ? text.size() : stop;
    size_t begin = pos;
    size_t end = stop == kNpos ? text.size() : stop + close.size();
    WidenOverFence(text, begin, end);
    std::vector<Candidate> calls;
    std::string error = ReadCallList(text.substr(after, body_end - after),
                                     Proto(begin, end, "hermes"), ctx.tools(), calls);
    if (error.empty()) {
      out.insert(out.end(), calls.begin(), calls.end());
    } else if (w.always_call) {
      std::string message = "in ";
      message.append(open).append(": ").append(error);
      out.push_back(ErrorCandidate(begin, end, "hermes", std::move(message)));
    }
    pos = text.find(open, end);
  }
}

// <function name="NAME">{json}</function>.
void FindNamedFunctions(const ScanContext& ctx, std::vector<Candidate>& out) {
  std::string_view text = ctx.text();
  constexpr std::string_view kOpen = "<function name=";
  for (size_t pos = text.find(kOpen); pos != kNpos;) {
    size_t tag_end = text.find('>', pos);
    Match stop = FindAny(text, pos + 1, {"</function>", kOpen});
    size_t body_end = stop.found() ? stop.pos : text.size();
    size_t end = Is(text, stop, "</function>") ? stop.end() : body_end;
    if (tag_end == kNpos || tag_end > body_end) {
      out.push_back(ErrorCandidate(pos, end, "hermes", "the <function name=…> tag is not closed"));
    } else {
      std::string_view name = text.substr(pos + kOpen.size(), tag_end - pos - kOpen.size());
      name = Trim(name);
      if (name.size() >= 2 && (name[0] == '"' || name[0] == '\'')) {
        name = name.substr(1, name.size() - 2);
      }
      size_t begin = pos;
      WidenOverFence(text, begin, end);
      out.push_back(JsonArgsCall(begin, end, "hermes", name,
                                 text.substr(tag_end + 1, body_end - tag_end - 1)));
    }
    pos = text.find(kOpen, end);
  }
}

// The fence lines around a <tool_call> block (read by FindToolCallTags) are markup, not prose.
void FindFencedToolCallTags(const ScanContext& ctx, std::vector<Candidate>& out) {
  std::string_view text = ctx.text();
  constexpr std::string_view kClose = "</tool_call>";
  for (size_t pos = text.find("<tool_call>"); pos != kNpos; pos = text.find("<tool_call>", pos)) {
    size_t close = text.find(kClose, pos);
    if (close == kNpos) {
      return;
    }
    size_t begin = pos;
    size_t end = close + kClose.size();
    WidenOverFence(text, begin, end);
    if (begin != pos) {
      out.push_back(MarkupCandidate(begin, pos));
      out.push_back(MarkupCandidate(close + kClose.size(), end));
    }
    pos = end;
  }
}

bool IsPlainName(std::string_view s) {
  if (s.empty()) {
    return false;
  }
  for (char c : s) {
    if (!IsNameChar(c)) {
      return false;
    }
  }
  return true;
}

// One Functionary v3.2 message: NAME on [name_begin, name_end), its content up to `body_end`.
void ReadFunctionaryMessage(const ScanContext& ctx, size_t begin, size_t name_begin,
                            size_t body_end, std::vector<Candidate>& out) {
  std::string_view text = ctx.text();
  size_t name_end = std::min(LineEnd(text, name_begin), body_end);
  std::string_view name = text.substr(name_begin, name_end - name_begin);
  std::string_view body = Trim(text.substr(name_end, body_end - name_end));
  if (name == "all") {  // Text for the user follows.
    out.push_back(MarkupCandidate(begin, std::min(name_end + 1, body_end)));
  } else if (body.starts_with('{') || body.empty()) {
    out.push_back(JsonArgsCall(begin, body_end, "functionary-v3.2", name, body));
  } else if (name == "python") {
    Candidate c = Proto(begin, body_end, "functionary-v3.2");
    c.name = "python";
    c.arguments["code"] = body;
    out.push_back(std::move(c));
  } else {
    out.push_back(
        ErrorCandidate(begin, body_end, "functionary-v3.2",
                       "after >>>" + std::string(name) + " the arguments must be a JSON object"));
  }
}

}  // namespace

void FindHermesVariants(const ScanContext& ctx, std::vector<Candidate>& out) {
  FindNamedFunctions(ctx, out);
  FindFencedToolCallTags(ctx, out);
  for (const Wrapper& w : kWrappers) {
    FindWrapped(ctx, w, out);
  }
}

void FindFunctionaryCalls(const ScanContext& ctx, std::vector<Candidate>& out) {
  std::string_view text = ctx.text();
  std::vector<size_t> headers;  // where each ">>>NAME" line starts
  for (size_t pos = text.find(">>>"); pos != kNpos; pos = text.find(">>>", pos + 3)) {
    bool line_start = pos == 0 || text[pos - 1] == '\n';
    if (line_start && IsPlainName(text.substr(pos + 3, LineEnd(text, pos + 3) - pos - 3))) {
      headers.push_back(pos);
    }
  }
  // The template prints the first ">>>" before the reply begins: the reply may start at NAME.
  std::string_view first = text.substr(0, LineEnd(text, 0));
  bool bare_first = !text.starts_with(">>>") && IsPlainName(first) &&
                    (first == "all" || (FindTool(first, ctx.tools()) != nullptr &&
                                        Trim(text.substr(first.size())).starts_with('{')));
  if (bare_first) {
    ReadFunctionaryMessage(ctx, 0, 0, headers.empty() ? text.size() : headers[0], out);
  }
  for (size_t i = 0; i < headers.size(); ++i) {
    size_t body_end = i + 1 < headers.size() ? headers[i + 1] : text.size();
    ReadFunctionaryMessage(ctx, headers[i], headers[i] + 3, body_end, out);
  }
}

}  // namespace warden::llm::text_scan
