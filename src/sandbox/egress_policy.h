// The egress policy of a run with NetworkMode::kProxy: which hosts (and ports) its proxy may
// connect to, and which addresses it never connects to, whatever a name resolves to.
//
//   ASSIGN_OR_RETURN(EgressRule rule, ParseEgressRule("*.github.com:443"));
//   EgressPolicy policy;
//   policy.allow.push_back(rule);
//   EgressVerdict v = CheckEgressHost(policy, "api.github.com", 443);  // v.allowed
#pragma once

#include <sys/socket.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace warden::sandbox {

// One rule: a host name ("pypi.org"), every name under a domain ("*.github.com", which does not
// match github.com itself), every host ("*"), or an IP literal ("203.0.113.7"); optionally a port
// (":443"; none: every port); optionally first the methods it is for ("GET,HEAD mirror.test:80";
// none: every method). Names are compared without case and without a trailing dot. Methods are
// seen in plain HTTP only: inside a TLS tunnel they are encrypted, so a rule with methods lets a
// tunnel through only when it lists CONNECT.
struct EgressRule {
  std::string host;                  // lower case; "*.suffix" for a wildcard, "*" for every host
  uint16_t port = 0;                 // 0: every port
  std::vector<std::string> methods;  // upper case; empty: every method, CONNECT included
  std::string text;                  // as written, for messages

  // `method`: the request's ("CONNECT" for a tunnel); "" matches the host and port only.
  bool Matches(std::string_view host_name, uint16_t port_number,
               std::string_view method = "") const;
  bool AllowsMethod(std::string_view method) const;
  // True when every host, port and method this rule matches is also matched by `bound`.
  bool CoveredBy(const EgressRule& bound) const;
};

// kInvalidArgument naming the rule and what a rule may look like.
Result<EgressRule> ParseEgressRule(std::string_view text);
Result<std::vector<EgressRule>> ParseEgressRules(const std::vector<std::string>& texts);

// An address range written "10.200.0.0/24" or "fd12::/64".
struct AddressRange {
  int family = AF_INET;  // AF_INET or AF_INET6
  std::array<uint8_t, 16> bytes{};
  int prefix_bits = 0;
  std::string text;
};

Result<AddressRange> ParseAddressRange(std::string_view text);

// A resolved address the proxy may connect to: family, the 4 or 16 bytes, the port.
struct EgressAddress {
  int family = AF_INET;
  std::array<uint8_t, 16> bytes{};
  uint16_t port = 0;

  std::string ToString() const;  // "10.0.0.1" or "fd00::1", without the port
};

// Reads an IPv4 or IPv6 literal ("1.2.3.4", "::1", "[::1]"); nullopt for a name.
std::optional<EgressAddress> ParseAddressLiteral(std::string_view host);

// Why an address is never connected to ("loopback", "private", "link-local", "metadata",
// "carrier-grade NAT", "unspecified", "multicast", "reserved"), or nullopt for a public address.
// IPv4 addresses inside IPv6 (::ffff:a.b.c.d, 64:ff9b::a.b.c.d) are judged as IPv4.
std::optional<std::string_view> ForbiddenAddressClass(const EgressAddress& address);

struct EgressPolicy {
  std::vector<EgressRule> allow;  // a host must match one of these...
  std::vector<EgressRule> deny;   // ...and none of these (deny rules win)
  // Ranges the operator lets runs reach although they are private or loopback (an internal
  // package mirror; tests). The metadata addresses and unspecified addresses stay refused.
  std::vector<AddressRange> allow_private;

  bool empty() const { return allow.empty(); }
};

enum class EgressDenial {
  kNotAllowed,        // the host matches no allow rule
  kDenyRule,          // the host matches a deny rule
  kForbiddenAddress,  // the host is, or resolves only to, a forbidden address
  kHostMismatch,      // a plain HTTP request's Host differs from its URL's host
  kSniMismatch,       // a TLS ClientHello names another host than the CONNECT target
  kBadRequest,        // not an HTTP proxy request the proxy understands
  kMethodNotAllowed,  // the host is allowed, but not for the request's method
};

// "not_allowed", "deny_rule"...: the label of metrics and events.
std::string_view EgressDenialName(EgressDenial denial);

struct EgressVerdict {
  bool allowed = false;
  EgressDenial denial = EgressDenial::kNotAllowed;
  std::string rule;  // the deny rule that matched, or "" (for kNotAllowed: "allow-list")
};

// One refused connection, as the run's owner (a job's events, a person at a terminal) sees it.
struct EgressDenialEvent {
  std::chrono::system_clock::time_point time;
  std::string host;
  uint16_t port = 0;
  EgressDenial denial = EgressDenial::kNotAllowed;
  std::string rule;     // the rule that decided, or "allow-list"
  std::string reason;   // "host not on the allow-list"
  std::string message;  // "blocked by the job's network policy: <reason>; ask for ..."
};

// Called on one of the proxy's threads, possibly on several at once.
using EgressDenialCallback = std::function<void(const EgressDenialEvent&)>;

// Checks a host name (or IP literal), port and method ("CONNECT" for a tunnel; "": any) against
// the rules; addresses are checked apart, once the name is resolved (CheckEgressAddress).
EgressVerdict CheckEgressHost(const EgressPolicy& policy, std::string_view host, uint16_t port,
                              std::string_view method = "");
// nullopt when the proxy may connect to `address`; else why not (ForbiddenAddressClass).
std::optional<std::string_view> CheckEgressAddress(const EgressPolicy& policy,
                                                   const EgressAddress& address);

// The host part as rules compare it: lower case, no trailing dot, no IPv6 brackets.
std::string NormalizeHost(std::string_view host);

}  // namespace warden::sandbox
