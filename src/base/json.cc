// Boost.JSON's implementation, compiled here once instead of linking the shared library (start-up
// time of the warden binary matters; see CMakeLists.txt), and Warden's JSON helpers.
#include "base/json.h"

#include <algorithm>
#include <cmath>

#include <boost/json/src.hpp>

namespace warden {

bool AllNumbersFinite(const json::value& value) {
  switch (value.kind()) {
    case json::kind::double_:
      return std::isfinite(value.get_double());
    case json::kind::array:
      return std::all_of(value.get_array().begin(), value.get_array().end(),
                         [](const json::value& item) { return AllNumbersFinite(item); });
    case json::kind::object:
      return std::all_of(
          value.get_object().begin(), value.get_object().end(),
          [](const json::key_value_pair& item) { return AllNumbersFinite(item.value()); });
    default:
      return true;
  }
}

}  // namespace warden
