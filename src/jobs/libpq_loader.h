// libpq, loaded on first use: Warden defines the libpq functions it calls (libpq_loader.cc) and
// each loads libpq.so.5 with dlopen the first time, so that a start of `warden` that needs no
// PostgreSQL job store (`warden exec`, a SQLite server) maps none of libpq's libraries.
#pragma once

#include "base/result.h"

namespace warden::jobs::pg {

// Loads libpq.so.5 once; later calls return the first call's answer. kUnavailable, naming the
// package to install, when it cannot be loaded.
Status LoadLibpq();

}  // namespace warden::jobs::pg
