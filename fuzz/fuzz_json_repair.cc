// Fuzz target: lenient JSON (llm/json_repair.h) over any text. Properties: no crash, no sanitizer
// report; text that is valid JSON is parsed exactly as the strict parser parses it (repair never
// changes a valid document); what the repair produced parses again to the same value.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/json.h"
#include "fuzz/fuzz_check.h"
#include "llm/json_repair.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace json = boost::json;
  std::string_view text(reinterpret_cast<const char*>(data), size);

  warden::Result<json::value> lenient = warden::llm::ParseLenientJson(text);

  boost::system::error_code ec;
  json::value strict = json::parse(text, ec);
  if (!ec) {
    FUZZ_CHECK(lenient.ok()) << "valid JSON refused: " << lenient.error().message();
    FUZZ_CHECK(*lenient == strict) << "valid JSON changed: " << json::serialize(*lenient);
  }
  if (lenient.ok()) {
    std::string serialized = json::serialize(*lenient);
    warden::Result<json::value> again = warden::llm::ParseLenientJson(serialized);
    FUZZ_CHECK(again.ok()) << serialized << ": " << again.error().message();
    FUZZ_CHECK(*again == *lenient) << serialized << " read back as " << json::serialize(*again);
  }
  return 0;
}
