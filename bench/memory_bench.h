// Row group 3 of the spawn benchmark: what each live sandbox costs the supervisor in memory. N
// sandboxes run at once; the cost is the growth of this process's PSS plus the PSS of Warden's
// helper processes (every process below this one except the sandboxed programs themselves).
#pragma once

#include <vector>

#include "report.h"

namespace warden::bench {

// Starts `live` sandboxes running `sh -c 'echo up; exec sleep 300'` through a supervisor with the
// default options, waits until every one is up, measures, cancels them all and checks that they
// ended and left no process behind. Prints the rows and appends the target it judges.
void MeasureLiveMemory(int live, std::vector<TargetCheck>* targets);

}  // namespace warden::bench
