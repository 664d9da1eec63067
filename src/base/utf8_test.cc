#include "base/utf8.h"

#include <string>

#include <gtest/gtest.h>

#include "base/json_text.h"

namespace warden {
namespace {

const std::string kEuro = "\xE2\x82\xAC";         // U+20AC, three bytes
const std::string kEmoji = "\xF0\x9F\x98\x80";    // U+1F600, four bytes
const std::string kReplacement = "\xEF\xBF\xBD";  // U+FFFD

TEST(Utf8Test, WellFormedTextOfEveryLengthIsValid) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain ASCII, long enough for the eight-byte path\n"));
  EXPECT_TRUE(IsValidUtf8("caf\xC3\xA9 " + kEuro + " " + kEmoji));
  EXPECT_TRUE(IsValidUtf8("\xED\x9F\xBF"));      // U+D7FF, just below the surrogates
  EXPECT_TRUE(IsValidUtf8("\xF4\x8F\xBF\xBF"));  // U+10FFFF, the last code point
}

TEST(Utf8Test, StrayOverlongSurrogateAndOutOfRangeBytesAreInvalid) {
  for (std::string bad : {"\xFF", "a\x80", "\xC0\xAF", "\xE0\x80\xAF", "\xED\xA0\x80",
                          "\xF4\x90\x80\x80", "\xF5\x80\x80\x80", "\xE2\x82", "abcdefgh\xFE"}) {
    EXPECT_FALSE(IsValidUtf8(bad)) << ToValidUtf8(bad);
  }
}

TEST(Utf8Test, UnfinishedTailCountsOnlyAPrefixThatMoreBytesCouldComplete) {
  EXPECT_EQ(Utf8UnfinishedTail(""), 0U);
  EXPECT_EQ(Utf8UnfinishedTail("abc"), 0U);
  EXPECT_EQ(Utf8UnfinishedTail("abc" + kEuro), 0U);
  EXPECT_EQ(Utf8UnfinishedTail("abc\xE2"), 1U);
  EXPECT_EQ(Utf8UnfinishedTail("abc\xE2\x82"), 2U);
  EXPECT_EQ(Utf8UnfinishedTail("\xF0\x9F\x98"), 3U);
  EXPECT_EQ(Utf8UnfinishedTail("abc\xFF"), 0U);      // never begins a character
  EXPECT_EQ(Utf8UnfinishedTail("abc\x82"), 0U);      // a continuation with no lead
  EXPECT_EQ(Utf8UnfinishedTail("abc\xE0\x80"), 0U);  // already overlong: no byte completes it
  EXPECT_EQ(Utf8UnfinishedTail("\x80\x80\x80\x80"), 0U);
}

TEST(Utf8Test, EachMaximalIllFormedSubpartBecomesOneReplacementCharacter) {
  EXPECT_EQ(ToValidUtf8("ok " + kEuro), "ok " + kEuro);
  EXPECT_EQ(ToValidUtf8("a\xFF"
                        "b"),
            "a" + kReplacement + "b");
  // E2 82 is the start of a character that 41 does not continue: one U+FFFD, then 'A'.
  EXPECT_EQ(ToValidUtf8("\xE2\x82"
                        "A"),
            kReplacement + "A");
  // C0 never begins a character, AF never does either: two.
  EXPECT_EQ(ToValidUtf8("\xC0\xAF"), kReplacement + kReplacement);
  EXPECT_EQ(ToValidUtf8("end\xF0\x9F\x98"), "end" + kReplacement);
  EXPECT_TRUE(IsValidUtf8(ToValidUtf8(std::string("\x80\xBF\xF8\xFE\xFF\xED\xA0\x80"))));
}

TEST(JsonTextTest, StringsAndKeysThatAreNotUtf8AreSerializedAsParsableJson) {
  json::object value{{"text",
                      "a\xFF"
                      "b"},
                     {"list", json::array{"\xE2\x82", kEuro}},
                     {"bad\xFE"
                      "key",
                      1}};
  std::string text = SerializeJson(value);
  boost::system::error_code ec;
  json::value parsed = json::parse(text, ec);
  ASSERT_FALSE(ec) << ec.message() << ": " << text;
  EXPECT_EQ(parsed.at("text").as_string(), "a" + kReplacement + "b");
  EXPECT_EQ(parsed.at("list").as_array()[0].as_string(), kReplacement);
  EXPECT_EQ(parsed.at("list").as_array()[1].as_string(), kEuro);
  EXPECT_EQ(parsed.at("bad" + kReplacement + "key").as_int64(), 1);
}

TEST(JsonTextTest, ValidValuesSerializeExactlyAsBoostDoes) {
  json::object value{{"text", "caf\xC3\xA9\n\t\x01"}, {"n", 3}};
  EXPECT_EQ(SerializeJson(value), json::serialize(value));
}

}  // namespace
}  // namespace warden
