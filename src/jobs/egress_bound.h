// What network a server's jobs may ask for: the operator's bound ([network] in the
// configuration), the named presets, and a job's "network": {"allow": [...], ...} resolved
// within them into the policy of its runs' egress proxy (sandbox/egress_policy.h).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "base/config.h"
#include "base/json.h"
#include "base/result.h"
#include "sandbox/egress_policy.h"

namespace warden::jobs {

struct EgressBound {
  // The hosts a job may ask for; a job's allow rule must be covered by one. Empty: jobs may not
  // ask for any network through the proxy.
  std::vector<sandbox::EgressRule> allow;
  // Added to the deny rules of every run.
  std::vector<sandbox::EgressRule> deny;
  // Private ranges every run may reach (an internal package mirror).
  std::vector<sandbox::AddressRange> allow_private;
  // Named lists of allow rules: the built-in python-packages, npm and github, and the
  // operator's [[network.presets]] (which replace a built-in of the same name).
  std::map<std::string, std::vector<std::string>> presets;
};

// The built-in presets alone, with no bound (allow empty).
EgressBound DefaultEgressBound();

// Reads network.allow, network.deny, network.allow_private and [[network.presets]].
// kInvalidArgument naming the file, the key and the bad rule.
Result<EgressBound> EgressBoundFromConfig(const Config& config);

// The policy of allow rules, deny rules and preset names, with the bound's deny rules and private
// ranges added. With `enforce` (a server's job), each allow rule must be covered by the bound:
// kInvalidArgument names the first that is not. `where` prefixes messages ("options.network").
Result<sandbox::EgressPolicy> MakeEgressPolicy(const std::vector<std::string>& allow,
                                               const std::vector<std::string>& deny,
                                               const std::vector<std::string>& presets,
                                               const EgressBound& bound, bool enforce,
                                               std::string_view where);

// A job's "network" object: {"allow": [...], "deny": [...], "presets": [...]}, each a list of
// strings; allow (or presets) must not be empty.
Result<sandbox::EgressPolicy> ParseJobEgress(const json::object& network, const EgressBound& bound);

// The data of a job's "network_denied" event: time (RFC 3339, UTC), host, port, reason (the
// metric's label), rule, message (what the program was told).
json::object EgressDenialJson(const sandbox::EgressDenialEvent& event);

}  // namespace warden::jobs
