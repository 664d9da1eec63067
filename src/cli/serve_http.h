// The HTTP side of `warden serve`: the flags for connections, /v1/exec slots and TLS, checked
// and turned into the options of the HTTP server and of the exec API.
#pragma once

#include <cstddef>
#include <string>

#include "api/exec_api.h"
#include "api/http.h"
#include "base/result.h"

namespace CLI {  // NOLINT(readability-identifier-naming): CLI11's
class App;
}

namespace warden::cli {

struct ServeHttpFlags {
  size_t max_connections = 0;  // 0: half of RLIMIT_NOFILE
  size_t io_threads = 0;       // 0: one per core
  std::string idle_timeout = "60s";
  size_t exec_slots = 0;          // 0: twice the cores, at least 4
  size_t exec_slots_per_key = 0;  // 0: half of exec_slots, at least 1
  std::string tls_cert;
  std::string tls_key;
  std::string tls_client_ca;
};

void AddServeHttpFlags(CLI::App& app, ServeHttpFlags& flags);

// Makes freed big buffers (request and response bodies, exec output) go back to the kernel.
// glibc's default raises its mmap threshold to the largest block freed so far, after which blocks
// that size come from per-thread arenas whose free tops it keeps up to twice that size: a burst
// of 16 MB answers on four threads kept about 130 MB resident for good. A fixed threshold keeps
// big blocks in mmap, returned at free(). Process-wide: call once, before threads start.
void LimitHeapRetention();

// Sets what the flags decide in `server` and `exec`. kInvalidArgument naming the flag and what it
// accepts.
Status ApplyServeHttpFlags(const ServeHttpFlags& flags, api::ServerOptions& server,
                           api::ExecApiOptions& exec);

}  // namespace warden::cli
