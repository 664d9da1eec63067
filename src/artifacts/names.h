// How artifact names, which are bytes, are shown as text. Linux lets a program name a file with
// any bytes but '/' and NUL, and JSON carries only UTF-8: a listing shows every name in one
// reversible form, and the files route takes that same form back.
//
// The shown form of a name is the name itself, except that a backslash is written "\\" and each
// byte that is not part of a valid UTF-8 sequence is written "\xHH" (two lower-case hex digits).
// A UTF-8 name without a backslash, which is nearly every name, is shown unchanged.
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"

namespace warden::artifacts {

// True when `text` is well-formed UTF-8: no stray continuation bytes, no overlong forms, no
// surrogates, nothing above U+10FFFF.
bool IsValidUtf8(std::string_view text);

// The shown form of the name `raw` (see above): always valid UTF-8.
std::string ShownName(std::string_view raw);

// The name whose shown form is `shown`. "\xHH" may be upper- or lower-case and name any byte (it
// is then checked like any other path); kInvalidArgument for a backslash followed by anything but
// a backslash or "x" and two hex digits, saying how to write one.
Result<std::string> NameFromShown(std::string_view shown);

}  // namespace warden::artifacts
