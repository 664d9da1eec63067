// The wire protocols × streamed-or-not that the LLM client tests run every case over.
#pragma once

#include <ostream>
#include <string>

#include <gtest/gtest.h>

#include "fake_llm.h"
#include "llm/client.h"

namespace warden::llm {

struct WireCase {
  testing::Wire fake_wire;
  Wire wire;
  bool stream;
};

inline std::string Name(const WireCase& c) {
  std::string name = c.wire == Wire::kOpenAi   ? "OpenAi"
                     : c.wire == Wire::kOllama ? "Ollama"
                                               : "Anthropic";
  return name + (c.stream ? "Streamed" : "Whole");
}

inline std::string CaseName(const ::testing::TestParamInfo<WireCase>& info) {
  return Name(info.param);
}

inline void PrintTo(const WireCase& c, std::ostream* out) {
  *out << Name(c);
}

// OpenAI streamed and whole, then Ollama, then Anthropic.
inline constexpr WireCase kAllCases[] = {
    {testing::Wire::kOpenAi, Wire::kOpenAi, true},
    {testing::Wire::kOpenAi, Wire::kOpenAi, false},
    {testing::Wire::kOllama, Wire::kOllama, true},
    {testing::Wire::kOllama, Wire::kOllama, false},
    {testing::Wire::kAnthropic, Wire::kAnthropic, true},
    {testing::Wire::kAnthropic, Wire::kAnthropic, false},
};

}  // namespace warden::llm
