// Fuzz target: validation and coercion of tool arguments against a JSON Schema (llm/schema.h).
// The first byte chooses the schema: one of the agent's tools, or (odd bytes) a schema read from
// the start of the input up to its first NUL. The rest is the arguments as a model sent them,
// read leniently as the agent reads them. Properties: no crash, no sanitizer report; arguments
// that were accepted are accepted again, unchanged (coercion is done once, in full).
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "fuzz/fuzz_check.h"
#include "llm/json_repair.h"
#include "llm/schema.h"
#include "llm/text_test_tools.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace json = boost::json;
  using warden::llm::ToolSpec;
  static const std::vector<ToolSpec> tools = warden::llm::AgentToolsForTest();
  if (size == 0) {
    return 0;
  }
  std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  json::object schema;
  if ((data[0] & 1) == 0) {
    schema = tools[data[0] / 2 % tools.size()].parameters;
  } else {
    size_t nul = input.find('\0');
    if (nul == std::string_view::npos) {
      return 0;
    }
    boost::system::error_code ec;
    json::value parsed = json::parse(input.substr(0, nul), ec);
    if (ec || !parsed.is_object()) {
      return 0;
    }
    schema = std::move(parsed.get_object());
    input.remove_prefix(nul + 1);
  }
  warden::Result<json::value> value = warden::llm::ParseLenientJson(input);
  if (!value.ok()) {
    return 0;
  }
  json::value arguments = *value;
  if (!warden::llm::ValidateAgainstSchema(schema, arguments).ok()) {
    return 0;
  }
  json::value again = arguments;
  warden::Status status = warden::llm::ValidateAgainstSchema(schema, again);
  FUZZ_CHECK(status.ok()) << json::serialize(arguments) << " against " << json::serialize(schema)
                          << ": " << status.error().message();
  FUZZ_CHECK(again == arguments) << json::serialize(arguments) << " became "
                                 << json::serialize(again);
  return 0;
}
