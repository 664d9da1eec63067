#include "llm/text_calls.h"

#include <algorithm>
#include <cctype>
#include <iterator>
#include <string>
#include <utility>

#include "llm/json_repair.h"
#include "llm/schema.h"
#include "llm/text_scan.h"

namespace warden::llm {
namespace {

using text_scan::Candidate;
using text_scan::SpanKind;

constexpr size_t kNpos = std::string_view::npos;
constexpr size_t kMaxQuote = 200;
// The re-prompt names this many failed calls; past it, only how many more there were.
constexpr int kMaxReportedFailures = 5;

// Most specific first: a format that contains another (DeepSeek's ```json, <tool_call> around
// <function=...>) must claim its span before the detector of the inner one runs.
constexpr text_scan::Detector kDetectors[] = {
    text_scan::FindStep3Calls,         text_scan::FindDsmlCalls,     text_scan::FindDeepSeekCalls,
    text_scan::FindKimiCalls,          text_scan::FindHarmonyCalls,  text_scan::FindGemma4Calls,
    text_scan::FindApertusCalls,       text_scan::FindCallWrappers,  text_scan::FindHermesVariants,
    text_scan::FindToolCallTags,       text_scan::FindGraniteCalls,  text_scan::FindLfm2Calls,
    text_scan::FindFunctionGemmaCalls, text_scan::FindMistralCalls,  text_scan::FindPythonTagCalls,
    text_scan::FindFunctionaryCalls,   text_scan::FindFunctionTags,  text_scan::FindInvokes,
    text_scan::FindFencedBlocks,       text_scan::FindPythonicLists, text_scan::FindBareJson,
    text_scan::FindLeftoverMarkers,
};

// Tokens that end or start a turn: no part of the prose when a server passes them through.
constexpr std::string_view kEndTokens[] = {
    "<|eot_id|>", "<|eom_id|>", "<|im_end|>",         "<|end|>",
    "<|return|>", "</s>",       "<|start|>assistant", "<｜end▁of▁sentence｜>"};

// Names models use for the tools Warden offers, when the real name is not on offer as such
// (space-separated words).
struct ToolAlias {
  std::string_view tool;
  std::string_view aliases;
};
constexpr ToolAlias kToolAliases[] = {
    {"run_shell",
     "bash shell sh execute_bash execute_command run_command terminal cmd run_bash shell_command"},
    {"run_python", "python python3 execute_python run_code ipython run_python_code"},
    {"finish", "done final_answer submit task_complete complete"},
};

// Argument names models use instead of the schema's, per tool (space-separated words).
struct ArgumentAlias {
  std::string_view tool;
  std::string_view argument;
  std::string_view aliases;
};
constexpr ArgumentAlias kArgumentAliases[] = {
    {"run_shell", "command", "cmd script code commands bash shell"},
    {"run_python", "code", "script source command python"},
    {"write_file", "path", "file_path filename file"},
    {"write_file", "content", "contents text data"},
    {"read_file", "path", "file_path filename file"},
    {"finish", "summary", "message result answer"},
};

std::vector<std::string_view> Words(std::string_view list) {
  std::vector<std::string_view> words;
  for (size_t pos = 0; pos < list.size();) {
    size_t space = std::min(list.find(' ', pos), list.size());
    words.push_back(list.substr(pos, space - pos));
    pos = space + 1;
  }
  return words;
}

// Lower case, '-' as '_', without a "functions." or "default_api." namespace.
std::string NormalisedName(std::string_view name) {
  name = text_scan::Trim(name);
  for (std::string_view prefix : {"functions.", "default_api.", "tools."}) {
    if (name.starts_with(prefix)) {
      name.remove_prefix(prefix.size());
    }
  }
  std::string out(name);
  for (char& c : out) {
    c = c == '-' ? '_' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

const ToolSpec* ExactTool(std::string_view name, const std::vector<ToolSpec>& tools) {
  for (const ToolSpec& tool : tools) {
    if (tool.name == name) {
      return &tool;
    }
  }
  return nullptr;
}

std::string OfferedTools(const std::vector<ToolSpec>& tools) {
  std::string out;
  for (const ToolSpec& tool : tools) {
    out += out.empty() ? "" : ", ";
    out += tool.name;
  }
  return out;
}

// At most kMaxQuote bytes of `span`, cut on a UTF-8 character boundary, with "…" when cut.
std::string Quote(std::string_view span) {
  span = text_scan::Trim(span);
  if (span.size() <= kMaxQuote) {
    return std::string(span);
  }
  size_t cut = kMaxQuote;
  while (cut > 0 && (static_cast<unsigned char>(span[cut]) & 0xC0) == 0x80) {
    --cut;
  }
  return std::string(span.substr(0, cut)) + "…";
}

// Renames the arguments a model called by another name (cmd -> command) and joins a script given
// as a list of lines into the string the schema wants.
void NormaliseArguments(const ToolSpec& tool, json::object& args,
                        std::vector<std::string>& repairs) {
  const json::value* props = tool.parameters.if_contains("properties");
  for (const ArgumentAlias& alias : kArgumentAliases) {
    if (alias.tool != tool.name) {
      continue;
    }
    for (std::string_view other : Words(alias.aliases)) {
      if (!args.contains(alias.argument) && args.contains(other)) {
        args[alias.argument] = args[other];
        args.erase(other);
        repairs.push_back("argument \"" + std::string(other) + "\" read as \"" +
                          std::string(alias.argument) + "\"");
      }
    }
    json::value* value = args.if_contains(alias.argument);
    const json::value* prop = props != nullptr && props->is_object()
                                  ? props->get_object().if_contains(alias.argument)
                                  : nullptr;
    bool wants_string = prop != nullptr && prop->is_object() &&
                        prop->get_object().if_contains("type") != nullptr &&
                        prop->get_object().at("type") == "string";
    if (value != nullptr && value->is_array() && wants_string) {
      std::string joined;
      for (const json::value& line : value->get_array()) {
        if (!line.is_string()) {
          return;
        }
        joined += joined.empty() ? "" : "\n";
        joined += line.get_string();
      }
      *value = joined;
      repairs.push_back("list of lines in \"" + std::string(alias.argument) + "\" joined");
    }
  }
}

// Positional arguments of a Python-style call fill the schema's properties in order.
bool PlacePositional(const ToolSpec& tool, const std::vector<json::value>& positional,
                     json::object& args, std::string& error) {
  const json::value* props = tool.parameters.if_contains("properties");
  std::vector<std::string_view> names;
  if (props != nullptr && props->is_object()) {
    for (const auto& prop : props->get_object()) {
      names.push_back(prop.key());
    }
  }
  if (positional.size() > names.size()) {
    error = tool.name + " takes at most " + std::to_string(names.size()) +
            " positional arguments, got " + std::to_string(positional.size());
    return false;
  }
  for (size_t i = 0; i < positional.size(); ++i) {
    if (args.contains(names[i])) {
      error = tool.name + " got \"" + std::string(names[i]) + "\" twice";
      return false;
    }
    args[names[i]] = positional[i];
  }
  return true;
}

// The checked call, or the error to tell the model.
struct Resolved {
  const ToolSpec* tool = nullptr;
  json::object arguments;
  std::string error;
  std::vector<std::string> repairs;
};

Resolved Resolve(std::string_view name, json::object args,
                 const std::vector<json::value>& positional, const std::vector<ToolSpec>& tools) {
  Resolved r;
  r.tool = text_scan::FindTool(name, tools);
  if (r.tool == nullptr) {
    r.error = "unknown tool \"" + std::string(name) + "\"; the tools are: " + OfferedTools(tools);
    return r;
  }
  if (!PlacePositional(*r.tool, positional, args, r.error)) {
    return r;
  }
  if (r.tool->name != text_scan::Trim(name)) {
    r.repairs.push_back("tool \"" + std::string(text_scan::Trim(name)) + "\" read as " +
                        r.tool->name);
  }
  NormaliseArguments(*r.tool, args, r.repairs);
  json::value value = std::move(args);
  std::string before = json::serialize(value);
  Status valid = ValidateAgainstSchema(r.tool->parameters, value);
  if (valid.ok() && json::serialize(value) != before) {
    r.repairs.push_back("arguments coerced to the schema's types");
  }
  if (!valid.ok()) {
    r.error = r.tool->name + ": " + valid.error().message();
    return r;
  }
  r.arguments = std::move(value.get_object());
  return r;
}

std::string Failure(const Candidate& c, std::string_view reason, std::string_view text) {
  return "Could not use the tool call (" + c.format + " format): " + std::string(reason) +
         ". The text was: " + Quote(text.substr(c.begin, c.end - c.begin));
}

// The text without the spans that were calls or call markup, and without end-of-turn tokens.
std::string Prose(std::string_view text, const std::vector<Candidate>& found) {
  std::string out;
  size_t pos = 0;
  for (const Candidate& c : found) {
    if (c.kind == SpanKind::kInert || c.begin < pos) {
      continue;
    }
    out.append(text.substr(pos, c.begin - pos));
    pos = c.end;
  }
  out.append(text.substr(std::min(pos, text.size())));
  for (std::string_view token : kEndTokens) {
    for (size_t at = out.find(token); at != kNpos; at = out.find(token, at)) {
      out.erase(at, token.size());
    }
  }
  // A removed span leaves the blank lines around it: keep at most one.
  for (size_t at = out.find("\n\n\n"); at != kNpos; at = out.find("\n\n\n", at)) {
    out.erase(at, 1);
  }
  return std::string(text_scan::Trim(out));
}

// Runs the detectors in order; each keeps only what overlaps nothing an earlier one claimed.
std::vector<Candidate> Detect(text_scan::ScanContext& ctx) {
  std::vector<Candidate> accepted;
  for (text_scan::Detector detect : kDetectors) {
    std::vector<Candidate> found;
    detect(ctx, found);
    size_t first_new = accepted.size();
    for (Candidate& c : found) {
      if (c.end > c.begin && ctx.IsFree(c.begin, c.end)) {
        accepted.push_back(std::move(c));
      }
    }
    for (size_t i = first_new; i < accepted.size(); ++i) {
      ctx.Claim(accepted[i].begin, accepted[i].end);
    }
  }
  std::stable_sort(accepted.begin(), accepted.end(),
                   [](const Candidate& a, const Candidate& b) { return a.begin < b.begin; });
  return accepted;
}

}  // namespace

namespace text_scan {

const ToolSpec* FindTool(std::string_view name, const std::vector<ToolSpec>& tools) {
  if (const ToolSpec* tool = ExactTool(Trim(name), tools)) {
    return tool;
  }
  std::string wanted = NormalisedName(name);
  for (const ToolSpec& tool : tools) {
    if (NormalisedName(tool.name) == wanted) {
      return &tool;
    }
  }
  for (const ToolAlias& alias : kToolAliases) {
    for (std::string_view other : Words(alias.aliases)) {
      if (other == wanted) {
        return ExactTool(alias.tool, tools);
      }
    }
  }
  return nullptr;
}

}  // namespace text_scan

namespace {

// The calls in `visible`, a text without thinking blocks, into `result`.
void ParseVisible(const std::string& visible, const std::vector<ToolSpec>& tools,
                  TextCallParse& result) {
  text_scan::ScanContext ctx(visible, tools);
  std::vector<Candidate> found = Detect(ctx);
  std::string_view visible_text = visible;
  int failures = 0;
  auto fail = [&](const Candidate& c, std::string_view reason) {
    if (++failures <= kMaxReportedFailures) {
      if (!result.error.empty()) {
        result.error += '\n';
      }
      result.error += Failure(c, reason, visible_text);
    }
  };
  for (const Candidate& c : found) {
    if (c.kind == SpanKind::kError) {
      fail(c, c.error);
    }
    if (c.kind != SpanKind::kCall) {
      continue;
    }
    Resolved r = Resolve(c.name, c.arguments, c.positional, tools);
    if (!r.error.empty()) {
      fail(c, r.error);
      continue;
    }
    std::string raw(visible_text.substr(c.begin, c.end - c.begin));
    std::vector<std::string> repairs = c.repairs;
    repairs.insert(repairs.end(), r.repairs.begin(), r.repairs.end());
    result.calls.push_back(
        {r.tool->name, std::move(r.arguments), c.format, std::move(raw), std::move(repairs)});
  }
  if (failures > kMaxReportedFailures) {
    result.error += "\n(and " + std::to_string(failures - kMaxReportedFailures) +
                    " more calls that could not be used)";
  }
  result.prose = Prose(visible, found);
}

}  // namespace

TextCallParse ParseTextCalls(std::string_view text, const std::vector<ToolSpec>& tools) {
  std::vector<std::string> drafts;
  TextCallParse result;
  ParseVisible(text_scan::StripThinking(text, &drafts), tools, result);
  for (const std::string& draft : drafts) {
    TextCallParse inside;
    ParseVisible(draft, tools, inside);
    std::move(inside.calls.begin(), inside.calls.end(), std::back_inserter(result.drafts));
  }
  return result;
}

ArgumentCheck CheckCall(const ToolCall& call, const std::vector<ToolSpec>& tools) {
  ArgumentCheck check;
  json::object args;
  std::string_view text = text_scan::Trim(call.arguments);
  if (!text.empty()) {
    Result<json::value> parsed = ParseLenientJson(text);
    // Some providers send the arguments object serialized twice.
    if (parsed.ok() && parsed->is_string()) {
      parsed = ParseLenientJson(parsed->get_string());
    }
    if (!parsed.ok()) {
      check.error =
          "the arguments of " + call.name + " are not valid JSON: " + parsed.error().message();
      return check;
    }
    if (!parsed->is_object() && !parsed->is_null()) {
      check.error = "the arguments of " + call.name + " must be a JSON object";
      return check;
    }
    if (parsed->is_object()) {
      args = std::move(parsed->get_object());
    }
  }
  Resolved r = Resolve(call.name, std::move(args), {}, tools);
  if (!r.error.empty()) {
    check.error = r.error;
    return check;
  }
  check.ok = true;
  check.arguments = std::move(r.arguments);
  return check;
}

}  // namespace warden::llm
