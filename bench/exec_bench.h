// Row group 1 of the spawn benchmark: `warden exec` against bwrap and a bare posix_spawn of the
// same command, one new process per run, as a user at a shell would start them.
#pragma once

#include <string>
#include <vector>

#include "report.h"

namespace warden::bench {

struct CliOptions {
  std::string warden;  // path of the warden binary
  std::string bwrap;   // path of bwrap; "" skips the bwrap rows
  int runs_true = 300;
  int runs_python = 100;
  int clients = 2;
};

// Checks that bwrap and `warden exec` really create their namespaces, then times every workload
// with every runner, printing rows and ratios as they come. Appends the targets it judges.
void RunCliComparison(const CliOptions& options, std::vector<TargetCheck>* targets);

}  // namespace warden::bench
