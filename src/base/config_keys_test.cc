#include "base/config_keys.h"

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "base/config.h"
#include "base/config_doc.h"

namespace warden {
namespace {

std::string ReadText(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The message of CheckKeys() on `toml`, or "" when it passes.
std::string Refusal(std::string_view toml) {
  Result<Config> config = Config::Parse(toml, "config.toml");
  if (!config.ok()) {
    return "syntax: " + config.error().message();
  }
  Status checked = config->CheckKeys();
  return checked.ok() ? "" : checked.error().message();
}

// `key = value` written inside the section the key belongs to.
std::string Assignment(const ConfigKey& key, std::string_view value) {
  std::string_view table = TableOfConfigKey(key);
  size_t dot = key.name.rfind('.');
  std::string header = table.empty() ? "[" + std::string(key.name.substr(0, dot)) + "]"
                                     : "[[" + std::string(table) + "]]";
  return header + "\n" + std::string(key.name.substr(dot + 1)) + " = " + std::string(value) + "\n";
}

TEST(ConfigKeysTest, EveryKeyIsNamedTypedDescribedAndSaysWhoReadsIt) {
  std::set<std::string_view> names;
  std::set<std::string> sections_done;
  std::string section;
  const std::regex name_syntax("[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*)+");
  for (const ConfigKey& key : ConfigKeys()) {
    SCOPED_TRACE(std::string(key.name));
    EXPECT_TRUE(std::regex_match(std::string(key.name), name_syntax));
    EXPECT_TRUE(names.insert(key.name).second) << "listed twice";
    EXPECT_FALSE(key.description.empty());
    EXPECT_TRUE(key.read_by == "run" || key.read_by == "serve" || key.read_by == "run, serve" ||
                key.read_by == "mcp" || key.read_by == "mcp, serve" || key.read_by == "exec, serve")
        << key.read_by;
    EXPECT_EQ(FindConfigKey(key.name), &key);
    // The keys of a section are listed together: the documentation has one table per section.
    std::string here(key.name.substr(0, key.name.rfind('.')));
    if (here != section) {
      EXPECT_TRUE(sections_done.insert(here).second) << "section " << here << " is split";
      section = here;
    }
  }
  EXPECT_EQ(FindConfigKey("llm.modle"), nullptr);
}

TEST(ConfigKeysTest, EveryDefaultIsAValueOfItsKeysType) {
  for (const ConfigKey& key : ConfigKeys()) {
    if (!key.default_value.empty()) {
      EXPECT_EQ(Refusal(Assignment(key, key.default_value)), "") << key.name;
    }
  }
}

TEST(ConfigKeysTest, AValueOfAnotherTypeIsRefusedForEveryKey) {
  for (const ConfigKey& key : ConfigKeys()) {
    // A table is no key's value; a boolean is wrong for every type but kBool.
    std::string_view wrong = key.type == ConfigType::kBool ? "\"yes\"" : "true";
    std::string refusal = Refusal(Assignment(key, wrong));
    EXPECT_NE(refusal.find(" must be "), std::string::npos) << key.name << ": " << refusal;
  }
}

TEST(ClosestConfigKeyTest, FindsTheKeyATypoAway) {
  EXPECT_EQ(ClosestConfigKey("llm.modle"), "llm.model");
  EXPECT_EQ(ClosestConfigKey("llm.mode"), "llm.model");
  EXPECT_EQ(ClosestConfigKey("LLM.Model"), "llm.model");
  EXPECT_EQ(ClosestConfigKey("lm.model"), "llm.model");
  EXPECT_EQ(ClosestConfigKey("agent.max_step"), "agent.max_steps");
  EXPECT_EQ(ClosestConfigKey("api.rate_limt"), "api.rate_limit");
  EXPECT_EQ(ClosestConfigKey("sandbox.memroy"), "sandbox.memory");
}

TEST(ClosestConfigKeyTest, FindsTheKeyOfTheSameNameInAnotherSection) {
  EXPECT_EQ(ClosestConfigKey("agent.model"), "llm.model");
  EXPECT_EQ(ClosestConfigKey("llm.max_steps"), "agent.max_steps");
  EXPECT_EQ(ClosestConfigKey("memory"), "sandbox.memory");
}

TEST(ClosestConfigKeyTest, SuggestsNothingFarFromEveryKey) {
  EXPECT_EQ(ClosestConfigKey("telemetry.endpoint"), std::nullopt);
  EXPECT_EQ(ClosestConfigKey("llm.temperature"), std::nullopt);
  EXPECT_EQ(ClosestConfigKey("x"), std::nullopt);
}

TEST(ClosestConfigKeyTest, KeysOfTableSectionsAreCandidatesOnlyInsideThem) {
  EXPECT_EQ(ClosestConfigKey("api.keys.kye", "api.keys"), "api.keys.key");
  EXPECT_EQ(ClosestConfigKey("api.keys.brust", "api.keys"), "api.keys.burst");
  EXPECT_EQ(ClosestConfigKey("api.keys.model", "api.keys"), std::nullopt);
  EXPECT_NE(ClosestConfigKey("api.key_sha256"), "api.keys.key_sha256");
}

TEST(ConfigCheckKeysTest, AnUnknownKeyNamesTheClosestKnownOne) {
  EXPECT_EQ(Refusal("[llm]\nmodle = \"qwen\"\n"),
            "config.toml: unknown key \"llm.modle\" (did you mean \"llm.model\"?)");
  EXPECT_EQ(Refusal("[agent]\nmodel = \"qwen\"\n"),
            "config.toml: unknown key \"agent.model\" (did you mean \"llm.model\"?)");
  EXPECT_EQ(Refusal("llm.modle = \"qwen\"\n"),
            "config.toml: unknown key \"llm.modle\" (did you mean \"llm.model\"?)");
  EXPECT_EQ(Refusal("[lm]\nmodel = \"qwen\"\n"),
            "config.toml: unknown key \"lm.model\" (did you mean \"llm.model\"?)");
}

TEST(ConfigCheckKeysTest, AnUnknownKeyFarFromAnyListsItsSectionsKeys) {
  EXPECT_EQ(Refusal("[sandbox]\nzebras = 5\n"),
            "config.toml: unknown key \"sandbox.zebras\": the keys of [sandbox] are memory "
            "(docs/configuration.md describes each)");
  EXPECT_EQ(
      Refusal("[telemetry]\nendpoint = \"http://\"\n"),
      "config.toml: unknown key \"telemetry.endpoint\": docs/configuration.md lists every key");
}

TEST(ConfigCheckKeysTest, KeysOfAnApiKeysSectionAreCheckedAgainstItsOwnKeys) {
  EXPECT_EQ(Refusal("[[api.keys]]\nid = \"a\"\nkey = \"0123456789abcdef\"\n\n"
                    "[[api.keys]]\nid = \"b\"\nkye = \"0123456789abcdef\"\n"),
            "config.toml: unknown key \"kye\" in [[api.keys]] number 2 (did you mean \"key\"?)");
  EXPECT_EQ(Refusal("[[api.keys]]\nowner = \"a\"\n"),
            "config.toml: unknown key \"owner\" in [[api.keys]] number 1: the keys of "
            "[[api.keys]] are id, key, key_sha256, rate, burst (docs/configuration.md describes "
            "each)");
  EXPECT_EQ(Refusal("[api.keys]\nid = \"a\"\n"),
            "config.toml: api.keys must be an array of tables ([[api.keys]] sections), not a "
            "table");
}

TEST(ConfigCheckKeysTest, AValueOfTheWrongTypeSaysWhatIsExpected) {
  EXPECT_EQ(Refusal("[llm]\nstream = \"no\"\n"),
            "config.toml: llm.stream must be true or false, not a string");
  EXPECT_EQ(Refusal("[agent]\nmax_time = 600\n"),
            "config.toml: agent.max_time must be a duration as a string, such as \"90s\" or "
            "\"30m\", not an integer");
  EXPECT_EQ(Refusal("[agent]\ndeny = [\"curl *\", 3]\n"),
            "config.toml: agent.deny must be an array of strings, such as [\"a\", \"b\"], or one "
            "string, not an array");
  EXPECT_EQ(Refusal("[llm]\nmodel.name = \"x\"\n"),
            "config.toml: llm.model must be a string, such as \"text\", not a table");
  EXPECT_EQ(Refusal("[[api.keys]]\nrate = \"fast\"\n"),
            "config.toml: rate in [[api.keys]] number 1 must be a number, such as 30 or 2.5, not "
            "a string");
}

TEST(ConfigCheckKeysTest, AQuotedNameWithADotIsRefusedSinceNothingWouldReadIt) {
  EXPECT_EQ(Refusal("\"llm.model\" = \"qwen\"\n"),
            "config.toml: key \"llm.model\" has a dot inside quotes: write it without the quotes");
}

TEST(ConfigCheckKeysTest, DurationsAndSizesMustParse) {
  std::string refusal = Refusal("[agent]\nmax_time = \"soon\"\n");
  EXPECT_EQ(refusal.rfind("config.toml: agent.max_time: ", 0), 0U) << refusal;
  EXPECT_NE(refusal.find("'soon'"), std::string::npos) << refusal;
  refusal = Refusal("[sandbox]\nmemory = \"lots\"\n");
  EXPECT_EQ(refusal.rfind("config.toml: sandbox.memory: ", 0), 0U) << refusal;
  EXPECT_NE(refusal.find("such as \"512M\""), std::string::npos) << refusal;
}

TEST(ConfigCheckKeysTest, TheDocumentedExamplesPass) {
  EXPECT_EQ(Refusal(R"(
[llm]
provider = "ollama"
model = "qwen2.5-coder:7b"
base_url = "http://gpu-box:11434"
api_key_env = "MY_KEY_VAR"
context_tokens = 16384
timeout = 120
max_retries = 4

[agent]
max_steps = 30
approve = "risky"
deny = ["git push*", "*curl*"]
allow = "rm -rf build*"
max_time = "1h"

[sandbox]
memory = "2G"

[api]
rate_limit = 50
burst = 100

[[api.keys]]
id = "alice"
key = "0123456789abcdef"
rate = 20
burst = 40

[[api.keys]]
key_sha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
)"),
            "");
  EXPECT_EQ(Refusal(""), "");
}

TEST(ConfigCheckKeysTest, LoadRefusesAFileWithAnUnknownKey) {
  std::filesystem::path path = std::filesystem::path(::testing::TempDir()) / "warden-bad.toml";
  {
    std::ofstream out(path);
    out << "[llm]\nmodle = \"qwen\"\n";
  }
  Result<Config> config = Config::Load(path.string());
  std::filesystem::remove(path);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(config.error().message(),
            path.string() + ": unknown key \"llm.modle\" (did you mean \"llm.model\"?)");
}

// docs/configuration.md is the table, rendered: run warden_config_doc when this fails.
TEST(ConfigDocTest, DocsConfigurationMdIsRenderedFromTheTable) {
  std::string document =
      ReadText(std::filesystem::path(WARDEN_PROJECT_DIR) / "docs" / "configuration.md");
  Result<std::string> rendered = SpliceConfigReference(document);
  ASSERT_TRUE(rendered.ok()) << rendered.error().message();
  EXPECT_EQ(document, *rendered)
      << "docs/configuration.md is not the table of src/base/config_keys.cc: run\n"
         "  build/release/src/base/warden_config_doc docs/configuration.md";
  EXPECT_NE(document.find("### `[llm]`"), std::string::npos);
  EXPECT_NE(document.find("| `model` | string |  | run, serve | The model."), std::string::npos);
  EXPECT_NE(document.find("### `[[api.keys]]`"), std::string::npos);
}

// Every dotted key that the sources read (config.String("llm.model"), Rate(config,
// "api.burst", ...)) is in the table, so that no key is read that Load() would refuse.
TEST(ConfigKeysTest, EveryKeyTheSourcesReadIsInTheTable) {
  std::set<std::string> sections;
  for (const ConfigKey& key : ConfigKeys()) {
    sections.insert(std::string(key.name.substr(0, key.name.find('.'))));
  }
  std::string any_section;
  for (const std::string& section : sections) {
    any_section += (any_section.empty() ? "" : "|") + section;
  }
  // An accessor called with a dotted literal, or any literal in a known section.
  const std::regex read(
      "(?:String|Strings|Int|Number|Bool|Has|Tables)\\(\\s*\"([a-z0-9_]+(?:\\.[a-z0-9_]+)+)\"|"
      "\"((?:" +
      any_section + ")\\.[a-z0-9_]+(?:\\.[a-z0-9_]+)*)\"");
  const std::regex comment("^\\s*//.*$", std::regex::multiline);
  size_t files = 0;
  std::set<std::string> seen;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(
           std::filesystem::path(WARDEN_PROJECT_DIR) / "src")) {
    std::string name = entry.path().filename();
    bool source = name.ends_with(".cc") || name.ends_with(".h");
    if (!entry.is_regular_file() || !source || name.find("_test.") != std::string::npos ||
        name == "config_keys.cc") {
      continue;
    }
    ++files;
    // Comments may name keys that no code reads ("llm.modle" in an example).
    std::string text = std::regex_replace(ReadText(entry.path()), comment, "");
    for (std::sregex_iterator it(text.begin(), text.end(), read), end; it != end; ++it) {
      std::string key = (*it)[1].matched ? (*it)[1].str() : (*it)[2].str();
      seen.insert(key);
      EXPECT_NE(FindConfigKey(key), nullptr)
          << entry.path() << " reads \"" << key
          << "\", which is not in the table of src/base/config_keys.cc";
    }
  }
  EXPECT_GT(files, 50U);
  // The scan finds what it is meant to find.
  EXPECT_TRUE(seen.count("llm.model") && seen.count("agent.deny") && seen.count("api.burst") &&
              seen.count("sandbox.memory"));
}

}  // namespace
}  // namespace warden
