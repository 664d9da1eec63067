// Row group 1b of the spawn benchmark: the path that agent actions and job steps take, a run
// over a host workspace. `warden exec --workspace DIR` against bwrap given the same directory
// with --bind, runs interleaved (one of each in turn) so that a change of load hits all alike.
#pragma once

#include <vector>

#include "exec_bench.h"
#include "report.h"

namespace warden::bench {

// Makes a small project tree (directories and files, owned by the sandbox's uid 1000 when run as
// root), times every workload with every runner over it, prints rows, ratios and what each row
// mounts, and removes the tree. Appends the targets it judges.
void RunWorkspaceComparison(const CliOptions& options, std::vector<TargetCheck>* targets);

}  // namespace warden::bench
