#include "llm/providers.h"

#include <array>

#include <fmt/format.h>

#include "base/log.h"
#include "llm/http.h"

namespace warden::llm {
namespace {

using std::chrono::milliseconds;

struct Preset {
  std::string_view name;
  Wire wire;
  std::string_view base_url;
  std::string_view key_env;  // empty: no key needed
  std::string_view default_model;
};

constexpr std::array<Preset, 6> kPresets{{
    {"openai", Wire::kOpenAi, "https://api.openai.com/v1", "OPENAI_API_KEY", "gpt-4.1-mini"},
    {"openrouter", Wire::kOpenAi, "https://openrouter.ai/api/v1", "OPENROUTER_API_KEY",
     "openai/gpt-4.1-mini"},
    {"gemini", Wire::kOpenAi, "https://generativelanguage.googleapis.com/v1beta/openai",
     "GEMINI_API_KEY", "gemini-2.5-flash"},
    {"anthropic", Wire::kAnthropic, "https://api.anthropic.com", "ANTHROPIC_API_KEY",
     "claude-sonnet-4-5"},
    {"ollama", Wire::kOllama, "http://127.0.0.1:11434", "", ""},
    {"openai-compatible", Wire::kOpenAi, "", "", ""},
}};

// The order in which keys in the environment are tried when nothing names a provider.
constexpr std::array<std::string_view, 4> kAutoOrder{"anthropic", "openai", "openrouter", "gemini"};

const Preset* FindPreset(std::string_view name) {
  for (const Preset& preset : kPresets) {
    if (preset.name == name) {
      return &preset;
    }
  }
  return nullptr;
}

std::string Env(const EnvLookup& env, std::string_view name) {
  const char* value = env(std::string(name).c_str());
  return value == nullptr ? "" : value;
}

// OLLAMA_HOST is "host", "host:port" or a URL.
std::string OllamaUrl(const EnvLookup& env) {
  std::string host = Env(env, "OLLAMA_HOST");
  if (host.empty()) {
    return "http://127.0.0.1:11434";
  }
  if (host.find("://") == std::string::npos) {
    host = "http://" + host;
  }
  if (host.find(':', host.find("://") + 3) == std::string::npos) {
    host += ":11434";
  }
  return host;
}

std::string TrimSlash(std::string url) {
  while (!url.empty() && url.back() == '/') {
    url.pop_back();
  }
  return url;
}

std::string HowToConfigure() {
  return "no LLM is configured, and none was found. Use one of:\n"
         "  export OPENAI_API_KEY=...      (or ANTHROPIC_API_KEY, OPENROUTER_API_KEY, "
         "GEMINI_API_KEY)\n"
         "  ollama serve; ollama pull qwen2.5-coder:7b   (a local model: Warden finds it at "
         "127.0.0.1:11434 or $OLLAMA_HOST)\n"
         "  warden run --provider openai-compatible --base-url http://127.0.0.1:8080/v1 "
         "--model NAME \"task\"\n"
         "or write the same in ~/.config/warden/config.toml:\n"
         "  [llm]\n"
         "  provider = \"ollama\"\n"
         "  model = \"qwen2.5-coder:7b\"";
}

// A local server's first model: Ollama's /api/tags, or an OpenAI-compatible /models.
Result<std::string> FirstModel(const ProviderConfig& config) {
  HttpRequest http;
  http.method = "GET";
  http.url =
      config.wire == Wire::kOllama ? config.base_url + "/api/tags" : config.base_url + "/models";
  if (!config.api_key.empty()) {
    http.headers.emplace_back("Authorization", "Bearer " + config.api_key);
  }
  http.connect_timeout = milliseconds(2'000);
  http.idle_timeout = milliseconds(10'000);
  ASSIGN_OR_RETURN(HttpResponse response, PerformHttp(http, nullptr, nullptr));
  boost::system::error_code ec;
  json::value list = json::parse(response.body, ec);
  const char* field = config.wire == Wire::kOllama ? "models" : "data";
  const char* name = config.wire == Wire::kOllama ? "name" : "id";
  if (response.status == 200 && !ec && list.is_object()) {
    const json::value* models = list.get_object().if_contains(field);
    if (models != nullptr && models->is_array()) {
      for (const json::value& model : models->get_array()) {
        if (model.is_object()) {
          if (const json::value* n = model.get_object().if_contains(name);
              n != nullptr && n->is_string()) {
            return std::string(n->get_string());
          }
        }
      }
    }
  }
  return Error(ErrorCode::kFailedPrecondition,
               config.wire == Wire::kOllama
                   ? fmt::format("Ollama at {} has no models: run `ollama pull qwen2.5-coder:7b` "
                                 "(or another model with tool support), or name one with --model",
                                 config.base_url)
                   : fmt::format("{} lists no models: name one with --model", config.base_url));
}

bool OllamaAnswers(const std::string& base_url) {
  HttpRequest http;
  http.method = "GET";
  http.url = base_url + "/api/version";
  http.connect_timeout = milliseconds(300);
  http.idle_timeout = milliseconds(1'000);
  http.total_timeout = milliseconds(1'500);
  auto response = PerformHttp(http, nullptr, nullptr);
  return response.ok() && response->status == 200;
}

}  // namespace

const char* ProviderNames() {
  return "openai, openrouter, gemini, ollama, anthropic, openai-compatible";
}

Result<ProviderConfig> ResolveProvider(const ProviderFlags& flags, const Config& config,
                                       const EnvLookup& env) {
  std::string name =
      !flags.provider.empty() ? flags.provider : config.String("llm.provider").value_or("");
  std::string base_url =
      !flags.base_url.empty() ? flags.base_url : config.String("llm.base_url").value_or("");
  std::string model = !flags.model.empty() ? flags.model : config.String("llm.model").value_or("");

  if (name.empty() && !base_url.empty()) {
    name = "openai-compatible";  // a URL alone means a server that speaks the common protocol
  }
  if (name.empty()) {
    for (std::string_view candidate : kAutoOrder) {
      if (!Env(env, FindPreset(candidate)->key_env).empty()) {
        name = candidate;
        break;
      }
    }
  }
  if (name.empty()) {
    if (!OllamaAnswers(OllamaUrl(env))) {
      return Error(ErrorCode::kFailedPrecondition, HowToConfigure());
    }
    name = "ollama";
  }
  const Preset* preset = FindPreset(name);
  if (preset == nullptr) {
    return Error(ErrorCode::kInvalidArgument,
                 fmt::format("unknown provider '{}': use one of {}", name, ProviderNames()));
  }

  ProviderConfig out;
  out.provider = std::string(preset->name);
  out.wire = preset->wire;
  out.base_url = TrimSlash(!base_url.empty()               ? base_url
                           : preset->wire == Wire::kOllama ? OllamaUrl(env)
                                                           : std::string(preset->base_url));
  if (out.base_url.empty()) {
    return Error(ErrorCode::kFailedPrecondition,
                 "--provider openai-compatible needs --base-url (for example "
                 "http://127.0.0.1:8080/v1 for llama.cpp, http://127.0.0.1:8000/v1 for vLLM)");
  }
  if (!out.base_url.starts_with("http://") && !out.base_url.starts_with("https://")) {
    return Error(ErrorCode::kInvalidArgument,
                 fmt::format("base URL '{}' must start with http:// or https://", out.base_url));
  }

  // The key: a variable named in the config, else the preset's; for a compatible server,
  // OPENAI_API_KEY when set (many local servers take any key, or none).
  std::string key_env = config.String("llm.api_key_env").value_or(std::string(preset->key_env));
  if (key_env.empty() && preset->name == "openai-compatible") {
    key_env = "OPENAI_API_KEY";
  }
  if (!key_env.empty()) {
    out.api_key = Env(env, key_env);
    if (!out.api_key.empty()) {
      out.api_key_source = key_env;
    }
  }
  if (out.api_key.empty() && !preset->key_env.empty()) {
    return Error(ErrorCode::kFailedPrecondition,
                 fmt::format("--provider {} needs an API key: export {}=...", preset->name,
                             key_env.empty() ? preset->key_env : key_env));
  }

  out.stream = config.Bool("llm.stream").value_or(true);
  out.context_tokens = static_cast<uint64_t>(config.Int("llm.context_tokens").value_or(0));
  if (auto seconds = config.Number("llm.timeout"); seconds && *seconds > 0) {
    out.idle_timeout = milliseconds(static_cast<int64_t>(*seconds * 1000));
  }
  if (auto retries = config.Int("llm.max_retries"); retries && *retries >= 0) {
    out.max_retries = static_cast<int>(*retries);
  }
  if (auto base = config.Int("llm.retry_base_ms"); base && *base > 0) {
    out.retry_base = milliseconds(*base);
  }

  out.model = !model.empty() ? model : std::string(preset->default_model);
  if (out.model.empty()) {
    ASSIGN_OR_RETURN(out.model, FirstModel(out));
    LOG_INFO("no model named: using {} from {}", out.model, out.base_url);
  }
  return out;
}

}  // namespace warden::llm
