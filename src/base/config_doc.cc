#include "base/config_doc.h"

#include <fmt/format.h>

#include "base/config_keys.h"

namespace warden {
namespace {

// The heading a key is listed under: its [section], or its [[table]].
std::string SectionOf(const ConfigKey& key) {
  if (std::string_view table = TableOfConfigKey(key); !table.empty()) {
    return fmt::format("[[{}]]", table);
  }
  size_t dot = key.name.rfind('.');
  return fmt::format("[{}]", key.name.substr(0, dot));
}

// `key`'s name as written under its heading.
std::string_view LeafOf(const ConfigKey& key) {
  return key.name.substr(key.name.rfind('.') + 1);
}

std::string Cell(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '|') {
      out += '\\';
    }
    out += c;
  }
  return out;
}

}  // namespace

std::string RenderConfigReference() {
  std::string out;
  std::string section;
  for (const ConfigKey& key : ConfigKeys()) {
    if (std::string heading = SectionOf(key); heading != section) {
      section = heading;
      out += fmt::format("\n### `{}`\n\n", section);
      out += "| key | type | default | read by | meaning |\n";
      out += "| --- | --- | --- | --- | --- |\n";
    }
    std::string default_value =
        key.default_value.empty() ? "" : fmt::format("`{}`", Cell(key.default_value));
    out += fmt::format("| `{}` | {} | {} | {} | {} |\n", LeafOf(key), ConfigTypeName(key.type),
                       default_value, key.read_by, Cell(key.description));
  }
  return out;
}

Result<std::string> SpliceConfigReference(std::string_view document) {
  size_t begin = document.find(kConfigReferenceBegin);
  size_t end = document.find(kConfigReferenceEnd);
  if (begin == std::string_view::npos || end == std::string_view::npos || end < begin) {
    return Error(ErrorCode::kInvalidArgument,
                 fmt::format("the document needs the lines\n{}and\n{}around the reference",
                             kConfigReferenceBegin, kConfigReferenceEnd));
  }
  begin += kConfigReferenceBegin.size();
  return fmt::format("{}{}\n{}", document.substr(0, begin), RenderConfigReference(),
                     document.substr(end));
}

}  // namespace warden
