#include "cli/serve_http.h"

#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "base/units.h"

namespace warden::cli {

void AddServeHttpFlags(CLI::App& app, ServeHttpFlags& flags) {
  app.add_option("--max-connections", flags.max_connections,
                 "Connections served at once; one more gets 503 (default: half of the open-files "
                 "limit)")
      ->check(CLI::Range(size_t{1}, size_t{1} << 20));
  app.add_option("--io-threads", flags.io_threads,
                 "Threads that read and write HTTP and answer what cannot block (a job's state, "
                 "health, docs) themselves (default: one per core)")
      ->check(CLI::Range(size_t{1}, size_t{256}));
  app.add_option("--idle-timeout", flags.idle_timeout,
                 "Close a connection whose next request (or TLS handshake) has not arrived in full "
                 "after this long")
      ->capture_default_str();
  app.add_option("--exec-slots", flags.exec_slots,
                 "/v1/exec runs at once; more get 429 (default: twice the cores, at least 4)")
      ->check(CLI::Range(size_t{1}, size_t{4096}));
  app.add_option("--exec-slots-per-key", flags.exec_slots_per_key,
                 "/v1/exec runs at once for one API key (default: half of --exec-slots)")
      ->check(CLI::Range(size_t{1}, size_t{4096}));
  app.add_option("--tls-cert", flags.tls_cert,
                 "Serve HTTPS with this PEM certificate (chain); needs --tls-key");
  app.add_option("--tls-key", flags.tls_key, "The PEM private key of --tls-cert");
  app.add_option("--tls-client-ca", flags.tls_client_ca,
                 "Require client certificates signed by a CA of this PEM file (needs --tls-cert)");
}

void LimitHeapRetention() {
  ::mallopt(M_MMAP_THRESHOLD, 1 << 20);  // NOLINT(concurrency-mt-unsafe): at start, one thread
}

Status ApplyServeHttpFlags(const ServeHttpFlags& flags, api::ServerOptions& server,
                           api::ExecApiOptions& exec) {
  server.max_connections = flags.max_connections;
  auto idle = ParseDuration(flags.idle_timeout);
  if (!idle.ok() || *idle < std::chrono::seconds(1) || *idle > std::chrono::hours(1)) {
    return Error(ErrorCode::kInvalidArgument,
                 fmt::format("--idle-timeout {}: expected a duration from 1s to 1h, such as 30s",
                             flags.idle_timeout));
  }
  server.idle_timeout = std::chrono::duration_cast<std::chrono::seconds>(*idle);

  size_t cores = std::max<size_t>(1, std::thread::hardware_concurrency());
  server.io_threads = flags.io_threads > 0 ? flags.io_threads : cores;
  exec.slots = flags.exec_slots > 0 ? flags.exec_slots : std::max<size_t>(4, 2 * cores);
  exec.slots_per_key =
      flags.exec_slots_per_key > 0 ? flags.exec_slots_per_key : std::max<size_t>(1, exec.slots / 2);
  if (exec.slots_per_key > exec.slots) {
    return Error(ErrorCode::kInvalidArgument,
                 fmt::format("--exec-slots-per-key {} is more than the server's {} exec slots: "
                             "give at most {}, or raise --exec-slots",
                             exec.slots_per_key, exec.slots, exec.slots));
  }

  if (flags.tls_cert.empty() != flags.tls_key.empty()) {
    return Error(ErrorCode::kInvalidArgument,
                 "--tls-cert and --tls-key go together: give the certificate and its private key");
  }
  if (!flags.tls_client_ca.empty() && flags.tls_cert.empty()) {
    return Error(ErrorCode::kInvalidArgument,
                 "--tls-client-ca needs TLS: give --tls-cert and --tls-key too");
  }
  server.tls.cert_file = flags.tls_cert;
  server.tls.key_file = flags.tls_key;
  server.tls.client_ca_file = flags.tls_client_ca;
  return OkStatus();
}

}  // namespace warden::cli
