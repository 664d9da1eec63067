// Tool calls that a model printed as text instead of making them natively: every raw format of
// shared/reference/llm-output-formats.md, fenced code blocks, {"commands": [...]} objects and bare
// JSON calls, after stripping <think> blocks. Near-JSON is repaired (json_repair.h) and each call's
// arguments are validated against its tool's schema (schema.h).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/json.h"
#include "llm/types.h"

namespace warden::llm {

struct TextCall {
  std::string name;        // a tool's name (fenced bash maps to run_shell, python to run_python)
  json::object arguments;  // repaired, validated and coerced to the schema
  std::string format;      // which format it was found in: "hermes", "fenced-bash", ...
  std::string raw;         // the span of the text it came from
  // What had to be repaired to use it, in words ("near-JSON repaired", "tool \"bash\" read as
  // run_shell", ...); empty when it was used as written.
  std::vector<std::string> repairs;
};

struct TextCallParse {
  std::vector<TextCall> calls;
  // Empty when the text holds no attempted call, or every attempted call parsed. Otherwise what
  // went wrong, quoting the offending span (at most ~200 characters of it), for the re-prompt.
  std::string error;
  // The text without think blocks and without the spans that were calls: the model's prose.
  std::string prose;
  // Calls written inside thinking blocks: drafts, never to be run. Listed so that a model whose
  // only call was a draft can be told where to put it, and so that `warden parse` can show them.
  std::vector<TextCall> drafts;
};

// Finds the tool calls in `text`. `tools` are the tools on offer: a call to any other name is an
// error, and so are arguments that do not fit the tool's schema.
TextCallParse ParseTextCalls(std::string_view text, const std::vector<ToolSpec>& tools);

// Validates and coerces one native call's arguments (JSON text as the model sent it, repaired if
// needed) against the tool it names. On success `arguments` holds the object to use; on failure
// the error says what was wrong, in words the model can act on.
struct ArgumentCheck {
  bool ok = false;
  json::object arguments;
  std::string error;
};
ArgumentCheck CheckCall(const ToolCall& call, const std::vector<ToolSpec>& tools);

}  // namespace warden::llm
