// What a job's input may be: checked before it is stored, so that mistakes are a 400 at once.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "jobs/worker.h"

namespace warden::jobs {
namespace {

using ::testing::HasSubstr;

Result<JobKind> Validate(std::string_view text) {
  return ValidateJobInput(json::parse(text).as_object());
}

TEST(ValidateJobInputTest, AcceptsTasksStepsAndEveryKnownOption) {
  EXPECT_EQ(*Validate(R"({"task": "count the files"})"), JobKind::kTask);
  const char* steps = R"j({"steps": [{"shell": "true"}, {"python": "print(1)"},)j"
                      R"j( {"write_file": {"path": "a", "content": ""}}]})j";
  EXPECT_EQ(*Validate(steps), JobKind::kSteps);
  const char* every_option =
      R"({"task": "t", "options": {"timeout": "10m", "action_timeout": "30s", "memory": "512M",)"
      R"( "network": "none", "provider": "ollama", "model": "qwen3", "max_steps": 12,)"
      R"( "approve": "never", "requeue_on_crash": true}})";
  auto full = Validate(every_option);
  ASSERT_TRUE(full.ok()) << full.error().message();
  EXPECT_EQ(*full, JobKind::kTask);
}

TEST(ValidateJobInputTest, RefusesWhatCannotRunSayingWhy) {
  struct Case {
    const char* input;
    const char* says;
  };
  const Case cases[] = {
      {R"({})", "either \"task\""},
      {R"({"task": "a", "steps": [{"shell": "b"}]})", "not both"},
      {R"({"task": "  \n"})", "non-empty string"},
      {R"({"steps": []})", "non-empty array"},
      {R"({"steps": [{"shell": 1}]})", "steps[0]"},
      {R"({"steps": [{"shell": "a", "python": "b"}]})", "steps[0]"},
      {R"({"task": "a", "priority": 1})", "unknown field \"priority\""},
      {R"({"task": "a", "options": []})", "\"options\" must be an object"},
      {R"({"task": "a", "options": {"timeout": "soon"}})", "options.timeout"},
      {R"({"task": "a", "options": {"memory": "lots"}})", "options.memory"},
      {R"({"task": "a", "options": {"network": "bridge"}})", "options.network"},
      {R"({"task": "a", "options": {"max_steps": 0}})", "options.max_steps"},
      {R"({"task": "a", "options": {"approve": "maybe"}})", "options.approve"},
      {R"({"task": "a", "options": {"requeue_on_crash": "yes"}})", "options.requeue_on_crash"},
      {R"({"task": "a", "options": {"base_url": "http://evil.example"}})",
       "unknown option \"base_url\""},
  };
  for (const Case& c : cases) {
    auto result = Validate(c.input);
    ASSERT_FALSE(result.ok()) << c.input;
    EXPECT_EQ(result.error().code(), ErrorCode::kInvalidArgument) << c.input;
    EXPECT_THAT(result.error().message(), HasSubstr(c.says)) << c.input;
  }
}

}  // namespace
}  // namespace warden::jobs
