// Fuzz target: lenient JSON (llm/json_repair.h) over any text. Properties: no crash, no sanitizer
// report; text that is valid JSON is parsed exactly as the strict parser parses it (repair never
// changes a valid document), except that a number beyond a double (which Boost.JSON reads as
// infinity, and would write back as `Infinity`) is refused; what the repair produced parses again
// to the same value.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "base/json.h"
#include "fuzz/fuzz_check.h"
#include "llm/json_repair.h"

namespace {

bool HasNonFinite(const boost::json::value& value) {
  if (value.is_double()) {
    return !std::isfinite(value.get_double());
  }
  if (value.is_array()) {
    for (const boost::json::value& item : value.get_array()) {
      if (HasNonFinite(item)) {
        return true;
      }
    }
  }
  if (value.is_object()) {
    for (const auto& field : value.get_object()) {
      if (HasNonFinite(field.value())) {
        return true;
      }
    }
  }
  return false;
}

// Equal, but for doubles within a few units in the last place: Boost.JSON 1.81 does not always
// round a long number to the nearest double, so a double written out and read back may move by
// one unit (920368547758072337203 reads as 9.203685477580723E20, which reads as ...724E20).
bool Same(const boost::json::value& a, const boost::json::value& b) {
  if (a.is_double() && b.is_double()) {
    double x = a.get_double();
    double y = b.get_double();
    return x == y || std::fabs(x - y) <= 4 * std::numeric_limits<double>::epsilon() *
                                             std::max(std::fabs(x), std::fabs(y));
  }
  if (a.is_array() && b.is_array()) {
    const boost::json::array& l = a.get_array();
    const boost::json::array& r = b.get_array();
    if (l.size() != r.size()) {
      return false;
    }
    for (size_t i = 0; i < l.size(); ++i) {
      if (!Same(l[i], r[i])) {
        return false;
      }
    }
    return true;
  }
  if (a.is_object() && b.is_object()) {
    const boost::json::object& l = a.get_object();
    const boost::json::object& r = b.get_object();
    if (l.size() != r.size()) {
      return false;
    }
    for (const auto& field : l) {
      const boost::json::value* other = r.if_contains(field.key());
      if (other == nullptr || !Same(field.value(), *other)) {
        return false;
      }
    }
    return true;
  }
  return a == b;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace json = boost::json;
  std::string_view text(reinterpret_cast<const char*>(data), size);

  warden::Result<json::value> lenient = warden::llm::ParseLenientJson(text);

  boost::system::error_code ec;
  json::value strict = json::parse(text, ec);
  if (!ec && HasNonFinite(strict)) {
    FUZZ_CHECK(!lenient.ok()) << "a number beyond a double accepted: " << json::serialize(*lenient);
  } else if (!ec) {
    FUZZ_CHECK(lenient.ok()) << "valid JSON refused: " << lenient.error().message();
    FUZZ_CHECK(Same(*lenient, strict)) << "valid JSON changed: " << json::serialize(*lenient);
  }
  if (lenient.ok()) {
    std::string serialized = json::serialize(*lenient);
    warden::Result<json::value> again = warden::llm::ParseLenientJson(serialized);
    FUZZ_CHECK(again.ok()) << serialized << ": " << again.error().message();
    FUZZ_CHECK(Same(*again, *lenient)) << serialized << " read back as " << json::serialize(*again);
  }
  return 0;
}
