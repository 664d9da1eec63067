// The allow-list flags of `warden exec` and `warden run` (--allow-domain, --deny-domain,
// --allow-preset): a run whose only network is Warden's egress proxy.
#pragma once

#include <string>
#include <vector>

#include "base/config.h"
#include "base/result.h"
#include "sandbox/sandbox.h"

namespace CLI {  // NOLINT(readability-identifier-naming): CLI11's own namespace
class App;
}  // namespace CLI

namespace warden::cli {

struct EgressFlags {
  std::vector<std::string> allow;
  std::vector<std::string> deny;
  std::vector<std::string> presets;
};

void AddEgressFlags(CLI::App& app, EgressFlags& flags);

// With any allow flag, sets `spec` to NetworkMode::kProxy with their policy (plus the
// configuration's network.deny, network.allow_private and presets). `network` is --network's
// value: only "none" goes with an allow-list.
Status ApplyEgressFlags(const EgressFlags& flags, const Config& config, const std::string& network,
                        sandbox::NetworkMode* mode, sandbox::EgressPolicy* policy);

}  // namespace warden::cli
