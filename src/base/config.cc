#include "base/config.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

#define TOML_EXCEPTIONS 0
#define TOML_HEADER_ONLY 1
#include <fmt/format.h>
#include <toml++/impl/preprocessor.h>
// toml++ 3.3 asserts things of its input that malformed files break ("[.a]" enters parse_key() at
// a '.'), then reports the error anyway: without NDEBUG the assertion aborted the process, and
// with NDEBUG clang is told to assume it holds. Neither: every build acts as a g++ release build.
#undef TOML_ASSERT_ASSUME
#define TOML_ASSERT_ASSUME(expr) static_assert(true)
#include <toml++/toml.h>

namespace warden {
namespace {

json::value ToJson(const toml::node& node) {
  if (const toml::table* table = node.as_table()) {
    json::object out;
    for (const auto& [key, value] : *table) {
      out[std::string(key.str())] = ToJson(value);
    }
    return out;
  }
  if (const toml::array* array = node.as_array()) {
    json::array out;
    for (const toml::node& item : *array) {
      out.push_back(ToJson(item));
    }
    return out;
  }
  if (auto s = node.value<std::string>(); s && node.is_string()) {
    return json::value(*s);
  }
  if (node.is_integer()) {
    return json::value(*node.value<int64_t>());
  }
  if (node.is_floating_point()) {
    return json::value(*node.value<double>());
  }
  if (node.is_boolean()) {
    return json::value(*node.value<bool>());
  }
  // Dates and times: as their TOML text.
  std::ostringstream text;
  node.visit([&](const auto& leaf) { text << leaf; });
  return json::value(text.str());
}

bool ReadWhole(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return false;
  }
  std::ostringstream text;
  text << in.rdbuf();
  *out = text.str();
  return true;
}

}  // namespace

Result<Config> Config::ParseAndCheck(std::string_view text, const std::string& origin) {
  ASSIGN_OR_RETURN(Config config, Parse(text, origin));
  RETURN_IF_ERROR(config.CheckKeys());
  return config;
}

namespace {

// toml++ 3.3 reaches __builtin_unreachable() on some characters that are not ASCII where it
// expects a bare key or a blank (U+036D after "key = ": undefined behaviour, found by
// fuzz_config). Warden's keys and non-string values are ASCII, so such a character is refused
// first, outside strings and comments, with its line.
Status CheckAsciiOutsideStrings(std::string_view text, const std::string& origin) {
  int line = 1;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\n') {
      ++line;
    } else if (c == '#') {
      i = std::min(text.find('\n', i), text.size()) - 1;
    } else if (c == '"' || c == '\'') {
      std::string_view quote =
          text.substr(i, 3) == std::string(3, c) ? text.substr(i, 3) : text.substr(i, 1);
      size_t end = i + quote.size();
      while (end < text.size() && text.substr(end, quote.size()) != quote) {
        end += (c == '"' && text[end] == '\\') ? 2 : 1;  // a basic string's escape
      }
      for (size_t j = i; j < std::min(end, text.size()); ++j) {
        line += text[j] == '\n' ? 1 : 0;
      }
      i = std::min(end + quote.size(), text.size()) - 1;
    } else if (static_cast<unsigned char>(c) >= 0x80) {
      return Error(ErrorCode::kInvalidArgument,
                   fmt::format("{}:{}: a character that is not ASCII outside a string or a "
                               "comment: keys and values other than strings are ASCII (quote it)",
                               origin.empty() ? "config" : origin, line));
    }
  }
  return OkStatus();
}

}  // namespace

Result<Config> Config::Parse(std::string_view text, const std::string& origin) {
  RETURN_IF_ERROR(CheckAsciiOutsideStrings(text, origin));
  toml::parse_result parsed = toml::parse(text, origin);
  if (!parsed) {
    const toml::parse_error& error = parsed.error();
    return Error(
        ErrorCode::kInvalidArgument,
        fmt::format("{}:{}:{}: {}", origin.empty() ? "config" : origin, error.source().begin.line,
                    error.source().begin.column, error.description()));
  }
  Config config;
  config.root_ = ToJson(parsed.table()).as_object();
  config.origin_ = origin;
  return config;
}

Result<Config> Config::Load(const std::string& path) {
  std::string text;
  if (!ReadWhole(path, &text)) {
    return Error::FromErrno("reading the configuration file " + path, errno);
  }
  return ParseAndCheck(text, path);
}

Result<Config> Config::LoadDefault() {
  // NOLINTBEGIN(concurrency-mt-unsafe): read once at start-up
  if (const char* explicit_path = std::getenv("WARDEN_CONFIG");
      explicit_path != nullptr && explicit_path[0] != '\0') {
    return Load(explicit_path);
  }
  std::string path;
  if (const char* xdg = std::getenv("XDG_CONFIG_HOME"); xdg != nullptr && xdg[0] == '/') {
    path = std::string(xdg) + "/warden/config.toml";
  } else if (const char* home = std::getenv("HOME"); home != nullptr && home[0] == '/') {
    path = std::string(home) + "/.config/warden/config.toml";
  }
  // NOLINTEND(concurrency-mt-unsafe)
  std::string text;
  if (path.empty() || !ReadWhole(path, &text)) {
    return Config();
  }
  return ParseAndCheck(text, path);
}

const json::value* Config::Find(std::string_view key) const {
  const json::object* table = &root_;
  while (true) {
    size_t dot = key.find('.');
    const json::value* value = table->if_contains(key.substr(0, dot));
    if (value == nullptr || dot == std::string_view::npos) {
      return value;
    }
    if (!value->is_object()) {
      return nullptr;
    }
    table = &value->get_object();
    key.remove_prefix(dot + 1);
  }
}

std::optional<std::string> Config::String(std::string_view key) const {
  const json::value* value = Find(key);
  if (value == nullptr || !value->is_string()) {
    return std::nullopt;
  }
  return std::string(value->get_string());
}

std::optional<int64_t> Config::Int(std::string_view key) const {
  const json::value* value = Find(key);
  if (value == nullptr || !value->is_int64()) {
    return std::nullopt;
  }
  return value->get_int64();
}

std::optional<double> Config::Number(std::string_view key) const {
  const json::value* value = Find(key);
  if (value == nullptr || !value->is_number()) {
    return std::nullopt;
  }
  return value->to_number<double>();
}

std::optional<bool> Config::Bool(std::string_view key) const {
  const json::value* value = Find(key);
  if (value == nullptr || !value->is_bool()) {
    return std::nullopt;
  }
  return value->get_bool();
}

std::vector<std::string> Config::Strings(std::string_view key) const {
  const json::value* value = Find(key);
  std::vector<std::string> out;
  if (value == nullptr) {
    return out;
  }
  if (value->is_string()) {
    out.emplace_back(value->get_string());
  } else if (value->is_array()) {
    for (const json::value& item : value->get_array()) {
      if (item.is_string()) {
        out.emplace_back(item.get_string());
      }
    }
  }
  return out;
}

bool Config::Has(std::string_view key) const {
  return Find(key) != nullptr;
}

Result<std::vector<Config>> Config::Tables(std::string_view key) const {
  const json::value* value = Find(key);
  std::vector<Config> out;
  if (value == nullptr) {
    return out;
  }
  auto invalid = [&] {
    return Error(ErrorCode::kInvalidArgument,
                 fmt::format("{}: {} must be an array of tables ([[{}]] sections)",
                             origin_.empty() ? "config" : origin_, key, key));
  };
  if (!value->is_array()) {
    return invalid();
  }
  for (const json::value& item : value->get_array()) {
    if (!item.is_object()) {
      return invalid();
    }
    Config table;
    table.root_ = item.get_object();
    table.origin_ = origin_;
    out.push_back(std::move(table));
  }
  return out;
}

}  // namespace warden
