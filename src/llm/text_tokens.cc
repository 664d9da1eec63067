// Detectors for the formats built from a model's special tokens: DeepSeek, Kimi K2, gpt-oss
// harmony, Granite, LFM2, FunctionGemma, Mistral and Llama's <|python_tag|>.
#include <algorithm>
#include <string>
#include <utility>

#include "llm/text_scan.h"

namespace warden::llm::text_scan {
namespace {

constexpr size_t kNpos = std::string_view::npos;

// DeepSeek's tokens are written with the full-width bar (U+FF5C) and U+2581 for spaces; some
// decoders turn the bars into ASCII ones.
Match FindDeepSeek(std::string_view text, size_t from, std::string_view word) {
  std::string wide = "<｜" + std::string(word) + "｜>";
  std::string ascii = "<|" + std::string(word) + "|>";
  return FindAny(text, from, {wide, ascii});
}

Match Earliest(const Match& a, const Match& b) {
  if (!a.found()) {
    return b;
  }
  return b.found() && b.pos < a.pos ? b : a;
}

Candidate ReadDeepSeekCall(std::string_view body, size_t begin, size_t end) {
  Match sep = FindDeepSeek(body, 0, "tool▁sep");
  if (!sep.found()) {
    return ErrorCandidate(begin, end, "deepseek", "there is no <｜tool▁sep｜> in the call");
  }
  std::string_view left = Trim(body.substr(0, sep.pos));
  std::string_view right = body.substr(sep.end());
  if (left == "function") {
    // V3 and R1: "function", the separator, the name, then the arguments in a ```json fence.
    size_t name_end = right.find_first_of("\n`{");
    std::string_view args = name_end == kNpos ? std::string_view() : right.substr(name_end);
    return JsonArgsCall(begin, end, "deepseek-v3", right.substr(0, name_end), args);
  }
  // V3.1: the name, the separator, the JSON arguments.
  return JsonArgsCall(begin, end, "deepseek-v31", left, right);
}

// The name in a Kimi call id: functions.NAME:0.
std::string KimiName(std::string_view id) {
  if (id.starts_with("functions.")) {
    id.remove_prefix(10);
  }
  size_t colon = id.rfind(':');
  if (colon != kNpos && id.find_first_not_of("0123456789", colon + 1) == kNpos) {
    id = id.substr(0, colon);
  }
  return std::string(id);
}

// Where a harmony message header starts: at its <|start|>, or its <|channel|> when the start was
// consumed by the server, but never before the end of the previous message.
size_t HarmonyHeaderStart(std::string_view text, size_t at) {
  size_t floor = 0;
  for (std::string_view token : {"<|message|>", "<|end|>", "<|call|>", "<|return|>"}) {
    size_t pos = text.rfind(token, at);
    if (pos != kNpos) {
      floor = std::max(floor, pos + token.size());
    }
  }
  for (std::string_view token : {"<|start|>", "<|channel|>"}) {
    size_t pos = text.rfind(token, at);
    if (pos != kNpos && pos >= floor) {
      return pos;
    }
  }
  return at;
}

// Mistral v11+: NAME[ARGS]{json}, the arguments starting at `args_begin`. Returns where it ended.
size_t ReadMistralArgs(std::string_view text, size_t begin, std::string_view name,
                       size_t args_begin, std::vector<Candidate>& out) {
  size_t brace = SkipSpace(text, args_begin);
  if (brace >= text.size() || text[brace] != '{') {
    size_t end = LineEnd(text, args_begin);
    out.push_back(ErrorCandidate(begin, end, "mistral-v11",
                                 "[ARGS] is not followed by a JSON object of arguments"));
    return end;
  }
  size_t end = FindJsonEnd(text, brace);
  if (end == kNpos) {
    Match next = FindAny(text, brace, {"[TOOL_CALLS]"});
    end = next.found() ? next.pos : text.size();
  }
  out.push_back(JsonArgsCall(begin, end, "mistral-v11", name, text.substr(brace, end - brace)));
  return end;
}

// What follows [TOOL_CALLS] at `m`: a JSON list of calls (pre-v11) or NAME[CALL_ID]id[ARGS]{...}.
size_t ReadAfterToolCalls(const ScanContext& ctx, const Match& m, std::vector<Candidate>& out) {
  std::string_view text = ctx.text();
  size_t after = SkipSpace(text, m.end());
  if (after < text.size() && (text[after] == '[' || text[after] == '{')) {
    Match next = FindAny(text, after, {"[TOOL_CALLS]"});
    size_t limit = next.found() ? next.pos : text.size();
    size_t json_end = FindJsonEnd(text.substr(0, limit), after);
    size_t end = json_end == kNpos ? limit : json_end;
    std::string error = ReadCallList(text.substr(after, end - after), Proto(m.pos, end, "mistral"),
                                     ctx.tools(), out);
    if (!error.empty()) {
      out.push_back(ErrorCandidate(m.pos, end, "mistral", "after [TOOL_CALLS]: " + error));
    }
    return end;
  }
  size_t name_end = after;
  while (name_end < text.size() && IsNameChar(text[name_end])) {
    ++name_end;
  }
  size_t p = name_end;
  if (text.substr(p).starts_with("[CALL_ID]")) {
    for (p += 9; p < text.size() && IsNameChar(text[p]);) {
      ++p;
    }
  }
  if (name_end == after || !text.substr(p).starts_with("[ARGS]")) {
    size_t end = LineEnd(text, m.end());
    out.push_back(ErrorCandidate(m.pos, end, "mistral",
                                 "[TOOL_CALLS] is followed by neither a JSON list of calls nor "
                                 "NAME[ARGS]{...}"));
    return end;
  }
  return ReadMistralArgs(text, m.pos, text.substr(after, name_end - after), p + 6, out);
}

}  // namespace

std::string QuotedArgsToJson(std::string_view args, std::string_view quote) {
  std::string out;
  size_t pos = 0;
  while (pos < args.size()) {
    size_t open = args.find(quote, pos);
    if (open == kNpos) {
      out.append(args.substr(pos));
      break;
    }
    out.append(args.substr(pos, open - pos));
    size_t close = args.find(quote, open + quote.size());
    size_t value_end = close == kNpos ? args.size() : close;
    std::string_view value = args.substr(open + quote.size(), value_end - open - quote.size());
    out += json::serialize(json::string(value));
    pos = close == kNpos ? args.size() : close + quote.size();
  }
  return out;
}

void FindDeepSeekCalls(const ScanContext& ctx, std::vector<Candidate>& out) {
  std::string_view text = ctx.text();
  // R1's template sometimes prints the section opener without "begin".
  for (std::string_view word : {"tool▁calls▁begin", "tool▁calls", "tool▁calls▁end"}) {
    for (Match m = FindDeepSeek(text, 0, word); m.found(); m = FindDeepSeek(text, m.end(), word)) {
      out.push_back(MarkupCandidate(m.pos, m.end()));
    }
  }
  for (Match m = FindDeepSeek(text, 0, "tool▁call▁begin"); m.found();) {
    Match close = FindDeepSeek(text, m.end(), "tool▁call▁end");
    Match next = FindDeepSeek(text, m.end(), "tool▁call▁begin");
    Match stop = Earliest(close, Earliest(next, FindDeepSeek(text, m.end(), "tool▁calls▁end")));
    size_t body_end = stop.found() ? stop.pos : text.size();
    size_t end = stop.found() && stop.pos == close.pos ? close.end() : body_end;
    out.push_back(ReadDeepSeekCall(text.substr(m.end(), body_end - m.end()), m.pos, end));
    m = next.found() && next.pos >= end ? next : FindDeepSeek(text, end, "tool▁call▁begin");
  }
}

void FindKimiCalls(const ScanContext& ctx, std::vector<Candidate>& out) {
  std::string_view text = ctx.text();
  for (std::string_view token : {"<|tool_calls_section_begin|>", "<|tool_calls_section_end|>"}) {
    for (size_t pos = text.find(token); pos != kNpos; pos = text.find(token, pos + 1)) {
      out.push_back(MarkupCandidate(pos, pos + token.size()));
    }
  }
  constexpr std::string_view kBegin = "<|tool_call_begin|>";
  constexpr std::string_view kArgs = "<|tool_call_argument_begin|>";
  for (size_t pos = text.find(kBegin); pos != kNpos;) {
    Match stop = FindAny(text, pos + kBegin.size(),
                         {"<|tool_call_end|>", kBegin, "<|tool_calls_section_end|>"});
    size_t body_end = stop.found() ? stop.pos : text.size();
    size_t end = Is(text, stop, "<|tool_call_end|>") ? stop.end() : body_end;
    std::string_view body = text.substr(pos + kBegin.size(), body_end - pos - kBegin.size());
    size_t args = body.find(kArgs);
    if (args == kNpos) {
      out.push_back(ErrorCandidate(pos, end, "kimi-k2",
                                   "there is no <|tool_call_argument_begin|> after the call id"));
    } else {
      out.push_back(JsonArgsCall(pos, end, "kimi-k2", KimiName(Trim(body.substr(0, args))),
                                 body.substr(args + kArgs.size())));
    }
    pos = text.find(kBegin, end);
  }
}

void FindHarmonyCalls(const ScanContext& ctx, std::vector<Candidate>& out) {
  std::string_view text = ctx.text();
  constexpr std::string_view kTo = "to=functions.";
  constexpr std::string_view kMessage = "<|message|>";
  for (size_t pos = text.find(kTo); pos != kNpos;) {
    size_t name_begin = pos + kTo.size();
    size_t name_end = name_begin;
    while (name_end < text.size() && IsNameChar(text[name_end])) {
      ++name_end;
    }
    std::string name(text.substr(name_begin, name_end - name_begin));
    size_t begin = HarmonyHeaderStart(text, pos);
    size_t message = text.find(kMessage, name_end);
    size_t next_call = text.find(kTo, name_end);
    if (message == kNpos || next_call < message) {
      size_t end = LineEnd(text, name_end);
      out.push_back(ErrorCandidate(begin, end, "harmony",
                                   "the call to " + name + " has no <|message|> with arguments"));
      pos = text.find(kTo, std::max(end, name_end));
      continue;
    }
    size_t body_begin = message + kMessage.size();
    Match stop = FindAny(text, body_begin, {"<|call|>", "<|end|>", "<|return|>", "<|start|>"});
    size_t body_end = stop.found() ? stop.pos : text.size();
    size_t end = stop.found() && !Is(text, stop, "<|start|>") ? stop.end() : body_end;
    out.push_back(
        JsonArgsCall(begin, end, "harmony", name, text.substr(body_begin, body_end - body_begin)));
    pos = text.find(kTo, end);
  }
}

void FindGraniteCalls(const ScanContext& ctx, std::vector<Candidate>& out) {
  std::string_view text = ctx.text();
  constexpr std::string_view kTag = "<|tool_call|>";
  for (size_t pos = text.find(kTag); pos != kNpos;) {
    size_t after = pos + kTag.size();
    Match next = FindAny(text, after, {kTag});
    size_t limit = next.found() ? next.pos : text.size();
    size_t json_end = FindJsonEnd(text, SkipSpace(text, after));
    size_t end = json_end == kNpos || json_end > limit ? limit : json_end;
    Candidate proto = Proto(pos, end, "granite");
    std::string error = ReadCallList(text.substr(after, end - after), proto, ctx.tools(), out);
    if (!error.empty()) {
      out.push_back(ErrorCandidate(pos, end, "granite", "after <|tool_call|>: " + error));
    }
    pos = text.find(kTag, end);
  }
}

void FindLfm2Calls(const ScanContext& ctx, std::vector<Candidate>& out) {
  std::string_view text = ctx.text();
  constexpr std::string_view kStart = "<|tool_call_start|>";
  constexpr std::string_view kEnd = "<|tool_call_end|>";
  for (size_t pos = text.find(kStart); pos != kNpos;) {
    size_t after = pos + kStart.size();
    size_t close = text.find(kEnd, after);
    size_t body_end = close == kNpos ? text.size() : close;
    size_t end = close == kNpos ? text.size() : close + kEnd.size();
    Candidate proto = Proto(pos, end, "lfm2");
    std::string error = ReadCallList(text.substr(after, body_end - after), proto, ctx.tools(), out);
    if (!error.empty()) {
      out.push_back(ErrorCandidate(pos, end, "lfm2", "in <|tool_call_start|>: " + error));
    }
    pos = text.find(kStart, end);
  }
}

void FindFunctionGemmaCalls(const ScanContext& ctx, std::vector<Candidate>& out) {
  std::string_view text = ctx.text();
  constexpr std::string_view kStart = "<start_function_call>";
  constexpr std::string_view kEnd = "<end_function_call>";
  for (size_t pos = text.find(kStart); pos != kNpos;) {
    size_t after = pos + kStart.size();
    size_t close = text.find(kEnd, after);
    size_t end = close == kNpos ? text.size() : close + kEnd.size();
    std::string_view body =
        Trim(text.substr(after, (close == kNpos ? text.size() : close) - after));
    if (body.starts_with("call:")) {
      body.remove_prefix(5);
    }
    size_t brace = body.find('{');
    std::string_view name = body.substr(0, brace);
    if (Trim(name).empty()) {
      out.push_back(ErrorCandidate(pos, end, "functiongemma", "the call names no function"));
    } else {
      std::string args = brace == kNpos ? "" : QuotedArgsToJson(body.substr(brace), "<escape>");
      out.push_back(JsonArgsCall(pos, end, "functiongemma", name, args));
    }
    pos = text.find(kStart, end);
  }
}

void FindMistralCalls(const ScanContext& ctx, std::vector<Candidate>& out) {
  std::string_view text = ctx.text();
  for (size_t pos = 0;;) {
    Match m = FindAny(text, pos, {"[TOOL_CALLS]", "[ARGS]"});
    if (!m.found()) {
      return;
    }
    if (Is(text, m, "[TOOL_CALLS]")) {
      pos = ReadAfterToolCalls(ctx, m, out);
      continue;
    }
    // NAME[ARGS]{...} whose [TOOL_CALLS] the decoder dropped.
    size_t name_begin = m.pos;
    while (name_begin > 0 && IsNameChar(text[name_begin - 1])) {
      --name_begin;
    }
    if (name_begin == m.pos) {
      pos = m.end();
      continue;
    }
    pos = ReadMistralArgs(text, name_begin, text.substr(name_begin, m.pos - name_begin), m.end(),
                          out);
  }
}

void FindPythonTagCalls(const ScanContext& ctx, std::vector<Candidate>& out) {
  std::string_view text = ctx.text();
  constexpr std::string_view kTag = "<|python_tag|>";
  for (size_t pos = text.find(kTag); pos != kNpos;) {
    size_t after = pos + kTag.size();
    Match stop = FindAny(text, after, {"<|eom_id|>", "<|eot_id|>", kTag});
    size_t body_end = stop.found() ? stop.pos : text.size();
    size_t end = stop.found() && !Is(text, stop, kTag) ? stop.end() : body_end;
    Candidate proto = Proto(pos, end, "llama-python-tag");
    std::string error = ReadCallList(text.substr(after, body_end - after), proto, ctx.tools(), out);
    if (!error.empty()) {
      out.push_back(ErrorCandidate(pos, end, "llama-python-tag", "after <|python_tag|>: " + error));
    }
    pos = text.find(kTag, end);
  }
}

}  // namespace warden::llm::text_scan
