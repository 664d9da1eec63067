// What a job's input may be: parsed once into a JobSpec, checked before it is stored, so that
// mistakes are a 400 at once; and the one parser of run limits that /v1/exec and the CLI share.
#include "jobs/job_spec.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "jobs/limits.h"

namespace warden::jobs {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;
using ::testing::HasSubstr;

Result<JobSpec> Parse(std::string_view text, const JobBounds& bounds = {}) {
  return ParseJobSpec(json::parse(text).as_object(), bounds);
}

TEST(JobSpecTest, ParsesTasksStepsAndEveryKnownOption) {
  auto task = Parse(R"({"task": "count the files"})");
  ASSERT_TRUE(task.ok()) << task.error().message();
  EXPECT_EQ(task->kind, JobKind::kTask);
  EXPECT_EQ(task->task, "count the files");

  auto steps = Parse(R"j({"steps": [{"shell": "true"}, {"python": "print(1)"},)j"
                     R"j( {"write_file": {"path": "a", "content": "x"}}]})j");
  ASSERT_TRUE(steps.ok()) << steps.error().message();
  ASSERT_EQ(steps->steps.size(), 3u);
  EXPECT_EQ(steps->steps[0].kind, Step::Kind::kShell);
  EXPECT_EQ(steps->steps[1].code, "print(1)");
  EXPECT_EQ(steps->steps[2].kind, Step::Kind::kWriteFile);
  EXPECT_EQ(steps->steps[2].path, "a");
  EXPECT_EQ(steps->steps[2].code, "x");

  JobBounds bounds;
  bounds.allow_network = true;
  auto full = Parse(
      R"({"task": "t", "options": {"timeout": "10m", "action_timeout": "30s", "memory": "512M",)"
      R"( "disk_limit": "100M", "output_limit": "2M", "network": "host", "provider": "ollama",)"
      R"( "model": "qwen3", "max_steps": 12, "approve": "risky", "requeue_on_crash": true}})",
      bounds);
  ASSERT_TRUE(full.ok()) << full.error().message();
  EXPECT_EQ(full->timeout, minutes(10));
  EXPECT_EQ(full->action_limits.wall_time, seconds(30));
  EXPECT_EQ(full->action_limits.cpu_time, seconds(30));
  EXPECT_EQ(full->action_limits.memory_bytes, 512ULL << 20);
  EXPECT_EQ(full->disk_bytes, 100ULL << 20);
  EXPECT_EQ(full->output_bytes, 2ULL << 20);
  EXPECT_EQ(full->network, sandbox::NetworkMode::kHost);
  EXPECT_EQ(full->provider, "ollama");
  EXPECT_EQ(full->model, "qwen3");
  EXPECT_EQ(full->max_steps, 12);
  EXPECT_EQ(full->approve, agent::ApprovalMode::kRisky);
  EXPECT_TRUE(full->requeue_on_crash);
}

TEST(JobSpecTest, AJobWithoutOptionsGetsTheServersDefaults) {
  JobBounds bounds;
  bounds.action.wall_time = seconds(42);
  bounds.job_timeout = minutes(7);
  bounds.job_disk_bytes = 300ULL << 20;
  bounds.job_output_bytes = 3ULL << 20;
  auto spec = Parse(R"({"steps": [{"shell": "true"}]})", bounds);
  ASSERT_TRUE(spec.ok()) << spec.error().message();
  EXPECT_EQ(spec->action_limits.wall_time, seconds(42));
  EXPECT_EQ(spec->timeout, minutes(7));
  EXPECT_EQ(spec->disk_bytes, 300ULL << 20);
  EXPECT_EQ(spec->output_bytes, 3ULL << 20);
  EXPECT_EQ(spec->network, sandbox::NetworkMode::kNone);
}

TEST(JobSpecTest, RefusesWhatCannotRunSayingWhy) {
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
      {R"({"steps": [{"shell": "a"}, {"write_file": {"path": "a"}}]})", "steps[1]"},
      {R"({"task": "a", "priority": 1})", "unknown field \"priority\""},
      {R"({"task": "a", "options": []})", "\"options\" must be an object"},
      {R"({"task": "a", "options": {"timeout": "soon"}})", "options.timeout"},
      {R"({"task": "a", "options": {"memory": "lots"}})", "options.memory"},
      {R"({"task": "a", "options": {"network": "bridge"}})", "options.network"},
      {R"({"task": "a", "options": {"max_steps": 0}})", "options.max_steps"},
      {R"({"task": "a", "options": {"max_steps": 1001}})", "from 1 to 1000"},
      {R"({"task": "a", "options": {"approve": "maybe"}})", "options.approve"},
      {R"({"task": "a", "options": {"requeue_on_crash": "yes"}})", "options.requeue_on_crash"},
      {R"({"task": "a", "options": {"base_url": "http://evil.example"}})",
       "unknown option \"base_url\""},
  };
  for (const Case& c : cases) {
    auto result = Parse(c.input);
    ASSERT_FALSE(result.ok()) << c.input;
    EXPECT_EQ(result.error().code(), ErrorCode::kInvalidArgument) << c.input;
    EXPECT_THAT(result.error().message(), HasSubstr(c.says)) << c.input;
  }
}

TEST(JobSpecTest, InputFilesAreDecodedAndEveryBadEntryIsNamed) {
  auto spec = Parse(R"({"task": "a", "files": [{"path": "d/in.csv", "content": "x,y\n"},)"
                    R"( {"path": "b.bin", "base64": "AAH/"}]})");
  ASSERT_TRUE(spec.ok()) << spec.error().message();
  ASSERT_EQ(spec->files.size(), 2U);
  EXPECT_EQ(spec->files[0].path, "d/in.csv");
  EXPECT_EQ(spec->files[0].content, "x,y\n");
  EXPECT_EQ(spec->files[1].content, std::string("\x00\x01\xff", 3));

  struct Case {
    const char* files;
    const char* says;
  };
  const Case cases[] = {
      {R"({})", "\"files\" must be an array"},
      {R"([1])", "files[0] must be an object"},
      {R"([{"path": ""  , "content": ""}])", "files[0].path is empty"},
      {R"([{"path": "a//b", "content": ""}])", "files[0].path \"a//b\" has an empty segment"},
      {R"([{"path": "a/", "content": ""}])", "has an empty segment"},
      {R"([{"path": "./a", "content": ""}])", "has a \".\" segment"},
      {R"([{"path": "a\u0000b", "content": ""}])", "contains a NUL byte"},
      {R"([{"path": "a", "content": ""}, {"path": "a/b", "content": ""}])",
       "files[1].path \"a/b\" is below \"a\", another file"},
      {R"([{"path": "a/b", "content": ""}, {"path": "a", "content": ""}])",
       "files[1].path \"a\" is a directory of \"a/b\""},
      {R"([{"path": "a", "content": "", "base64": ""}])", "not both or none"},
      {R"([{"path": "a", "text": ""}])", "files[0]: unknown field \"text\""},
      {R"([{"path": "a", "base64": "AAH"}])", "files[0].base64 must be standard base64"},
  };
  for (const Case& c : cases) {
    auto result = Parse(fmt::format(R"({{"task": "a", "files": {}}})", c.files));
    ASSERT_FALSE(result.ok()) << c.files;
    EXPECT_EQ(result.error().code(), ErrorCode::kInvalidArgument) << c.files;
    EXPECT_THAT(result.error().message(), HasSubstr(c.says)) << c.files;
  }
  // Together they fit in the job's disk limit.
  auto big = Parse(fmt::format(R"({{"task": "a", "options": {{"disk_limit": "1M"}},)"
                               R"( "files": [{{"path": "a", "content": "{}"}}]}})",
                               std::string((1 << 20) + 1, 'x')));
  ASSERT_FALSE(big.ok());
  EXPECT_THAT(big.error().message(), HasSubstr("more than the job's disk limit"));
}

// A limit a client sends is never "unlimited": 0 meant no limit inside the sandbox, and
// min(asked, ceiling) let it slip under every ceiling.
TEST(JobSpecTest, ZeroNegativeAndOverCeilingLimitsAreRefusedNamingTheRange) {
  JobBounds bounds;
  bounds.max_memory_bytes = 4ULL << 30;
  bounds.max_action_time = minutes(10);
  bounds.job_timeout = minutes(30);
  bounds.job_disk_bytes = 1ULL << 30;
  bounds.job_output_bytes = 16ULL << 20;
  struct Case {
    const char* options;
    const char* says;
  };
  const Case cases[] = {
      {R"({"memory": "0"})", "options.memory must be a size from 4M to 4G, not \"0\""},
      {R"({"memory": "5G"})", "from 4M to 4G"},
      {R"({"memory": "-1G"})", "options.memory"},
      {R"({"timeout": "0"})", "options.timeout must be a duration from 1s to 30m"},
      {R"({"timeout": "0s"})", "options.timeout"},
      {R"({"timeout": "2h"})", "options.timeout"},
      {R"({"action_timeout": "0s"})",
       "options.action_timeout must be a duration from 100ms to 10m"},
      {R"({"action_timeout": "11m"})", "options.action_timeout"},
      {R"({"disk_limit": "0"})", "options.disk_limit must be a size from 1M to 1G"},
      {R"({"disk_limit": "2G"})", "options.disk_limit"},
      {R"({"output_limit": "0"})", "options.output_limit"},
      {R"({"output_limit": "1G"})", "options.output_limit"},
  };
  for (const Case& c : cases) {
    auto result = Parse(fmt::format(R"({{"task": "t", "options": {}}})", c.options), bounds);
    ASSERT_FALSE(result.ok()) << c.options;
    EXPECT_EQ(result.error().code(), ErrorCode::kInvalidArgument) << c.options;
    EXPECT_THAT(result.error().message(), HasSubstr(c.says)) << c.options;
  }
}

TEST(JobSpecTest, TheHostsNetworkIsRefusedAtSubmissionUnlessTheServerAllowsIt) {
  auto refused = Parse(R"({"task": "t", "options": {"network": "host"}})");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), ErrorCode::kPermissionDenied);
  EXPECT_THAT(refused.error().message(), HasSubstr("--allow-network"));
}

TEST(JobSpecTest, StepsBeyondTheServersBoundAreRefused) {
  JobBounds bounds;
  bounds.max_steps = 2;
  auto result = Parse(R"({"steps": [{"shell": "a"}, {"shell": "b"}, {"shell": "c"}]})", bounds);
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(result.error().message(), HasSubstr("at most 2 steps"));
}

TEST(RunLimitsTest, SetRunLimitKeepsEveryValueWithinFloorAndCeiling) {
  sandbox::Limits ceiling;
  ceiling.wall_time = minutes(10);
  ceiling.cpu_time = minutes(10);
  ceiling.memory_bytes = 4ULL << 30;
  ceiling.output_bytes = 64ULL << 20;
  ceiling.disk_bytes = 4ULL << 30;
  sandbox::Limits limits;
  ASSERT_TRUE(SetRunLimit(limits, RunLimit::kMemory, "256M", ceiling, "limits.memory").ok());
  EXPECT_EQ(limits.memory_bytes, 256ULL << 20);
  ASSERT_TRUE(SetRunLimit(limits, RunLimit::kTimeout, "90s", ceiling, "limits.timeout").ok());
  EXPECT_EQ(limits.wall_time, seconds(90));
  for (RunLimit limit : {RunLimit::kTimeout, RunLimit::kCpuTime, RunLimit::kMemory,
                         RunLimit::kOutput, RunLimit::kDisk}) {
    for (const char* bad : {"0", "0s", "-5", "", "1e30", "nan", "99T", "100h"}) {
      sandbox::Limits before = limits;
      Status status =
          SetRunLimit(limits, limit, bad, ceiling, fmt::format("limits.{}", RunLimitName(limit)));
      ASSERT_FALSE(status.ok()) << RunLimitName(limit) << "=" << bad;
      EXPECT_THAT(status.error().message(),
                  HasSubstr(fmt::format("limits.{} must be", RunLimitName(limit))));
      EXPECT_EQ(limits.memory_bytes, before.memory_bytes);
      EXPECT_EQ(limits.wall_time, before.wall_time);
    }
  }
}

TEST(RunLimitsTest, OnlyAnOperatorsZeroCeilingLiftsTheTop) {
  sandbox::Limits no_ceiling;
  no_ceiling.wall_time = milliseconds(0);
  no_ceiling.memory_bytes = 0;
  sandbox::Limits limits;
  ASSERT_TRUE(SetRunLimit(limits, RunLimit::kMemory, "64G", no_ceiling, "--memory").ok());
  EXPECT_EQ(limits.memory_bytes, 64ULL << 30);
  ASSERT_TRUE(SetRunLimit(limits, RunLimit::kTimeout, "48h", no_ceiling, "--timeout").ok());
  // Still never zero.
  Status zero = SetRunLimit(limits, RunLimit::kMemory, "0", no_ceiling, "--memory");
  ASSERT_FALSE(zero.ok());
  EXPECT_THAT(zero.error().message(), HasSubstr("--memory must be a size of at least 4M"));
  EXPECT_EQ(ParseRunLimitName("output_limit"), RunLimit::kOutput);
  EXPECT_EQ(ParseRunLimitName("stack"), std::nullopt);
}

// `warden run` and a server's jobs take each action's limits from this one function: the same
// defaults, the same configuration keys, flags winning over them.
TEST(ActionLimitsTest, OneSetOfDefaultsWhichTheConfigurationAndFlagsChange) {
  auto empty = Config::Parse("", "test");
  ASSERT_TRUE(empty.ok());
  auto defaults = ActionLimits(*empty);
  ASSERT_TRUE(defaults.ok()) << defaults.error().message();
  EXPECT_EQ(defaults->wall_time, minutes(2));
  EXPECT_EQ(defaults->cpu_time, minutes(2));
  EXPECT_EQ(defaults->memory_bytes, 1ULL << 30);
  EXPECT_EQ(defaults->disk_bytes, 1ULL << 30);
  EXPECT_EQ(defaults->max_pids, 256U);
  // A server's jobs start from the same limits.
  auto config =
      Config::Parse("[agent]\naction_timeout = \"45s\"\n[sandbox]\nmemory = \"256M\"\n", "test");
  ASSERT_TRUE(config.ok()) << config.error().message();
  auto configured = ActionLimits(*config);
  ASSERT_TRUE(configured.ok()) << configured.error().message();
  EXPECT_EQ(configured->wall_time, seconds(45));
  EXPECT_EQ(configured->memory_bytes, 256ULL << 20);
  auto flagged = ActionLimits(*config, "10s", "64M");
  ASSERT_TRUE(flagged.ok());
  EXPECT_EQ(flagged->wall_time, seconds(10));
  EXPECT_EQ(flagged->memory_bytes, 64ULL << 20);
  auto zero = Config::Parse("[agent]\naction_timeout = \"0s\"\n", "test");
  ASSERT_TRUE(zero.ok());
  auto refused = ActionLimits(*zero);
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.error().message(), HasSubstr("agent.action_timeout"));
}

}  // namespace
}  // namespace warden::jobs
