// Runs with NetworkMode::kProxy against servers the test starts itself. The test process first
// moves into network and mount namespaces of its own: there, 10.200.0.1 is an address of its
// loopback device (a private address, reachable only when the policy's allow_private says so),
// and its own /etc/hosts names that address (pkg.test, other.test) and forbidden ones. Programs
// in the sandbox are Python snippets that only try to connect: a broken sandbox lets them reach
// this test's private namespace, nothing else.
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "sandbox/egress_policy.h"
#include "sandbox/sandbox.h"

namespace warden::sandbox {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr const char* kServerAddress = "10.200.0.1";
constexpr std::string_view kHosts =
    "10.200.0.1 pkg.test other.test\n127.0.0.1 loop.test\n169.254.169.254 meta.test\n"
    "10.99.0.1 internal.test\n";

bool SetInterface(int fd, const char* name, unsigned long request, const char* address) {
  struct ifreq ifr {};
  std::strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
  auto* in = reinterpret_cast<sockaddr_in*>(&ifr.ifr_addr);
  in->sin_family = AF_INET;
  ::inet_pton(AF_INET, address, &in->sin_addr);
  return ::ioctl(fd, request, &ifr) == 0;
}

// The test's own network (loopback up, 10.200.0.1 on it) and /etc/hosts.
class PrivateNetwork : public ::testing::Environment {
 public:
  void SetUp() override {
    ASSERT_EQ(::unshare(CLONE_NEWNET | CLONE_NEWNS), 0) << "unshare: " << std::strerror(errno);
    ASSERT_EQ(::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr), 0);
    int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct ifreq ifr {};
    std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
    ASSERT_EQ(::ioctl(fd, SIOCGIFFLAGS, &ifr), 0);
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
    ASSERT_EQ(::ioctl(fd, SIOCSIFFLAGS, &ifr), 0);
    ASSERT_TRUE(SetInterface(fd, "lo:1", SIOCSIFADDR, kServerAddress)) << std::strerror(errno);
    ASSERT_TRUE(SetInterface(fd, "lo:1", SIOCSIFNETMASK, "255.255.255.0"));
    ::close(fd);
    hosts_ = fmt::format("/tmp/egress_test_hosts.{}", ::getpid());
    std::ofstream(hosts_) << kHosts;
    ASSERT_EQ(::mount(hosts_.c_str(), "/etc/hosts", nullptr, MS_BIND, nullptr), 0)
        << std::strerror(errno);
  }
  void TearDown() override { ::unlink(hosts_.c_str()); }

 private:
  std::string hosts_;
};

const auto* const kEnvironment = ::testing::AddGlobalTestEnvironment(new PrivateNetwork);

// An HTTP server on 10.200.0.1: answers every request with what it was asked (request line and
// Host), and records the first bytes of each connection.
class TestServer {
 public:
  TestServer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    ::inet_pton(AF_INET, kServerAddress, &addr.sin_addr);
    socklen_t len = sizeof(addr);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    EXPECT_EQ(::listen(fd_, 16), 0);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    stop_ = ::eventfd(0, EFD_CLOEXEC);
    thread_ = std::jthread([this] { Loop(); });
  }
  ~TestServer() {
    uint64_t one = 1;
    (void)::write(stop_, &one, sizeof(one));
    thread_.join();
    ::close(fd_);
    ::close(stop_);
  }
  uint16_t port() const { return port_; }
  std::vector<std::string> received() {
    std::lock_guard lock(mutex_);
    return received_;
  }
  // GET `path` answers `body` as `content_type` (a package index, a wheel), rather than an echo.
  void Serve(std::string path, std::string content_type, std::string body) {
    std::lock_guard lock(mutex_);
    files_[std::move(path)] = {std::move(content_type), std::move(body)};
  }

 private:
  void Loop() {
    for (;;) {
      struct pollfd fds[2] = {{fd_, POLLIN, 0}, {stop_, POLLIN, 0}};
      ::poll(fds, 2, -1);
      if (fds[1].revents != 0) {
        return;
      }
      int client = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      std::string data;
      char buffer[4096];
      struct pollfd in = {client, POLLIN, 0};
      while (data.find("\r\n\r\n") == std::string::npos && ::poll(&in, 1, 3000) == 1) {
        ssize_t n = ::read(client, buffer, sizeof(buffer));
        if (n <= 0) {
          break;
        }
        data.append(buffer, static_cast<size_t>(n));
        if (data[0] == '\x16') {
          break;  // a TLS ClientHello: recorded, never answered
        }
      }
      std::string body = "served " + data.substr(0, data.find("\r\n\r\n"));
      std::string type = "text/plain";
      {
        std::lock_guard lock(mutex_);
        received_.push_back(data);
        // "GET /path HTTP/1.1": the path, without a query.
        size_t end = data.starts_with("GET ") ? data.find_first_of(" ?", 4) : std::string::npos;
        std::string path = end == std::string::npos ? "" : data.substr(4, end - 4);
        if (auto it = files_.find(path); it != files_.end()) {
          type = it->second.first;
          body = it->second.second;
        }
      }
      std::string reply =
          fmt::format(
              "HTTP/1.1 200 OK\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: "
              "close\r\n\r\n",
              type, body.size()) +
          body;
      if (data.starts_with("GET")) {
        (void)::send(client, reply.data(), reply.size(), MSG_NOSIGNAL);
      }
      ::close(client);
    }
  }

  int fd_ = -1;
  int stop_ = -1;
  uint16_t port_ = 0;
  std::mutex mutex_;
  std::vector<std::string> received_;
  std::map<std::string, std::pair<std::string, std::string>> files_;  // path -> type, body
  std::jthread thread_;
};

// What every program below starts with: raw requests to the proxy, and printing what came back.
constexpr std::string_view kPrelude = R"(
import os, socket, ssl, sys
PROXY = ('127.0.0.1', 3128)
def raw(request, then=None):
    s = socket.create_connection(PROXY, timeout=10)
    s.sendall(request.encode())
    head = s.recv(65536).decode(errors='replace')
    if then is not None and head.startswith('HTTP/1.1 200'):
        head += then(s)
    s.close()
    return head
def get_over(s):
    s.sendall(b'GET /tunnel HTTP/1.1\r\nHost: pkg.test\r\n\r\n')
    return s.recv(65536).decode(errors='replace')
def attempt(name, fn):
    try:
        print(name, 'OK', repr(fn()))
    except Exception as e:
        print(name, 'FAILED', type(e).__name__, e)
)";

class EgressTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto created = Supervisor::Create({});
    ASSERT_TRUE(created.ok()) << created.error().ToString();
    supervisor_ = std::move(created).value().release();
    server_ = new TestServer;
  }
  static void TearDownTestSuite() {
    delete server_;
    delete supervisor_;
  }

  // The policy of most tests: pkg.test allowed, its private range opened.
  static EgressPolicy Policy(std::vector<std::string> allow = {"pkg.test"}) {
    EgressPolicy policy;
    policy.allow = *ParseEgressRules(allow);
    policy.allow_private.push_back(*ParseAddressRange("10.200.0.0/24"));
    return policy;
  }

  RunResult RunPython(const std::string& code, EgressPolicy policy,
                      std::vector<EgressDenialEvent>* denials = nullptr) {
    Spec spec;
    spec.argv = {"/usr/bin/python3", "-c", std::string(kPrelude) + code};
    spec.env = {fmt::format("PORT={}", server_->port())};
    spec.network = NetworkMode::kProxy;
    spec.egress = std::move(policy);
    spec.limits.wall_time = std::chrono::seconds(30);
    spec.on_egress_denied = [this, denials](const EgressDenialEvent& event) {
      std::lock_guard lock(mutex_);
      if (denials != nullptr) {
        denials->push_back(event);
      }
    };
    auto result = supervisor_->Run(spec);
    EXPECT_TRUE(result.ok()) << result.error().ToString();
    return result.ok() ? *result : RunResult{};
  }

  static Supervisor* supervisor_;
  static TestServer* server_;
  std::mutex mutex_;
};

Supervisor* EgressTest::supervisor_ = nullptr;
TestServer* EgressTest::server_ = nullptr;

TEST_F(EgressTest, AnAllowedHostIsReachedThroughTheProxyByPlainHttpAndThroughATunnel) {
  RunResult r = RunPython(R"(
import urllib.request
port = os.environ['PORT']
attempt('plain', lambda: urllib.request.urlopen(f'http://pkg.test:{port}/plain', timeout=10).read())
attempt('tunnel', lambda: raw(f'CONNECT pkg.test:{port} HTTP/1.1\r\n\r\n', get_over))
)",
                          Policy());
  EXPECT_EQ(r.outcome, Outcome::kExited) << r.message;
  EXPECT_THAT(r.stdout_data, HasSubstr("plain OK b'served GET /plain HTTP/1.1"));
  EXPECT_THAT(r.stdout_data, HasSubstr("Host: pkg.test"));
  EXPECT_THAT(r.stdout_data, HasSubstr("tunnel OK 'HTTP/1.1 200 Connection established"));
  EXPECT_THAT(r.stdout_data, HasSubstr("served GET /tunnel"));
  EXPECT_EQ(r.stderr_data, "");
}

TEST_F(EgressTest, AHostOffTheListGetsA403WordedAsPolicyAndIsReported) {
  std::vector<EgressDenialEvent> denials;
  RunResult r = RunPython(R"(
import urllib.request, urllib.error
try:
    urllib.request.urlopen('http://other.test/x', timeout=10)
except urllib.error.HTTPError as e:
    print('plain', e.code, e.read().decode())
print('tunnel', raw('CONNECT other.test:443 HTTP/1.1\r\n\r\n').splitlines()[0])
)",
                          Policy(), &denials);
  EXPECT_THAT(r.stdout_data,
              HasSubstr("plain 403 blocked by the job's network policy: host not on the "
                        "allow-list; ask for it to be added instead of trying another route"));
  EXPECT_THAT(r.stdout_data, HasSubstr("tunnel HTTP/1.1 403 Forbidden"));
  EXPECT_THAT(r.stderr_data, HasSubstr("warden: blocked by the job's network policy"));
  ASSERT_EQ(denials.size(), 2U);
  EXPECT_EQ(denials[1].host, "other.test");
  EXPECT_EQ(denials[1].port, 443);
  EXPECT_EQ(denials[1].denial, EgressDenial::kNotAllowed);
}

TEST_F(EgressTest, DenyRulesWinAndTheDenialNamesTheRule) {
  EgressPolicy policy = Policy({"*.test"});
  policy.deny = *ParseEgressRules({"other.test"});
  std::vector<EgressDenialEvent> denials;
  RunResult r = RunPython(R"(
print(raw('GET http://other.test:%s/ HTTP/1.1\r\nHost: other.test:%s\r\n\r\n' % (os.environ['PORT'], os.environ['PORT'])))
)",
                          policy, &denials);
  EXPECT_THAT(r.stdout_data, HasSubstr("403 Forbidden"));
  EXPECT_THAT(r.stdout_data, HasSubstr("host matches the deny rule \"other.test\""));
  ASSERT_EQ(denials.size(), 1U);
  EXPECT_EQ(denials[0].denial, EgressDenial::kDenyRule);
  EXPECT_EQ(denials[0].rule, "other.test");
}

TEST_F(EgressTest, APrivateAddressIsRefusedUnlessTheOperatorOpenedItsRange) {
  EgressPolicy closed = Policy();
  closed.allow_private.clear();
  std::vector<EgressDenialEvent> denials;
  RunResult r = RunPython(R"(
print(raw('CONNECT pkg.test:%s HTTP/1.1\r\n\r\n' % os.environ['PORT']).splitlines()[-1])
)",
                          closed, &denials);
  EXPECT_THAT(r.stdout_data, HasSubstr("pkg.test is 10.200.0.1 (private), an address runs may "
                                       "never reach"));
  ASSERT_EQ(denials.size(), 1U);
  EXPECT_EQ(denials[0].denial, EgressDenial::kForbiddenAddress);
}

// Each way around the proxy: none gets a byte to the server or an answer from anywhere.
TEST_F(EgressTest, NothingGetsOutAroundThePolicy) {
  size_t before = server_->received().size();
  std::vector<EgressDenialEvent> denials;
  RunResult r = RunPython(
      R"(
port = int(os.environ['PORT'])
def direct():
    return socket.create_connection(('10.200.0.1', port), timeout=5)
def dns_udp():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(3)
    s.sendto(b'\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x03pkg\x04test\x00\x00\x01\x00\x01', ('10.200.0.1', 53))
    return s.recv(512)
def dns_tcp():
    return socket.create_connection(('10.200.0.1', 53), timeout=5)
def ipv6():
    return socket.create_connection(('2001:db8::1', port), timeout=5)
def resolve():
    return socket.getaddrinfo('pkg.test', port)
def tls_other_name():
    s = socket.create_connection(PROXY, timeout=10)
    s.sendall(b'CONNECT pkg.test:%d HTTP/1.1\r\n\r\n' % port)
    s.recv(4096)
    ctx = ssl.create_default_context()
    return ctx.wrap_socket(s, server_hostname='other.test').recv(10)
for k in ['http_proxy', 'https_proxy', 'HTTP_PROXY', 'HTTPS_PROXY']:
    os.environ.pop(k)
import urllib.request
attempt('unset_proxy', lambda: urllib.request.urlopen('http://pkg.test:%d/' % port, timeout=5).read())
attempt('direct', direct)
attempt('dns_udp', dns_udp)
attempt('dns_tcp', dns_tcp)
attempt('ipv6', ipv6)
attempt('resolve', resolve)
attempt('ip_literal', lambda: raw('CONNECT 10.200.0.1:%d HTTP/1.1\r\n\r\n' % port))
attempt('host_header', lambda: raw('GET http://pkg.test:%d/ HTTP/1.1\r\nHost: other.test:%d\r\n\r\n' % (port, port)))
attempt('sni', tls_other_name)
attempt('loopback', lambda: raw('CONNECT loop.test:%d HTTP/1.1\r\n\r\n' % port))
attempt('metadata', lambda: raw('CONNECT meta.test:80 HTTP/1.1\r\n\r\n'))
attempt('metadata_literal', lambda: raw('GET http://169.254.169.254/latest/meta-data/ HTTP/1.1\r\nHost: 169.254.169.254\r\n\r\n'))
attempt('private_name', lambda: raw('CONNECT internal.test:%d HTTP/1.1\r\n\r\n' % port))
def own_proxy():
    # A relay of the program's own, which connects out itself: it has no way out either.
    import threading
    listener = socket.socket()
    listener.bind(('127.0.0.1', 0))
    listener.listen(1)
    def relay():
        c, _ = listener.accept()
        target = c.recv(4096).decode().split()[1]
        host, _, p = target.rpartition(':')
        try:
            socket.create_connection((host, int(p)), timeout=5)
            c.sendall(b'HTTP/1.1 200 Connection established\r\n\r\n')
        except OSError as e:
            c.sendall(('HTTP/1.1 502 relay failed: %s\r\n\r\n' % e).encode())
        c.close()
    threading.Thread(target=relay).start()
    s = socket.create_connection(listener.getsockname(), timeout=10)
    s.sendall(('CONNECT 10.200.0.1:%d HTTP/1.1\r\n\r\n' % port).encode())
    head = s.recv(4096).decode()
    if not head.startswith('HTTP/1.1 200'):
        raise OSError(head.strip())
    return head
attempt('own_proxy', own_proxy)
)",
      Policy({"pkg.test", "loop.test", "meta.test", "internal.test", "169.254.169.254"}), &denials);
  EXPECT_EQ(r.outcome, Outcome::kExited) << r.message << r.stderr_data;
  for (std::string_view name :
       {"unset_proxy", "direct", "dns_udp", "dns_tcp", "ipv6", "resolve", "sni", "own_proxy"}) {
    EXPECT_THAT(r.stdout_data, HasSubstr(fmt::format("{} FAILED", name))) << r.stdout_data;
  }
  for (std::string_view name :
       {"ip_literal", "host_header", "loopback", "metadata", "metadata_literal", "private_name"}) {
    EXPECT_THAT(r.stdout_data, HasSubstr(fmt::format("{} OK \"HTTP/1.1 403 Forbidden", name)))
        << r.stdout_data;
  }
  EXPECT_THAT(r.stdout_data, Not(HasSubstr("200 Connection established\\r\\n\\r\\nHTTP")));
  // The only bytes that reached the server: none but the TLS tunnel's, cut before its hello.
  std::vector<std::string> received = server_->received();
  for (size_t i = before; i < received.size(); ++i) {
    EXPECT_EQ(received[i], "") << i;
  }
  std::vector<EgressDenial> reasons;
  for (const EgressDenialEvent& event : denials) {
    reasons.push_back(event.denial);
  }
  EXPECT_THAT(reasons, ::testing::UnorderedElementsAre(
                           EgressDenial::kNotAllowed, EgressDenial::kHostMismatch,
                           EgressDenial::kSniMismatch, EgressDenial::kForbiddenAddress,
                           EgressDenial::kForbiddenAddress, EgressDenial::kForbiddenAddress,
                           EgressDenial::kForbiddenAddress));
}

TEST_F(EgressTest, ARuleWithMethodsLetsThoseThroughAndNoTunnelWithoutConnect) {
  std::vector<EgressDenialEvent> denials;
  RunResult r = RunPython(R"(
port = int(os.environ['PORT'])
print('get', raw('GET http://pkg.test:%d/m HTTP/1.1\r\nHost: pkg.test:%d\r\n\r\n' % (port, port)).splitlines()[0])
print('post', raw('POST http://pkg.test:%d/m HTTP/1.1\r\nHost: pkg.test:%d\r\nContent-Length: 0\r\n\r\n' % (port, port)))
print('tunnel', raw('CONNECT pkg.test:%d HTTP/1.1\r\n\r\n' % port).splitlines()[0])
)",
                          Policy({"GET,HEAD pkg.test"}), &denials);
  EXPECT_THAT(r.stdout_data, HasSubstr("get HTTP/1.1 200 OK"));
  EXPECT_THAT(r.stdout_data, HasSubstr("post HTTP/1.1 403 Forbidden"));
  EXPECT_THAT(r.stdout_data, HasSubstr("the host is allowed only for the methods of \"GET,HEAD "
                                       "pkg.test\""));
  EXPECT_THAT(r.stdout_data, HasSubstr("tunnel HTTP/1.1 403 Forbidden"));
  ASSERT_EQ(denials.size(), 2U);
  EXPECT_EQ(denials[0].denial, EgressDenial::kMethodNotAllowed);
  EXPECT_EQ(denials[1].denial, EgressDenial::kMethodNotAllowed);
}

// `pip download` from a package index that the test serves, through the proxy as pip finds it in
// HTTP_PROXY: the index page and the wheel come through; nothing else is tried.
TEST_F(EgressTest, PipDownloadsFromAnAllowedPackageIndex) {
  // A minimal wheel, made with the host's Python (it runs nothing of the sandbox's).
  char dir[] = "/tmp/warden-egress-wheel-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  std::string wheel = std::string(dir) + "/leftpad-1.0-py3-none-any.whl";
  std::string make = fmt::format(R"(
import zipfile
with zipfile.ZipFile('{}', 'w') as z:
    z.writestr('leftpad/__init__.py', 'def pad(s, n): return s.rjust(n)\n')
    z.writestr('leftpad-1.0.dist-info/METADATA', 'Metadata-Version: 2.1\nName: leftpad\nVersion: 1.0\n')
    z.writestr('leftpad-1.0.dist-info/WHEEL', 'Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n')
    z.writestr('leftpad-1.0.dist-info/RECORD', '')
)",
                                 wheel);
  pid_t maker = ::fork();
  if (maker == 0) {
    ::execl("/usr/bin/python3", "python3", "-c", make.c_str(), nullptr);
    ::_exit(127);
  }
  int status = -1;
  ASSERT_EQ(::waitpid(maker, &status, 0), maker);
  ASSERT_EQ(status, 0);
  std::ifstream in(wheel, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::filesystem::remove_all(dir);
  ASSERT_FALSE(bytes.empty());
  server_->Serve("/simple/leftpad/", "text/html",
                 "<html><body><a href=\"/files/leftpad-1.0-py3-none-any.whl\">"
                 "leftpad-1.0-py3-none-any.whl</a></body></html>");
  server_->Serve("/files/leftpad-1.0-py3-none-any.whl", "application/octet-stream", bytes);

  RunResult r = RunPython(R"(
import subprocess, zipfile
index = 'http://pkg.test:%s/simple/' % os.environ['PORT']
p = subprocess.run([sys.executable, '-m', 'pip', 'download', '--no-deps', '--no-cache-dir',
                    '--disable-pip-version-check', '--index-url', index, '--trusted-host', 'pkg.test',
                    '-d', '/tmp/dl', 'leftpad'],
                   capture_output=True, text=True, env=dict(os.environ, HOME='/tmp'))
print('pip', p.returncode, p.stdout[-300:], p.stderr[-600:])
print('files', sorted(os.listdir('/tmp/dl')) if os.path.isdir('/tmp/dl') else None)
print('module', zipfile.ZipFile('/tmp/dl/leftpad-1.0-py3-none-any.whl').read('leftpad/__init__.py'))
)",
                          Policy());
  EXPECT_THAT(r.stdout_data, HasSubstr("pip 0 ")) << r.stdout_data << r.stderr_data;
  EXPECT_THAT(r.stdout_data, HasSubstr("files ['leftpad-1.0-py3-none-any.whl']"));
  EXPECT_THAT(r.stdout_data, HasSubstr("module b'def pad(s, n): return s.rjust(n)\\n'"));
}

}  // namespace
}  // namespace warden::sandbox
