// Config::CheckKeys: every key of a configuration file against the table of keys, so that a
// misspelt or misplaced key stops the program at start instead of being silently ignored.
#include <algorithm>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "base/config.h"
#include "base/config_keys.h"
#include "base/units.h"

namespace warden {
namespace {

// Where the keys being checked are: the file, and the [[table]] section when inside one.
struct Place {
  std::string origin;
  std::string_view table;  // "api.keys", or "" outside [[...]] sections
  size_t number = 0;       // which [[table]] section, from 1
};

// Whether `key` may be written at `place`: inside the sections of its table, or outside any.
bool InPlace(const Place& place, const ConfigKey& key) {
  return TableOfConfigKey(key) == place.table;
}

// Whether `name` is `section.LEAF`, `section` being "" or a dotted prefix.
bool IsUnder(std::string_view name, std::string_view section) {
  return section.empty() ||
         (name.size() > section.size() && name.starts_with(section) && name[section.size()] == '.');
}

std::string Join(std::string_view prefix, std::string_view key) {
  return prefix.empty() ? std::string(key) : fmt::format("{}.{}", prefix, key);
}

// `name` as the user wrote it: relative to the [[table]] section it is in.
std::string_view Written(const Place& place, std::string_view name) {
  return place.table.empty() ? name : name.substr(place.table.size() + 1);
}

std::string Where(const Place& place) {
  return place.table.empty() ? "" : fmt::format(" in [[{}]] number {}", place.table, place.number);
}

// The keys known at `place` whose names start with `section.`.
std::vector<std::string_view> KeysOf(const Place& place, std::string_view section) {
  std::vector<std::string_view> out;
  for (const ConfigKey& key : ConfigKeys()) {
    if (!section.empty() && InPlace(place, key) && IsUnder(key.name, section)) {
      std::string_view leaf = key.name.substr(section.size() + 1);
      if (leaf.find('.') == std::string_view::npos) {
        out.push_back(leaf);
      }
    }
  }
  return out;
}

Status Unknown(const Place& place, std::string_view name) {
  std::string head =
      fmt::format("{}: unknown key \"{}\"{}", place.origin, Written(place, name), Where(place));
  if (std::optional<std::string_view> closest = ClosestConfigKey(name, place.table)) {
    return Error(ErrorCode::kInvalidArgument,
                 fmt::format("{} (did you mean \"{}\"?)", head, Written(place, *closest)));
  }
  size_t dot = name.rfind('.');
  std::string_view section = dot == std::string_view::npos ? "" : name.substr(0, dot);
  std::vector<std::string_view> siblings = KeysOf(place, section);
  if (!siblings.empty()) {
    std::string header =
        section == place.table ? fmt::format("[[{}]]", section) : fmt::format("[{}]", section);
    return Error(ErrorCode::kInvalidArgument,
                 fmt::format("{}: the keys of {} are {} (docs/configuration.md describes each)",
                             head, header, fmt::join(siblings, ", ")));
  }
  return Error(ErrorCode::kInvalidArgument,
               fmt::format("{}: docs/configuration.md lists every key", head));
}

std::string_view KindOf(const json::value& value) {
  switch (value.kind()) {
    case json::kind::string:
      return "a string";
    case json::kind::bool_:
      return "a boolean";
    case json::kind::int64:
    case json::kind::uint64:
      return "an integer";
    case json::kind::double_:
      return "a float";
    case json::kind::array:
      return "an array";
    case json::kind::object:
      return "a table";
    case json::kind::null:
      break;
  }
  return "empty";
}

// How a value of `type` is written, for the message that says it was not.
std::string_view Expected(ConfigType type) {
  switch (type) {
    case ConfigType::kString:
      return "a string, such as \"text\"";
    case ConfigType::kStrings:
      return "an array of strings, such as [\"a\", \"b\"], or one string";
    case ConfigType::kBool:
      return "true or false";
    case ConfigType::kInt:
      return "an integer, such as 30";
    case ConfigType::kNumber:
      return "a number, such as 30 or 2.5";
    case ConfigType::kBytes:
      return "a size as a string, such as \"512M\" or \"2G\"";
    case ConfigType::kDuration:
      return "a duration as a string, such as \"90s\" or \"30m\"";
    case ConfigType::kTables:
      return "an array of tables";
  }
  return "something else";
}

bool HasType(ConfigType type, const json::value& value) {
  switch (type) {
    case ConfigType::kString:
    case ConfigType::kBytes:
    case ConfigType::kDuration:
      return value.is_string();
    case ConfigType::kStrings:
      if (value.is_array()) {
        const json::array& items = value.get_array();
        return std::all_of(items.begin(), items.end(),
                           [](const json::value& item) { return item.is_string(); });
      }
      return value.is_string();
    case ConfigType::kBool:
      return value.is_bool();
    case ConfigType::kInt:
      return value.is_int64();
    case ConfigType::kNumber:
      return value.is_number();
    case ConfigType::kTables:
      if (value.is_array()) {
        const json::array& items = value.get_array();
        return std::all_of(items.begin(), items.end(),
                           [](const json::value& item) { return item.is_object(); });
      }
      return false;
  }
  return false;
}

Status CheckTable(const Place& place, std::string_view prefix, const json::object& table);

Status CheckValue(const Place& place, const ConfigKey& key, const json::value& value) {
  std::string_view name = Written(place, key.name);
  if (!HasType(key.type, value)) {
    std::string expected = key.type == ConfigType::kTables
                               ? fmt::format("an array of tables ([[{}]] sections)", name)
                               : std::string(Expected(key.type));
    return Error(ErrorCode::kInvalidArgument,
                 fmt::format("{}: {}{} must be {}, not {}", place.origin, name, Where(place),
                             expected, KindOf(value)));
  }
  Status parsed;
  if (key.type == ConfigType::kBytes) {
    if (Result<uint64_t> bytes = ParseBytes(value.get_string()); !bytes.ok()) {
      parsed = bytes.error();
    }
  } else if (key.type == ConfigType::kDuration) {
    if (auto duration = ParseDuration(value.get_string()); !duration.ok()) {
      parsed = duration.error();
    }
  } else if (key.type == ConfigType::kTables) {
    const json::array& sections = value.get_array();
    for (size_t i = 0; i < sections.size(); ++i) {
      RETURN_IF_ERROR(
          CheckTable({place.origin, key.name, i + 1}, key.name, sections[i].get_object()));
    }
  }
  if (!parsed.ok()) {
    return Error(ErrorCode::kInvalidArgument,
                 fmt::format("{}: {}{}: {} (expected {})", place.origin, name, Where(place),
                             parsed.error().message(), Expected(key.type)));
  }
  return OkStatus();
}

// Whether some key known at `place` lies under the section `name`.
bool IsSection(const Place& place, std::string_view name) {
  for (const ConfigKey& key : ConfigKeys()) {
    if (InPlace(place, key) && IsUnder(key.name, name)) {
      return true;
    }
  }
  return false;
}

Status CheckTable(const Place& place, std::string_view prefix, const json::object& table) {
  for (const auto& [key, value] : table) {
    std::string name = Join(prefix, key);
    if (key.find('.') != std::string_view::npos) {
      // Config::Find() reads "a.b" as a table and its key, never as one quoted name.
      return Error(ErrorCode::kInvalidArgument,
                   fmt::format("{}: key \"{}\"{} has a dot inside quotes: write it without "
                               "the quotes",
                               place.origin, Written(place, name), Where(place)));
    }
    const ConfigKey* known = FindConfigKey(name);
    if (known != nullptr && InPlace(place, *known)) {
      RETURN_IF_ERROR(CheckValue(place, *known, value));
    } else if (value.is_object() && (IsSection(place, name) || !value.get_object().empty())) {
      // An unknown section is reported by its first key: "lm.model" is closer to "llm.model"
      // than "lm" is to anything.
      RETURN_IF_ERROR(CheckTable(place, name, value.get_object()));
    } else {
      return Unknown(place, name);
    }
  }
  return OkStatus();
}

}  // namespace

Status Config::CheckKeys() const {
  return CheckTable({origin_.empty() ? "config" : origin_, "", 0}, "", root_);
}

}  // namespace warden
