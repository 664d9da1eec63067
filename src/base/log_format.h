// How log lines are written: text for people (the default), or one JSON object per line for log
// collectors (`--log-format json`, or WARDEN_LOG_FORMAT=json): {"time", "level", "msg", fields...}.
#pragma once

#include <string_view>

#include "base/json.h"
#include "base/log.h"

namespace warden::log {

enum class Format { kText, kJson };

void SetFormat(Format format);
Format CurrentFormat();
// Parses "text" or "json". Returns false for anything else.
bool ParseFormat(std::string_view text, Format* format);

// One line with named fields: in text "message key=value ...", in JSON the fields beside "msg".
// Writes nothing below the current level.
void WriteFields(Level level, std::string_view message, const json::object& fields);

}  // namespace warden::log
