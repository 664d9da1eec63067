// Warden's configuration file (TOML), read once and queried by dotted keys ("llm.model").
//
// Where: $WARDEN_CONFIG when set, else $XDG_CONFIG_HOME/warden/config.toml, else
// ~/.config/warden/config.toml. No file is an empty configuration, not an error. Every key a
// file may hold is in the table of base/config_keys.h; a file with any other is refused.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/json.h"
#include "base/result.h"

namespace warden {

class Config {
 public:
  Config() = default;

  // Parses the file at `path` and checks its keys (CheckKeys). Errors name the file, and the
  // line and column of a syntax error.
  static Result<Config> Load(const std::string& path);
  // The file of the default location, or an empty configuration when there is none.
  static Result<Config> LoadDefault();
  // Parses TOML text, without checking its keys (for tests, and for Load).
  static Result<Config> Parse(std::string_view text, const std::string& origin);

  // kInvalidArgument unless every key is in the table of keys (config_keys.h) with a value of
  // its type: `config.toml: unknown key "llm.modle" (did you mean "llm.model"?)`.
  Status CheckKeys() const;

  std::optional<std::string> String(std::string_view key) const;
  std::optional<int64_t> Int(std::string_view key) const;
  std::optional<double> Number(std::string_view key) const;
  std::optional<bool> Bool(std::string_view key) const;
  // An array of strings; a lone string is a list of one.
  std::vector<std::string> Strings(std::string_view key) const;
  // Whether `key` is set, to any value: tells a missing key from one of the wrong type.
  bool Has(std::string_view key) const;
  // An array of tables (`[[api.keys]]` sections), each as a Config of its own with this one's
  // origin, queried by keys relative to it ("id"). Empty when `key` is not set; kInvalidArgument,
  // naming the file and key, when it is set to anything but an array of tables.
  Result<std::vector<Config>> Tables(std::string_view key) const;

  const std::string& origin() const { return origin_; }  // the file it came from, or ""

 private:
  static Result<Config> ParseAndCheck(std::string_view text, const std::string& origin);
  const json::value* Find(std::string_view key) const;

  json::object root_;
  std::string origin_;
};

}  // namespace warden
