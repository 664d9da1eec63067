// UTF-8 as programs actually write it: checking bytes, finding a character cut in two at the end
// of a chunk, and replacing what is not UTF-8 so that JSON built from it stays readable.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace warden {

// What the bytes at the front of a text are, read as UTF-8 (Unicode 15, table 3-7: no overlong
// forms, no surrogates, nothing past U+10FFFF).
struct Utf8Unit {
  enum class Kind {
    kChar,       // a whole, well-formed character of `length` bytes
    kInvalid,    // `length` bytes (at least 1) that begin no character: the "maximal subpart"
    kUnfinished  // the text ends `length` bytes into a character that more bytes would complete
  };
  Kind kind = Kind::kChar;
  size_t length = 0;
};

// The unit at the front of `text`, which must not be empty.
Utf8Unit NextUtf8Unit(std::string_view text);

bool IsValidUtf8(std::string_view text);

// How many bytes at the end of `text` (0 to 3) begin a character that the text stops short of:
// what a reader of a stream keeps back until the next chunk, which may complete it.
size_t Utf8UnfinishedTail(std::string_view text);

// `text` with each ill-formed or unfinished sequence replaced by U+FFFD, one per maximal subpart
// (the practice of Unicode §3.9 and of WHATWG decoders). Valid text comes back unchanged.
std::string ToValidUtf8(std::string_view text);

}  // namespace warden
