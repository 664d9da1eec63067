#include "llm/schema.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "llm/text_test_tools.h"

namespace warden::llm {
namespace {

using ::testing::HasSubstr;

json::object SchemaOf(std::string_view tool) {
  for (const ToolSpec& spec : AgentToolsForTest()) {
    if (spec.name == tool) {
      return spec.parameters;
    }
  }
  ADD_FAILURE() << "no tool " << tool;
  return {};
}

// Validates `args` (JSON text) against `schema`; returns the coerced value serialized, or
// "ERROR: message".
std::string Checked(const json::object& schema, std::string_view args) {
  json::value value = json::parse(args);
  Status status = ValidateAgainstSchema(schema, value);
  return status.ok() ? json::serialize(value) : "ERROR: " + status.error().message();
}

TEST(SchemaTest, ValidArgumentsPassUnchanged) {
  EXPECT_EQ(Checked(SchemaOf("run_shell"), R"({"command": "ls", "timeout_seconds": 10})"),
            R"({"command":"ls","timeout_seconds":10})");
}

TEST(SchemaTest, IntegerSentAsStringIsCoerced) {
  EXPECT_EQ(Checked(SchemaOf("run_shell"), R"({"command": "ls", "timeout_seconds": " 5 "})"),
            R"({"command":"ls","timeout_seconds":5})");
}

TEST(SchemaTest, IntegralNumberIsCoercedToInteger) {
  EXPECT_EQ(Checked(SchemaOf("run_shell"), R"({"command": "ls", "timeout_seconds": 5.0})"),
            R"({"command":"ls","timeout_seconds":5})");
}

TEST(SchemaTest, NonNumericStringForIntegerNamesPropertyAndType) {
  EXPECT_EQ(Checked(SchemaOf("run_shell"), R"({"command": "ls", "timeout_seconds": "soon"})"),
            R"(ERROR: property "timeout_seconds": expected integer, got string "soon")");
}

TEST(SchemaTest, FractionIsNotAnInteger) {
  EXPECT_EQ(Checked(SchemaOf("run_shell"), R"({"command": "ls", "timeout_seconds": 1.5})"),
            R"(ERROR: property "timeout_seconds": expected integer, got number 1.5E0)");
}

TEST(SchemaTest, BooleanAndNumberStringsAreCoerced) {
  json::object schema = json::parse(R"({"type": "object", "properties": {
      "verbose": {"type": "boolean"}, "ratio": {"type": "number"}}})")
                            .as_object();
  EXPECT_EQ(Checked(schema, R"({"verbose": "True", "ratio": "0.5"})"),
            R"({"verbose":true,"ratio":5E-1})");
  EXPECT_EQ(Checked(schema, R"({"verbose": "yes"})"),
            R"(ERROR: property "verbose": expected boolean, got string "yes")");
}

TEST(SchemaTest, ArraySerializedAsStringIsParsed) {
  EXPECT_EQ(Checked(SchemaOf("finish"), R"({"summary": "done", "files": "[\"a.py\", \"b.py\"]"})"),
            R"({"summary":"done","files":["a.py","b.py"]})");
}

TEST(SchemaTest, LoneStringWhereArrayOfStringsIsExpectedIsWrapped) {
  EXPECT_EQ(Checked(SchemaOf("finish"), R"({"summary": "done", "files": "a.py"})"),
            R"({"summary":"done","files":["a.py"]})");
}

TEST(SchemaTest, ObjectSerializedAsStringIsParsed) {
  json::object schema = json::parse(R"({"type": "object", "properties": {
      "env": {"type": "object", "additionalProperties": {"type": "string"}}}})")
                            .as_object();
  EXPECT_EQ(Checked(schema, R"({"env": "{\"A\": \"1\"}"})"), R"({"env":{"A":"1"}})");
}

TEST(SchemaTest, NumberWhereStringIsExpectedBecomesString) {
  EXPECT_EQ(Checked(SchemaOf("read_file"), R"({"path": 42})"), R"({"path":"42"})");
}

TEST(SchemaTest, UnknownPropertyIsNamedWithTheAllowedOnes) {
  EXPECT_EQ(Checked(SchemaOf("run_shell"), R"({"command": "ls", "cwd": "/tmp"})"),
            R"(ERROR: unknown property "cwd" (allowed: command, timeout_seconds))");
}

TEST(SchemaTest, MissingRequiredPropertyIsNamed) {
  EXPECT_EQ(Checked(SchemaOf("write_file"), R"({"path": "a.txt"})"),
            R"(ERROR: missing required property "content")");
}

TEST(SchemaTest, EveryProblemIsReported) {
  std::string result = Checked(SchemaOf("write_file"), R"({"file": "a.txt", "content": [1]})");
  EXPECT_THAT(result, HasSubstr(R"(property "content": expected string, got an array)"));
  EXPECT_THAT(result, HasSubstr(R"(unknown property "file")"));
  EXPECT_THAT(result, HasSubstr(R"(missing required property "path")"));
}

TEST(SchemaTest, ItemErrorsNameTheIndex) {
  EXPECT_EQ(Checked(SchemaOf("finish"), R"({"summary": "ok", "files": ["a", {"b": 1}]})"),
            R"(ERROR: property "files[1]": expected string, got an object)");
}

TEST(SchemaTest, WrongTopLevelTypeSaysArguments) {
  EXPECT_EQ(Checked(SchemaOf("finish"), R"(["done"])"),
            R"(ERROR: arguments: expected object, got an array)");
}

TEST(SchemaTest, EnumRejectsOtherValues) {
  json::object schema = json::parse(R"({"type": "object", "properties": {
      "mode": {"type": "string", "enum": ["fast", "safe"]}}})")
                            .as_object();
  EXPECT_EQ(Checked(schema, R"({"mode": "safe"})"), R"({"mode":"safe"})");
  EXPECT_EQ(Checked(schema, R"({"mode": "quick"})"),
            R"(ERROR: property "mode": "quick" is not one of "fast", "safe")");
}

TEST(SchemaTest, OptionalPropertySentAsNullIsDropped) {
  EXPECT_EQ(Checked(SchemaOf("run_shell"), R"({"command": "ls", "timeout_seconds": null})"),
            R"({"command":"ls"})");
}

TEST(SchemaTest, RequiredPropertySentAsNullIsAnError) {
  EXPECT_EQ(Checked(SchemaOf("run_shell"), R"({"command": null})"),
            R"(ERROR: property "command": expected string, got null)");
}

TEST(SchemaTest, TypeListAcceptsAnyOfItsTypes) {
  json::object schema = json::parse(R"({"type": "object", "properties": {
      "limit": {"type": ["integer", "null"]}}})")
                            .as_object();
  EXPECT_EQ(Checked(schema, R"({"limit": null})"), R"({"limit":null})");
  EXPECT_EQ(Checked(schema, R"({"limit": "7"})"), R"({"limit":7})");
}

TEST(SchemaTest, NestedObjectsAreCheckedWithDottedPaths) {
  json::object schema = json::parse(R"({"type": "object", "properties": {
      "opts": {"type": "object", "properties": {"depth": {"type": "integer"}},
               "required": ["depth"], "additionalProperties": false}}})")
                            .as_object();
  EXPECT_EQ(Checked(schema, R"({"opts": {"depth": "2"}})"), R"({"opts":{"depth":2}})");
  EXPECT_EQ(Checked(schema, R"({"opts": {}})"), R"(ERROR: missing required property "opts.depth")");
}

}  // namespace
}  // namespace warden::llm
