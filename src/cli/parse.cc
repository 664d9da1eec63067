// `warden parse`: reads a raw model reply and prints, as JSON, the tool calls Warden would run
// from it, which format each came in, what was repaired, and why nothing could be used. The
// same parser as the agent's (llm/text_calls.h), without a model server.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "cli/commands.h"
#include <CLI/CLI.hpp>

#include "agent/tools.h"
#include "base/json.h"
#include "llm/text_calls.h"

namespace warden::cli {
namespace {

// The terminal is the only place to tell: nothing to do if writing to it fails.
void Complain(const std::string& message) {
  (void)std::fprintf(stderr, "warden parse: %s\n", message.c_str());
}

bool ReadInput(const std::string& path, std::string& text) {
  if (path == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    return true;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    Complain("cannot read " + path + ": give a file holding the model's raw reply, or - for stdin");
    return false;
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  text = buffer.str();
  return true;
}

// One tool: {"name", "parameters"} or OpenAI's {"type": "function", "function": {...}}.
bool ToolFromJson(const json::value& item, llm::ToolSpec& tool, std::string& error) {
  const json::object* o = item.if_object();
  if (o != nullptr && o->contains("function") && o->at("function").is_object()) {
    o = &o->at("function").get_object();
  }
  const json::value* name = o == nullptr ? nullptr : o->if_contains("name");
  if (name == nullptr || !name->is_string() || name->get_string().empty()) {
    error = "each tool needs a \"name\" string";
    return false;
  }
  tool.name = std::string(name->get_string());
  const json::value* params = o->if_contains("parameters");
  if (params != nullptr && !params->is_object()) {
    error = "the \"parameters\" of " + tool.name + " must be a JSON schema object";
    return false;
  }
  tool.parameters = params == nullptr ? json::object{{"type", "object"}} : params->get_object();
  if (const json::value* d = o->if_contains("description"); d != nullptr && d->is_string()) {
    tool.description = std::string(d->get_string());
  }
  return true;
}

bool ReadTools(const std::string& path, std::vector<llm::ToolSpec>& tools) {
  std::string text;
  if (!ReadInput(path, text)) {
    return false;
  }
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_array() || v.get_array().empty()) {
    Complain("--tools " + path +
             ": expected a non-empty JSON list of tools, each {\"name\": ..., \"parameters\": "
             "{JSON schema}} or {\"type\": \"function\", \"function\": {...}}");
    return false;
  }
  for (const json::value& item : v.get_array()) {
    llm::ToolSpec tool;
    std::string error;
    if (!ToolFromJson(item, tool, error)) {
      std::string message = "--tools ";
      message.append(path).append(": ").append(error);
      Complain(message);
      return false;
    }
    tools.push_back(std::move(tool));
  }
  return true;
}

json::object CallJson(const llm::TextCall& call) {
  json::array repairs(call.repairs.begin(), call.repairs.end());
  return json::object{{"name", call.name},
                      {"arguments", call.arguments},
                      {"format", call.format},
                      {"repairs", std::move(repairs)},
                      {"raw", call.raw}};
}

json::object Report(const llm::TextCallParse& parse) {
  json::array calls;
  std::set<std::string> formats;
  for (const llm::TextCall& call : parse.calls) {
    calls.push_back(CallJson(call));
    formats.insert(call.format);
  }
  json::array dropped;
  for (const llm::TextCall& call : parse.drafts) {
    json::object draft = CallJson(call);
    draft["reason"] = "inside a thinking block: a draft, never run";
    dropped.push_back(std::move(draft));
  }
  json::object out{{"calls", std::move(calls)},
                   {"formats", json::array(formats.begin(), formats.end())},
                   {"dropped", std::move(dropped)},
                   {"prose", parse.prose}};
  if (!parse.error.empty()) {
    out["error"] = parse.error;
  }
  if (parse.calls.empty() && parse.error.empty()) {
    out["error"] = parse.drafts.empty()
                       ? "no tool call found: the reply matches no format Warden reads "
                         "(docs/model-formats.md lists them)"
                       : "no tool call to run: the only calls were drafts inside thinking blocks "
                         "(listed under \"dropped\"); a call runs only after the block ends";
  }
  return out;
}

}  // namespace

int Parse(int argc, char** argv) {
  CLI::App app(
      "Read a model's raw reply and print, as JSON, the tool calls Warden would run from it,\n"
      "the format each was found in, what was repaired, and why anything could not be used.\n"
      "Exits 0 when there is at least one call to run, 1 when there is none.",
      "warden parse");
  std::string input = "-";
  app.add_option("FILE", input, "The raw reply; - (the default) reads stdin");
  std::string tools_path;
  app.add_option("--tools", tools_path,
                 "The tools on offer, a JSON list of {name, parameters} (OpenAI's tools list "
                 "works too); default: Warden's agent tools");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  std::vector<llm::ToolSpec> tools;
  if (tools_path.empty()) {
    tools = agent::ToolSpecs();
  } else if (!ReadTools(tools_path, tools)) {
    return 2;
  }
  std::string text;
  if (!ReadInput(input, text)) {
    return 2;
  }
  llm::TextCallParse parse = llm::ParseTextCalls(text, tools);
  std::cout << json::serialize(Report(parse)) << '\n';
  return parse.calls.empty() ? 1 : 0;
}

}  // namespace warden::cli
