#include "llm/providers.h"

#include <map>

#include <gtest/gtest.h>

namespace warden::llm {
namespace {

EnvLookup FakeEnv(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const char* name) -> const char* {
    auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  };
}

Config ConfigOf(std::string_view text) {
  auto config = Config::Parse(text, "test.toml");
  EXPECT_TRUE(config.ok());
  return config.ok() ? *config : Config();
}

TEST(ProvidersTest, PresetsTakeTheirKeyFromTheEnvironment) {
  auto config = ResolveProvider({"openrouter", "", ""}, Config(),
                                FakeEnv({{"OPENROUTER_API_KEY", "sk-or-secret"}}));
  ASSERT_TRUE(config.ok()) << config.error().message();
  EXPECT_EQ(config->wire, Wire::kOpenAi);
  EXPECT_EQ(config->base_url, "https://openrouter.ai/api/v1");
  EXPECT_EQ(config->api_key, "sk-or-secret");
  EXPECT_EQ(config->api_key_source, "OPENROUTER_API_KEY");
  EXPECT_FALSE(config->model.empty());
  EXPECT_EQ(config->Describe().find("sk-or-secret"), std::string::npos);
}

TEST(ProvidersTest, AMissingKeySaysWhichVariableToSet) {
  auto config = ResolveProvider({"anthropic", "", ""}, Config(), FakeEnv({}));
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_NE(config.error().message().find("export ANTHROPIC_API_KEY="), std::string::npos);
}

TEST(ProvidersTest, AKeyInTheEnvironmentPicksItsProvider) {
  auto config = ResolveProvider({}, Config(), FakeEnv({{"GEMINI_API_KEY", "g"}}));
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->provider, "gemini");
  EXPECT_EQ(config->base_url, "https://generativelanguage.googleapis.com/v1beta/openai");
}

TEST(ProvidersTest, FlagsWinOverTheConfigurationFile) {
  Config file = ConfigOf(
      "[llm]\nprovider = \"ollama\"\nmodel = \"llama3.1\"\nbase_url = \"http://gpu:11434/\"\n"
      "context_tokens = 4096\nstream = false\nretry_base_ms = 20\n");
  auto config = ResolveProvider({"", "qwen2.5-coder:7b", ""}, file, FakeEnv({}));
  ASSERT_TRUE(config.ok()) << config.error().message();
  EXPECT_EQ(config->wire, Wire::kOllama);
  EXPECT_EQ(config->model, "qwen2.5-coder:7b");
  EXPECT_EQ(config->base_url, "http://gpu:11434");
  EXPECT_EQ(config->context_tokens, 4096u);
  EXPECT_FALSE(config->stream);
  EXPECT_EQ(config->retry_base.count(), 20);
}

TEST(ProvidersTest, OllamaHostMayBeABareHostAndPort) {
  auto config =
      ResolveProvider({"ollama", "m", ""}, Config(), FakeEnv({{"OLLAMA_HOST", "10.0.0.5"}}));
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->base_url, "http://10.0.0.5:11434");
  config = ResolveProvider({"ollama", "m", ""}, Config(),
                           FakeEnv({{"OLLAMA_HOST", "https://llm.example:443"}}));
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->base_url, "https://llm.example:443");
}

TEST(ProvidersTest, ABaseUrlAloneMeansAnOpenAiCompatibleServer) {
  auto config = ResolveProvider({"", "local", "http://127.0.0.1:8080/v1"}, Config(), FakeEnv({}));
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->provider, "openai-compatible");
  EXPECT_TRUE(config->api_key.empty());
}

TEST(ProvidersTest, BadInputIsAClearError) {
  auto unknown = ResolveProvider({"mistral", "", ""}, Config(), FakeEnv({}));
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().message().find("unknown provider 'mistral'"), std::string::npos);
  auto no_url = ResolveProvider({"openai-compatible", "m", ""}, Config(), FakeEnv({}));
  ASSERT_FALSE(no_url.ok());
  EXPECT_NE(no_url.error().message().find("--base-url"), std::string::npos);
  auto bad_url = ResolveProvider({"", "m", "ftp://x"}, Config(), FakeEnv({}));
  ASSERT_FALSE(bad_url.ok());
  EXPECT_NE(bad_url.error().message().find("http://"), std::string::npos);
}

TEST(ProvidersTest, NothingConfiguredSaysHowToConfigure) {
  // Nothing listens on port 9 of loopback: no Ollama there.
  auto config = ResolveProvider({}, Config(), FakeEnv({{"OLLAMA_HOST", "127.0.0.1:9"}}));
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_NE(config.error().message().find("OPENAI_API_KEY"), std::string::npos);
  EXPECT_NE(config.error().message().find("ollama pull"), std::string::npos);
  EXPECT_NE(config.error().message().find("config.toml"), std::string::npos);
}

}  // namespace
}  // namespace warden::llm
