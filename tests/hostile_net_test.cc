// Hostile programs against the sandbox's network isolation (the default, --network none): TCP,
// UDP and DNS to the outside and to the host's loopback, host unix sockets (path and abstract),
// and socket families other than IP and unix (vsock, netlink, packet, raw, ...). Listeners the
// attacks aim at are opened by the test, which then checks from the host that nothing arrived.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "hostile_harness.h"

namespace warden::hostile {
namespace {

const std::vector<std::string> kFlags = {"--timeout", "20s"};

// A socket bound on the host's 127.0.0.1 (TCP: listening) at an ephemeral port.
class LoopbackSocket {
 public:
  explicit LoopbackSocket(int type) {
    fd_ = ::socket(AF_INET, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    if (type == SOCK_STREAM) {
      EXPECT_EQ(::listen(fd_, 8), 0);
    }
    EXPECT_EQ(::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len), 0);
    port_ = ntohs(addr.sin_port);
  }
  ~LoopbackSocket() { ::close(fd_); }
  int fd() const { return fd_; }
  std::string port() const { return std::to_string(port_); }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// The host's default gateway from /proc/net/route, or a documentation address without one.
std::string DefaultGateway() {
  std::ifstream route("/proc/net/route");
  std::string line;
  std::getline(route, line);
  while (std::getline(route, line)) {
    std::istringstream fields(line);
    std::string iface, destination, gateway;
    fields >> iface >> destination >> gateway;
    if (destination == "00000000") {
      in_addr addr{};
      addr.s_addr = static_cast<in_addr_t>(std::stoul(gateway, nullptr, 16));
      return ::inet_ntoa(addr);
    }
  }
  return "192.0.2.1";
}

std::vector<std::string> HostNameservers() {
  std::vector<std::string> servers;
  std::ifstream resolv("/etc/resolv.conf");
  for (std::string line; std::getline(resolv, line);) {
    std::istringstream fields(line);
    std::string key, value;
    fields >> key >> value;
    in_addr addr{};
    if (key == "nameserver" && ::inet_pton(AF_INET, value.c_str(), &addr) == 1) {
      servers.push_back(value);
    }
  }
  return servers;
}

TEST_F(HostileTest, TcpCannotLeaveTheSandbox) {
  LoopbackSocket listener(SOCK_STREAM);
  const std::string gateway = DefaultGateway();
  WardenResult result = RunHostile(kFlags, "tcp_out", {listener.port(), gateway});
  ExpectContained(result, {"connect(1.1.1.1:80): ", "connect(" + gateway + ":80): ",
                           "connect(127.0.0.1:" + listener.port() + "): ", "interface: lo"});
  EXPECT_LT(::accept(listener.fd(), nullptr, nullptr), 0) << "the host's listener got a connection";
}

TEST_F(HostileTest, UdpCannotLeaveTheSandbox) {
  LoopbackSocket receiver(SOCK_DGRAM);
  const std::string gateway = DefaultGateway();
  WardenResult result = RunHostile(kFlags, "udp_out", {receiver.port(), gateway});
  ExpectContained(result, {"sendto(8.8.8.8:53): ", "sendto(" + gateway + ":53): "});
  char buf[64];
  EXPECT_LT(::recv(receiver.fd(), buf, sizeof(buf), 0), 0) << "a datagram reached the host";
}

TEST_F(HostileTest, DnsCannotLeaveTheSandbox) {
  WardenResult result = RunHostile(kFlags, "dns", HostNameservers());
  ExpectContained(result, {"getaddrinfo(example.com): ", "dns query to 8.8.8.8:53: ",
                           "/etc/resolv.conf: no nameserver"});
}

TEST_F(HostileTest, HostUnixSocketsAreUnreachable) {
  HostDir dir("hostile-sock-");
  const std::string path = dir / "host.sock";
  const std::string abstract_name = "warden-" + marker_;
  int path_fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  int abstract_fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  ASSERT_EQ(::bind(path_fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::chmod(path.c_str(), 0777), 0);  // only isolation may keep the sandbox out
  ASSERT_EQ(::listen(path_fd, 8), 0);
  sockaddr_un abstract_addr{};
  abstract_addr.sun_family = AF_UNIX;
  std::memcpy(abstract_addr.sun_path + 1, abstract_name.data(), abstract_name.size());
  const socklen_t abstract_len =
      static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + abstract_name.size());
  ASSERT_EQ(::bind(abstract_fd, reinterpret_cast<sockaddr*>(&abstract_addr), abstract_len), 0);
  ASSERT_EQ(::listen(abstract_fd, 8), 0);

  WardenResult result = RunHostile(kFlags, "unix_socket", {path, abstract_name});
  ExpectContained(result, {"host socket path: ENOENT", "host abstract socket: ECONNREFUSED",
                           "/run/systemd/private: ENOENT", "/run/dbus/system_bus_socket: ENOENT"});
  EXPECT_LT(::accept(path_fd, nullptr, nullptr), 0) << "the host socket got a connection";
  EXPECT_LT(::accept(abstract_fd, nullptr, nullptr), 0) << "the abstract socket got a connection";
  ::close(path_fd);
  ::close(abstract_fd);
}

TEST_F(HostileTest, VsockIsRefused) {
  ExpectContained(RunHostile(kFlags, "socket_families", {"vsock"}),
                  {"socket(AF_VSOCK, SOCK_STREAM): ", "open(/dev/vsock): ENOENT"});
}

TEST_F(HostileTest, NetlinkIsRefused) {
  ExpectContained(RunHostile(kFlags, "socket_families", {"netlink"}),
                  {"NETLINK_ROUTE", "NETLINK_KOBJECT_UEVENT", "NETLINK_AUDIT"});
}

TEST_F(HostileTest, PacketRawAndExoticSocketsAreRefused) {
  ExpectContained(RunHostile(kFlags, "socket_families", {"raw"}),
                  {"socket(AF_PACKET, SOCK_RAW): ", "socket(AF_ALG): ", "socket(AF_XDP): "});
}

}  // namespace
}  // namespace warden::hostile
