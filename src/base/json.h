// JSON for the whole project: Boost.JSON, compiled once into warden_base (json.cc).
#pragma once

#include <boost/json.hpp>

namespace warden {
namespace json = boost::json;
}  // namespace warden
