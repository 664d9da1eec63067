#include "base/base64.h"

#include <array>
#include <cstdint>

namespace warden {
namespace {

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// The value of each byte as a base64 digit, or -1.
constexpr std::array<int8_t, 256> DigitValues() {
  std::array<int8_t, 256> values{};
  for (int8_t& value : values) {
    value = -1;
  }
  for (size_t i = 0; i < kAlphabet.size(); ++i) {
    values[static_cast<unsigned char>(kAlphabet[i])] = static_cast<int8_t>(i);
  }
  return values;
}

constexpr std::array<int8_t, 256> kDigitValues = DigitValues();

}  // namespace

std::string Base64Encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t group = static_cast<uint32_t>(static_cast<unsigned char>(bytes[i])) << 16 |
                     static_cast<uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8 |
                     static_cast<unsigned char>(bytes[i + 2]);
    out += kAlphabet[group >> 18];
    out += kAlphabet[(group >> 12) & 63];
    out += kAlphabet[(group >> 6) & 63];
    out += kAlphabet[group & 63];
  }
  size_t left = bytes.size() - i;
  if (left > 0) {
    uint32_t group = static_cast<uint32_t>(static_cast<unsigned char>(bytes[i])) << 16;
    if (left == 2) {
      group |= static_cast<uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8;
    }
    out += kAlphabet[group >> 18];
    out += kAlphabet[(group >> 12) & 63];
    out += left == 2 ? kAlphabet[(group >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::optional<std::string> Base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) {
    return std::nullopt;
  }
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    bool last = i + 4 == text.size();
    size_t padding = 0;
    if (last) {
      padding = text[i + 3] != '=' ? 0 : text[i + 2] != '=' ? 1 : 2;
    }
    uint32_t group = 0;
    for (size_t j = 0; j < 4; ++j) {
      int8_t value =
          j < 4 - padding ? kDigitValues[static_cast<unsigned char>(text[i + j])] : int8_t{0};
      if (value < 0) {
        return std::nullopt;
      }
      group = group << 6 | static_cast<uint32_t>(value);
    }
    // Bits that padding leaves over must be zero: one encoding per byte string.
    if ((padding == 1 && (group & 0xFF) != 0) || (padding == 2 && (group & 0xFFFF) != 0)) {
      return std::nullopt;
    }
    out += static_cast<char>(group >> 16);
    if (padding < 2) {
      out += static_cast<char>((group >> 8) & 0xFF);
    }
    if (padding < 1) {
      out += static_cast<char>(group & 0xFF);
    }
  }
  return out;
}

}  // namespace warden
