#include "artifacts/names.h"

#include <string>

#include <gtest/gtest.h>

namespace warden::artifacts {
namespace {

TEST(NamesTest, Utf8NamesWithoutBackslashesAreShownUnchanged) {
  for (std::string name : {"report.csv", "data/2024/été.txt", "日本語/ファイル", "emoji-😀.png",
                           "spaces and 'quotes'"}) {
    EXPECT_TRUE(IsValidUtf8(name)) << name;
    EXPECT_EQ(ShownName(name), name);
  }
}

TEST(NamesTest, BytesThatAreNotUtf8AreShownAsHexEscapesAndBackslashesDoubled) {
  EXPECT_EQ(ShownName("bad\xffname"), R"(bad\xffname)");
  EXPECT_EQ(ShownName(R"(back\slash)"), R"(back\\slash)");
  EXPECT_EQ(ShownName(R"(\xff)"), R"(\\xff)");      // a real backslash-x: not mistaken for a byte
  EXPECT_EQ(ShownName("\xc3"), R"(\xc3)");          // a sequence cut short
  EXPECT_EQ(ShownName("\xc0\xaf"), R"(\xc0\xaf)");  // overlong '/'
  EXPECT_EQ(ShownName("\xed\xa0\x80"), R"(\xed\xa0\x80)");          // a UTF-16 surrogate
  EXPECT_EQ(ShownName("\xf4\x90\x80\x80"), R"(\xf4\x90\x80\x80)");  // above U+10FFFF
  EXPECT_EQ(ShownName("\xe2\x82\xac\x80"),
            "\xe2\x82\xac"
            R"(\x80)");  // a valid one, then a stray
  EXPECT_FALSE(IsValidUtf8("bad\xffname"));
}

TEST(NamesTest, EveryShownNameIsUtf8AndMapsBackToTheName) {
  std::vector<std::string> names;
  for (int byte = 1; byte < 256; ++byte) {
    names.push_back(std::string(1, static_cast<char>(byte)));
    names.push_back("a" + std::string(1, static_cast<char>(byte)) + "\\" + "\xe2\x82");
  }
  names.push_back("\xf0\x9f\x98\x80\xf0\x9f\x98");
  for (const std::string& name : names) {
    std::string shown = ShownName(name);
    EXPECT_TRUE(IsValidUtf8(shown)) << shown;
    Result<std::string> back = NameFromShown(shown);
    ASSERT_TRUE(back.ok()) << back.error().ToString();
    EXPECT_EQ(*back, name) << shown;
  }
}

TEST(NamesTest, EscapesInARequestedPathMayBeUpperCase) {
  EXPECT_EQ(*NameFromShown(R"(bad\xFFname)"), "bad\xffname");
  EXPECT_EQ(*NameFromShown("plain/path.txt"), "plain/path.txt");
  EXPECT_EQ(*NameFromShown("bad\xffname"), "bad\xffname");  // raw bytes pass unchanged
}

TEST(NamesTest, ALoneBackslashIsRefusedWithHowToWriteOne) {
  for (std::string shown :
       {R"(back\slash)", R"(end\)", R"(\x)", R"(\x4)", R"(\xg0)", R"(\u00e9)"}) {
    Result<std::string> name = NameFromShown(shown);
    ASSERT_FALSE(name.ok()) << shown;
    EXPECT_EQ(name.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(name.error().message().find(R"(\\)"), std::string::npos) << name.error().message();
  }
}

}  // namespace
}  // namespace warden::artifacts
