#include "jobs/llm_availability.h"

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace warden::jobs {
namespace {

using ::testing::HasSubstr;

JobSpec Task(std::string provider = "", std::string model = "") {
  JobSpec spec;
  spec.kind = JobKind::kTask;
  spec.task = "do it";
  spec.provider = std::move(provider);
  spec.model = std::move(model);
  return spec;
}

// A resolver that fails until `works` is set, counting its calls.
struct FakeResolver {
  int calls = 0;
  bool works = false;
  LlmAvailability::Resolver Get() {
    return [this](const llm::ProviderFlags& flags) -> Result<llm::ProviderConfig> {
      ++calls;
      if (flags.provider == "nope") {
        return Error(ErrorCode::kInvalidArgument, "unknown provider 'nope'");
      }
      if (!works) {
        return Error(ErrorCode::kFailedPrecondition, "no LLM is configured: export OPENAI_API_KEY");
      }
      llm::ProviderConfig config;
      config.provider = flags.provider.empty() ? "ollama" : flags.provider;
      config.model = flags.model.empty() ? "qwen3" : flags.model;
      config.base_url = "http://127.0.0.1:11434";
      return config;
    };
  }
};

TEST(LlmAvailabilityTest, StepsJobsNeedNoLlm) {
  FakeResolver resolver;
  LlmAvailability llm(resolver.Get());
  JobSpec steps;
  steps.kind = JobKind::kSteps;
  EXPECT_TRUE(llm.Check(steps).ok());
  EXPECT_EQ(resolver.calls, 0);
}

TEST(LlmAvailabilityTest, ATaskWithoutAnLlmIsRefusedSayingHowToConfigureOne) {
  FakeResolver resolver;
  LlmAvailability llm(resolver.Get(), std::chrono::hours(1));
  Status refused = llm.Check(Task());
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_THAT(refused.error().message(), HasSubstr("runs steps jobs but not tasks"));
  EXPECT_THAT(refused.error().message(), HasSubstr("export OPENAI_API_KEY"));
  EXPECT_THAT(refused.error().message(), HasSubstr("restart it"));
  // Remembered: the next submissions do not probe again before the hour is up.
  EXPECT_FALSE(llm.Check(Task()).ok());
  EXPECT_EQ(resolver.calls, 1);
  EXPECT_THAT(json::serialize(llm.Describe()), HasSubstr("\"problem\""));
}

TEST(LlmAvailabilityTest, AnLlmThatAppearsLaterIsFoundAndThenKept) {
  FakeResolver resolver;
  LlmAvailability llm(resolver.Get(), std::chrono::milliseconds(0));
  EXPECT_FALSE(llm.Check(Task()).ok());
  resolver.works = true;  // `ollama serve` started
  EXPECT_TRUE(llm.Check(Task()).ok());
  int calls = resolver.calls;
  EXPECT_TRUE(llm.Check(Task()).ok());
  EXPECT_EQ(resolver.calls, calls);  // a working LLM is not probed again
  json::object described = llm.Describe();
  EXPECT_EQ(described.at("provider"), "ollama");
  EXPECT_EQ(described.at("model"), "qwen3");
}

TEST(LlmAvailabilityTest, AJobsOwnProviderIsResolvedAndAnUnknownOneIsABadRequest) {
  FakeResolver resolver;
  resolver.works = true;
  LlmAvailability llm(resolver.Get());
  Status unknown = llm.Check(Task("nope"));
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_TRUE(llm.Check(Task("anthropic", "claude")).ok());
  resolver.works = false;  // e.g. its key is not in the server's environment
  Status missing = llm.Check(Task("anthropic"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code(), ErrorCode::kFailedPrecondition);
}

}  // namespace
}  // namespace warden::jobs
