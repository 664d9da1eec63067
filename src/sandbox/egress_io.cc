#include "sandbox/egress_io.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <vector>

#include <fmt/format.h>

namespace warden::sandbox {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::chrono::milliseconds kConnectTimeout{10'000};
constexpr size_t kRelayBufferBytes = size_t{256} * 1024;  // each direction's pipe

enum class Wait { kReady, kStopped, kTimeout };
using PollEvents = decltype(pollfd::events);

// Waits for `events` on `fd` (or the stop descriptor) until `deadline`; no deadline: -1.
Wait WaitFor(int fd, PollEvents events, int stop_fd, int timeout_ms) {
  struct pollfd fds[2] = {{fd, events, 0}, {stop_fd, POLLIN, 0}};
  for (;;) {
    int n = ::poll(fds, 2, timeout_ms);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n == 0) {
      return Wait::kTimeout;
    }
    if (n < 0 || fds[1].revents != 0) {
      return Wait::kStopped;
    }
    return Wait::kReady;
  }
}

int MillisecondsUntil(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return static_cast<int>(std::max<int64_t>(0, left.count()));
}

std::vector<EgressAddress> Resolve(const std::string& host, uint16_t port, Status* error) {
  if (auto literal = ParseAddressLiteral(host)) {
    literal->port = port;
    return {*literal};
  }
  struct addrinfo hints {};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  struct addrinfo* list = nullptr;
  int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &list);
  if (rc != 0) {
    *error = Error(ErrorCode::kUnavailable,
                   fmt::format("cannot resolve {}: {}", host, ::gai_strerror(rc)));
    return {};
  }
  std::vector<EgressAddress> addresses;
  for (struct addrinfo* a = list; a != nullptr; a = a->ai_next) {
    EgressAddress address;
    address.family = a->ai_family;
    address.port = port;
    if (a->ai_family == AF_INET) {
      const auto* in = reinterpret_cast<const sockaddr_in*>(a->ai_addr);  // NOLINT: the ABI
      std::memcpy(address.bytes.data(), &in->sin_addr, 4);
    } else if (a->ai_family == AF_INET6) {
      const auto* in6 = reinterpret_cast<const sockaddr_in6*>(a->ai_addr);  // NOLINT: the ABI
      std::memcpy(address.bytes.data(), &in6->sin6_addr, 16);
    } else {
      continue;
    }
    addresses.push_back(address);
  }
  ::freeaddrinfo(list);
  return addresses;
}

// A non-blocking connect to one address, bounded by kConnectTimeout. Sets *err on failure.
UniqueFd ConnectTo(const EgressAddress& address, int stop_fd, int* err) {
  UniqueFd fd(::socket(address.family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) {
    *err = errno;
    return {};
  }
  struct sockaddr_storage storage {};
  socklen_t length = 0;
  if (address.family == AF_INET) {
    auto* in = reinterpret_cast<sockaddr_in*>(&storage);  // NOLINT: the ABI
    in->sin_family = AF_INET;
    in->sin_port = htons(address.port);
    std::memcpy(&in->sin_addr, address.bytes.data(), 4);
    length = sizeof(sockaddr_in);
  } else {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&storage);  // NOLINT: the ABI
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(address.port);
    std::memcpy(&in6->sin6_addr, address.bytes.data(), 16);
    length = sizeof(sockaddr_in6);
  }
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&storage), length) != 0) {  // NOLINT
    if (errno != EINPROGRESS) {
      *err = errno;
      return {};
    }
    Wait wait = WaitFor(fd.get(), POLLOUT, stop_fd, static_cast<int>(kConnectTimeout.count()));
    int so_error = 0;
    socklen_t size = sizeof(so_error);
    ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &so_error, &size);
    if (wait != Wait::kReady || so_error != 0) {
      *err = wait == Wait::kTimeout ? ETIMEDOUT : (so_error != 0 ? so_error : ECANCELED);
      return {};
    }
  }
  int one = 1;
  ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return fd;
}

// One direction of a relay: bytes spliced from a socket into a pipe, and from the pipe into the
// other socket, without passing through the proxy's memory.
struct Direction {
  int from = -1;
  int to = -1;
  UniqueFd pipe_read;
  UniqueFd pipe_write;
  size_t in_pipe = 0;  // bytes in the pipe, not yet written to `to`
  bool open = true;    // `from` has not reached end-of-file
};

// Moves what the pipe holds to `to`; false on an error (a reset).
bool Drain(Direction& d) {
  while (d.in_pipe > 0) {
    ssize_t n = ::splice(d.pipe_read.get(), nullptr, d.to, nullptr, d.in_pipe,
                         SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (n > 0) {
      d.in_pipe -= static_cast<size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      return n < 0 && errno == EAGAIN;
    }
  }
  return true;
}

// Reads what `from` has into the pipe and passes it on; false on an error.
bool Fill(Direction& d) {
  ssize_t n = ::splice(d.from, nullptr, d.pipe_write.get(), nullptr, kRelayBufferBytes,
                       SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
  if (n == 0) {
    d.open = false;
    ::shutdown(d.to, SHUT_WR);  // the pipe is empty here: pass the end-of-file on
    return true;
  }
  if (n < 0) {
    return errno == EAGAIN || errno == EINTR;
  }
  d.in_pipe += static_cast<size_t>(n);
  return Drain(d);
}

bool MakeDirection(int from, int to, Direction* d) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) {
    return false;
  }
  d->from = from;
  d->to = to;
  d->pipe_read.reset(fds[0]);
  d->pipe_write.reset(fds[1]);
  ::fcntl(fds[1], F_SETPIPE_SZ, static_cast<int>(kRelayBufferBytes));
  return true;
}

}  // namespace

Result<std::string> ReadUntil(int fd, int stop_fd, std::string data, size_t max_bytes,
                              std::chrono::milliseconds timeout,
                              bool (*done)(std::string_view data)) {
  const Clock::time_point deadline = Clock::now() + timeout;
  std::array<char, 4096> buffer{};
  while (!done(data)) {
    if (data.size() >= max_bytes) {
      return Error(ErrorCode::kOutOfRange, fmt::format("more than {} bytes", max_bytes));
    }
    ssize_t n = ::read(fd, buffer.data(), std::min(buffer.size(), max_bytes - data.size()));
    if (n > 0) {
      data.append(buffer.data(), static_cast<size_t>(n));
      continue;
    }
    if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
      break;  // the caller judges what arrived
    }
    Wait wait = WaitFor(fd, POLLIN, stop_fd, MillisecondsUntil(deadline));
    if (wait == Wait::kStopped) {
      return Error(ErrorCode::kCancelled, "the proxy stopped");
    }
    if (wait == Wait::kTimeout) {
      break;
    }
  }
  return data;
}

bool WriteAll(int fd, int stop_fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && errno == EAGAIN) {
      if (WaitFor(fd, POLLOUT, stop_fd, -1) != Wait::kReady) {
        return false;
      }
    } else {
      return false;
    }
  }
  return true;
}

void Relay(int a, int b, int stop_fd) {
  Direction up;    // a -> b
  Direction down;  // b -> a
  if (!MakeDirection(a, b, &up) || !MakeDirection(b, a, &down)) {
    return;
  }
  while (up.open || up.in_pipe > 0 || down.open || down.in_pipe > 0) {
    // A direction waits to write while its pipe holds bytes, else to read while open.
    auto events = [](const Direction& d) -> std::pair<int, PollEvents> {
      if (d.in_pipe > 0) {
        return {d.to, POLLOUT};
      }
      return {d.open ? d.from : -1, POLLIN};
    };
    auto [up_fd, up_events] = events(up);
    auto [down_fd, down_events] = events(down);
    struct pollfd fds[3] = {{up_fd, up_events, 0}, {down_fd, down_events, 0}, {stop_fd, POLLIN, 0}};
    if (::poll(fds, 3, -1) < 0) {
      if (errno == EINTR) {
        continue;
      }
      return;
    }
    if (fds[2].revents != 0) {
      return;
    }
    for (int i = 0; i < 2; ++i) {
      Direction& d = i == 0 ? up : down;
      if (fds[i].revents != 0 && !(d.in_pipe > 0 ? Drain(d) : Fill(d))) {
        return;  // reset: end both ways
      }
    }
  }
}

Result<UniqueFd> ConnectUpstream(const EgressPolicy& policy, const std::string& host, uint16_t port,
                                 int stop_fd) {
  Status resolved = OkStatus();
  std::vector<EgressAddress> addresses = Resolve(host, port, &resolved);
  RETURN_IF_ERROR(resolved);
  std::string refused;
  int err = ENOENT;
  std::string tried;
  for (const EgressAddress& address : addresses) {
    if (auto forbidden = CheckEgressAddress(policy, address)) {
      if (refused.empty()) {
        refused = fmt::format("{} is {} ({}), an address runs may never reach", host,
                              address.ToString(), *forbidden);
      }
      continue;
    }
    tried = address.ToString();
    if (UniqueFd fd = ConnectTo(address, stop_fd, &err)) {
      return fd;
    }
  }
  if (tried.empty() && !refused.empty()) {
    return Error(ErrorCode::kPermissionDenied, refused);
  }
  if (tried.empty()) {
    return Error(ErrorCode::kUnavailable, fmt::format("{} has no address", host));
  }
  return Error::FromErrno(fmt::format("connect to {} port {} ({})", host, port, tried), err);
}

}  // namespace warden::sandbox
