#include "llm/json_repair.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace warden::llm {
namespace {

using ::testing::HasSubstr;

// Parses `text` leniently and returns the result serialized, or "ERROR: message".
std::string Repaired(std::string_view text) {
  Result<json::value> v = ParseLenientJson(text);
  return v.ok() ? json::serialize(*v) : "ERROR: " + v.error().message();
}

TEST(JsonRepairTest, StrictJsonIsParsedAsIs) {
  EXPECT_EQ(Repaired(R"({"command": "ls -la", "timeout_seconds": 30})"),
            R"({"command":"ls -la","timeout_seconds":30})");
}

TEST(JsonRepairTest, TrailingCommasAreDropped) {
  EXPECT_EQ(Repaired(R"({"files": ["a", "b",], "summary": "ok",})"),
            R"({"files":["a","b"],"summary":"ok"})");
}

TEST(JsonRepairTest, SingleQuotedStringsBecomeDoubleQuoted) {
  EXPECT_EQ(Repaired(R"({'command': 'echo "hi"', 'path': 'it\'s.txt'})"),
            R"({"command":"echo \"hi\"","path":"it's.txt"})");
}

TEST(JsonRepairTest, RawNewlinesAndTabsInStringsAreEscaped) {
  Result<json::value> v = ParseLenientJson("{\"content\": \"line 1\n\tline 2\"}");
  ASSERT_TRUE(v.ok()) << v.error().message();
  EXPECT_EQ(v->at("content").as_string(), "line 1\n\tline 2");
}

TEST(JsonRepairTest, PythonLiteralsBecomeJsonLiterals) {
  EXPECT_EQ(Repaired(R"({"a": True, "b": False, "c": None})"), R"({"a":true,"b":false,"c":null})");
}

TEST(JsonRepairTest, UnquotedKeysAreQuoted) {
  EXPECT_EQ(Repaired(R"({command: "ls", timeout_seconds: 5})"),
            R"({"command":"ls","timeout_seconds":5})");
}

TEST(JsonRepairTest, TruncatedTextIsClosedInTheRightOrder) {
  EXPECT_EQ(Repaired(R"({"name": "finish", "arguments": {"files": ["a.txt", "b.t)"),
            R"({"name":"finish","arguments":{"files":["a.txt","b.t"]}})");
}

TEST(JsonRepairTest, TruncationAfterAKeyGivesItNull) {
  EXPECT_EQ(Repaired(R"({"command": "ls", "timeout_seconds")"),
            R"({"command":"ls","timeout_seconds":null})");
}

TEST(JsonRepairTest, MarkdownFenceAroundTheJsonIsStripped) {
  EXPECT_EQ(Repaired("```json\n{\"command\": \"pwd\",}\n```"), R"({"command":"pwd"})");
}

TEST(JsonRepairTest, CommentsAreDropped) {
  EXPECT_EQ(Repaired("{\n  // the command\n  \"command\": \"ls\" /* short */\n}"),
            R"({"command":"ls"})");
}

TEST(JsonRepairTest, UnknownBackslashEscapesAreKeptLiterally) {
  // A shell or regex backslash the model did not double.
  Result<json::value> v = ParseLenientJson(R"({"command": "grep 'a\.b' f\ile"})");
  ASSERT_TRUE(v.ok()) << v.error().message();
  EXPECT_EQ(v->at("command").as_string(), R"(grep 'a\.b' f\ile)");
}

TEST(JsonRepairTest, UnescapedQuotesInsideAValueAreKept) {
  Result<json::value> v = ParseLenientJson(R"({"command": "echo "hi there" > out.txt"})");
  ASSERT_TRUE(v.ok()) << v.error().message();
  EXPECT_EQ(v->at("command").as_string(), R"(echo "hi there" > out.txt)");
}

TEST(JsonRepairTest, RawNewlinesAndUnescapedQuotesTogether) {
  Result<json::value> v =
      ParseLenientJson("{\"path\": \"a.py\", \"content\": \"def f():\n    return \"x\"\n\"}");
  ASSERT_TRUE(v.ok()) << v.error().message();
  EXPECT_EQ(v->at("content").as_string(), "def f():\n    return \"x\"\n");
}

TEST(JsonRepairTest, MissingCommaBetweenLinesIsInserted) {
  EXPECT_EQ(Repaired("{\"path\": \"a.txt\"\n\"content\": \"x\"}"),
            R"({"path":"a.txt","content":"x"})");
}

TEST(JsonRepairTest, ForgottenInnerCloseIsInserted) {
  EXPECT_EQ(Repaired(R"({"a": [{"b": 1], "c": 2})"), R"({"a":[{"b":1}],"c":2})");
}

TEST(JsonRepairTest, WrongKindOfClosingBracketIsTakenAsATypo) {
  EXPECT_EQ(Repaired(R"({"files": ["a", "b"}, "summary": "ok"})"),
            R"({"files":["a","b"],"summary":"ok"})");
}

TEST(JsonRepairTest, PythonStyleEscapesAreTranslated) {
  Result<json::value> v = ParseLenientJson(R"({'s': '\x41\u00e9'})");
  ASSERT_TRUE(v.ok()) << v.error().message();
  EXPECT_EQ(v->at("s").as_string(), "A\xc3\xa9");
}

TEST(JsonRepairTest, NumbersAreNormalised) {
  EXPECT_EQ(Repaired("[+1, .5, 2., -0.25e1]"), "[1,5E-1,2,-2.5E0]");
}

// Boost.JSON reads such a number as infinity and writes infinity as `Infinity`, which no JSON
// parser accepts: the arguments would poison every later request (found by fuzz_json_repair).
TEST(JsonRepairTest, ANumberTooLargeForADoubleIsAnError) {
  EXPECT_EQ(Repaired(R"({"timeout_seconds": 1e999})"),
            "ERROR: a number is too large for JSON (at most about 1.8e308)");
  EXPECT_EQ(Repaired("[+1, .2e5[+1, .2e515"),
            "ERROR: a number is too large for JSON (at most about 1.8e308)");
  EXPECT_EQ(Repaired("[-1e400]"), "ERROR: a number is too large for JSON (at most about 1.8e308)");
}

TEST(JsonRepairTest, UnrepairableTextNamesTheOffset) {
  EXPECT_EQ(Repaired(R"({"command": @ls})"),
            "ERROR: invalid JSON at offset 12: unexpected "
            "character '@'");
}

TEST(JsonRepairTest, UnknownBareWordIsAnErrorAtItsOffset) {
  Result<json::value> v = ParseLenientJson(R"({"a": 1, "b": maybe})");
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_THAT(v.error().message(), HasSubstr("offset 14"));
  EXPECT_THAT(v.error().message(), HasSubstr("'maybe'"));
}

TEST(JsonRepairTest, EmptyTextIsAnError) {
  EXPECT_EQ(Repaired("   "), "ERROR: invalid JSON at offset 3: no JSON value");
}

TEST(JsonRepairTest, OffsetsCountFromTheStartOfAFencedText) {
  Result<json::value> bad = ParseLenientJson("```json\n{\"a\": @}\n```");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.error().message(), HasSubstr("offset 14"));
}

}  // namespace
}  // namespace warden::llm
