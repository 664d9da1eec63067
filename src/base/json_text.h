// JSON text that is always valid UTF-8, whatever bytes the strings of a value hold.
#pragma once

#include <string>

#include "base/json.h"

namespace warden {

// Serializes `value` like json::serialize, but always as valid UTF-8: in a string or key that
// holds bytes that are not UTF-8 (a program's output, a file name), each ill-formed sequence
// becomes U+FFFD (see ToValidUtf8 in base/utf8.h). json::serialize copies such bytes as they are,
// and no JSON parser, Boost.JSON's included, reads the result. Use it for every JSON text that is
// stored or leaves the process.
std::string SerializeJson(const json::value& value);

// Replaces, in place, the ill-formed UTF-8 of every string and key in `value` with U+FFFD.
void MakeValidUtf8(json::value& value);
void MakeValidUtf8(json::object& object);

}  // namespace warden
