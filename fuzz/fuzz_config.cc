// Fuzz target: the configuration file (base/config.h), TOML from anywhere, queried by every key
// Warden reads. Properties: no crash, no sanitizer report; a key that is set answers Has(), and a
// typed read of it agrees with the value's kind; a refused file gets an error naming the file.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/config.h"
#include "fuzz/fuzz_check.h"

namespace warden {
namespace {

constexpr std::string_view kKeys[] = {
    "llm.provider",
    "llm.model",
    "llm.base_url",
    "llm.api_key_env",
    "llm.context_tokens",
    "llm.timeout",
    "llm.max_retries",
    "llm.retry_base_ms",
    "llm.stream",
    "agent.max_steps",
    "agent.approve",
    "agent.deny",
    "agent.allow",
    "serve.host",
    "serve.port",
    "serve.workers",
    "serve.data_dir",
    "api.rate_limit",
    "api.burst",
    "api.keys",
    "id",
    "key",
    "owner",
    "rate_limit",
    "burst",
};

void Query(const Config& config, int depth) {
  for (std::string_view key : kKeys) {
    std::optional<std::string> text = config.String(key);
    std::optional<int64_t> whole = config.Int(key);
    std::optional<double> number = config.Number(key);
    std::optional<bool> flag = config.Bool(key);
    std::vector<std::string> strings = config.Strings(key);
    bool has = config.Has(key);
    FUZZ_CHECK(has || (!text && !whole && !number && !flag && strings.empty())) << key;
    FUZZ_CHECK(!whole || number) << key << ": a whole number that is not a number";
    FUZZ_CHECK(!text || strings.size() == 1) << key << ": a string that is not a list of one";
    Result<std::vector<Config>> tables = config.Tables(key);
    if (!tables.ok()) {
      FUZZ_CHECK(has) << key;
      continue;
    }
    for (const Config& table : *tables) {
      FUZZ_CHECK(table.origin() == config.origin());
      if (depth < 2) {
        Query(table, depth + 1);
      }
    }
  }
}

}  // namespace
}  // namespace warden

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  warden::Result<warden::Config> config = warden::Config::Parse(text, "fuzz.toml");
  if (!config.ok()) {
    FUZZ_CHECK(config.error().message().starts_with("fuzz.toml:")) << config.error().message();
    return 0;
  }
  warden::Query(*config, 0);
  return 0;
}
