// Detectors for the XML-ish formats: <tool_call> (Hermes/Qwen JSON, Qwen3-Coder parameters, GLM
// arg_key/arg_value), <function=NAME> (Llama/Functionary JSON, OpenHands parameters), <invoke>
// (MiniMax, Claude-style) and the <function_calls> wrapper (Claude-style, or Olmo's Python lines).
#include <string>
#include <utility>

#include "llm/text_scan.h"

namespace warden::llm::text_scan {
namespace {

constexpr size_t kNpos = std::string_view::npos;

std::string_view Unquote(std::string_view s) {
  s = Trim(s);
  if (s.size() >= 2 && (s[0] == '"' || s[0] == '\'') && s.back() == s[0]) {
    return s.substr(1, s.size() - 2);
  }
  return s;
}

// The value of name="..." in a tag's attributes (quotes optional).
std::string_view NameAttribute(std::string_view attrs) {
  size_t at = attrs.find("name=");
  if (at == kNpos) {
    return {};
  }
  std::string_view rest = attrs.substr(at + 5);
  if (!rest.empty() && (rest[0] == '"' || rest[0] == '\'')) {
    size_t close = rest.find(rest[0], 1);
    return rest.substr(1, close == kNpos ? kNpos : close - 1);
  }
  return rest.substr(0, rest.find_first_of(" \t/>"));
}

// <parameter=K>V</parameter> (Qwen3-Coder, OpenHands) and <parameter name="K">V</parameter>
// (MiniMax, Claude-style). Values are raw text with one newline trimmed at each end; the schema
// check later turns "5" into 5 where an integer is wanted. A missing </parameter> ends the value
// at the next tag, since models drop it often.
bool ReadXmlParameters(std::string_view body, json::object& params, std::string& error) {
  constexpr std::string_view kOpen = "<parameter";
  for (size_t pos = body.find(kOpen); pos != kNpos; pos = body.find(kOpen, pos)) {
    size_t tag_end = body.find('>', pos);
    if (tag_end == kNpos) {
      error = "a <parameter> tag is not closed with '>'";
      return false;
    }
    std::string_view attrs = Trim(body.substr(pos + kOpen.size(), tag_end - pos - kOpen.size()));
    std::string_view key = attrs.starts_with('=') ? Unquote(attrs.substr(1)) : NameAttribute(attrs);
    if (key.empty()) {
      error = "a <parameter> tag has no name";
      return false;
    }
    Match stop = FindAny(body, tag_end + 1, {"</parameter>", kOpen, "</function>", "</invoke>"});
    size_t value_end = stop.found() ? stop.pos : body.size();
    params[key] = TrimOneNewline(body.substr(tag_end + 1, value_end - tag_end - 1));
    pos = body.substr(value_end).starts_with("</parameter>") ? stop.end() : value_end;
  }
  return true;
}

// Reads <function=NAME>…</function> starting at `at`, looking no further than `limit`; `end` is set
// past it. The body is either a JSON object (Llama 3.1, Functionary) or parameter tags.
Candidate ReadFunctionTag(std::string_view text, size_t at, size_t limit, std::string format,
                          size_t& end) {
  constexpr std::string_view kOpen = "<function=";
  std::string_view window = text.substr(0, limit);
  size_t name_end = window.find('>', at);
  if (name_end == kNpos) {
    end = LineEnd(window, at);
    return ErrorCandidate(at, end, format, "the <function=…> tag is not closed with '>'");
  }
  std::string name(Unquote(window.substr(at + kOpen.size(), name_end - at - kOpen.size())));
  Match close = FindAny(window, name_end + 1, {"</function>", kOpen});
  size_t body_end = close.found() ? close.pos : limit;
  end = close.found() && window[close.pos + 1] == '/' ? close.end() : body_end;
  std::string_view body = window.substr(name_end + 1, body_end - name_end - 1);
  if (Trim(body).starts_with('{')) {
    return JsonArgsCall(at, end, "llama-function", name, body);
  }
  Candidate c;
  c.begin = at;
  c.end = end;
  c.format = std::move(format);
  c.name = std::move(name);
  std::string error;
  if (!ReadXmlParameters(body, c.arguments, error)) {
    return ErrorCandidate(at, end, c.format, error);
  }
  return c;
}

// Appends every <invoke name="…">…</invoke> in [from, limit).
void ReadInvokes(std::string_view text, size_t from, size_t limit, const std::string& format,
                 std::vector<Candidate>& out) {
  constexpr std::string_view kOpen = "<invoke";
  std::string_view window = text.substr(0, limit);
  for (size_t pos = window.find(kOpen, from); pos != kNpos;) {
    size_t tag_end = window.find('>', pos);
    if (tag_end == kNpos) {
      out.push_back(ErrorCandidate(pos, limit, format, "the <invoke> tag is not closed with '>'"));
      return;
    }
    std::string name(NameAttribute(window.substr(pos, tag_end - pos)));
    Match close = FindAny(window, tag_end + 1, {"</invoke>", kOpen});
    size_t body_end = close.found() ? close.pos : limit;
    size_t end = close.found() && window[close.pos + 1] == '/' ? close.end() : body_end;
    Candidate c;
    c.begin = pos;
    c.end = end;
    c.format = format;
    c.name = name;
    std::string error;
    if (name.empty()) {
      out.push_back(ErrorCandidate(pos, end, format, "the <invoke> tag has no name=\"…\""));
    } else if (!ReadXmlParameters(window.substr(tag_end + 1, body_end - tag_end - 1), c.arguments,
                                  error)) {
      out.push_back(ErrorCandidate(pos, end, format, error));
    } else {
      out.push_back(std::move(c));
    }
    pos = window.find(kOpen, end);
  }
}

// GLM 4.5+: <tool_call>NAME<arg_key>k</arg_key><arg_value>v</arg_value>…</tool_call>; `body` is
// what lies between the tags.
Candidate ReadGlmCall(std::string_view body, size_t begin, size_t end) {
  std::string_view t = Trim(body);
  size_t name_end = t.find_first_of("<{\n");
  std::string_view name = Trim(t.substr(0, name_end));
  std::string_view rest = name_end == kNpos ? std::string_view() : Trim(t.substr(name_end));
  bool plain_name = !name.empty() && name.find_first_of(" \t\"'") == kNpos;
  if (!plain_name || (!rest.empty() && !rest.starts_with('{') && !rest.starts_with("<arg_key>"))) {
    return ErrorCandidate(begin, end, "hermes",
                          "the <tool_call> block holds no JSON object {\"name\": …, "
                          "\"arguments\": …}, no <function=NAME> and no NAME<arg_key>…");
  }
  if (rest.starts_with('{')) {
    return JsonArgsCall(begin, end, "glm", name, rest);
  }
  Candidate c;
  c.begin = begin;
  c.end = end;
  c.format = "glm";
  c.name = std::string(name);
  for (size_t pos = rest.find("<arg_key>"); pos != kNpos; pos = rest.find("<arg_key>", pos)) {
    size_t key_end = rest.find("</arg_key>", pos);
    size_t value_at = rest.find("<arg_value>", pos);
    if (key_end == kNpos || value_at == kNpos || value_at < key_end) {
      return ErrorCandidate(begin, end, "glm", "an <arg_key> has no </arg_key> and <arg_value>");
    }
    size_t value_begin = value_at + 11;
    Match stop = FindAny(rest, value_begin, {"</arg_value>", "<arg_key>"});
    size_t value_end = stop.found() ? stop.pos : rest.size();
    std::string_view key = Trim(rest.substr(pos + 9, key_end - pos - 9));
    if (key.empty()) {
      return ErrorCandidate(begin, end, "glm", "an <arg_key> is empty");
    }
    c.arguments[key] = TrimOneNewline(rest.substr(value_begin, value_end - value_begin));
    pos = value_end;
  }
  return c;
}

// The calls inside <tool_call>…</tool_call>, which several families share. Every call found gets
// the span of the whole block.
void ReadToolCallBody(const ScanContext& ctx, size_t begin, size_t body_begin, size_t body_end,
                      size_t end, std::vector<Candidate>& out) {
  std::string_view body = ctx.text().substr(body_begin, body_end - body_begin);
  std::string_view t = Trim(body);
  std::vector<Candidate> calls;
  if (t.starts_with('{') || t.starts_with('[') || t.starts_with("```")) {
    Candidate proto = Proto(begin, end, "hermes");
    std::string error = ReadCallList(t, proto, ctx.tools(), calls);
    if (!error.empty()) {
      calls.push_back(ErrorCandidate(begin, end, "hermes", "in <tool_call>: " + error));
    }
  } else if (t.find("<function=") != kNpos) {
    for (size_t pos = body.find("<function="); pos != kNpos; pos = body.find("<function=", pos)) {
      size_t fn_end = 0;
      calls.push_back(ReadFunctionTag(ctx.text(), body_begin + pos, body_end, "qwen3-xml", fn_end));
      pos = fn_end - body_begin;
    }
  } else if (t.find("<invoke") != kNpos) {
    ReadInvokes(ctx.text(), body_begin, body_end, "invoke", calls);
  } else if (t.empty()) {
    calls.push_back(ErrorCandidate(begin, end, "hermes", "the <tool_call> block is empty"));
  } else {
    calls.push_back(ReadGlmCall(body, begin, end));
  }
  for (Candidate& c : calls) {
    c.begin = begin;
    c.end = end;
    out.push_back(std::move(c));
  }
}

}  // namespace

void FindToolCallTags(const ScanContext& ctx, std::vector<Candidate>& out) {
  std::string_view text = ctx.text();
  constexpr std::string_view kOpen = "<tool_call>";
  constexpr std::string_view kClose = "</tool_call>";
  for (size_t pos = text.find(kOpen); pos != kNpos;) {
    size_t body_begin = pos + kOpen.size();
    // A missing close tag (a common truncation) ends the block at the next one or at the end.
    Match stop = FindAny(text, body_begin, {kClose, kOpen});
    size_t body_end = stop.found() ? stop.pos : text.size();
    size_t end = stop.found() && text[stop.pos + 1] == '/' ? stop.end() : body_end;
    ReadToolCallBody(ctx, pos, body_begin, body_end, end, out);
    pos = text.find(kOpen, end);
  }
}

void FindFunctionTags(const ScanContext& ctx, std::vector<Candidate>& out) {
  std::string_view text = ctx.text();
  for (size_t pos = text.find("<function="); pos != kNpos; pos = text.find("<function=", pos)) {
    size_t end = 0;
    out.push_back(ReadFunctionTag(text, pos, text.size(), "function-xml", end));
    pos = end;
  }
}

void FindInvokes(const ScanContext& ctx, std::vector<Candidate>& out) {
  ReadInvokes(ctx.text(), 0, ctx.text().size(), "invoke", out);
}

void FindCallWrappers(const ScanContext& ctx, std::vector<Candidate>& out) {
  std::string_view text = ctx.text();
  for (size_t pos = 0;;) {
    Match open = FindAny(text, pos, {"<minimax:tool_call>", "<function_calls>"});
    if (!open.found()) {
      return;
    }
    bool minimax = text[open.pos + 1] == 'm';
    std::string_view close_tag = minimax ? "</minimax:tool_call>" : "</function_calls>";
    size_t close = text.find(close_tag, open.end());
    size_t body_end = close == kNpos ? text.size() : close;
    size_t end = close == kNpos ? text.size() : close + close_tag.size();
    std::string_view body = text.substr(open.end(), body_end - open.end());
    std::vector<Candidate> calls;
    std::string error;
    if (body.find("<invoke") != kNpos) {
      ReadInvokes(text, open.end(), body_end, minimax ? "minimax" : "invoke", calls);
    } else {
      // Olmo 3: one Python-style call per line.
      Candidate proto = Proto(open.end(), body_end, "olmo");
      error = ReadCallList(body, proto, ctx.tools(), calls);
    }
    if (!error.empty()) {
      out.push_back(
          ErrorCandidate(open.pos, end, minimax ? "minimax" : "olmo",
                         "in " + std::string(text.substr(open.pos, open.len)) + ": " + error));
    } else {
      out.push_back(MarkupCandidate(open.pos, open.end()));
      out.insert(out.end(), calls.begin(), calls.end());
      if (close != kNpos) {
        out.push_back(MarkupCandidate(close, end));
      }
    }
    pos = end;
  }
}

}  // namespace warden::llm::text_scan
