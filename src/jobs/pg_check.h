// `warden doctor --store URL`: what an operator needs to know about a PostgreSQL job store before
// pointing nodes at it. Read-only: it changes nothing in the database.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "sandbox/host_probe.h"

namespace warden::jobs {

// One line each: "job store" (reachable, and the server's version), "store schema" (migrations
// applied, of how many this Warden knows), "store transactions" (any open longer than
// `long_transaction`: they hold back vacuum and can block migrations). A failed connection is one
// kFail line, and the rest are left out.
std::vector<sandbox::HostCheck> CheckPgStore(
    const std::string& url, std::chrono::seconds long_transaction = std::chrono::minutes(5));

}  // namespace warden::jobs
