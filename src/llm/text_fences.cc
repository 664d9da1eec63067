// Detectors for calls written as Markdown or as bare text: fenced code blocks, Python-style lists
// of calls, JSON call objects in prose, and, last, opening markers that nothing could read.
#include <algorithm>
#include <optional>
#include <string>
#include <utility>

#include "llm/json_repair.h"
#include "llm/text_scan.h"

namespace warden::llm::text_scan {
namespace {

constexpr size_t kNpos = std::string_view::npos;

// Past this many '{' that open no call, the bare-JSON scan stops: each one may be measured to the
// end of the text, and a reply full of braces is no call anyway.
constexpr int kMaxBareJsonAttempts = 100;

struct Fence {
  size_t begin = 0;  // start of the opening line
  size_t body_begin = 0;
  size_t body_end = 0;
  size_t end = 0;  // past the closing line, or the text's end when it never closes
  std::string lang;
};

bool IsOneOf(std::string_view word, std::initializer_list<std::string_view> words) {
  for (std::string_view w : words) {
    if (word == w) {
      return true;
    }
  }
  return false;
}

bool IsShellLang(std::string_view lang) {
  return IsOneOf(lang, {"bash", "sh", "shell", "console", "zsh", "shell-session", "shellscript"});
}

bool IsPythonLang(std::string_view lang) {
  return IsOneOf(lang, {"python", "py", "python3", "ipython"});
}

// Languages a model labels a JSON call with, the empty label included.
bool IsJsonLang(std::string_view lang) {
  return IsOneOf(lang, {"", "json", "jsonc", "json5", "tool_call", "tool_calls", "function_call"});
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return out;
}

// The first word of a fence's info string: "bash" in ```bash title="x".
std::string FirstWord(std::string_view info) {
  return Lower(info.substr(0, info.find_first_of(" \t{")));
}

// A fence opened and closed on one line: ```bash ls -la```. Only taken for a language tag.
std::optional<Fence> OneLineFence(std::string_view text, size_t line_begin, size_t info_begin,
                                  size_t line_end, size_t ticks) {
  std::string_view line = Trim(text.substr(info_begin, line_end - info_begin));
  std::string closing(ticks, '`');
  if (!line.ends_with(closing)) {
    return std::nullopt;
  }
  Fence f;
  f.begin = line_begin;
  f.lang = FirstWord(line);
  size_t lang_end = text.find_first_of(" \t", SkipSpace(text, info_begin));
  if (f.lang.empty() || lang_end == kNpos || lang_end >= line_end) {
    return std::nullopt;
  }
  f.body_begin = SkipSpace(text, lang_end);
  f.body_end = text.rfind(closing, line_end);
  while (f.body_end > f.body_begin &&
         (text[f.body_end - 1] == ' ' || text[f.body_end - 1] == '\t')) {
    --f.body_end;
  }
  f.end = line_end < text.size() ? line_end + 1 : line_end;
  return f;
}

// The fenced block whose opening line starts at `line_begin`, if there is one. Closing follows
// CommonMark: a line of at least as many of the same fence characters and nothing else, so a
// ``` inside a string on a code line does not close the block.
std::optional<Fence> ReadFence(std::string_view text, size_t line_begin) {
  size_t p = line_begin;
  while (p < text.size() && (text[p] == ' ' || text[p] == '\t')) {
    ++p;
  }
  char mark = p < text.size() ? text[p] : '\0';
  if (mark != '`' && mark != '~') {
    return std::nullopt;
  }
  size_t ticks = std::min(text.find_first_not_of(mark, p), text.size()) - p;
  if (ticks < 3) {
    return std::nullopt;
  }
  size_t line_end = LineEnd(text, p);
  std::string_view info = Trim(text.substr(p + ticks, line_end - p - ticks));
  if (mark == '`' && info.find('`') != kNpos) {
    return OneLineFence(text, line_begin, p + ticks, line_end, ticks);
  }
  Fence f;
  f.begin = line_begin;
  f.lang = FirstWord(info);
  f.body_begin = line_end < text.size() ? line_end + 1 : line_end;
  f.body_end = f.end = text.size();
  for (size_t line = f.body_begin; line < text.size(); line = LineEnd(text, line) + 1) {
    std::string_view content = Trim(text.substr(line, LineEnd(text, line) - line));
    if (content.size() >= ticks && content.find_first_not_of(mark) == kNpos) {
      f.body_end = line;
      f.end = std::min(LineEnd(text, line) + 1, text.size());
      break;
    }
  }
  return f;
}

// A shell block's command. A block that shows a session (a console block, or one starting with a
// `$ ` prompt) keeps only the prompted lines, without the prompt: the rest is output.
std::string ShellCommand(std::string_view body, std::string_view lang) {
  bool session = lang == "console" || lang == "shell-session" || Trim(body).starts_with("$ ");
  std::string prompted;
  for (size_t line = 0; session && line < body.size(); line = LineEnd(body, line) + 1) {
    std::string_view content = Trim(body.substr(line, LineEnd(body, line) - line));
    if (content.starts_with("$ ")) {
      prompted += prompted.empty() ? "" : "\n";
      prompted += content.substr(2);
    }
  }
  return prompted.empty() ? std::string(body) : prompted;
}

void ClassifyFence(const ScanContext& ctx, const Fence& f, std::vector<Candidate>& out) {
  std::string_view text = ctx.text();
  std::string_view body = TrimOneNewline(text.substr(f.body_begin, f.body_end - f.body_begin));
  Candidate c;
  c.begin = f.begin;
  c.end = f.end;
  if (IsShellLang(f.lang) || IsPythonLang(f.lang)) {
    bool shell = IsShellLang(f.lang);
    if (Trim(body).empty()) {
      c.kind = SpanKind::kInert;
    } else if (shell) {
      c.format = "fenced-bash";
      c.name = "run_shell";
      c.arguments["command"] = ShellCommand(body, f.lang);
    } else {
      c.format = "fenced-python";
      c.name = "run_python";
      c.arguments["code"] = body;
    }
    out.push_back(std::move(c));
    return;
  }
  if (f.lang == "tool_code") {
    c.format = "tool-code";
    std::string error = ReadCallList(body, c, ctx.tools(), out);
    if (!error.empty()) {
      out.push_back(ErrorCandidate(f.begin, f.end, "tool-code", "in ```tool_code: " + error));
    }
    return;
  }
  std::string_view t = Trim(body);
  if (IsJsonLang(f.lang) && (t.starts_with('{') || t.starts_with('['))) {
    c.format = "fenced-json";
    Result<json::value> parsed = ParseLenientJson(t);
    if (parsed.ok() && CallsFromJson(*parsed, c, ctx.tools(), JsonPlace::kProse, out)) {
      return;
    }
    if (!parsed.ok() && LooksLikeJsonCall(t)) {
      out.push_back(
          ErrorCandidate(f.begin, f.end, "fenced-json",
                         "the JSON call is not valid (" + parsed.error().message() + ")"));
      return;
    }
  }
  c.kind = SpanKind::kInert;  // Example output, a diff, data: prose, and no call inside.
  out.push_back(std::move(c));
}

// The identifier written right before `pos` with nothing between: Mistral's name{...}.
std::string_view NameBefore(std::string_view text, size_t pos) {
  size_t begin = pos;
  while (begin > 0 && IsNameChar(text[begin - 1])) {
    --begin;
  }
  return text.substr(begin, pos - begin);
}

// Looks at the JSON value opening at `pos`; appends what it holds and returns where the scan goes
// on, or returns kNpos when it is no call.
size_t TryBareJson(const ScanContext& ctx, size_t pos, std::vector<Candidate>& out) {
  std::string_view text = ctx.text();
  size_t end = FindJsonEnd(text, pos);
  end = end == kNpos ? text.size() : end;
  std::string_view span = text.substr(pos, end - pos);
  Result<json::value> parsed = ParseLenientJson(span);
  if (!parsed.ok()) {
    if (!LooksLikeJsonCall(span)) {
      return kNpos;
    }
    out.push_back(ErrorCandidate(pos, end, "json",
                                 "the JSON call is not valid (" + parsed.error().message() + ")"));
    return end;
  }
  std::string_view name = NameBefore(text, pos);
  if (!name.empty() && parsed->is_object() && FindTool(name, ctx.tools()) != nullptr) {
    Candidate c;
    c.begin = pos - name.size();
    c.end = end;
    c.format = "mistral-bare";
    c.name = std::string(name);
    c.arguments = parsed->get_object();
    out.push_back(std::move(c));
    return end;
  }
  bool llama = parsed->is_object() && parsed->get_object().contains("parameters");
  Candidate proto = Proto(pos, end, llama ? "llama-json" : "json");
  if (CallsFromJson(*parsed, proto, ctx.tools(), JsonPlace::kProse, out)) {
    return end;
  }
  // Data, not a call: skip all of it so that no object nested inside is taken for one.
  return text[pos] == '{' ? end : kNpos;
}

// The name of a call at `pos` (NAME directly followed by '('), or "".
std::string_view CallNameAt(std::string_view text, size_t pos) {
  size_t end = pos;
  while (end < text.size() && IsNameChar(text[end])) {
    ++end;
  }
  if (end == pos || end >= text.size() || text[end] != '(') {
    return {};
  }
  return text.substr(pos, end - pos);
}

// Whether only spaces stand between the start of its line and `pos`.
bool StartsLine(std::string_view text, size_t pos) {
  while (pos > 0 && (text[pos - 1] == ' ' || text[pos - 1] == '\t')) {
    --pos;
  }
  return pos == 0 || text[pos - 1] == '\n';
}

// [f(a=1), g()] at `pos`: appends its calls and returns where the scan goes on, or returns kNpos
// when it is no call list.
size_t TryPythonicList(const ScanContext& ctx, size_t pos, std::vector<Candidate>& out) {
  std::string_view text = ctx.text();
  std::string_view first = CallNameAt(text, SkipSpace(text, pos + 1));
  if (first.empty()) {
    return kNpos;
  }
  bool known = FindTool(first, ctx.tools()) != nullptr;
  Result<PyCallList> list = ParsePythonicCalls(text.substr(pos));
  if (!list.ok()) {
    if (!known) {
      return kNpos;
    }
    // [run_shell(command="ls" with no end: clearly meant as a call.
    out.push_back(
        ErrorCandidate(pos, text.size(), "pythonic",
                       "the Python-style call list is not valid (" + list.error().message() + ")"));
    return text.size();
  }
  // A list naming no offered tool is taken only when it is the whole reply: in prose, "[see(1)]"
  // is more likely text than a call.
  for (const PyCall& call : list->calls) {
    known = known || FindTool(call.name, ctx.tools()) != nullptr;
  }
  if (!known && Trim(text) != Trim(text.substr(pos, list->end))) {
    return kNpos;
  }
  AppendPyCalls(*list, Proto(pos, pos + list->end, "pythonic"), out);
  return pos + list->end;
}

// A call of an offered tool alone on its line, as Llama 3.2 sometimes prints it without the list
// brackets: run_shell(command="ls").
size_t TryBareCall(const ScanContext& ctx, size_t pos, std::vector<Candidate>& out) {
  std::string_view text = ctx.text();
  std::string_view name = CallNameAt(text, pos);
  if (name.empty() || FindTool(name, ctx.tools()) == nullptr) {
    return kNpos;
  }
  Result<PyCallList> call = ParsePythonicCall(text.substr(pos));
  if (!call.ok()) {
    return kNpos;
  }
  size_t end = pos + call->end;
  if (!Trim(text.substr(end, LineEnd(text, end) - end)).empty()) {
    return kNpos;
  }
  AppendPyCalls(*call, Proto(pos, end, "pythonic"), out);
  return end;
}

}  // namespace

void FindFencedBlocks(const ScanContext& ctx, std::vector<Candidate>& out) {
  std::string_view text = ctx.text();
  for (size_t line = 0; line < text.size();) {
    std::optional<Fence> fence = ReadFence(text, line);
    if (!fence) {
      line = LineEnd(text, line) + 1;
      continue;
    }
    // Fences inside a claimed call (DeepSeek's ```json) are paired all the same, so that their
    // closing line is not taken for an opening one.
    if (ctx.IsFree(fence->begin, fence->end)) {
      ClassifyFence(ctx, *fence, out);
    }
    line = fence->end > line ? fence->end : LineEnd(text, line) + 1;
  }
}

void FindPythonicLists(const ScanContext& ctx, std::vector<Candidate>& out) {
  std::string_view text = ctx.text();
  for (size_t pos = ctx.SkipClaimed(0); pos < text.size(); pos = ctx.SkipClaimed(pos)) {
    size_t next = kNpos;
    if (text[pos] == '[') {
      next = TryPythonicList(ctx, pos, out);
    } else if (StartsLine(text, pos)) {
      next = TryBareCall(ctx, pos, out);
    }
    pos = next == kNpos ? pos + 1 : next;
  }
}

void FindBareJson(const ScanContext& ctx, std::vector<Candidate>& out) {
  std::string_view text = ctx.text();
  int attempts = 0;
  for (size_t pos = ctx.SkipClaimed(0); pos < text.size(); pos = ctx.SkipClaimed(pos)) {
    bool opens = text[pos] == '{' || (text[pos] == '[' && SkipSpace(text, pos + 1) < text.size() &&
                                      text[SkipSpace(text, pos + 1)] == '{');
    if (!opens) {
      ++pos;
      continue;
    }
    size_t next = TryBareJson(ctx, pos, out);
    if (next == kNpos && ++attempts > kMaxBareJsonAttempts) {
      return;
    }
    pos = next == kNpos ? pos + 1 : next;
  }
}

void FindLeftoverMarkers(const ScanContext& ctx, std::vector<Candidate>& out) {
  std::string_view text = ctx.text();
  for (std::string_view marker :
       {"<tool_call>", "<function=", "[TOOL_CALLS]", "<|python_tag|>", "<|tool_call|>",
        "<|tool_call_start|>", "<|tool_call_begin|>", "<｜tool▁call▁begin｜>", "to=functions.",
        "<minimax:tool_call>", "<invoke", "<function_calls>", "<start_function_call>",
        "<|tool_call>", "<|tools_prefix|>", "<steptml:invoke", "DSML｜invoke",
        "<function name=", "<function_call>"}) {
    for (size_t pos = text.find(marker); pos != kNpos; pos = text.find(marker, pos + 1)) {
      size_t end = std::max(LineEnd(text, pos), pos + marker.size());
      if (ctx.IsFree(pos, end)) {
        out.push_back(ErrorCandidate(
            pos, end, "marker",
            "found " + std::string(marker) + " but could not read a tool call after it"));
      }
    }
  }
}

}  // namespace warden::llm::text_scan
