// Hexadecimal digits, for the decoders that meet them (percent-escapes, \u escapes).
#pragma once

namespace warden {

// The value of a hexadecimal digit, in either case; -1 for any other character.
constexpr int HexDigitValue(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

}  // namespace warden
