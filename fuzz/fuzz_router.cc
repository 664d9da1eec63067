// Fuzz target: URL decoding (api/http.h PercentDecode, ParseTarget) and the router (api/router.h)
// with the REST API's route table. Input: a method byte, then a request target. Properties: no
// crash, no sanitizer report; decoding never yields a NUL and never grows the text, and undoes
// percent-encoding exactly; a parsed target keeps its raw form and a NUL-free path; the router
// answers 200 (handler), 400, 404 or 405 with Allow, and hands handlers only safe parameters.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "api/http.h"
#include "api/router.h"
#include "fuzz/api_routes.h"
#include "fuzz/fuzz_check.h"

namespace warden::api {
namespace {

void CheckDecode(std::string_view text, DecodeMode mode) {
  std::optional<std::string> decoded = PercentDecode(text, mode);
  if (!decoded) {
    return;
  }
  FUZZ_CHECK(decoded->find('\0') == std::string::npos);
  FUZZ_CHECK(decoded->size() <= text.size());
  std::string encoded;
  for (unsigned char c : *decoded) {
    encoded += fmt::format("%{:02X}", c);
  }
  std::optional<std::string> again = PercentDecode(encoded, mode);
  FUZZ_CHECK(again && *again == *decoded) << "percent-encoding of " << *decoded << " not undone";
}

}  // namespace
}  // namespace warden::api

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace warden::api;  // NOLINT(google-build-using-namespace): a fuzz entry point
  static const Router router = warden::fuzz::ApiRoutes();
  if (size == 0) {
    return 0;
  }
  static constexpr const char* kMethods[] = {"GET", "POST", "HEAD", "DELETE"};
  std::string_view target(reinterpret_cast<const char*>(data) + 1, size - 1);

  CheckDecode(target, DecodeMode::kPath);
  CheckDecode(target, DecodeMode::kQuery);

  Request request;
  request.method = kMethods[data[0] % 4];
  if (!ParseTarget(target, &request)) {
    return 0;
  }
  FUZZ_CHECK(request.raw_target == target);
  FUZZ_CHECK(request.path.find('\0') == std::string::npos);
  for (const auto& [key, value] : request.query) {
    FUZZ_CHECK(key.find('\0') == std::string::npos && value.find('\0') == std::string::npos);
  }
  warden::fuzz::CheckRouted(router.Handle(request));
  return 0;
}
