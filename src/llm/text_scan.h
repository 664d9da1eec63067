// Internals of the text-call parser (text_calls.cc): what each format's detector reports, the scan
// state the detectors share, and helpers several of them use. Not part of the llm library's API;
// the detectors live in text_tokens.cc, text_xml.cc, text_fences.cc and text_pythonic.cc.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "base/json.h"
#include "base/result.h"
#include "llm/types.h"

namespace warden::llm::text_scan {

enum class SpanKind {
  kCall,    // a tool call: `name` and `arguments` are set
  kError,   // a call was clearly attempted here but could not be read: `error` says why
  kMarkup,  // tokens wrapped around calls (<|tool_calls_section_begin|>): neither prose nor call
  kInert,   // a code block that is no call: later detectors must not look inside; it stays prose
};

// One thing a detector found in a span [begin, end) of the think-stripped text.
struct Candidate {
  SpanKind kind = SpanKind::kCall;
  size_t begin = 0;
  size_t end = 0;
  std::string format;
  std::string name;
  json::object arguments;
  std::vector<json::value> positional;  // pythonic calls: arguments given without a keyword
  std::string error;
  std::vector<std::string> repairs;  // what was repaired to read it (TextCall::repairs)
};

// The text being scanned, the tools on offer, and the spans that earlier detectors claimed.
// Used by one parse on one thread.
class ScanContext {
 public:
  ScanContext(std::string_view text, const std::vector<ToolSpec>& tools)
      : text_(text), tools_(tools) {}

  std::string_view text() const { return text_; }
  const std::vector<ToolSpec>& tools() const { return tools_; }

  // Whether [begin, end) overlaps no claimed span.
  bool IsFree(size_t begin, size_t end) const;
  // The end of the claimed span that contains `pos`, or `pos` when it is free.
  size_t SkipClaimed(size_t pos) const;
  void Claim(size_t begin, size_t end) { claimed_.push_back({begin, end}); }

 private:
  struct Span {
    size_t begin;
    size_t end;
  };
  std::string_view text_;
  const std::vector<ToolSpec>& tools_;
  std::vector<Span> claimed_;
};

// A detector appends what it finds; text_calls.cc keeps what overlaps no earlier detector's claim.
using Detector = void (*)(const ScanContext& ctx, std::vector<Candidate>& out);

// Special-token formats (text_tokens.cc).
void FindDeepSeekCalls(const ScanContext& ctx, std::vector<Candidate>& out);
void FindKimiCalls(const ScanContext& ctx, std::vector<Candidate>& out);
void FindHarmonyCalls(const ScanContext& ctx, std::vector<Candidate>& out);
void FindGraniteCalls(const ScanContext& ctx, std::vector<Candidate>& out);
void FindLfm2Calls(const ScanContext& ctx, std::vector<Candidate>& out);
void FindFunctionGemmaCalls(const ScanContext& ctx, std::vector<Candidate>& out);
void FindMistralCalls(const ScanContext& ctx, std::vector<Candidate>& out);
void FindPythonTagCalls(const ScanContext& ctx, std::vector<Candidate>& out);
// Families with their own markup (text_families.cc): Step-3, DeepSeek V3.2 DSML, Gemma 4, Apertus.
void FindStep3Calls(const ScanContext& ctx, std::vector<Candidate>& out);
void FindDsmlCalls(const ScanContext& ctx, std::vector<Candidate>& out);
void FindGemma4Calls(const ScanContext& ctx, std::vector<Candidate>& out);
void FindApertusCalls(const ScanContext& ctx, std::vector<Candidate>& out);
// Hermes-2-Pro variants and Functionary v3.2 (text_hermes.cc).
void FindHermesVariants(const ScanContext& ctx, std::vector<Candidate>& out);
void FindFunctionaryCalls(const ScanContext& ctx, std::vector<Candidate>& out);
// XML-ish tags (text_xml.cc).
void FindCallWrappers(const ScanContext& ctx, std::vector<Candidate>& out);
void FindToolCallTags(const ScanContext& ctx, std::vector<Candidate>& out);
void FindFunctionTags(const ScanContext& ctx, std::vector<Candidate>& out);
void FindInvokes(const ScanContext& ctx, std::vector<Candidate>& out);
// Markdown and bare forms (text_fences.cc).
void FindFencedBlocks(const ScanContext& ctx, std::vector<Candidate>& out);
void FindPythonicLists(const ScanContext& ctx, std::vector<Candidate>& out);
void FindBareJson(const ScanContext& ctx, std::vector<Candidate>& out);
void FindLeftoverMarkers(const ScanContext& ctx, std::vector<Candidate>& out);

// The text without its think blocks (text_think.cc). A close tag with no open tag before it ends
// a block the chat template opened before the reply began; an open tag never closed runs to the
// end, except for the complete tool-call sections that thinking-mode templates put there. When
// `drafts` is given, it receives what each block held (the drafts, never run).
std::string StripThinking(std::string_view text, std::vector<std::string>* drafts = nullptr);

// --- Helpers (text_scan.cc) ---

// Arguments written {key:QUOTEvalueQUOTE,n:5} (FunctionGemma's <escape>, Gemma 4's <|"|>) as
// near-JSON with unquoted keys, which the repair accepts (text_tokens.cc).
std::string QuotedArgsToJson(std::string_view args, std::string_view quote);

struct Match {
  size_t pos = std::string_view::npos;
  size_t len = 0;
  bool found() const { return pos != std::string_view::npos; }
  size_t end() const { return pos + len; }
};
// The earliest occurrence at or after `from` of any of `needles`.
Match FindAny(std::string_view text, size_t from, std::initializer_list<std::string_view> needles);
// Whether `m` was found and is `token`.
bool Is(std::string_view text, const Match& m, std::string_view token);

std::string_view Trim(std::string_view s);
// Drops one newline at each end: the line breaks around a value written on its own lines.
std::string_view TrimOneNewline(std::string_view s);
size_t SkipSpace(std::string_view text, size_t pos);
size_t LineEnd(std::string_view text, size_t pos);  // the next '\n' at or after `pos`, or the end
bool IsNameChar(char c);                            // letters, digits, '_', '-', '.'

// The end (one past the closing bracket) of the JSON-ish value opening at `begin`, skipping
// brackets inside strings; npos when it is never closed (a truncated reply).
size_t FindJsonEnd(std::string_view text, size_t begin);

// JSON values one after another in [from, limit), separated by whitespace, ',' or ';'. Stops at
// the first character that opens no value; `end` is where the last value ended.
struct JsonValues {
  std::vector<json::value> values;
  size_t end = 0;
};
Result<JsonValues> ParseJsonValues(std::string_view text, size_t from, size_t limit);

// A call whose arguments are JSON text (possibly fenced, possibly empty): a kCall candidate, or a
// kError one saying why the arguments could not be read.
Candidate JsonArgsCall(size_t begin, size_t end, std::string format, std::string_view name,
                       std::string_view args_text);

// Where a JSON value was found: in prose, an object is a call only if it names an offered tool or
// has an arguments key ({"name": "Alice"} is data); inside call markup, any named object is.
enum class JsonPlace { kProse, kCallMarkup };

// Appends the calls that the JSON value `v` spells: {"name", "arguments"|"parameters"|...},
// {"tool", "args"|"input"}, {"function": {...}}, {"tool_call(s)": ...}, {"commands": [...]}, or a
// list of those. Each copies its span and format from `proto`. False (nothing appended) when `v`
// is no call.
bool CallsFromJson(const json::value& v, const Candidate& proto, const std::vector<ToolSpec>& tools,
                   JsonPlace place, std::vector<Candidate>& out);

// Reads the calls in the body of a wrapper (<|tool_call_start|>…, ```tool_code, <function_calls>):
// JSON call objects (fenced or not) or Python-style calls. Appends them, copying span and format
// from `proto`, and returns ""; or appends nothing and returns what was wrong.
std::string ReadCallList(std::string_view body, const Candidate& proto,
                         const std::vector<ToolSpec>& tools, std::vector<Candidate>& out);

// Whether unparseable text still looks like a JSON call was meant ("name" and "arguments" keys).
bool LooksLikeJsonCall(std::string_view text);

// A kCall candidate with only its span and format set: the template for calls read from it.
Candidate Proto(size_t begin, size_t end, std::string format);
Candidate ErrorCandidate(size_t begin, size_t end, std::string format, std::string error);
Candidate MarkupCandidate(size_t begin, size_t end);

// The offered tool that `name` means: exact, case-insensitive, or a common alias (bash ->
// run_shell); nullptr when none (text_calls.cc).
const ToolSpec* FindTool(std::string_view name, const std::vector<ToolSpec>& tools);

// --- Python-style calls (text_pythonic.cc) ---

struct PyCall {
  std::string name;
  json::object keywords;
  std::vector<json::value> positional;
};
struct PyCallList {
  std::vector<PyCall> calls;
  size_t end = 0;  // one past the list's ']', or the text's size
};
// Parses `[f(a='x', b=2), g()]` (ending at its ']'), or calls separated by newlines, commas or
// semicolons up to the end of `text`. Arguments are Python literals: strings in any quotes
// (triple, raw, escapes), numbers, True/False/None, lists, tuples and dicts. Errors give offsets.
Result<PyCallList> ParsePythonicCalls(std::string_view text);
// One call at the start of `text`; `end` is where it ended.
Result<PyCallList> ParsePythonicCall(std::string_view text);
// One Python literal, the whole of `text`.
Result<json::value> ParsePythonLiteral(std::string_view text);
void AppendPyCalls(const PyCallList& list, const Candidate& proto, std::vector<Candidate>& out);

}  // namespace warden::llm::text_scan
