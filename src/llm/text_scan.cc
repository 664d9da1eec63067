#include "llm/text_scan.h"

#include <string>
#include <utility>

#include "llm/json_repair.h"

namespace warden::llm::text_scan {
namespace {

constexpr std::string_view kNameKeys[] = {"name", "tool", "tool_name", "function", "action"};
constexpr std::string_view kArgumentKeys[] = {"arguments",  "parameters",   "args",  "input",
                                              "tool_input", "action_input", "params"};

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

template <size_t N>
const json::value* FirstOf(const json::object& obj, const std::string_view (&keys)[N]) {
  for (std::string_view key : keys) {
    if (const json::value* v = obj.if_contains(key)) {
      return v;
    }
  }
  return nullptr;
}

// Sets `c.arguments` from what the model put under "arguments": an object, a string holding one
// ("{\"command\": \"ls\"}", as OpenAI's wire format has it), or nothing. Anything else makes `c`
// an error.
void DecodeArguments(const json::value* args, Candidate& c) {
  if (args == nullptr || args->is_null()) {
    return;
  }
  if (args->is_object()) {
    c.arguments = args->get_object();
    return;
  }
  if (args->is_string()) {
    std::string_view s = Trim(args->get_string());
    if (s.empty()) {
      return;
    }
    Result<json::value> parsed = ParseLenientJson(s);
    if (parsed.ok() && parsed->is_object()) {
      c.arguments = std::move(parsed->get_object());
      return;
    }
  }
  c.kind = SpanKind::kError;
  c.error = "the arguments of \"" + c.name + "\" are not a JSON object";
}

// {"commands": ["ls", "pwd"]}: a shell script given as its lines.
bool CommandsCall(const json::object& obj, const Candidate& proto, std::vector<Candidate>& out) {
  const json::value* commands = obj.if_contains("commands");
  if (commands == nullptr || obj.contains("name")) {
    return false;
  }
  std::string script;
  if (commands->is_string()) {
    script = commands->get_string();
  } else if (commands->is_array() && !commands->get_array().empty()) {
    for (const json::value& line : commands->get_array()) {
      if (!line.is_string()) {
        return false;
      }
      script += script.empty() ? "" : "\n";
      script += line.get_string();
    }
  } else {
    return false;
  }
  Candidate c = proto;
  c.kind = SpanKind::kCall;
  c.format = "commands";
  c.name = "run_shell";
  c.arguments["command"] = script;
  out.push_back(std::move(c));
  return true;
}

}  // namespace

bool ScanContext::IsFree(size_t begin, size_t end) const {
  for (const Span& span : claimed_) {
    if (begin < span.end && span.begin < end) {
      return false;
    }
  }
  return true;
}

size_t ScanContext::SkipClaimed(size_t pos) const {
  for (const Span& span : claimed_) {
    if (span.begin <= pos && pos < span.end) {
      return span.end;
    }
  }
  return pos;
}

Match FindAny(std::string_view text, size_t from, std::initializer_list<std::string_view> needles) {
  Match best;
  for (std::string_view needle : needles) {
    size_t pos = text.find(needle, from);
    if (pos != std::string_view::npos && (!best.found() || pos < best.pos)) {
      best = {pos, needle.size()};
    }
  }
  return best;
}

bool Is(std::string_view text, const Match& m, std::string_view token) {
  return m.found() && text.substr(m.pos, m.len) == token;
}

std::string_view Trim(std::string_view s) {
  size_t first = s.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) {
    return s.substr(s.size());  // Empty, but still pointing into `s`: never a null data().
  }
  return s.substr(first, s.find_last_not_of(" \t\r\n") - first + 1);
}

std::string_view TrimOneNewline(std::string_view s) {
  if (s.starts_with("\r\n")) {
    s.remove_prefix(2);
  } else if (s.starts_with('\n')) {
    s.remove_prefix(1);
  }
  if (s.ends_with("\r\n")) {
    s.remove_suffix(2);
  } else if (s.ends_with('\n')) {
    s.remove_suffix(1);
  }
  return s;
}

size_t SkipSpace(std::string_view text, size_t pos) {
  while (pos < text.size() && IsSpace(text[pos])) {
    ++pos;
  }
  return pos;
}

size_t LineEnd(std::string_view text, size_t pos) {
  size_t eol = text.find('\n', pos);
  return eol == std::string_view::npos ? text.size() : eol;
}

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.';
}

size_t FindJsonEnd(std::string_view text, size_t begin) {
  int depth = 0;
  char quote = 0;
  char previous = 0;  // the last character outside strings that was not a space
  for (size_t i = begin; i < text.size(); ++i) {
    char c = text[i];
    if (quote != 0) {
      if (c == '\\') {
        ++i;
      } else if (c == quote) {
        quote = 0;
        previous = c;
      }
      continue;
    }
    // A single quote opens a string only where a key or value may start, so that an apostrophe
    // in a stray word does not swallow the rest.
    if (c == '"' ||
        (c == '\'' && (previous == '{' || previous == '[' || previous == ',' || previous == ':'))) {
      quote = c;
      continue;
    }
    if (c == '{' || c == '[') {
      ++depth;
    } else if ((c == '}' || c == ']') && --depth == 0) {
      return i + 1;
    }
    if (!IsSpace(c)) {
      previous = c;
    }
  }
  return std::string_view::npos;
}

Result<JsonValues> ParseJsonValues(std::string_view text, size_t from, size_t limit) {
  std::string_view window = text.substr(0, limit);
  JsonValues result;
  result.end = from;
  size_t pos = from;
  while (true) {
    while (pos < limit && (IsSpace(window[pos]) || window[pos] == ',' || window[pos] == ';')) {
      ++pos;
    }
    if (pos >= limit || (window[pos] != '{' && window[pos] != '[')) {
      break;
    }
    size_t end = FindJsonEnd(window, pos);
    if (end == std::string_view::npos) {
      end = limit;  // Truncated: the repair closes what is open.
    }
    ASSIGN_OR_RETURN(json::value value, ParseLenientJson(window.substr(pos, end - pos)));
    result.values.push_back(std::move(value));
    result.end = end;
    pos = end;
  }
  if (result.values.empty()) {
    return Error(ErrorCode::kInvalidArgument, "no JSON value");
  }
  return result;
}

namespace {

bool IsStrictJson(std::string_view text) {
  boost::system::error_code ec;
  (void)json::parse(text, ec);
  return !ec;
}

}  // namespace

Candidate JsonArgsCall(size_t begin, size_t end, std::string format, std::string_view name,
                       std::string_view args_text) {
  Candidate c;
  c.begin = begin;
  c.end = end;
  c.format = std::move(format);
  c.name = std::string(Trim(name));
  std::string_view args = Trim(args_text);
  if (args.empty()) {
    return c;
  }
  Result<json::value> parsed = ParseLenientJson(args);
  if (parsed.ok() && !IsStrictJson(args)) {
    c.repairs.push_back("near-JSON arguments repaired");
  }
  if (!parsed.ok()) {
    c.kind = SpanKind::kError;
    c.error =
        "the arguments of \"" + c.name + "\" are not valid JSON (" + parsed.error().message() + ")";
    return c;
  }
  DecodeArguments(&*parsed, c);
  return c;
}

bool CallsFromJson(const json::value& v, const Candidate& proto, const std::vector<ToolSpec>& tools,
                   JsonPlace place, std::vector<Candidate>& out) {
  if (v.is_array()) {
    std::vector<Candidate> calls;
    for (const json::value& item : v.get_array()) {
      if (!CallsFromJson(item, proto, tools, place, calls)) {
        return false;
      }
    }
    out.insert(out.end(), calls.begin(), calls.end());
    return !calls.empty();
  }
  if (!v.is_object()) {
    return false;
  }
  const json::object& obj = v.get_object();
  // llama.cpp's Generic format: {"tool_call": {...}} or {"tool_calls": [...]}.
  for (std::string_view key : {"tool_calls", "tool_call"}) {
    const json::value* inner = obj.if_contains(key);
    if (inner != nullptr && (inner->is_array() || inner->is_object())) {
      return CallsFromJson(*inner, proto, tools, place, out);
    }
  }
  if (CommandsCall(obj, proto, out)) {
    return true;
  }
  // OpenAI's own shape: {"type": "function", "function": {"name": ..., "arguments": "..."}}.
  const json::object* holder = &obj;
  if (const json::value* fn = obj.if_contains("function"); fn != nullptr && fn->is_object()) {
    holder = &fn->get_object();
  }
  const json::value* name = FirstOf(*holder, kNameKeys);
  if (name == nullptr || !name->is_string() || Trim(name->get_string()).empty()) {
    return false;
  }
  const json::value* args = FirstOf(*holder, kArgumentKeys);
  if (place == JsonPlace::kProse && args == nullptr &&
      FindTool(name->get_string(), tools) == nullptr) {
    return false;  // {"name": "Alice"} is data, not a call.
  }
  Candidate c = proto;
  c.kind = SpanKind::kCall;
  c.name = std::string(Trim(name->get_string()));
  DecodeArguments(args, c);
  out.push_back(std::move(c));
  return true;
}

bool LooksLikeJsonCall(std::string_view text) {
  auto has_key = [&](std::string_view key) {
    // Appended piece by piece: `"\"" + std::string(key)` trips GCC 12's -Wrestrict at -O3.
    std::string quoted(1, '"');
    quoted.append(key).push_back('"');
    std::string single(1, '\'');
    single.append(key).push_back('\'');
    return text.find(quoted) != std::string_view::npos ||
           text.find(single) != std::string_view::npos;
  };
  bool named = has_key("name") || has_key("tool") || has_key("function");
  bool with_args =
      has_key("arguments") || has_key("parameters") || has_key("args") || has_key("input");
  return (named && with_args) || has_key("commands") || has_key("tool_calls") ||
         has_key("tool_call");
}

std::string ReadCallList(std::string_view body, const Candidate& proto,
                         const std::vector<ToolSpec>& tools, std::vector<Candidate>& out) {
  std::string_view t = Trim(body);
  if (t.starts_with("```")) {  // A fence inside the tags.
    size_t eol = t.find('\n');
    t = eol == std::string_view::npos ? std::string_view() : t.substr(eol + 1);
    t = Trim(t.ends_with("```") ? t.substr(0, t.size() - 3) : t);
  }
  if (t.empty()) {
    return "there is no call inside";
  }
  bool json_like = t[0] == '{' || (t[0] == '[' && Trim(t.substr(1)).starts_with('{'));
  std::vector<Candidate> calls;
  if (json_like) {
    Result<JsonValues> values = ParseJsonValues(t, 0, t.size());
    if (!values.ok()) {
      return "the JSON is not valid (" + values.error().message() + ")";
    }
    for (const json::value& value : values->values) {
      if (!CallsFromJson(value, proto, tools, JsonPlace::kCallMarkup, calls)) {
        return "the JSON is not a tool call (it needs \"name\" and \"arguments\")";
      }
    }
  } else {
    Result<PyCallList> list = ParsePythonicCalls(t);
    if (!list.ok()) {
      return "it is neither JSON nor a Python-style call (" + list.error().message() + ")";
    }
    if (!Trim(t.substr(list->end)).empty()) {
      return "there is text after the calls";
    }
    AppendPyCalls(*list, proto, calls);
  }
  out.insert(out.end(), calls.begin(), calls.end());
  return "";
}

Candidate Proto(size_t begin, size_t end, std::string format) {
  Candidate c;
  c.begin = begin;
  c.end = end;
  c.format = std::move(format);
  return c;
}

Candidate ErrorCandidate(size_t begin, size_t end, std::string format, std::string error) {
  Candidate c;
  c.kind = SpanKind::kError;
  c.begin = begin;
  c.end = end;
  c.format = std::move(format);
  c.error = std::move(error);
  return c;
}

Candidate MarkupCandidate(size_t begin, size_t end) {
  Candidate c;
  c.kind = SpanKind::kMarkup;
  c.begin = begin;
  c.end = end;
  return c;
}

}  // namespace warden::llm::text_scan
