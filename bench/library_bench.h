// Row group 2 of the spawn benchmark: Supervisor::Run() of /bin/true inside this process, with
// full isolation and cgroups, the way `warden serve` and the job workers start sandboxes: once
// building every sandbox from scratch, once with a pool of sandboxes built ahead of time.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"
#include "report.h"
#include "sandbox/sandbox.h"

namespace warden::bench {

struct LibraryOptions {
  int runs = 300;          // sequential runs, and runs per client
  int clients = 2;         // threads calling Run() at once for spawns/s
  int warm_sandboxes = 4;  // SupervisorOptions::warm_sandboxes of the second row; 0 skips it
};

// "" when `result` is a run that ended with `expected` (and, for kExited, exit code 0); else a
// sentence on what happened instead, with the setup step and errno of a setup error.
std::string DescribeRunFailure(const Result<sandbox::RunResult>& result, sandbox::Outcome expected);

// Times both rows, prints them and appends the targets it judges.
void RunLibraryLatency(const LibraryOptions& options, std::vector<TargetCheck>* targets);

}  // namespace warden::bench
