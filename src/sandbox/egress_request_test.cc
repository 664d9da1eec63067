#include "sandbox/egress_request.h"

#include <gtest/gtest.h>

namespace warden::sandbox {
namespace {

// A TLS record with a ClientHello naming `name` (or none), as a client sends it.
std::string ClientHello(std::string_view name) {
  std::string extensions;
  if (!name.empty()) {
    auto u16 = [](size_t n) {
      return std::string{static_cast<char>(n >> 8), static_cast<char>(n)};
    };
    std::string entry = std::string(1, '\0') + u16(name.size()) + std::string(name);
    std::string list = u16(entry.size()) + entry;
    extensions = std::string("\0\0", 2) + u16(list.size()) + list;
  }
  extensions = std::string("\x00\x0b\x00\x02\x01\x00", 6) + extensions;  // ec_point_formats
  std::string body = std::string("\x03\x03", 2) + std::string(32, 'r') + std::string(1, '\0') +
                     std::string("\x00\x02\x13\x01", 4) + std::string("\x01\x00", 2);
  body +=
      std::string{static_cast<char>(extensions.size() >> 8), static_cast<char>(extensions.size())} +
      extensions;
  std::string handshake =
      std::string(1, '\x01') + std::string(1, '\0') +
      std::string{static_cast<char>(body.size() >> 8), static_cast<char>(body.size())} + body;
  return std::string("\x16\x03\x01", 3) +
         std::string{static_cast<char>(handshake.size() >> 8),
                     static_cast<char>(handshake.size())} +
         handshake;
}

TEST(EgressRequestTest, AConnectRequestNamesItsTargetHostAndPort) {
  auto request = ParseProxyRequest("CONNECT PyPI.org:443 HTTP/1.1\r\nHost: pypi.org:443\r\n\r\n");
  ASSERT_TRUE(request.ok()) << request.error().ToString();
  EXPECT_EQ(request->kind, ProxyRequest::Kind::kConnect);
  EXPECT_EQ(request->host, "pypi.org");
  EXPECT_EQ(request->port, 443);
  auto v6 = ParseProxyRequest("CONNECT [2001:db8::1]:8443 HTTP/1.1\r\n\r\n");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "2001:db8::1");
  EXPECT_EQ(v6->port, 8443);
}

TEST(EgressRequestTest, APlainRequestIsRewrittenToOriginFormWithoutProxyHeaders) {
  auto request = ParseProxyRequest(
      "GET http://Example.com:8080/a/b?c=1 HTTP/1.1\r\nHost: example.com:8080\r\n"
      "Proxy-Connection: keep-alive\r\nProxy-Authorization: Basic eA==\r\nAccept: */*\r\n\r\n");
  ASSERT_TRUE(request.ok()) << request.error().ToString();
  EXPECT_EQ(request->kind, ProxyRequest::Kind::kForward);
  EXPECT_EQ(request->host, "example.com");
  EXPECT_EQ(request->port, 8080);
  EXPECT_EQ(request->host_header, "example.com");
  EXPECT_EQ(request->host_header_port, 8080);
  EXPECT_EQ(request->upstream_head,
            "GET /a/b?c=1 HTTP/1.1\r\nHost: example.com:8080\r\nAccept: */*\r\n"
            "Connection: close\r\n\r\n");
}

TEST(EgressRequestTest, RequestsAProxyCannotServeAreRefusedSayingWhy) {
  auto origin = ParseProxyRequest("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_FALSE(origin.ok());
  EXPECT_NE(origin.error().message().find("CONNECT"), std::string::npos);
  EXPECT_FALSE(ParseProxyRequest("CONNECT pypi.org HTTP/1.1\r\n\r\n").ok());
  EXPECT_FALSE(ParseProxyRequest("hello\r\n\r\n").ok());
  EXPECT_FALSE(ParseProxyRequest("GET http://a.com/ HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n").ok());
}

TEST(EgressRequestTest, TheServerNameOfAClientHelloIsRead) {
  std::string hello = ClientHello("Files.PythonHosted.org");
  ClientHelloName name = ReadClientHelloName(hello);
  EXPECT_EQ(name.state, ClientHelloName::State::kFound);
  EXPECT_EQ(name.name, "files.pythonhosted.org");
  EXPECT_EQ(ReadClientHelloName(hello.substr(0, 20)).state, ClientHelloName::State::kNeedMore);
  EXPECT_EQ(ReadClientHelloName(ClientHello("")).state, ClientHelloName::State::kNoName);
  EXPECT_EQ(ReadClientHelloName("GET / HTTP/1.1\r\n").state, ClientHelloName::State::kNotTls);
}

}  // namespace
}  // namespace warden::sandbox
