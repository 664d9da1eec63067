#include "sandbox/egress_policy.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace warden::sandbox {
namespace {

EgressRule Rule(std::string_view text) {
  auto rule = ParseEgressRule(text);
  EXPECT_TRUE(rule.ok()) << rule.error().ToString();
  return rule.ok() ? *rule : EgressRule{};
}

EgressPolicy Policy(std::vector<std::string_view> allow, std::vector<std::string_view> deny = {}) {
  EgressPolicy policy;
  for (std::string_view text : allow) {
    policy.allow.push_back(Rule(text));
  }
  for (std::string_view text : deny) {
    policy.deny.push_back(Rule(text));
  }
  return policy;
}

std::optional<std::string_view> ClassOf(std::string_view literal) {
  auto address = ParseAddressLiteral(literal);
  EXPECT_TRUE(address.has_value()) << literal;
  return address ? ForbiddenAddressClass(*address) : std::nullopt;
}

TEST(EgressPolicyTest, AWildcardMatchesNamesUnderTheDomainButNotTheDomainItself) {
  EgressRule rule = Rule("*.GitHub.com.");
  EXPECT_TRUE(rule.Matches("api.github.com", 443));
  EXPECT_TRUE(rule.Matches("a.b.github.com", 80));
  EXPECT_FALSE(rule.Matches("github.com", 443));
  EXPECT_FALSE(rule.Matches("evilgithub.com", 443));
  EXPECT_FALSE(rule.Matches("github.com.evil.org", 443));
}

TEST(EgressPolicyTest, ARuleWithAPortMatchesOnlyThatPort) {
  EgressRule rule = Rule("pypi.org:443");
  EXPECT_EQ(rule.port, 443);
  EXPECT_TRUE(rule.Matches("pypi.org", 443));
  EXPECT_FALSE(rule.Matches("pypi.org", 80));
  EXPECT_TRUE(Rule("pypi.org").Matches("pypi.org", 8080));
}

TEST(EgressPolicyTest, MalformedRulesAreRefusedWithTheRuleNamed) {
  for (std::string_view bad : {"", "a..b", "*", "py*pi.org", "pypi.org:0", "pypi.org:99999",
                               "pypi.org:http", "exa mple.com", "[::1", "*.*.com"}) {
    if (bad == "*") {
      continue;  // every host: valid (an operator's bound)
    }
    auto rule = ParseEgressRule(bad);
    ASSERT_FALSE(rule.ok()) << bad;
    EXPECT_NE(rule.error().message().find(fmt::format("\"{}\"", bad)), std::string::npos)
        << rule.error().message();
  }
  EXPECT_TRUE(ParseEgressRule("*").ok());
  EXPECT_TRUE(ParseEgressRule("[fd00::1]:443").ok());
  EXPECT_TRUE(ParseEgressRule("203.0.113.7").ok());
}

TEST(EgressPolicyTest, DenyRulesWinOverAllowRules) {
  EgressPolicy policy = Policy({"*.example.com"}, {"secret.example.com"});
  EXPECT_TRUE(CheckEgressHost(policy, "www.example.com", 443).allowed);
  EgressVerdict denied = CheckEgressHost(policy, "SECRET.example.com", 443);
  EXPECT_FALSE(denied.allowed);
  EXPECT_EQ(denied.denial, EgressDenial::kDenyRule);
  EXPECT_EQ(denied.rule, "secret.example.com");
  EgressVerdict unlisted = CheckEgressHost(policy, "example.org", 443);
  EXPECT_FALSE(unlisted.allowed);
  EXPECT_EQ(unlisted.denial, EgressDenial::kNotAllowed);
}

TEST(EgressPolicyTest, AnIpLiteralIsAllowedOnlyWhenListedAsOne) {
  EgressPolicy policy = Policy({"*.example.com", "203.0.113.7"});
  EXPECT_FALSE(CheckEgressHost(policy, "198.51.100.1", 443).allowed);
  EXPECT_TRUE(CheckEgressHost(policy, "203.0.113.7", 443).allowed);
}

TEST(EgressPolicyTest, LoopbackPrivateLinkLocalMetadataAndUnspecifiedAddressesAreForbidden) {
  EXPECT_EQ(ClassOf("127.0.0.1"), "loopback");
  EXPECT_EQ(ClassOf("::1"), "loopback");
  EXPECT_EQ(ClassOf("10.1.2.3"), "private");
  EXPECT_EQ(ClassOf("172.20.0.1"), "private");
  EXPECT_EQ(ClassOf("192.168.1.1"), "private");
  EXPECT_EQ(ClassOf("fd12:3456::1"), "private");
  EXPECT_EQ(ClassOf("100.64.0.1"), "carrier-grade NAT");
  EXPECT_EQ(ClassOf("169.254.1.1"), "link-local");
  EXPECT_EQ(ClassOf("fe80::1"), "link-local");
  EXPECT_EQ(ClassOf("169.254.169.254"), "metadata");
  EXPECT_EQ(ClassOf("fd00:ec2::254"), "metadata");
  EXPECT_EQ(ClassOf("0.0.0.0"), "unspecified");
  EXPECT_EQ(ClassOf("::"), "unspecified");
  EXPECT_EQ(ClassOf("224.0.0.1"), "multicast");
  // IPv4 hidden in IPv6 is judged as IPv4.
  EXPECT_EQ(ClassOf("::ffff:127.0.0.1"), "loopback");
  EXPECT_EQ(ClassOf("::ffff:169.254.169.254"), "metadata");
  EXPECT_EQ(ClassOf("64:ff9b::10.0.0.1"), "private");
  EXPECT_EQ(ClassOf("2002:a00:1::"), "private");
  // Public addresses pass.
  EXPECT_EQ(ClassOf("8.8.8.8"), std::nullopt);
  EXPECT_EQ(ClassOf("172.32.0.1"), std::nullopt);
  EXPECT_EQ(ClassOf("2001:4860:4860::8888"), std::nullopt);
}

TEST(EgressPolicyTest, AnOperatorRangeOpensPrivateAddressesButNeverTheMetadataOnes) {
  EgressPolicy policy;
  auto range = ParseAddressRange("10.200.0.0/24");
  ASSERT_TRUE(range.ok()) << range.error().ToString();
  auto inside = *ParseAddressLiteral("10.200.0.9");
  auto outside = *ParseAddressLiteral("10.201.0.9");
  EXPECT_EQ(CheckEgressAddress(policy, inside), "private");
  policy.allow_private.push_back(*range);
  EXPECT_EQ(CheckEgressAddress(policy, inside), std::nullopt);
  EXPECT_EQ(CheckEgressAddress(policy, outside), "private");
  policy.allow_private.push_back(*ParseAddressRange("169.254.0.0/16"));
  EXPECT_EQ(CheckEgressAddress(policy, *ParseAddressLiteral("169.254.169.254")), "metadata");
  EXPECT_FALSE(ParseAddressRange("10.0.0.0/33").ok());
  EXPECT_FALSE(ParseAddressRange("example.com/8").ok());
}

TEST(EgressPolicyTest, ARuleIsCoveredOnlyByABoundThatMatchesEverythingItMatches) {
  EXPECT_TRUE(Rule("api.github.com").CoveredBy(Rule("*.github.com")));
  EXPECT_TRUE(Rule("*.api.github.com").CoveredBy(Rule("*.github.com")));
  EXPECT_TRUE(Rule("*.github.com").CoveredBy(Rule("*.github.com")));
  EXPECT_TRUE(Rule("anything.org:443").CoveredBy(Rule("*")));
  EXPECT_FALSE(Rule("github.com").CoveredBy(Rule("*.github.com")));
  EXPECT_FALSE(Rule("*.com").CoveredBy(Rule("*.github.com")));
  EXPECT_FALSE(Rule("pypi.org").CoveredBy(Rule("pypi.org:443")));
  EXPECT_TRUE(Rule("pypi.org:443").CoveredBy(Rule("pypi.org")));
}

TEST(EgressPolicyTest, ARuleWithMethodsMatchesOnlyThoseAndATunnelOnlyWithConnect) {
  EgressRule rule = Rule("get,HEAD mirror.test:80");
  EXPECT_EQ(rule.methods, (std::vector<std::string>{"GET", "HEAD"}));
  EXPECT_EQ(rule.host, "mirror.test");
  EXPECT_TRUE(rule.Matches("mirror.test", 80, "GET"));
  EXPECT_FALSE(rule.Matches("mirror.test", 80, "POST"));
  EXPECT_FALSE(rule.Matches("mirror.test", 80, "CONNECT"));  // methods in TLS cannot be seen
  EXPECT_TRUE(Rule("mirror.test").Matches("mirror.test", 443, "CONNECT"));

  EgressPolicy policy = Policy({"GET mirror.test", "*.other.test"}, {"POST *"});
  EXPECT_TRUE(CheckEgressHost(policy, "mirror.test", 80, "GET").allowed);
  EgressVerdict post = CheckEgressHost(policy, "mirror.test", 80, "PUT");
  EXPECT_FALSE(post.allowed);
  EXPECT_EQ(post.denial, EgressDenial::kMethodNotAllowed);
  EXPECT_EQ(post.rule, "GET mirror.test");
  // A deny rule with a method denies that method only.
  EXPECT_EQ(CheckEgressHost(policy, "a.other.test", 80, "POST").denial, EgressDenial::kDenyRule);
  EXPECT_TRUE(CheckEgressHost(policy, "a.other.test", 80, "GET").allowed);
  EXPECT_EQ(CheckEgressHost(policy, "elsewhere.test", 80, "GET").denial, EgressDenial::kNotAllowed);

  auto bad = ParseEgressRule("FETCH mirror.test");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("\"FETCH\" is not an HTTP method"), std::string::npos);
  // A bound with methods covers only rules with fewer.
  EXPECT_TRUE(Rule("GET mirror.test").CoveredBy(Rule("GET,HEAD mirror.test")));
  EXPECT_FALSE(Rule("mirror.test").CoveredBy(Rule("GET mirror.test")));
  EXPECT_FALSE(Rule("POST mirror.test").CoveredBy(Rule("GET mirror.test")));
  EXPECT_TRUE(Rule("POST mirror.test").CoveredBy(Rule("mirror.test")));
}

}  // namespace
}  // namespace warden::sandbox
