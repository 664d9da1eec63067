#include "llm/json_repair.h"

#include <algorithm>
#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace warden::llm {
namespace {

Error JsonError(size_t offset, std::string_view what) {
  return Error(ErrorCode::kInvalidArgument,
               "invalid JSON at offset " + std::to_string(offset) + ": " + std::string(what));
}

// Parses `text` strictly; on failure sets `error_offset` to where the parser stopped. Uses the
// error_code interface so that no exception can escape.
std::optional<json::value> ParseStrict(std::string_view text, size_t& error_offset) {
  json::parse_options options;
  options.max_depth = 64;
  json::stream_parser parser({}, options);
  boost::system::error_code ec;
  size_t consumed = parser.write(text.data(), text.size(), ec);
  if (!ec) {
    parser.finish(ec);
  }
  if (ec || !parser.done()) {
    error_offset = consumed;
    return std::nullopt;
  }
  return parser.release();
}

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

bool IsHex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool IsWordStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$';
}

bool IsWordChar(char c) {
  return IsWordStart(c) || (c >= '0' && c <= '9');
}

bool IsNumberChar(char c) {
  return (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E';
}

bool AllDigits(std::string_view s) {
  if (s.empty()) {
    return false;
  }
  for (char c : s) {
    if (c < '0' || c > '9') {
      return false;
    }
  }
  return true;
}

// Turns a number as models write it (+1, .5, 5.) into JSON's grammar, or nullopt.
std::optional<std::string> NormaliseNumber(std::string_view n) {
  std::string out;
  if (!n.empty() && (n[0] == '-' || n[0] == '+')) {
    if (n[0] == '-') {
      out += '-';
    }
    n.remove_prefix(1);
  }
  size_t exp = n.find_first_of("eE");
  std::string_view mantissa = n.substr(0, exp);
  std::string_view exponent = exp == std::string_view::npos ? "" : n.substr(exp + 1);
  size_t dot = mantissa.find('.');
  std::string_view whole = mantissa.substr(0, dot);
  std::string_view frac = dot == std::string_view::npos ? "" : mantissa.substr(dot + 1);
  if (whole.empty() && frac.empty()) {
    return std::nullopt;
  }
  if (whole.empty()) {
    whole = "0";
  }
  if (!AllDigits(whole) || (whole.size() > 1 && whole[0] == '0')) {
    return std::nullopt;
  }
  if (!frac.empty() && !AllDigits(frac)) {
    return std::nullopt;
  }
  out.append(whole);
  if (!frac.empty()) {
    out.append(".").append(frac);
  }
  if (exp != std::string_view::npos) {
    std::string_view digits = exponent;
    if (!digits.empty() && (digits[0] == '-' || digits[0] == '+')) {
      digits.remove_prefix(1);
    }
    if (!AllDigits(digits)) {
      return std::nullopt;
    }
    out.append("e").append(exponent);
  }
  return out;
}

// The words models write where JSON wants a literal: Python's, JavaScript's and JSON's own.
std::optional<std::string_view> LiteralFor(std::string_view word) {
  if (word == "true" || word == "True") {
    return "true";
  }
  if (word == "false" || word == "False") {
    return "false";
  }
  if (word == "null" || word == "None" || word == "undefined" || word == "NaN" ||
      word == "Infinity") {
    return "null";
  }
  return std::nullopt;
}

// Rewrites near-JSON into JSON one token at a time. It tracks, per open container, whether a key,
// a colon, a value or a comma comes next, so that missing or extra punctuation can be fixed and a
// truncated text closed in the right order. Offsets in errors are into the caller's text.
class Repairer {
 public:
  Repairer(std::string_view text, size_t base) : in_(text), base_(base) {}

  Result<std::string> Run() {
    while (true) {
      SkipSpaceAndComments();
      if (pos_ >= in_.size()) {
        break;
      }
      RETURN_IF_ERROR(Step());
    }
    RETURN_IF_ERROR(Finish());
    return std::move(out_);
  }

 private:
  enum class Expect { kValue, kKeyOrClose, kColon, kCommaOrClose, kDone };
  enum class Closing { kExplicit, kTruncated };

  bool InObject() const { return !stack_.empty() && stack_.back() == '{'; }

  Error Fail(std::string_view what) const { return JsonError(base_ + pos_, what); }

  void SkipSpaceAndComments() {
    while (pos_ < in_.size()) {
      char c = in_[pos_];
      if (IsSpace(c)) {
        ++pos_;
      } else if (c == '#' || in_.substr(pos_, 2) == "//") {
        size_t eol = in_.find('\n', pos_);
        pos_ = eol == std::string_view::npos ? in_.size() : eol + 1;
      } else if (in_.substr(pos_, 2) == "/*") {
        size_t close = in_.find("*/", pos_ + 2);
        pos_ = close == std::string_view::npos ? in_.size() : close + 2;
      } else {
        return;
      }
    }
  }

  Status Step() {
    if (expect_ == Expect::kDone) {
      return Fail("unexpected text after the JSON value");
    }
    char c = in_[pos_];
    switch (c) {
      case '{':
      case '[':
        return OnOpen(c);
      case '}':
      case ']':
        return OnClose(c);
      case ',':
        return OnComma();
      case ':':
        return OnColon();
      case '"':
      case '\'':
        return OnString();
      default:
        break;
    }
    if (IsWordStart(c)) {
      return OnWord();
    }
    if (IsNumberChar(c)) {
      return OnNumber();
    }
    return Fail(std::string("unexpected character '") + c + "'");
  }

  // Makes room for a token that starts a key or a value, and says which one it is. A missing comma
  // between two items is inserted here; a pending one (seen but not yet written, so that a
  // trailing comma can simply be dropped) is written here.
  Status Place(bool can_be_key, bool& is_key) {
    if (expect_ == Expect::kCommaOrClose) {
      expect_ = InObject() ? Expect::kKeyOrClose : Expect::kValue;
      pending_comma_ = true;
    }
    if (expect_ == Expect::kColon) {
      return Fail("expected ':' after the property name");
    }
    if (expect_ == Expect::kKeyOrClose && !can_be_key) {
      return Fail("expected a property name");
    }
    is_key = expect_ == Expect::kKeyOrClose;
    if (pending_comma_) {
      out_ += ',';
      pending_comma_ = false;
    }
    return OkStatus();
  }

  void AfterValue() { expect_ = stack_.empty() ? Expect::kDone : Expect::kCommaOrClose; }

  void AfterToken(bool is_key) {
    if (is_key) {
      expect_ = Expect::kColon;
    } else {
      AfterValue();
    }
  }

  Status OnOpen(char c) {
    bool is_key = false;
    RETURN_IF_ERROR(Place(/*can_be_key=*/false, is_key));
    stack_.push_back(c);
    out_ += c;
    expect_ = c == '{' ? Expect::kKeyOrClose : Expect::kValue;
    ++pos_;
    return OkStatus();
  }

  Status OnClose(char c) {
    char open = c == '}' ? '{' : '[';
    bool matches_some = false;
    for (char frame : stack_) {
      matches_some = matches_some || frame == open;
    }
    if (!matches_some) {
      return Fail(std::string("unexpected '") + c + "'");
    }
    if (stack_.back() != open) {
      // Either an inner container was never closed ({"a": [{"b": 1], ...}) or the wrong bracket
      // was typed (["a", "b"}, ...). Closing down to the matching one is right unless that would
      // end the whole value while text still follows: then it was a typo for the inner close.
      bool ends_value =
          stack_.front() == open && std::count(stack_.begin(), stack_.end(), open) == 1;
      bool more_follows = in_.find_first_not_of(" \t\r\n", pos_ + 1) != std::string_view::npos;
      if (ends_value && more_follows) {
        RETURN_IF_ERROR(CloseTop(Closing::kExplicit));
        ++pos_;
        return OkStatus();
      }
      while (stack_.back() != open) {
        RETURN_IF_ERROR(CloseTop(Closing::kExplicit));
      }
    }
    RETURN_IF_ERROR(CloseTop(Closing::kExplicit));
    ++pos_;
    return OkStatus();
  }

  Status CloseTop(Closing how) {
    if (InObject() && (expect_ == Expect::kColon || expect_ == Expect::kValue)) {
      if (how == Closing::kExplicit) {
        return Fail("a property has no value");
      }
      out_ += expect_ == Expect::kColon ? ":null" : "null";
    }
    pending_comma_ = false;
    out_ += stack_.back() == '{' ? '}' : ']';
    stack_.pop_back();
    AfterValue();
    return OkStatus();
  }

  Status OnComma() {
    if (expect_ == Expect::kCommaOrClose) {
      pending_comma_ = true;
      expect_ = InObject() ? Expect::kKeyOrClose : Expect::kValue;
    } else if (expect_ != Expect::kKeyOrClose &&
               !(expect_ == Expect::kValue && !stack_.empty() && !InObject())) {
      return Fail("unexpected ','");
    }
    // Otherwise a doubled comma, or one right after an opening bracket: dropped.
    ++pos_;
    return OkStatus();
  }

  Status OnColon() {
    if (expect_ != Expect::kColon) {
      return Fail("unexpected ':'");
    }
    out_ += ':';
    expect_ = Expect::kValue;
    ++pos_;
    return OkStatus();
  }

  Status OnString() {
    bool is_key = false;
    RETURN_IF_ERROR(Place(/*can_be_key=*/true, is_key));
    out_ += ReadString();
    AfterToken(is_key);
    return OkStatus();
  }

  Status OnWord() {
    size_t start = pos_;
    while (pos_ < in_.size() && IsWordChar(in_[pos_])) {
      ++pos_;
    }
    std::string_view word = in_.substr(start, pos_ - start);
    bool is_key = false;
    RETURN_IF_ERROR(Place(/*can_be_key=*/true, is_key));
    if (is_key) {
      out_.append("\"").append(word).append("\"");
    } else if (std::optional<std::string_view> literal = LiteralFor(word)) {
      out_.append(*literal);
    } else {
      pos_ = start;
      return Fail("unexpected word '" + std::string(word) + "'");
    }
    AfterToken(is_key);
    return OkStatus();
  }

  Status OnNumber() {
    size_t start = pos_;
    while (pos_ < in_.size() && IsNumberChar(in_[pos_])) {
      ++pos_;
    }
    std::optional<std::string> number = NormaliseNumber(in_.substr(start, pos_ - start));
    if (!number) {
      pos_ = start;
      return Fail("malformed number");
    }
    bool is_key = false;
    RETURN_IF_ERROR(Place(/*can_be_key=*/true, is_key));
    out_ += is_key ? "\"" + *number + "\"" : *number;
    AfterToken(is_key);
    return OkStatus();
  }

  // Whether the quote at pos_ ends the string. Models often leave quotes unescaped inside a value
  // (echo "hi") and newlines raw, so a quote only counts as closing when what follows could
  // follow a string: punctuation, a comment, the end, or, on a later line, the next key (a comma
  // was forgotten).
  bool ClosesString() const {
    size_t i = pos_ + 1;
    bool newline = false;
    for (; i < in_.size() && IsSpace(in_[i]); ++i) {
      newline = newline || in_[i] == '\n';
    }
    if (i >= in_.size()) {
      return true;
    }
    char c = in_[i];
    std::string_view two = in_.substr(i, 2);
    if (c == ',' || c == ':' || c == '}' || c == ']' || two == "//" || two == "/*") {
      return true;
    }
    return newline && c == '"' && StartsKey(i);
  }

  // Whether a "key": starts at `at`.
  bool StartsKey(size_t at) const {
    size_t close = in_.find('"', at + 1);
    if (close == std::string_view::npos) {
      return false;
    }
    size_t next = in_.find_first_not_of(" \t", close + 1);
    return next != std::string_view::npos && in_[next] == ':';
  }

  // Reads the string at pos_ (either quote) and returns it as a JSON string literal.
  std::string ReadString() {
    char quote = in_[pos_++];
    std::string s = "\"";
    while (pos_ < in_.size()) {
      char c = in_[pos_];
      if (c == '\\') {
        AppendEscape(s);
        continue;
      }
      if (c == quote && ClosesString()) {
        ++pos_;
        return s + '"';
      }
      ++pos_;
      AppendChar(s, c);
    }
    return s + '"';  // A truncated reply: close the string.
  }

  static void AppendChar(std::string& s, char c) {
    static constexpr char kHex[] = "0123456789abcdef";
    switch (c) {
      case '"':
        s += "\\\"";
        return;
      case '\n':
        s += "\\n";
        return;
      case '\r':
        s += "\\r";
        return;
      case '\t':
        s += "\\t";
        return;
      default:
        break;
    }
    auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20) {
      s.append("\\u00").append(1, kHex[byte >> 4]).append(1, kHex[byte & 0xf]);
    } else {
      s += c;
    }
  }

  // Handles the backslash at pos_. Escapes JSON knows are kept; Python's \' and \xHH are
  // translated; any other backslash is taken literally (a regex or a shell line: grep "a\.b").
  void AppendEscape(std::string& s) {
    ++pos_;
    if (pos_ >= in_.size()) {
      s += "\\\\";
      return;
    }
    char e = in_[pos_];
    if (e == '"' || e == '\\' || e == '/' || e == 'b' || e == 'f' || e == 'n' || e == 'r' ||
        e == 't') {
      s.append("\\").append(1, e);
      ++pos_;
    } else if (e == '\'') {
      s += '\'';
      ++pos_;
    } else if (e == '\n') {
      ++pos_;  // A line continuation.
    } else if (e == 'u' && HexDigitsAt(pos_ + 1, 4)) {
      s.append("\\u").append(in_.substr(pos_ + 1, 4));
      pos_ += 5;
    } else if (e == 'x' && HexDigitsAt(pos_ + 1, 2)) {
      s.append("\\u00").append(in_.substr(pos_ + 1, 2));
      pos_ += 3;
    } else {
      s += "\\\\";  // The next character is read as an ordinary one.
    }
  }

  bool HexDigitsAt(size_t at, size_t count) const {
    if (at + count > in_.size()) {
      return false;
    }
    for (size_t i = at; i < at + count; ++i) {
      if (!IsHex(in_[i])) {
        return false;
      }
    }
    return true;
  }

  // End of input: a truncated reply is closed in the right order.
  Status Finish() {
    if (stack_.empty() && expect_ == Expect::kValue) {
      return Fail("no JSON value");
    }
    while (!stack_.empty()) {
      RETURN_IF_ERROR(CloseTop(Closing::kTruncated));
    }
    return OkStatus();
  }

  std::string_view in_;
  size_t base_;
  size_t pos_ = 0;
  std::string out_;
  std::vector<char> stack_;  // '{' or '[' per open container
  Expect expect_ = Expect::kValue;
  bool pending_comma_ = false;
};

// Drops a Markdown fence around the JSON (```json ... ```); `base` becomes the offset of what is
// left within `text`.
std::string_view StripFence(std::string_view text, size_t& base) {
  size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos || text.substr(first, 3) != "```") {
    return text;
  }
  size_t eol = text.find('\n', first);
  if (eol == std::string_view::npos) {
    return text;
  }
  std::string_view body = text.substr(eol + 1);
  size_t last = body.find_last_not_of(" \t\r\n");
  if (last != std::string_view::npos && last >= 2 && body.substr(last - 2, 3) == "```") {
    body = body.substr(0, last - 2);
  }
  base = eol + 1;
  return body;
}

// Refuses what Boost.JSON read as infinity (json.h: AllNumbersFinite() says why).
Result<json::value> Finite(json::value value) {
  if (!AllNumbersFinite(value)) {
    return Error(ErrorCode::kInvalidArgument,
                 "a number is too large for JSON (at most about 1.8e308)");
  }
  return value;
}

}  // namespace

Result<json::value> ParseLenientJson(std::string_view text) {
  size_t strict_offset = 0;
  if (std::optional<json::value> value = ParseStrict(text, strict_offset)) {
    return Finite(*std::move(value));
  }
  size_t base = 0;
  std::string_view body = StripFence(text, base);
  Result<std::string> repaired = Repairer(body, base).Run();
  if (!repaired.ok()) {
    return std::move(repaired).error();
  }
  size_t repaired_offset = 0;
  if (std::optional<json::value> value = ParseStrict(*repaired, repaired_offset)) {
    return Finite(*std::move(value));
  }
  // The repair produced something the parser still rejects (invalid UTF-8, say): report where the
  // original text went wrong.
  return JsonError(strict_offset, "not valid JSON, even after repair");
}

}  // namespace warden::llm
