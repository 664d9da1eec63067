// Think blocks as the supported families print them. What is inside a closed block is a draft,
// never an action. Kimi-K2-Thinking's and DeepSeek V3.1's templates put complete tool-call
// sections inside a thinking block that the model never closes: those sections are kept.
#include <string>
#include <vector>

#include "llm/text_scan.h"

namespace warden::llm::text_scan {
namespace {

constexpr size_t kNpos = std::string_view::npos;

// gpt-oss reasons in its analysis channel, whose <|end|> also ends ordinary messages, so it cannot
// have been opened before the reply began.
struct ThinkTags {
  std::string_view open;
  std::string_view close;
  bool may_open_before_reply = true;
};
constexpr ThinkTags kThinkTags[] = {
    {"<think>", "</think>"},                               // Qwen3, DeepSeek R1, GLM, MiniMax, ...
    {"<thinking>", "</thinking>"},                         // Claude-style prompts
    {"<seed:think>", "</seed:think>"},                     // Seed-OSS
    {"[THINK]", "[/THINK]"},                               // Magistral
    {"<|channel>thought", "<channel|>"},                   // Gemma 4
    {"<|inner_prefix|>", "<|inner_suffix|>"},              // Apertus
    {"◁think▷", "◁/think▷"},                               // Kimi VL / Kimi thinking
    {"<|START_THINKING|>", "<|END_THINKING|>"},            // Command A reasoning
    {"<|channel|>analysis<|message|>", "<|end|>", false},  // gpt-oss harmony
};

// Complete tool-call sections that thinking-mode templates print inside an unclosed block.
struct Section {
  std::string_view begin;
  std::string_view end;
};
constexpr Section kSectionsInThinking[] = {
    {"<|tool_calls_section_begin|>", "<|tool_calls_section_end|>"},  // Kimi-K2-Thinking
    {"<｜tool▁calls▁begin｜>", "<｜tool▁calls▁end｜>"},              // DeepSeek V3.1
};

enum class TagSide { kOpen, kClose };

// The earliest think tag of the given side at or after `from`; `pair` is set to its pair.
size_t FindThinkTag(std::string_view text, size_t from, TagSide side, ThinkTags& pair) {
  size_t best = kNpos;
  for (const ThinkTags& tags : kThinkTags) {
    if (side == TagSide::kClose && !tags.may_open_before_reply) {
      continue;
    }
    size_t pos = text.find(side == TagSide::kOpen ? tags.open : tags.close, from);
    if (pos < best) {
      best = pos;
      pair = tags;
    }
  }
  return best;
}

// The complete tool-call sections in `rest` (an unclosed think block), one per line.
std::string SectionsIn(std::string_view rest) {
  std::string kept;
  for (const Section& s : kSectionsInThinking) {
    for (size_t at = rest.find(s.begin); at != kNpos; at = rest.find(s.begin, at + 1)) {
      size_t end = rest.find(s.end, at);
      if (end == kNpos) {
        break;
      }
      kept += '\n';
      kept.append(rest.substr(at, end + s.end.size() - at));
      at = end;
    }
  }
  return kept;
}

}  // namespace

std::string StripThinking(std::string_view text, std::vector<std::string>* drafts) {
  auto keep_draft = [drafts](std::string_view draft) {
    if (drafts != nullptr && !Trim(draft).empty()) {
      drafts->emplace_back(draft);
    }
  };
  ThinkTags pair;
  ThinkTags unused;
  size_t pos = 0;
  size_t leading_close = FindThinkTag(text, 0, TagSide::kClose, pair);
  if (leading_close != kNpos && leading_close < FindThinkTag(text, 0, TagSide::kOpen, unused)) {
    keep_draft(text.substr(0, leading_close));
    pos = leading_close + pair.close.size();
  }
  std::string out;
  while (pos < text.size()) {
    size_t open = FindThinkTag(text, pos, TagSide::kOpen, pair);
    if (open == kNpos) {
      out.append(text.substr(pos));
      break;
    }
    out.append(text.substr(pos, open - pos));
    size_t inside = open + pair.open.size();
    size_t close = text.find(pair.close, inside);
    if (close == kNpos) {
      std::string kept = SectionsIn(text.substr(inside));
      if (kept.empty()) {
        keep_draft(text.substr(inside));
      }
      out += kept;
      break;
    }
    keep_draft(text.substr(inside, close - inside));
    pos = close + pair.close.size();
  }
  return out;
}

}  // namespace warden::llm::text_scan
