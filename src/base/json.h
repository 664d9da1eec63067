// JSON for the whole project: Boost.JSON, compiled once into warden_base (json.cc).
#pragma once

#include <boost/json.hpp>

namespace warden {
namespace json = boost::json;

// False when `value` holds a number that is not finite. Boost.JSON reads a number beyond a double
// (1e999) as infinity, and writes infinity as `Infinity`, which no JSON parser accepts: JSON read
// from outside (a model's arguments) is checked with this before it is written anywhere.
bool AllNumbersFinite(const json::value& value);

}  // namespace warden
