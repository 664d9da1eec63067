// The reference of configuration keys in docs/configuration.md, rendered from the table of keys
// (config_keys.h): the table is the single source, the document a view of it.
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"

namespace warden {

// The lines that enclose the generated part of docs/configuration.md.
inline constexpr std::string_view kConfigReferenceBegin =
    "<!-- Generated from src/base/config_keys.cc by warden_config_doc: do not edit below. -->\n";
inline constexpr std::string_view kConfigReferenceEnd = "<!-- End of the generated part. -->\n";

// Every key, one Markdown table per section.
std::string RenderConfigReference();

// `document` with what lies between kConfigReferenceBegin and kConfigReferenceEnd replaced by
// RenderConfigReference(); kInvalidArgument when either line is missing.
Result<std::string> SpliceConfigReference(std::string_view document);

}  // namespace warden
