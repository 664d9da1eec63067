// Manifest() within a hashing budget, and the manifest as JSON.
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "artifacts/artifacts.h"
#include "artifacts/manifest_json.h"
#include "base/config.h"
#include "base/sha256.h"
#include "sys/fs.h"

namespace warden::artifacts {
namespace {

using std::chrono::milliseconds;

class BudgetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = sys::TempDir::Create("warden-manifest-");
    ASSERT_TRUE(dir.ok()) << dir.error().ToString();
    dir_ = std::make_unique<sys::TempDir>(std::move(*dir));
    ws_ = dir_->path();
    // Sorted by path: the largest first, so that hashing in path order would spend the budget on
    // it.
    Write("a-large", std::string(100, 'l'));
    Write("b-medium", std::string(10, 'm'));
    Write("c-small", "sss");
  }

  void Write(const std::string& name, std::string_view content) {
    ASSERT_TRUE(sys::WriteNewFile(ws_ + "/" + name, content).ok()) << name;
  }

  std::unique_ptr<sys::TempDir> dir_;
  std::string ws_;
};

TEST_F(BudgetTest, TheSmallestFilesAreHashedWithinTheByteBudgetAndTheRestOnlyListed) {
  // 12 bytes: the small file (3), then the medium one (10) would be 13. In path order the medium
  // one would take the budget instead.
  auto manifest = Manifest(ws_, {.hashing = HashBudget{12, milliseconds(60'000)}});
  ASSERT_TRUE(manifest.ok()) << manifest.error().ToString();
  ASSERT_EQ(manifest->size(), 3U);
  const FileInfo& large = (*manifest)[0];
  EXPECT_EQ(large.path, "a-large");
  EXPECT_EQ(large.size, 100U);
  EXPECT_EQ(large.sha256, std::nullopt);
  EXPECT_EQ(large.unhashed, Unhashed::kOverBudget);
  EXPECT_EQ((*manifest)[1].sha256, std::nullopt);
  EXPECT_EQ((*manifest)[1].unhashed, Unhashed::kOverBudget);
  EXPECT_EQ((*manifest)[1].size, 10U);
  EXPECT_EQ((*manifest)[2].sha256, Sha256Hex("sss"));
  EXPECT_EQ((*manifest)[2].unhashed, Unhashed::kNo);
}

TEST_F(BudgetTest, NothingIsHashedOnceTheTimeBudgetIsSpent) {
  auto manifest = Manifest(ws_, {.hashing = HashBudget{1 << 20, milliseconds(0)}});
  ASSERT_TRUE(manifest.ok()) << manifest.error().ToString();
  ASSERT_EQ(manifest->size(), 3U);
  for (const FileInfo& file : *manifest) {
    EXPECT_EQ(file.sha256, std::nullopt) << file.path;
    EXPECT_EQ(file.unhashed, Unhashed::kOverBudget) << file.path;
  }
  EXPECT_EQ((*manifest)[0].size, 100U);
}

TEST_F(BudgetTest, ASparseFileBeyondTheBudgetIsListedWithItsApparentSizeUnread) {
  // 1 TiB of holes: reading it would take hours, so a manifest that returns has not read it.
  UniqueFd sparse(::open((ws_ + "/huge.img").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
  ASSERT_TRUE(sparse.valid());
  ASSERT_EQ(::ftruncate(sparse.get(), off_t{1} << 40), 0);
  auto manifest = Manifest(ws_);  // the default budget: 1 GiB, 10 s
  ASSERT_TRUE(manifest.ok()) << manifest.error().ToString();
  ASSERT_EQ(manifest->size(), 4U);
  EXPECT_EQ((*manifest)[3].path, "huge.img");
  EXPECT_EQ((*manifest)[3].size, uint64_t{1} << 40);
  EXPECT_EQ((*manifest)[3].unhashed, Unhashed::kOverBudget);
  EXPECT_EQ((*manifest)[2].sha256, Sha256Hex("sss"));
}

TEST_F(BudgetTest, AListingWithoutHashingGivesSizesOnly) {
  auto manifest = Manifest(ws_, {.hashing = std::nullopt});
  ASSERT_TRUE(manifest.ok()) << manifest.error().ToString();
  ASSERT_EQ(manifest->size(), 3U);
  for (const FileInfo& file : *manifest) {
    EXPECT_EQ(file.sha256, std::nullopt) << file.path;
    EXPECT_EQ(file.unhashed, Unhashed::kNotAsked) << file.path;
  }
  EXPECT_EQ((*manifest)[1].size, 10U);
}

TEST_F(BudgetTest, TooManyFilesIsAConditionOfItsOwn) {
  auto manifest = Manifest(ws_, {.max_files = 2});
  ASSERT_FALSE(manifest.ok());
  EXPECT_TRUE(IsTooManyFiles(manifest.error()));
  EXPECT_EQ(ManifestErrorJson(manifest.error()).at("code"), "too_many_files");
  Error descriptors = Error::FromErrno("open(x)", EMFILE);
  EXPECT_EQ(descriptors.code(), ErrorCode::kResourceExhausted);
  EXPECT_FALSE(IsTooManyFiles(descriptors));
}

TEST(ManifestJsonTest, EntriesShowEscapedPathsAndSayWhyADigestIsMissing) {
  std::vector<FileInfo> files = {
      {"bad\xff.txt", 1, std::string(64, 'a'), Unhashed::kNo, 5},
      {"big.img", 1 << 30, std::nullopt, Unhashed::kOverBudget, 6},
      {"now.txt", 3, std::nullopt, Unhashed::kNotAsked, 7},
  };
  json::array out = ManifestJson(files);
  ASSERT_EQ(out.size(), 3U);
  EXPECT_EQ(json::serialize(out[0]), R"({"path":"bad\\xff.txt","size":1,"sha256":")" +
                                         std::string(64, 'a') + R"(","modified_at":5})");
  EXPECT_EQ(json::serialize(out[1]),
            R"({"path":"big.img","size":1073741824,"sha256":null,"sha256_skipped":"budget",)"
            R"("modified_at":6})");
  EXPECT_EQ(out[2].at("sha256_skipped"), "live");
}

TEST(HashBudgetTest, ComesFromTheConfigurationOrItsDefaults) {
  auto defaults = HashBudgetFromConfig(Config());
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->bytes, uint64_t{1} << 30);
  EXPECT_EQ(defaults->time, milliseconds(10'000));
  auto config = Config::Parse("[artifacts]\nhash_budget = \"64M\"\nhash_time = \"2s\"\n", "c.toml");
  ASSERT_TRUE(config.ok());
  auto set = HashBudgetFromConfig(*config);
  ASSERT_TRUE(set.ok()) << set.error().ToString();
  EXPECT_EQ(set->bytes, uint64_t{64} << 20);
  EXPECT_EQ(set->time, milliseconds(2'000));
}

TEST(HashBudgetTest, ABadValueNamesTheKeyAndTheFormExpected) {
  for (std::string text :
       {"[artifacts]\nhash_budget = \"lots\"\n", "[artifacts]\nhash_budget = 5\n",
        "[artifacts]\nhash_time = \"soon\"\n"}) {
    auto config = Config::Parse(text, "c.toml");
    ASSERT_TRUE(config.ok()) << text;
    auto budget = HashBudgetFromConfig(*config);
    ASSERT_FALSE(budget.ok()) << text;
    EXPECT_EQ(budget.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(budget.error().message().find("artifacts.hash_"), std::string::npos);
    EXPECT_NE(budget.error().message().find("c.toml"), std::string::npos);
    EXPECT_NE(budget.error().message().find("such as"), std::string::npos);
  }
}

}  // namespace
}  // namespace warden::artifacts
