// scripts/check_layers.py, the include-graph check of the layering (docs/architecture.md): the
// real tree passes, and each kind of violation planted in a small tree of its own is reported
// with the file, the line and what is allowed instead.
#include <stdlib.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace warden {
namespace {

using ::testing::HasSubstr;

struct Outcome {
  int code = -1;
  std::string out;
};

// Runs the script on the repository at `root`.
Outcome CheckLayers(const std::string& root) {
  std::string command =
      "/usr/bin/python3 " WARDEN_PROJECT_DIR "/scripts/check_layers.py '" + root + "' 2>&1";
  Outcome outcome;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) {
    ADD_FAILURE() << "popen: " << command;
    return outcome;
  }
  char buffer[4096];
  size_t got = 0;
  while ((got = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0) {
    outcome.out.append(buffer, got);
  }
  int status = ::pclose(pipe);
  outcome.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return outcome;
}

// A repository of three layers, base < jobs < api, that respects them; each test breaks it.
class LayersTest : public ::testing::Test {
 protected:
  LayersTest() {
    std::string pattern = ::testing::TempDir() + "warden-layers-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) {
      ADD_FAILURE() << "mkdtemp " << pattern;
    }
    root_ = pattern;
    files_ = {
        {"src/base/CMakeLists.txt", "warden_add_library(warden_base SOURCES result.cc)\n"},
        {"src/base/result.h", "#pragma once\n"},
        {"src/base/result.cc", "#include \"base/result.h\"\n"},
        {"src/jobs/CMakeLists.txt",
         "warden_add_library(warden_jobs\n  SOURCES store.cc\n  PUBLIC warden_base)\n"},
        {"src/jobs/store.h", "#pragma once\n#include \"base/result.h\"\n"},
        {"src/jobs/store.cc", "#include \"jobs/store.h\"\n"},
        {"src/api/CMakeLists.txt",
         "# The HTTP layer.\nwarden_add_library(warden_api\n  SOURCES http.cc\n"
         "  PRIVATE warden_jobs warden_base)\n"},
        {"src/api/http.h", "#pragma once\n"},
        {"src/api/http.cc",
         "#include \"api/http.h\"\n#include \"base/result.h\"\n#include \"jobs/store.h\"\n"},
    };
  }
  ~LayersTest() override { std::filesystem::remove_all(root_); }

  Outcome Check() {
    for (const auto& [path, text] : files_) {
      std::filesystem::create_directories((root_ / path).parent_path());
      std::ofstream(root_ / path) << text;
    }
    return CheckLayers(root_);
  }

  std::map<std::string, std::string> files_;
  std::filesystem::path root_;
};

TEST(LayersTreeTest, TheSourceTreeRespectsItsLayering) {
  Outcome outcome = CheckLayers(WARDEN_PROJECT_DIR);
  EXPECT_EQ(outcome.code, 0) << outcome.out;
  EXPECT_THAT(outcome.out, HasSubstr("respect the layering"));
}

TEST_F(LayersTest, ATreeThatRespectsItsLayersPasses) {
  Outcome outcome = Check();
  EXPECT_EQ(outcome.code, 0) << outcome.out;
}

TEST_F(LayersTest, AnIncludeOfAHigherLayerNamesTheFileLineAndWhatIsAllowed) {
  files_["src/jobs/store.cc"] = "#include \"jobs/store.h\"\n\n#include \"api/http.h\"\n";
  Outcome outcome = Check();
  EXPECT_EQ(outcome.code, 1);
  EXPECT_THAT(outcome.out, HasSubstr("src/jobs/store.cc:3: includes \"api/http.h\", but "
                                     "warden_jobs depends on base only "
                                     "(src/jobs/CMakeLists.txt)\n"));
}

TEST_F(LayersTest, AnIncludeOfALayerReachedOnlyThroughAnotherIsReported) {
  // api may use jobs, and jobs base, but api must say so itself to use base.
  files_["src/api/CMakeLists.txt"] =
      "warden_add_library(warden_api SOURCES http.cc PRIVATE warden_jobs)\n";
  Outcome outcome = Check();
  EXPECT_EQ(outcome.code, 1);
  EXPECT_THAT(outcome.out, HasSubstr("src/api/http.cc:2: includes \"base/result.h\", but "
                                     "warden_api depends on jobs only"));
}

TEST_F(LayersTest, ADependencyThatPointsUpIsReported) {
  files_["src/jobs/CMakeLists.txt"] =
      "warden_add_library(warden_jobs SOURCES store.cc PUBLIC warden_base PRIVATE warden_api)\n";
  files_["src/jobs/store.cc"] = "#include \"jobs/store.h\"\n#include \"api/http.h\"\n";
  Outcome outcome = Check();
  EXPECT_EQ(outcome.code, 1);
  EXPECT_THAT(outcome.out, HasSubstr("src/jobs/CMakeLists.txt: warden_jobs depends on "
                                     "warden_api, which is not below it"));
}

TEST_F(LayersTest, APublicDependencyThatOnlySourcesUseMustBePrivate) {
  files_["src/api/CMakeLists.txt"] =
      "warden_add_library(warden_api SOURCES http.cc PUBLIC warden_jobs PRIVATE warden_base)\n";
  Outcome outcome = Check();
  EXPECT_EQ(outcome.code, 1);
  EXPECT_THAT(outcome.out, HasSubstr("src/api/CMakeLists.txt: warden_jobs should be PRIVATE: "
                                     "only the sources of api/ include it"));
}

TEST_F(LayersTest, APrivateDependencyThatAnIncludedHeaderPullsInMustBePublic) {
  files_["src/jobs/CMakeLists.txt"] =
      "warden_add_library(warden_jobs SOURCES store.cc PRIVATE warden_base)\n";
  Outcome outcome = Check();
  EXPECT_EQ(outcome.code, 1);
  EXPECT_THAT(outcome.out, HasSubstr("src/jobs/CMakeLists.txt: warden_base must be PUBLIC: a "
                                     "header of jobs/ that other folders include includes "
                                     "base/"));
}

TEST_F(LayersTest, AnUnusedDependencyAndAFolderWithoutARankAreReported) {
  files_["src/api/CMakeLists.txt"] =
      "warden_add_library(warden_api SOURCES http.cc PRIVATE warden_jobs warden_base)\n";
  files_["src/api/http.cc"] = "#include \"api/http.h\"\n#include \"jobs/store.h\"\n";
  files_["src/gadgets/CMakeLists.txt"] =
      "warden_add_library(warden_gadgets SOURCES g.cc PRIVATE warden_base)\n";
  files_["src/gadgets/g.cc"] = "#include \"base/result.h\"\n";
  Outcome outcome = Check();
  EXPECT_EQ(outcome.code, 1);
  EXPECT_THAT(outcome.out, HasSubstr("src/api/CMakeLists.txt: warden_api depends on warden_base "
                                     "but includes nothing of it: remove the dependency"));
  EXPECT_THAT(outcome.out, HasSubstr("src/gadgets/: not in LAYERS"));
}

}  // namespace
}  // namespace warden
