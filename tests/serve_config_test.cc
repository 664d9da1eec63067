// A configuration file with a key Warden does not know, or a value of the wrong type, stops
// `warden serve` and `warden run` at start with exit code 2 and a message that names the key and
// the closest known one: the real binary, as an operator runs it.
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "serve_util.h"

namespace warden::serve_test {
namespace {

class ConfigStartTest : public ::testing::Test {
 protected:
  ConfigStartTest() : dir_("warden-config-test-") {
    std::filesystem::create_directory(dir_ / "home");
  }

  // Writes `toml` to bad.toml and runs `warden ARGS` with a private HOME.
  Exit RunWith(std::string_view toml, const std::vector<std::string>& args,
               std::vector<std::string> env = {}) {
    WriteFile(config(), toml);
    env.push_back("HOME=" + (dir_ / "home"));
    return RunWarden(args, env);
  }

  std::string config() const { return dir_ / "bad.toml"; }
  std::string data_dir() const { return dir_ / "data"; }

 private:
  TempDir dir_;
};

TEST_F(ConfigStartTest, ServeWithAMisspeltKeyExits2NamingTheKeyItMeant) {
  Exit exit =
      RunWith("[llm]\nprovider = \"ollama\"\nmodle = \"qwen2.5-coder:7b\"\n",
              {"serve", "--config", config(), "--listen", "127.0.0.1:0", "--data-dir", data_dir()});
  EXPECT_EQ(exit.code, 2) << exit.err;
  EXPECT_EQ(exit.err, "warden serve: " + config() +
                          ": unknown key \"llm.modle\" (did you mean \"llm.model\"?)\n");
  EXPECT_EQ(exit.out, "");
  EXPECT_FALSE(std::filesystem::exists(data_dir())) << "the server went on after the refusal";
}

TEST_F(ConfigStartTest, ServeWithAValueOfTheWrongTypeInWardenConfigExits2) {
  Exit exit = RunWith("[llm]\nstream = \"no\"\n",
                      {"serve", "--listen", "127.0.0.1:0", "--data-dir", data_dir()},
                      {"WARDEN_CONFIG=" + config()});
  EXPECT_EQ(exit.code, 2) << exit.err;
  EXPECT_EQ(exit.err,
            "warden serve: " + config() + ": llm.stream must be true or false, not a string\n");
  EXPECT_FALSE(std::filesystem::exists(data_dir()));
}

TEST_F(ConfigStartTest, ServeWithAKeyMisspeltInAnApiKeysSectionExits2) {
  Exit exit =
      RunWith("[[api.keys]]\nid = \"alice\"\nkye = \"0123456789abcdef0123\"\n",
              {"serve", "--config", config(), "--listen", "127.0.0.1:0", "--data-dir", data_dir()});
  EXPECT_EQ(exit.code, 2) << exit.err;
  EXPECT_EQ(exit.err, "warden serve: " + config() +
                          ": unknown key \"kye\" in [[api.keys]] number 1 (did you mean "
                          "\"key\"?)\n");
}

TEST_F(ConfigStartTest, RunWithAKeyInTheWrongSectionExits2BeforeAnyLlmIsAsked) {
  Exit exit = RunWith("[agent]\nmodel = \"qwen2.5-coder:7b\"\n",
                      {"run", "--config", config(), "--workspace", data_dir(), "list the files"});
  EXPECT_EQ(exit.code, 2) << exit.err;
  EXPECT_EQ(exit.err, "warden run: " + config() +
                          ": unknown key \"agent.model\" (did you mean \"llm.model\"?)\n");
}

}  // namespace
}  // namespace warden::serve_test
