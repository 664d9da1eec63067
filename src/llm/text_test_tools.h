// The agent's tools as the parser tests offer them: names and JSON-schema parameters of Warden's
// run_shell, run_python, write_file, read_file and finish. Test-only.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/json.h"
#include "llm/types.h"

namespace warden::llm {

inline ToolSpec ToolForTest(std::string_view name, std::string_view parameters) {
  return ToolSpec{std::string(name), "", json::parse(parameters).as_object()};
}

inline std::vector<ToolSpec> AgentToolsForTest() {
  return {
      ToolForTest("run_shell", R"({"type": "object",
          "properties": {"command": {"type": "string"}, "timeout_seconds": {"type": "integer"}},
          "required": ["command"], "additionalProperties": false})"),
      ToolForTest("run_python", R"({"type": "object",
          "properties": {"code": {"type": "string"}, "timeout_seconds": {"type": "integer"}},
          "required": ["code"], "additionalProperties": false})"),
      ToolForTest("write_file", R"({"type": "object",
          "properties": {"path": {"type": "string"}, "content": {"type": "string"}},
          "required": ["path", "content"], "additionalProperties": false})"),
      ToolForTest("read_file", R"({"type": "object",
          "properties": {"path": {"type": "string"}},
          "required": ["path"], "additionalProperties": false})"),
      ToolForTest("finish", R"({"type": "object",
          "properties": {"summary": {"type": "string"},
                         "files": {"type": "array", "items": {"type": "string"}}},
          "required": ["summary"], "additionalProperties": false})"),
  };
}

}  // namespace warden::llm
