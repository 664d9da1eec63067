// egress_bench: what the egress proxy costs, side by side in one run. A server on a private
// address (10.200.0.1, on the loopback device of a network namespace the benchmark makes for
// itself) is reached directly and through an EgressProxy's CONNECT tunnel: connect latency (until
// the first byte of an answer, p50 and p99 of many connections) and throughput (one stream of
// bytes). Prints both and their ratios. Run as root: build/release/bench/egress_bench
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "sandbox/egress_proxy.h"

namespace {

using Clock = std::chrono::steady_clock;
using warden::UniqueFd;

constexpr int kConnects = 300;
constexpr size_t kStreamBytes = size_t{1} << 30;

bool SetUpNetwork() {
  if (::unshare(CLONE_NEWNET) != 0) {
    fmt::print(stderr, "egress_bench: unshare(CLONE_NEWNET): {} (run as root)\n",
               std::strerror(errno));
    return false;
  }
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  struct ifreq ifr {};
  std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  ::ioctl(fd, SIOCGIFFLAGS, &ifr);
  ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
  bool ok = ::ioctl(fd, SIOCSIFFLAGS, &ifr) == 0;
  std::strncpy(ifr.ifr_name, "lo:1", IFNAMSIZ - 1);
  auto* in = reinterpret_cast<sockaddr_in*>(&ifr.ifr_addr);
  in->sin_family = AF_INET;
  ::inet_pton(AF_INET, "10.200.0.1", &in->sin_addr);
  ok = ok && ::ioctl(fd, SIOCSIFADDR, &ifr) == 0;
  ::close(fd);
  return ok;
}

UniqueFd Listen(const char* address, uint16_t* port) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  ::inet_pton(AF_INET, address, &addr.sin_addr);
  socklen_t len = sizeof(addr);
  ::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  ::listen(fd.get(), 512);
  ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len);
  *port = ntohs(addr.sin_port);
  return fd;
}

UniqueFd Connect(const char* address, uint16_t port) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  ::inet_pton(AF_INET, address, &addr.sin_addr);
  ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  int one = 1;
  ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return fd;
}

// The server: each connection reads a one-byte command: 'p' answers one byte, 's' streams
// kStreamBytes.
void Serve(int listener) {
  std::vector<char> block(1 << 16, 'x');
  for (;;) {
    int client = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) {
      return;
    }
    std::thread([client, &block] {
      char command = 0;
      if (::read(client, &command, 1) == 1 && command == 'p') {
        (void)::write(client, "y", 1);
      } else if (command == 's') {
        for (size_t sent = 0; sent < kStreamBytes;) {
          ssize_t n = ::write(client, block.data(), block.size());
          if (n <= 0) {
            break;
          }
          sent += static_cast<size_t>(n);
        }
      }
      ::close(client);
    }).detach();  // a benchmark's server: it lives until the process exits
  }
}

// A connection to the server, direct or through the proxy's tunnel, ready for a command.
UniqueFd Open(bool proxied, uint16_t server_port, uint16_t proxy_port) {
  if (!proxied) {
    return Connect("10.200.0.1", server_port);
  }
  UniqueFd fd = Connect("127.0.0.1", proxy_port);
  std::string request = fmt::format("CONNECT 10.200.0.1:{} HTTP/1.1\r\n\r\n", server_port);
  (void)::write(fd.get(), request.data(), request.size());
  std::string head;
  char c = 0;
  while (head.find("\r\n\r\n") == std::string::npos && ::read(fd.get(), &c, 1) == 1) {
    head += c;
  }
  return fd;
}

std::vector<double> ConnectLatencies(bool proxied, uint16_t server_port, uint16_t proxy_port) {
  std::vector<double> micros;
  for (int i = 0; i < kConnects; ++i) {
    Clock::time_point start = Clock::now();
    UniqueFd fd = Open(proxied, server_port, proxy_port);
    char answer = 0;
    (void)::write(fd.get(), "p", 1);
    (void)::read(fd.get(), &answer, 1);
    micros.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
  }
  std::sort(micros.begin(), micros.end());
  return micros;
}

double Throughput(bool proxied, uint16_t server_port, uint16_t proxy_port) {
  UniqueFd fd = Open(proxied, server_port, proxy_port);
  std::vector<char> buffer(1 << 16);
  Clock::time_point start = Clock::now();
  (void)::write(fd.get(), "s", 1);
  size_t total = 0;
  for (ssize_t n; (n = ::read(fd.get(), buffer.data(), buffer.size())) > 0;) {
    total += static_cast<size_t>(n);
  }
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return static_cast<double>(total) / seconds / 1e6;
}

}  // namespace

int main() {
  if (!SetUpNetwork()) {
    return 1;
  }
  // The target is an IP literal (allowed as one): a name would cost a resolver lookup per
  // connection, which measures /etc/hosts, not the proxy.
  uint16_t server_port = 0;
  UniqueFd server = Listen("10.200.0.1", &server_port);
  std::thread(Serve, server.get()).detach();
  uint16_t proxy_port = 0;
  UniqueFd listener = Listen("127.0.0.1", &proxy_port);
  warden::sandbox::EgressPolicy policy;
  policy.allow = *warden::sandbox::ParseEgressRules({"10.200.0.1"});
  policy.allow_private.push_back(*warden::sandbox::ParseAddressRange("10.200.0.0/24"));
  auto proxy = warden::sandbox::EgressProxy::Start(std::move(listener), policy, nullptr);
  if (!proxy.ok()) {
    fmt::print(stderr, "egress_bench: {}\n", proxy.error().ToString());
    return 1;
  }
  std::vector<double> direct = ConnectLatencies(false, server_port, proxy_port);
  std::vector<double> proxied = ConnectLatencies(true, server_port, proxy_port);
  double direct_mbs = Throughput(false, server_port, proxy_port);
  double proxied_mbs = Throughput(true, server_port, proxy_port);
  auto p = [](const std::vector<double>& v, double q) {
    return v[static_cast<size_t>(q * static_cast<double>(v.size() - 1))];
  };
  fmt::print(
      "connect + first byte, {} connections (us): direct p50 {:.0f} p99 {:.0f}; "
      "proxy p50 {:.0f} p99 {:.0f}; added at p50 {:.0f} us\n",
      kConnects, p(direct, 0.5), p(direct, 0.99), p(proxied, 0.5), p(proxied, 0.99),
      p(proxied, 0.5) - p(direct, 0.5));
  fmt::print(
      "throughput, one stream of {} MiB: direct {:.0f} MB/s, proxy {:.0f} MB/s, "
      "ratio {:.2f}\n",
      kStreamBytes >> 20, direct_mbs, proxied_mbs, proxied_mbs / direct_mbs);
  return 0;
}
