// Python-style calls as Llama 3.2/4, Olmo 3, LFM2 and Gemma print them: f(a='x', b=[1, 2]).
#include <charconv>
#include <cstdint>
#include <string>
#include <utility>

#include "base/hex.h"
#include "llm/text_scan.h"

namespace warden::llm::text_scan {
namespace {

constexpr int kMaxDepth = 64;

bool IsIdentStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

bool IsIdentChar(char c) {
  return IsIdentStart(c) || (c >= '0' && c <= '9');
}

void AppendUtf8(std::string& s, uint32_t cp) {
  if (cp < 0x80) {
    s += static_cast<char>(cp);
  } else if (cp < 0x800) {
    s += static_cast<char>(0xC0 | (cp >> 6));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    s += static_cast<char>(0xE0 | (cp >> 12));
    s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    s += static_cast<char>(0xF0 | (cp >> 18));
    s += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Drops the namespaces models put before a tool's name: Gemini's default_api.NAME, Kimi's
// functions.NAME, and Llama's builtin NAME.call.
std::string CleanName(std::string name) {
  for (std::string_view prefix : {"default_api.", "functions.", "tools."}) {
    if (name.starts_with(prefix)) {
      name.erase(0, prefix.size());
    }
  }
  if (name.ends_with(".call")) {
    name.erase(name.size() - 5);
  }
  return name;
}

// A recursive-descent reader of the Python subset that calls are written in. Offsets in errors
// are into the text it was given.
class PyParser {
 public:
  explicit PyParser(std::string_view text) : s_(text) {}

  Result<PyCallList> Calls() {
    SkipSpace();
    bool list = Consume('[');
    PyCallList result;
    while (true) {
      SkipSeparators();
      if (list && Consume(']')) {
        break;
      }
      if (AtEnd()) {
        if (list) {
          return Fail("the list of calls has no closing ']'");
        }
        break;
      }
      ASSIGN_OR_RETURN(PyCall call, Call());
      result.calls.push_back(std::move(call));
    }
    if (result.calls.empty()) {
      return Fail("no call");
    }
    result.end = pos_;
    return result;
  }

  Result<PyCallList> OneCall() {
    SkipSpace();
    ASSIGN_OR_RETURN(PyCall call, Call());
    PyCallList result;
    result.calls.push_back(std::move(call));
    result.end = pos_;
    return result;
  }

  Result<json::value> WholeLiteral() {
    ASSIGN_OR_RETURN(json::value v, Value());
    SkipSpace();
    if (!AtEnd()) {
      return Fail("unexpected text after the value");
    }
    return v;
  }

 private:
  bool AtEnd() const { return pos_ >= s_.size(); }
  char Peek() const { return AtEnd() ? '\0' : s_[pos_]; }
  bool Consume(char c) {
    if (Peek() != c) {
      return false;
    }
    ++pos_;
    return true;
  }
  Error Fail(std::string_view what) const {
    return Error(ErrorCode::kInvalidArgument,
                 "at offset " + std::to_string(pos_) + ": " + std::string(what));
  }

  void SkipSpace() {
    while (!AtEnd()) {
      char c = s_[pos_];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
        ++pos_;
      } else if (c == '#') {
        while (!AtEnd() && s_[pos_] != '\n') {
          ++pos_;
        }
      } else {
        return;
      }
    }
  }

  void SkipSeparators() {
    SkipSpace();
    while (Consume(',') || Consume(';')) {
      SkipSpace();
    }
  }

  std::string Name() {
    size_t start = pos_;
    if (!IsIdentStart(Peek())) {
      return "";
    }
    while (IsIdentChar(Peek()) ||
           (Peek() == '.' && pos_ + 1 < s_.size() && IsIdentStart(s_[pos_ + 1]))) {
      ++pos_;
    }
    return std::string(s_.substr(start, pos_ - start));
  }

  Result<PyCall> Call() {
    PyCall call;
    call.name = Name();
    if (call.name.empty()) {
      return Fail("expected a function name");
    }
    SkipSpace();
    if (!Consume('(')) {
      return Fail("expected '(' after " + call.name);
    }
    // Gemini-style tool_code wraps the call: print(default_api.NAME(...)).
    if (call.name == "print") {
      SkipSpace();
      ASSIGN_OR_RETURN(PyCall inner, Call());
      SkipSpace();
      if (!Consume(')')) {
        return Fail("expected ')' to close print(");
      }
      return inner;
    }
    RETURN_IF_ERROR(Arguments(call));
    call.name = CleanName(std::move(call.name));
    return call;
  }

  Status Arguments(PyCall& call) {
    while (true) {
      SkipSpace();
      if (Consume(')')) {
        return OkStatus();
      }
      if (AtEnd()) {
        return Fail("the call to " + call.name + " has no closing ')'");
      }
      size_t start = pos_;
      std::string keyword = Name();
      SkipSpace();
      if (!keyword.empty() && Peek() == '=' && s_.substr(pos_, 2) != "==") {
        ++pos_;
        ASSIGN_OR_RETURN(json::value v, Value());
        call.keywords[keyword] = std::move(v);
      } else {
        pos_ = start;
        ASSIGN_OR_RETURN(json::value v, Value());
        call.positional.push_back(std::move(v));
      }
      SkipSpace();
      if (!Consume(',') && Peek() != ')') {
        return Fail("expected ',' or ')' in the call to " + call.name);
      }
    }
  }

  Result<json::value> Value() {
    SkipSpace();
    if (++depth_ > kMaxDepth) {
      return Fail("nested too deeply");
    }
    Result<json::value> v = ValueAt();
    --depth_;
    return v;
  }

  Result<json::value> ValueAt() {
    char c = Peek();
    if (c == '[') {
      return Sequence(']');
    }
    if (c == '(') {
      return Sequence(')');
    }
    if (c == '{') {
      return Dict();
    }
    if (StringStarts()) {
      ASSIGN_OR_RETURN(std::string s, Strings());
      return json::value(s);
    }
    if ((c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.') {
      return Number();
    }
    size_t start = pos_;
    std::string word = Name();
    if (word == "True" || word == "true") {
      return json::value(true);
    }
    if (word == "False" || word == "false") {
      return json::value(false);
    }
    if (word == "None" || word == "null") {
      return json::value(nullptr);
    }
    pos_ = start;
    return word.empty() ? Fail("expected a value") : Fail("unexpected name '" + word + "'");
  }

  // Whether a string literal starts at pos_, with an optional r/b/u/f prefix.
  bool StringStarts() const {
    size_t i = pos_;
    while (i < s_.size() && i < pos_ + 2 && std::string_view("rRbBuUfF").find(s_[i]) != kNpos) {
      ++i;
    }
    return i < s_.size() && (s_[i] == '\'' || s_[i] == '"');
  }

  // One literal, or several written side by side ('a' 'b'), which Python joins.
  Result<std::string> Strings() {
    ASSIGN_OR_RETURN(std::string s, OneString());
    while (true) {
      size_t save = pos_;
      SkipSpace();
      if (!StringStarts()) {
        pos_ = save;
        return s;
      }
      ASSIGN_OR_RETURN(std::string more, OneString());
      s += more;
    }
  }

  Result<std::string> OneString() {
    bool raw = false;
    while (Peek() != '\'' && Peek() != '"') {
      raw = raw || Peek() == 'r' || Peek() == 'R';
      ++pos_;
    }
    char q = s_[pos_];
    std::string_view close =
        s_.substr(pos_, 3) == std::string(3, q) ? s_.substr(pos_, 3) : s_.substr(pos_, 1);
    size_t start = pos_;
    pos_ += close.size();
    std::string out;
    while (!AtEnd()) {
      if (s_.substr(pos_, close.size()) == close) {
        pos_ += close.size();
        return out;
      }
      if (s_[pos_] == '\\' && !raw) {
        Escape(out);
      } else if (s_[pos_] == '\\' && pos_ + 1 < s_.size()) {
        out.append(s_.substr(pos_, 2));  // Raw strings keep the backslash and what follows.
        pos_ += 2;
      } else {
        out += s_[pos_++];
      }
    }
    pos_ = start;
    return Fail("unterminated string");
  }

  void Escape(std::string& out) {
    ++pos_;
    if (AtEnd()) {
      out += '\\';
      return;
    }
    char e = s_[pos_++];
    switch (e) {
      case 'n':
        out += '\n';
        return;
      case 't':
        out += '\t';
        return;
      case 'r':
        out += '\r';
        return;
      case '0':
        out += '\0';
        return;
      case '\\':
      case '\'':
      case '"':
        out += e;
        return;
      case '\n':
        return;  // A line continuation.
      case 'x':
        return Codepoint(out, 2);
      case 'u':
        return Codepoint(out, 4);
      case 'U':
        return Codepoint(out, 8);
      default:
        // Python keeps unknown escapes as they are: "\d" is a backslash and a d.
        out += '\\';
        out += e;
    }
  }

  void Codepoint(std::string& out, size_t digits) {
    uint32_t cp = 0;
    size_t i = 0;
    for (; i < digits && pos_ + i < s_.size() && HexDigitValue(s_[pos_ + i]) >= 0; ++i) {
      cp = cp * 16 + static_cast<uint32_t>(HexDigitValue(s_[pos_ + i]));
    }
    if (i < digits || cp > 0x10FFFF) {
      out += '\\';
      out += s_[pos_ - 1];
      return;
    }
    pos_ += digits;
    AppendUtf8(out, cp);
  }

  Result<json::value> Number() {
    size_t start = pos_;
    while (!AtEnd() && std::string_view("0123456789+-._eE").find(Peek()) != kNpos) {
      ++pos_;
    }
    std::string n;
    for (char c : s_.substr(start, pos_ - start)) {
      if (c != '_' && !(c == '+' && n.empty())) {
        n += c;
      }
    }
    const char* first = n.data();
    const char* last = n.data() + n.size();
    if (n.find_first_of(".eE") == std::string::npos) {
      int64_t i = 0;
      auto [end, ec] = std::from_chars(first, last, i);
      if (ec == std::errc() && end == last) {
        return json::value(i);
      }
    } else {
      double d = 0;
      auto [end, ec] = std::from_chars(first, last, d);
      if (ec == std::errc() && end == last) {
        return json::value(d);
      }
    }
    pos_ = start;
    return Fail("malformed number");
  }

  Result<json::value> Sequence(char close) {
    ++pos_;
    json::array items;
    while (true) {
      SkipSpace();
      if (Consume(close)) {
        return json::value(std::move(items));
      }
      ASSIGN_OR_RETURN(json::value item, Value());
      items.push_back(std::move(item));
      SkipSpace();
      if (!Consume(',') && Peek() != close) {
        return Fail(std::string("expected ',' or '") + close + "'");
      }
    }
  }

  Result<json::value> Dict() {
    ++pos_;
    json::object dict;
    while (true) {
      SkipSpace();
      if (Consume('}')) {
        return json::value(std::move(dict));
      }
      std::string key;
      if (StringStarts()) {
        ASSIGN_OR_RETURN(key, Strings());
      } else {
        ASSIGN_OR_RETURN(json::value k, Value());
        key = k.is_string() ? std::string(k.get_string()) : json::serialize(k);
      }
      SkipSpace();
      if (!Consume(':')) {
        return Fail("expected ':' in a dict");
      }
      ASSIGN_OR_RETURN(json::value v, Value());
      dict[key] = std::move(v);
      SkipSpace();
      if (!Consume(',') && Peek() != '}') {
        return Fail("expected ',' or '}'");
      }
    }
  }

  static constexpr size_t kNpos = std::string_view::npos;
  std::string_view s_;
  size_t pos_ = 0;
  int depth_ = 0;
};

}  // namespace

Result<PyCallList> ParsePythonicCalls(std::string_view text) {
  return PyParser(text).Calls();
}

Result<PyCallList> ParsePythonicCall(std::string_view text) {
  return PyParser(text).OneCall();
}

Result<json::value> ParsePythonLiteral(std::string_view text) {
  return PyParser(text).WholeLiteral();
}

void AppendPyCalls(const PyCallList& list, const Candidate& proto, std::vector<Candidate>& out) {
  for (const PyCall& call : list.calls) {
    Candidate c = proto;
    c.kind = SpanKind::kCall;
    c.name = call.name;
    c.arguments = call.keywords;
    c.positional = call.positional;
    out.push_back(std::move(c));
  }
}

}  // namespace warden::llm::text_scan
