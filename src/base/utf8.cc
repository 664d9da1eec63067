#include "base/utf8.h"

#include <cstdint>
#include <cstring>

namespace warden {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// Bytes from `at` on that are all ASCII, eight at a time where it can: most output is ASCII.
size_t AsciiRun(std::string_view text, size_t at) {
  size_t i = at;
  while (i + 8 <= text.size()) {
    uint64_t word = 0;
    std::memcpy(&word, text.data() + i, sizeof(word));
    if ((word & 0x8080808080808080ULL) != 0) {
      break;
    }
    i += 8;
  }
  while (i < text.size() && static_cast<unsigned char>(text[i]) < 0x80) {
    ++i;
  }
  return i - at;
}

}  // namespace

Utf8Unit NextUtf8Unit(std::string_view text) {
  const auto lead = static_cast<unsigned char>(text[0]);
  if (lead < 0x80) {
    return {Utf8Unit::Kind::kChar, 1};
  }
  // The length of the character a lead byte begins, and the range its second byte must be in
  // (narrower than 80..BF where it would be overlong, a surrogate or past U+10FFFF).
  size_t need = 0;
  unsigned char low = 0x80;
  unsigned char high = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    need = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    need = 3;
    low = lead == 0xE0 ? 0xA0 : 0x80;
    high = lead == 0xED ? 0x9F : 0xBF;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    need = 4;
    low = lead == 0xF0 ? 0x90 : 0x80;
    high = lead == 0xF4 ? 0x8F : 0xBF;
  } else {
    return {Utf8Unit::Kind::kInvalid, 1};  // 80..C1, F5..FF never begin a character
  }
  for (size_t i = 1; i < need; ++i) {
    if (i >= text.size()) {
      return {Utf8Unit::Kind::kUnfinished, i};
    }
    const auto byte = static_cast<unsigned char>(text[i]);
    if (byte < (i == 1 ? low : 0x80) || byte > (i == 1 ? high : 0xBF)) {
      return {Utf8Unit::Kind::kInvalid, i};
    }
  }
  return {Utf8Unit::Kind::kChar, need};
}

bool IsValidUtf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    i += AsciiRun(text, i);
    if (i == text.size()) {
      break;
    }
    Utf8Unit unit = NextUtf8Unit(text.substr(i));
    if (unit.kind != Utf8Unit::Kind::kChar) {
      return false;
    }
    i += unit.length;
  }
  return true;
}

size_t Utf8UnfinishedTail(std::string_view text) {
  // Back over at most three continuation bytes to the byte that would lead them.
  size_t start = text.size();
  while (start > 0 && text.size() - start < 4) {
    --start;
    if ((static_cast<unsigned char>(text[start]) & 0xC0) != 0x80) {
      break;
    }
  }
  if (start == text.size()) {
    return 0;
  }
  Utf8Unit unit = NextUtf8Unit(text.substr(start));
  bool to_the_end = start + unit.length == text.size();
  return unit.kind == Utf8Unit::Kind::kUnfinished && to_the_end ? unit.length : 0;
}

std::string ToValidUtf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    size_t ascii = AsciiRun(text, i);
    out.append(text.substr(i, ascii));
    i += ascii;
    if (i == text.size()) {
      break;
    }
    Utf8Unit unit = NextUtf8Unit(text.substr(i));
    if (unit.kind == Utf8Unit::Kind::kChar) {
      out.append(text.substr(i, unit.length));
    } else {
      out.append(kReplacement);
    }
    i += unit.length;
  }
  return out;
}

}  // namespace warden
