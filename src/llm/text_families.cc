// Detectors for families whose markup no other family shares: Step-3 (steptml invokes inside its
// tool-call section), DeepSeek V3.2 (DSML invokes), Gemma 4 (<|tool_call>call:NAME{...}) and
// Apertus (a JSON list keyed by tool name between its tools prefix and suffix).
#include <string>
#include <utility>

#include "llm/json_repair.h"
#include "llm/text_scan.h"

namespace warden::llm::text_scan {
namespace {

constexpr size_t kNpos = std::string_view::npos;

// The value of KEY="..." in a tag's attributes.
std::string_view Attribute(std::string_view attrs, std::string_view key) {
  std::string needle = std::string(key) + "=\"";
  size_t at = attrs.find(needle);
  if (at == kNpos) {
    return {};
  }
  size_t begin = at + needle.size();
  size_t close = attrs.find('"', begin);
  return attrs.substr(begin, close == kNpos ? kNpos : close - begin);
}

// Tags in a namespace: <NSinvoke name="f"><NSparameter name="k">v</NSparameter></NSinvoke>.
struct Tags {
  std::string invoke_open;
  std::string invoke_close;
  std::string param_open;
  std::string param_close;
};
Tags TagsIn(std::string_view ns) {
  std::string n(ns);
  return {"<" + n + "invoke", "</" + n + "invoke>", "<" + n + "parameter", "</" + n + "parameter>"};
}

// Reads the parameters of one invoke body. A parameter marked string="false" holds JSON; any
// other holds text (the schema check coerces "5" to 5 where a number is wanted).
std::string ReadParameters(std::string_view body, const Tags& tags, json::object& args) {
  for (size_t pos = body.find(tags.param_open); pos != kNpos;
       pos = body.find(tags.param_open, pos)) {
    size_t tag_end = body.find('>', pos);
    if (tag_end == kNpos) {
      return "a parameter tag is not closed with '>'";
    }
    std::string_view attrs = body.substr(pos, tag_end - pos);
    std::string_view key = Attribute(attrs, "name");
    if (key.empty()) {
      return "a parameter tag has no name=\"…\"";
    }
    Match stop = FindAny(body, tag_end + 1, {tags.param_close, tags.param_open});
    size_t value_end = stop.found() ? stop.pos : body.size();
    std::string_view value = TrimOneNewline(body.substr(tag_end + 1, value_end - tag_end - 1));
    if (Attribute(attrs, "string") == "false") {
      Result<json::value> parsed = ParseLenientJson(value);
      if (!parsed.ok()) {
        return "parameter \"" + std::string(key) + "\" is marked as JSON but is not valid JSON";
      }
      args[key] = *parsed;
    } else {
      args[key] = value;
    }
    pos = Is(body, stop, tags.param_close) ? stop.end() : value_end;
  }
  return "";
}

// Appends every invoke in `text` (which may be partly claimed by nobody else) as a call.
void ReadNamespacedInvokes(std::string_view text, std::string_view ns, const std::string& format,
                           std::vector<Candidate>& out) {
  Tags tags = TagsIn(ns);
  for (size_t pos = text.find(tags.invoke_open); pos != kNpos;) {
    size_t tag_end = text.find('>', pos);
    Match close = FindAny(text, pos + 1, {tags.invoke_close, tags.invoke_open});
    size_t body_end = close.found() ? close.pos : text.size();
    size_t end = Is(text, close, tags.invoke_close) ? close.end() : body_end;
    std::string_view name = tag_end == kNpos || tag_end > body_end
                                ? ""
                                : Attribute(text.substr(pos, tag_end - pos), "name");
    Candidate c = Proto(pos, end, format);
    c.name = std::string(name);
    std::string error =
        name.empty()
            ? "the invoke tag has no name=\"…\""
            : ReadParameters(text.substr(tag_end + 1, body_end - tag_end - 1), tags, c.arguments);
    out.push_back(error.empty() ? std::move(c) : ErrorCandidate(pos, end, format, error));
    pos = text.find(tags.invoke_open, end);
  }
}

void AddMarkup(std::string_view text, std::string_view token, std::vector<Candidate>& out) {
  for (size_t pos = text.find(token); pos != kNpos; pos = text.find(token, pos + 1)) {
    out.push_back(MarkupCandidate(pos, pos + token.size()));
  }
}

}  // namespace

void FindStep3Calls(const ScanContext& ctx, std::vector<Candidate>& out) {
  std::string_view text = ctx.text();
  if (text.find("<steptml:invoke") == kNpos) {
    return;
  }
  for (std::string_view token : {"<｜tool_calls_begin｜>", "<｜tool_calls_end｜>",
                                 "<｜tool_call_begin｜>function<｜tool_sep｜>",
                                 "<｜tool_call_begin｜>", "<｜tool_call_end｜>"}) {
    AddMarkup(text, token, out);
  }
  ReadNamespacedInvokes(text, "steptml:", "step3", out);
}

void FindDsmlCalls(const ScanContext& ctx, std::vector<Candidate>& out) {
  std::string_view text = ctx.text();
  for (std::string_view ns : {"｜DSML｜", "|DSML|"}) {
    if (text.find("<" + std::string(ns) + "invoke") == kNpos) {
      continue;
    }
    AddMarkup(text, "<" + std::string(ns) + "function_calls>", out);
    AddMarkup(text, "</" + std::string(ns) + "function_calls>", out);
    ReadNamespacedInvokes(text, ns, "deepseek-dsml", out);
  }
}

void FindGemma4Calls(const ScanContext& ctx, std::vector<Candidate>& out) {
  std::string_view text = ctx.text();
  constexpr std::string_view kStart = "<|tool_call>";
  constexpr std::string_view kEnd = "<tool_call|>";
  for (size_t pos = text.find(kStart); pos != kNpos;) {
    size_t after = pos + kStart.size();
    Match stop = FindAny(text, after, {kEnd, kStart});
    size_t body_end = stop.found() ? stop.pos : text.size();
    size_t end = Is(text, stop, kEnd) ? stop.end() : body_end;
    std::string_view body = Trim(text.substr(after, body_end - after));
    if (body.starts_with("call:")) {
      body.remove_prefix(5);
    }
    size_t brace = body.find('{');
    std::string_view name = Trim(body.substr(0, brace));
    if (name.empty()) {
      out.push_back(ErrorCandidate(pos, end, "gemma4", "the call names no function"));
    } else {
      std::string args = brace == kNpos ? "" : QuotedArgsToJson(body.substr(brace), "<|\"|>");
      out.push_back(JsonArgsCall(pos, end, "gemma4", name, args));
    }
    pos = text.find(kStart, end);
  }
}

void FindApertusCalls(const ScanContext& ctx, std::vector<Candidate>& out) {
  std::string_view text = ctx.text();
  constexpr std::string_view kPrefix = "<|tools_prefix|>";
  constexpr std::string_view kSuffix = "<|tools_suffix|>";
  for (size_t pos = text.find(kPrefix); pos != kNpos;) {
    size_t after = pos + kPrefix.size();
    size_t close = text.find(kSuffix, after);
    size_t body_end = close == kNpos ? text.size() : close;
    size_t end = close == kNpos ? text.size() : close + kSuffix.size();
    Result<json::value> parsed = ParseLenientJson(Trim(text.substr(after, body_end - after)));
    if (parsed.ok() && parsed->is_object()) {
      parsed = json::value(json::array{*parsed});
    }
    if (!parsed.ok() || !parsed->is_array()) {
      out.push_back(ErrorCandidate(pos, end, "apertus",
                                   "expected a JSON list like [{\"TOOL\": {ARGUMENTS}}] between "
                                   "<|tools_prefix|> and <|tools_suffix|>"));
    } else {
      for (const json::value& item : parsed->get_array()) {
        const json::object* call = item.if_object();
        if (call == nullptr || call->size() != 1 || !call->begin()->value().is_object()) {
          out.push_back(ErrorCandidate(pos, end, "apertus",
                                       "each call must be one object {\"TOOL\": {ARGUMENTS}}"));
          continue;
        }
        Candidate c = Proto(pos, end, "apertus");
        c.name = std::string(call->begin()->key());
        c.arguments = call->begin()->value().get_object();
        out.push_back(std::move(c));
      }
    }
    pos = text.find(kPrefix, end);
  }
}

}  // namespace warden::llm::text_scan
