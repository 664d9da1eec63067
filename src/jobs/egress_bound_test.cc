// A job's network allow-list: checked at submission against the operator's [network] bound.
#include "jobs/egress_bound.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "jobs/job_spec.h"

namespace warden::jobs {
namespace {

using ::testing::HasSubstr;

JobBounds BoundsFrom(std::string_view toml) {
  auto config = Config::Parse(toml, "config.toml");
  EXPECT_TRUE(config.ok()) << config.error().ToString();
  auto egress = EgressBoundFromConfig(*config);
  EXPECT_TRUE(egress.ok()) << egress.error().ToString();
  JobBounds bounds;
  bounds.egress = *egress;
  return bounds;
}

Result<JobSpec> Parse(std::string_view text, const JobBounds& bounds) {
  return ParseJobSpec(json::parse(text).as_object(), bounds);
}

constexpr std::string_view kOperator = R"(
[network]
allow = ["*.github.com", "pypi.org:443", "files.pythonhosted.org:443"]
deny = ["gist.github.com"]
allow_private = ["10.20.0.0/16"]
[[network.presets]]
name = "mirror"
allow = ["pypi.org:443"]
)";

TEST(EgressBoundTest, AJobWithinTheOperatorsBoundRunsBehindTheProxyWithTheOperatorsDenyRules) {
  auto spec = Parse(R"({"task": "t", "options": {"network": {"allow": ["api.github.com"],)"
                    R"( "presets": ["mirror"], "deny": ["x.github.com"]}}})",
                    BoundsFrom(kOperator));
  ASSERT_TRUE(spec.ok()) << spec.error().ToString();
  EXPECT_EQ(spec->network, sandbox::NetworkMode::kProxy);
  ASSERT_EQ(spec->egress.allow.size(), 2U);
  EXPECT_TRUE(sandbox::CheckEgressHost(spec->egress, "api.github.com", 443).allowed);
  EXPECT_TRUE(sandbox::CheckEgressHost(spec->egress, "pypi.org", 443).allowed);
  EXPECT_FALSE(sandbox::CheckEgressHost(spec->egress, "pypi.org", 80).allowed);
  ASSERT_EQ(spec->egress.deny.size(), 2U);
  EXPECT_EQ(spec->egress.deny[1].text, "gist.github.com");
  ASSERT_EQ(spec->egress.allow_private.size(), 1U);
}

TEST(EgressBoundTest, AJobAskingBeyondTheBoundIsRefusedNamingTheRule) {
  JobBounds bounds = BoundsFrom(kOperator);
  auto wider = Parse(R"({"task": "t", "options": {"network": {"allow": ["*.com"]}}})", bounds);
  ASSERT_FALSE(wider.ok());
  EXPECT_EQ(wider.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_THAT(wider.error().message(), HasSubstr("\"*.com\" is beyond what this server"));
  EXPECT_THAT(wider.error().message(), HasSubstr("network.allow"));
  auto port = Parse(R"({"task": "t", "options": {"network": {"allow": ["pypi.org"]}}})", bounds);
  ASSERT_FALSE(port.ok());
  EXPECT_THAT(port.error().message(), HasSubstr("\"pypi.org\""));
  // Without a [network] section, no host at all.
  auto none = Parse(R"({"task": "t", "options": {"network": {"presets": ["github"]}}})", {});
  ASSERT_FALSE(none.ok());
  EXPECT_THAT(none.error().message(), HasSubstr("\"github.com:443\" is beyond"));
}

TEST(EgressBoundTest, MalformedNetworkOptionsAreRefusedSayingWhatIsExpected) {
  JobBounds bounds = BoundsFrom(kOperator);
  for (auto [input, expected] : std::vector<std::pair<std::string_view, std::string_view>>{
           {R"({"allow": "pypi.org"})", "must be a list of strings"},
           {R"({"allow": ["py pi.org"]})", "network rule \"py pi.org\""},
           {R"({"allow": []})", "name the hosts to allow"},
           {R"({"presets": ["nope"]})", "no preset \"nope\" (known: github, mirror, npm"},
           {R"({"allowed": ["pypi.org"]})", "unknown field \"allowed\""}}) {
    auto spec =
        Parse(fmt::format(R"({{"task": "t", "options": {{"network": {}}}}})", input), bounds);
    ASSERT_FALSE(spec.ok()) << input;
    EXPECT_THAT(spec.error().message(), HasSubstr(expected)) << input;
  }
}

TEST(EgressBoundTest, ABadOperatorRuleNamesTheFileAndKey) {
  auto config = Config::Parse("[network]\nallow_private = [\"10.0.0.0/99\"]\n", "config.toml");
  ASSERT_TRUE(config.ok());
  auto bound = EgressBoundFromConfig(*config);
  ASSERT_FALSE(bound.ok());
  EXPECT_THAT(bound.error().message(), HasSubstr("config.toml: network.allow_private"));
}

TEST(EgressBoundTest, ADenialEventCarriesTimeHostPortReasonRuleAndMessage) {
  sandbox::EgressDenialEvent event;
  event.time = std::chrono::system_clock::time_point(std::chrono::milliseconds(1'700'000'000'123));
  event.host = "example.org";
  event.port = 443;
  event.denial = sandbox::EgressDenial::kDenyRule;
  event.rule = "*.org";
  event.message = "blocked by the job's network policy: host matches the deny rule";
  json::object data = EgressDenialJson(event);
  EXPECT_EQ(json::serialize(data),
            R"({"time":"2023-11-14T22:13:20.123Z","host":"example.org","port":443,)"
            R"("reason":"deny_rule","rule":"*.org","message":"blocked by the job's network )"
            R"(policy: host matches the deny rule"})");
}

}  // namespace
}  // namespace warden::jobs
