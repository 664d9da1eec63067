#include "cli/egress_flags.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "jobs/egress_bound.h"

namespace warden::cli {

void AddEgressFlags(CLI::App& app, EgressFlags& flags) {
  // One value per occurrence: `--allow-domain a.org prog` must not swallow the program's name.
  app.add_option("--allow-domain", flags.allow,
                 "Give the run the network of these hosts only, through Warden's proxy "
                 "(pypi.org, *.github.com, host:port; repeatable)")
      ->type_name("HOST")
      ->allow_extra_args(false);
  app.add_option("--deny-domain", flags.deny,
                 "Never these hosts, even when allowed (repeatable; deny wins)")
      ->type_name("HOST")
      ->allow_extra_args(false);
  app.add_option("--allow-preset", flags.presets,
                 "Allow a named list of hosts: python-packages, npm, github, or one of "
                 "[[network.presets]] in the configuration (repeatable)")
      ->type_name("NAME")
      ->allow_extra_args(false);
}

Status ApplyEgressFlags(const EgressFlags& flags, const Config& config, const std::string& network,
                        sandbox::NetworkMode* mode, sandbox::EgressPolicy* policy) {
  if (flags.allow.empty() && flags.presets.empty()) {
    if (!flags.deny.empty()) {
      return Error(
          ErrorCode::kInvalidArgument,
          "--deny-domain narrows an allow-list: give --allow-domain or --allow-preset too");
    }
    return OkStatus();
  }
  if (network != "none") {
    return Error(ErrorCode::kInvalidArgument,
                 fmt::format("--allow-domain and --network {} contradict each other: an "
                             "allow-list replaces the host's network; drop --network",
                             network));
  }
  ASSIGN_OR_RETURN(jobs::EgressBound bound, jobs::EgressBoundFromConfig(config));
  // The person at the terminal is the operator: the bound's allow-list does not apply.
  ASSIGN_OR_RETURN(*policy, jobs::MakeEgressPolicy(flags.allow, flags.deny, flags.presets, bound,
                                                   /*enforce=*/false, "--allow-domain"));
  *mode = sandbox::NetworkMode::kProxy;
  return OkStatus();
}

}  // namespace warden::cli
