// The Python-literal reader behind pythonic lists, ```tool_code, Olmo and LFM2 calls.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "llm/text_scan.h"

namespace warden::llm::text_scan {
namespace {

using ::testing::HasSubstr;

// The keyword arguments of the single call in `text`, serialized, or "ERROR: message".
std::string Keywords(std::string_view text) {
  Result<PyCallList> list = ParsePythonicCalls(text);
  if (!list.ok()) {
    return "ERROR: " + list.error().message();
  }
  if (list->calls.size() != 1) {
    return "calls: " + std::to_string(list->calls.size());
  }
  return json::serialize(list->calls[0].keywords);
}

TEST(TextPythonicTest, StringsInEitherQuoteWithEscapes) {
  EXPECT_EQ(Keywords(R"x(f(a='it\'s', b="say \"hi\"\n", c='tab\there'))x"),
            R"x({"a":"it's","b":"say \"hi\"\n","c":"tab\there"})x");
}

TEST(TextPythonicTest, TripleQuotedStringKeepsItsLines) {
  EXPECT_EQ(Keywords("f(code=\"\"\"for i in range(3):\n    print('i')\n\"\"\")"),
            R"x({"code":"for i in range(3):\n    print('i')\n"})x");
}

TEST(TextPythonicTest, NumbersAndLiterals) {
  EXPECT_EQ(Keywords("f(a=1, b=-2.5, c=True, d=False, e=None, g=1_000, h=+3)"),
            R"x({"a":1,"b":-2.5E0,"c":true,"d":false,"e":null,"g":1000,"h":3})x");
}

TEST(TextPythonicTest, ListsTuplesAndDicts) {
  EXPECT_EQ(Keywords("f(a=[1, 'x', [2]], b=(1, 2,), c={'k': 'v', 1: None})"),
            R"x({"a":[1,"x",[2]],"b":[1,2],"c":{"k":"v","1":null}})x");
}

TEST(TextPythonicTest, RawStringKeepsBackslashes) {
  EXPECT_EQ(Keywords(R"x(f(p=r'\d+\.txt'))x"), R"x({"p":"\\d+\\.txt"})x");
}

TEST(TextPythonicTest, UnknownEscapeKeepsTheBackslash) {
  EXPECT_EQ(Keywords(R"x(f(p='a\.b'))x"), R"x({"p":"a\\.b"})x");
}

TEST(TextPythonicTest, AdjacentStringsAreJoinedAndUnicodeEscapesDecoded) {
  EXPECT_EQ(Keywords(R"x(f(s='caf' "\u00e9"))x"), "{\"s\":\"caf\xc3\xa9\"}");
}

TEST(TextPythonicTest, PositionalArgumentsAreKeptInOrder) {
  Result<PyCallList> list = ParsePythonicCalls("write_file('a.txt', content='x')");
  ASSERT_TRUE(list.ok()) << list.error().message();
  ASSERT_EQ(list->calls[0].positional.size(), 1u);
  EXPECT_EQ(list->calls[0].positional[0].as_string(), "a.txt");
  EXPECT_EQ(json::serialize(list->calls[0].keywords), R"({"content":"x"})");
}

TEST(TextPythonicTest, ListEndsAtItsBracket) {
  Result<PyCallList> list = ParsePythonicCalls("[f(), g(x=1)] and then prose");
  ASSERT_TRUE(list.ok()) << list.error().message();
  EXPECT_EQ(list->calls.size(), 2u);
  EXPECT_EQ(list->end, 13u);
  EXPECT_EQ(list->calls[1].name, "g");
}

TEST(TextPythonicTest, NamespacesAroundTheNameAreDropped) {
  Result<PyCallList> list =
      ParsePythonicCalls("print(default_api.read_file(path='a'))\nbrave_search.call(q='x')");
  ASSERT_TRUE(list.ok()) << list.error().message();
  ASSERT_EQ(list->calls.size(), 2u);
  EXPECT_EQ(list->calls[0].name, "read_file");
  EXPECT_EQ(list->calls[1].name, "brave_search");
}

TEST(TextPythonicTest, UnterminatedStringIsAnErrorAtItsStart) {
  Result<PyCallList> list = ParsePythonicCalls("f(a='abc)");
  ASSERT_FALSE(list.ok());
  EXPECT_EQ(list.error().message(), "at offset 4: unterminated string");
}

TEST(TextPythonicTest, MissingListBracketIsAnError) {
  Result<PyCallList> list = ParsePythonicCalls("[f(a=1), g(b=2)");
  ASSERT_FALSE(list.ok());
  EXPECT_THAT(list.error().message(), HasSubstr("no closing ']'"));
}

TEST(TextPythonicTest, UnknownNameAsValueIsAnError) {
  Result<json::value> v = ParsePythonLiteral("[1, os.environ]");
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().message(), "at offset 4: unexpected name 'os.environ'");
}

}  // namespace
}  // namespace warden::llm::text_scan
