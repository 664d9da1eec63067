// Socket work of the egress proxy, each call bounded by a stop descriptor (readable once the
// proxy stops) so that no connection outlives its run: reading a request head, writing, relaying
// a connection both ways, and connecting to an allowed host by the addresses Warden resolved.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"
#include "base/unique_fd.h"
#include "sandbox/egress_policy.h"

namespace warden::sandbox {

// The most a request head may hold.
inline constexpr size_t kMaxRequestHeadBytes = size_t{32} * 1024;

// Appends to `data` what the non-blocking socket `fd` sends until `done(data)` says it is
// complete, the peer closes, or `timeout` passes; returns it (the caller asks `done` again).
// kCancelled when the proxy stops, kOutOfRange past max_bytes.
Result<std::string> ReadUntil(int fd, int stop_fd, std::string data, size_t max_bytes,
                              std::chrono::milliseconds timeout,
                              bool (*done)(std::string_view data));

// Writes all of `data` to the non-blocking socket `fd`; false when the peer is gone or the proxy
// stops.
bool WriteAll(int fd, int stop_fd, std::string_view data);

// Copies bytes both ways between two non-blocking sockets until both directions are closed (an
// end-of-file is passed on as a half close), an error, or the proxy stops.
void Relay(int a, int b, int stop_fd);

// Resolves `host` (unless it is an IP literal), keeps the addresses `policy` lets runs reach and
// connects to the first that answers. kPermissionDenied when every address is forbidden (its
// message says which and why); kUnavailable when the name does not resolve or nothing answers.
// The socket returned is non-blocking.
Result<UniqueFd> ConnectUpstream(const EgressPolicy& policy, const std::string& host, uint16_t port,
                                 int stop_fd);

}  // namespace warden::sandbox
