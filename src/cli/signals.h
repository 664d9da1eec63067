// Ctrl-C, SIGTERM and SIGHUP cancel the current work (which kills its sandbox) instead of killing
// warden and leaving the sandbox behind.
#pragma once

#include "sandbox/sandbox.h"

namespace warden::cli {

// From now on, those signals cancel `cancel`. Pass nullptr before `cancel` goes away: a late
// signal then only records itself.
void CancelOnSignals(sandbox::CancelToken* cancel);

// The last of those signals received, or 0.
int CaughtSignal();

}  // namespace warden::cli
