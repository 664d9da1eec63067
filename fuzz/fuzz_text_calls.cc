// Fuzz target: tool calls printed as text (llm/text_calls.h), as a hostile or broken model might
// print them. Properties: no crash, no sanitizer report; every call found names an offered tool
// and carries arguments that its schema accepts as they are; CheckCall on the same text as native
// arguments agrees with itself.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "fuzz/fuzz_check.h"
#include "llm/schema.h"
#include "llm/text_calls.h"
#include "llm/text_test_tools.h"

namespace warden::llm {
namespace {

const ToolSpec* FindTool(const std::vector<ToolSpec>& tools, std::string_view name) {
  for (const ToolSpec& tool : tools) {
    if (tool.name == name) {
      return &tool;
    }
  }
  return nullptr;
}

// Arguments that passed validation pass it again, unchanged: coercion is done once, in full.
void CheckSettled(const ToolSpec& tool, const json::object& arguments) {
  json::value again = arguments;
  Status status = ValidateAgainstSchema(tool.parameters, again);
  FUZZ_CHECK(status.ok()) << tool.name << " " << json::serialize(arguments) << ": "
                          << status.error().message();
  FUZZ_CHECK(again == json::value(arguments))
      << json::serialize(arguments) << " became " << json::serialize(again);
}

}  // namespace
}  // namespace warden::llm

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace warden::llm;  // NOLINT(google-build-using-namespace): a fuzz entry point
  static const std::vector<ToolSpec> tools = AgentToolsForTest();
  std::string_view text(reinterpret_cast<const char*>(data), size);

  TextCallParse parse = ParseTextCalls(text, tools);
  for (const TextCall& call : parse.calls) {
    const ToolSpec* tool = FindTool(tools, call.name);
    FUZZ_CHECK(tool != nullptr) << "a call to a tool that was not offered: " << call.name;
    CheckSettled(*tool, call.arguments);
  }

  for (const ToolSpec& tool : tools) {
    ArgumentCheck check = CheckCall(ToolCall{"call_1", tool.name, std::string(text)}, tools);
    FUZZ_CHECK(check.ok != !check.error.empty()) << "ok=" << check.ok << " error=" << check.error;
    if (check.ok) {
      CheckSettled(tool, check.arguments);
    }
  }
  return 0;
}
