// The egress proxy of a run with NetworkMode::kProxy: an HTTP proxy (CONNECT tunnels and plain
// http:// requests) served on a listening socket that lies in the run's network namespace, and
// connecting from Warden's own namespace to the hosts the run's EgressPolicy allows.
//
// Warden resolves names itself, never connects to a forbidden address (egress_policy.h), checks
// a plain request's Host against its URL and a tunnel's TLS server name against its target. A
// denied request gets a 403 (or, after a tunnel was set up, a closed connection): never a 200.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "base/result.h"
#include "base/unique_fd.h"
#include "sandbox/egress_policy.h"

namespace warden::sandbox {

// The sentence a denied program reads: worded as policy, and saying what to do instead.
std::string EgressDenialMessage(std::string_view reason);

// Owns the listening socket, the thread that accepts on it and one thread per connection.
// Destruction stops accepting, closes every connection and joins the threads. Thread-safe.
class EgressProxy {
 public:
  // Serves `listener` (a listening TCP socket) until destroyed.
  static Result<std::unique_ptr<EgressProxy>> Start(UniqueFd listener, EgressPolicy policy,
                                                    EgressDenialCallback on_denial);
  ~EgressProxy();
  EgressProxy(const EgressProxy&) = delete;
  EgressProxy& operator=(const EgressProxy&) = delete;

  // Connections refused so far.
  uint64_t denials() const { return denials_.load(); }

 private:
  struct Connection {
    std::jthread thread;
    std::atomic<bool> done{false};
  };

  EgressProxy(UniqueFd listener, UniqueFd stop, EgressPolicy policy,
              EgressDenialCallback on_denial);
  void AcceptLoop();
  void Serve(int client);
  // Writes the refusal to the client (a 403, or nothing once a tunnel is up) and reports it.
  void Deny(int client, bool tunnel_open, std::string_view host, uint16_t port, EgressDenial denial,
            std::string rule, std::string reason);

  const EgressPolicy policy_;
  const EgressDenialCallback on_denial_;
  UniqueFd listener_;
  UniqueFd stop_;  // eventfd: readable once the proxy stops
  std::atomic<uint64_t> denials_{0};
  std::mutex mutex_;
  std::list<std::unique_ptr<Connection>> connections_;  // guarded by mutex_
  std::jthread acceptor_;                               // last: it uses the members above
};

}  // namespace warden::sandbox
