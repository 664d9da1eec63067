#include "artifacts/names.h"

#include <cstdint>

#include "base/hex.h"

namespace warden::artifacts {

namespace {

// The length of the well-formed UTF-8 sequence that starts at text[at], or 0 when none does.
size_t SequenceLength(std::string_view text, size_t at) {
  auto byte = static_cast<unsigned char>(text[at]);
  size_t length = 0;
  if (byte < 0x80) {
    return 1;
  }
  if ((byte & 0xe0) == 0xc0) {
    length = 2;
  } else if ((byte & 0xf0) == 0xe0) {
    length = 3;
  } else if ((byte & 0xf8) == 0xf0) {
    length = 4;
  }
  if (length == 0 || at + length > text.size()) {
    return 0;
  }
  uint32_t code = byte & (0x7fU >> length);
  for (size_t k = 1; k < length; ++k) {
    auto next = static_cast<unsigned char>(text[at + k]);
    if ((next & 0xc0) != 0x80) {
      return 0;
    }
    code = (code << 6) | (next & 0x3fU);
  }
  bool overlong = (length == 2 && code < 0x80) || (length == 3 && code < 0x800) ||
                  (length == 4 && code < 0x10000);
  if (overlong || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) {
    return 0;
  }
  return length;
}

}  // namespace

bool IsValidUtf8(std::string_view text) {
  for (size_t at = 0; at < text.size();) {
    size_t length = SequenceLength(text, at);
    if (length == 0) {
      return false;
    }
    at += length;
  }
  return true;
}

std::string ShownName(std::string_view raw) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string shown;
  shown.reserve(raw.size());
  for (size_t at = 0; at < raw.size();) {
    if (raw[at] == '\\') {
      shown += "\\\\";
      ++at;
      continue;
    }
    size_t length = SequenceLength(raw, at);
    if (length == 0) {
      auto byte = static_cast<unsigned char>(raw[at]);
      shown += "\\x";
      shown.push_back(kDigits[byte >> 4]);
      shown.push_back(kDigits[byte & 0xf]);
      ++at;
      continue;
    }
    shown.append(raw.substr(at, length));
    at += length;
  }
  return shown;
}

Result<std::string> NameFromShown(std::string_view shown) {
  std::string raw;
  raw.reserve(shown.size());
  for (size_t at = 0; at < shown.size(); ++at) {
    if (shown[at] != '\\') {
      raw.push_back(shown[at]);
      continue;
    }
    if (at + 1 < shown.size() && shown[at + 1] == '\\') {
      raw.push_back('\\');
      ++at;
      continue;
    }
    bool hex_escape = at + 3 < shown.size() && shown[at + 1] == 'x';
    int high = hex_escape ? HexDigitValue(shown[at + 2]) : -1;
    int low = hex_escape ? HexDigitValue(shown[at + 3]) : -1;
    if (high < 0 || low < 0) {
      return Error(ErrorCode::kInvalidArgument,
                   "invalid escape in artifact path at byte " + std::to_string(at) +
                       ": in a path, a backslash is written \\\\ and a byte that is not UTF-8 "
                       "\\xHH, as GET /v1/jobs/{id}/files lists them");
    }
    raw.push_back(static_cast<char>(high * 16 + low));
    at += 3;
  }
  return raw;
}

}  // namespace warden::artifacts
