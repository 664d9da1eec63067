// The table of every key Warden reads from its configuration file: name, type, default and
// meaning. Config::Load rejects a file with any other key, and docs/configuration.md is rendered
// from this table (a test keeps the two equal).
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace warden {

enum class ConfigType {
  kString,
  kStrings,  // an array of strings; a lone string is a list of one
  kBool,
  kInt,
  kNumber,    // an integer or a float
  kBytes,     // a string that ParseBytes() reads: "512M", "2G"
  kDuration,  // a string that ParseDuration() reads: "90s", "30m"
  kTables,    // an array of tables ([[name]] sections) whose keys are "name.KEY" entries
};

// How a type is written in messages and in the documentation: "boolean", "duration"...
std::string_view ConfigTypeName(ConfigType type);

struct ConfigKey {
  // Dotted: "llm.model" is `model` in the [llm] section. The keys of each table of a kTables
  // key follow it: "api.keys.id" is `id` in every [[api.keys]] section.
  std::string_view name;
  ConfigType type;
  // The value used when the key is absent, in TOML ("30", "\"30m\"", "true"); "" when there is
  // none (the description says what happens then).
  std::string_view default_value;
  // The commands that read it: "run", "serve", "run, serve", "mcp", "mcp, serve" or
  // "exec, serve".
  std::string_view read_by;
  std::string_view description;
};

// Every key, grouped by section, in the order of the documentation.
std::span<const ConfigKey> ConfigKeys();

// The kTables key whose sections hold `key` ("api.keys" for "api.keys.id"); "" for a key of
// the file's own sections.
std::string_view TableOfConfigKey(const ConfigKey& key);

// The entry of `name`, or nullptr when no key has that name.
const ConfigKey* FindConfigKey(std::string_view name);

// The known key a user most likely meant by the unknown dotted `name`: one that differs by a
// typo or two, or one of the same name in another section; nullopt when none is close. With
// `table` ("api.keys"), only the keys of that kTables key's sections are candidates; without,
// only the keys outside such sections.
std::optional<std::string_view> ClosestConfigKey(std::string_view name,
                                                 std::string_view table = "");

}  // namespace warden
