// Lenient JSON for text that models print: repairs the common near-misses before parsing.
#pragma once

#include <string>
#include <string_view>

#include "base/json.h"
#include "base/result.h"

namespace warden::llm {

// Parses `text` as JSON; when strict parsing fails, repairs trailing commas, single-quoted
// strings, raw newlines and tabs inside strings, Python literals (True/False/None), unquoted
// keys, and missing closing brackets or quotes at the end (a truncated reply), then parses again.
// The error names the position of the first problem that could not be repaired.
Result<json::value> ParseLenientJson(std::string_view text);

}  // namespace warden::llm
