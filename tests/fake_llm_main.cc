// fake_llm_server: the scripted FakeLlm (fake_llm.h, OpenAI wire) as a program, for tests that are
// not written in C++ (the dashboard's browser tests). Prints "base_url URL" on stdout, then reads
// replies from stdin, one JSON object a line, appending each to the script:
//   {"text": "1. Write it\n2. Run it"}
//   {"tool": "run_shell", "arguments": {"command": "echo hi"}}
// and exits once stdin closes.
#include <cstdio>
#include <iostream>
#include <string>

#include "base/json.h"
#include "base/json_text.h"
#include "fake_llm.h"

int main() {
  using namespace warden;
  testing::FakeLlm fake(testing::Wire::kOpenAi);
  std::printf("base_url %s\n", fake.BaseUrl().c_str());
  std::fflush(stdout);
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line.empty()) {
      continue;
    }
    boost::system::error_code ec;
    json::value parsed = json::parse(line, ec);
    if (ec || !parsed.is_object()) {
      std::fprintf(stderr, "fake_llm_server: not a JSON object: %s\n", line.c_str());
      return 2;
    }
    const json::object& reply = parsed.get_object();
    if (const json::value* tool = reply.if_contains("tool"); tool != nullptr && tool->is_string()) {
      const json::value* arguments = reply.if_contains("arguments");
      fake.Script({testing::ToolCallReply(
          std::string(tool->get_string()),
          arguments != nullptr ? SerializeJson(*arguments) : std::string("{}"))});
    } else if (const json::value* text = reply.if_contains("text");
               text != nullptr && text->is_string()) {
      fake.Script({testing::TextReply(std::string(text->get_string()))});
    } else {
      std::fprintf(stderr, "fake_llm_server: a reply has \"text\" or \"tool\": %s\n", line.c_str());
      return 2;
    }
  }
  return 0;
}
