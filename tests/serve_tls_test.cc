// `warden serve --tls-cert --tls-key [--tls-client-ca]`, end to end: certificates made by the
// `openssl` CLI for each test, a real TLS client (curl) on loopback.
#include <cstdlib>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "serve_fixture.h"

namespace warden::serve_test {
namespace {

using ::testing::HasSubstr;

// What curl got: its exit code, the HTTP status it printed (0 when none), the body and stderr.
struct CurlResult {
  int exit_code = -1;
  int status = 0;
  std::string body;
  std::string error;
};

class ServeTlsTest : public ServeTest {
 protected:
  // Runs a shell command line; its exit code.
  int Shell(const std::string& command) {
    int status = std::system(command.c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  // A self-signed server certificate for 127.0.0.1, and its key: server.pem, server.key.
  void MakeServerCertificate() {
    ASSERT_EQ(Shell(fmt::format(
                  "cd '{}' && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
                  "-nodes -keyout server.key -out server.pem -days 2 -subj /CN=127.0.0.1 "
                  "-addext subjectAltName=IP:127.0.0.1 2>openssl.log",
                  dir().path())),
              0)
        << ReadFile(dir() / "openssl.log");
  }

  // A CA (ca.pem) and a client certificate it signed (client.pem, client.key).
  void MakeClientCertificate() {
    ASSERT_EQ(Shell(fmt::format(
                  "cd '{}' && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
                  "-nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=warden-test-ca "
                  "2>openssl.log && openssl req -newkey ec -pkeyopt "
                  "ec_paramgen_curve:prime256v1 -nodes -keyout client.key -out client.csr "
                  "-subj /CN=client 2>>openssl.log && openssl x509 -req -in client.csr -CA ca.pem "
                  "-CAkey ca.key -CAcreateserial -out client.pem -days 2 2>>openssl.log",
                  dir().path())),
              0)
        << ReadFile(dir() / "openssl.log");
  }

  // curl `url` with `options`, never through a proxy.
  CurlResult Curl(const std::string& options, const std::string& url) {
    std::string out = dir() / "curl.out";
    std::string err = dir() / "curl.err";
    CurlResult result;
    std::string status = dir() / "curl.status";
    result.exit_code = Shell(fmt::format(
        "curl -sS --noproxy '*' --max-time 20 {} -o '{}' -w '%{{http_code}}' '{}' >'{}' 2>'{}'",
        options, out, url, status, err));
    result.status = std::atoi(ReadFile(status).c_str());
    result.body = ReadFile(out);
    result.error = ReadFile(err);
    return result;
  }

  std::string Url(std::string_view scheme, std::string_view path) {
    return fmt::format("{}://127.0.0.1:{}{}", scheme, server().port(), path);
  }
};

TEST_F(ServeTlsTest, ServesHttpsToAClientThatTrustsItsCertificate) {
  ASSERT_NO_FATAL_FAILURE(MakeServerCertificate());
  ASSERT_NO_FATAL_FAILURE(
      Start({"--tls-cert", dir() / "server.pem", "--tls-key", dir() / "server.key"}));
  std::string trust = fmt::format("--cacert '{}'", dir() / "server.pem");

  CurlResult health = Curl(trust, Url("https", "/healthz"));
  // A deferred answer over TLS: the run, and the watch on the client meanwhile.
  CurlResult exec = Curl(
      trust +
          R"( -H 'Content-Type: application/json' -d '{"language": "bash", "code": "echo over tls"}')",
      Url("https", "/v1/exec"));
  CurlResult head = Curl(trust + " -I", Url("https", "/healthz"));
  CurlResult untrusted = Curl("", Url("https", "/healthz"));
  CurlResult plain = Curl("", Url("http", "/healthz"));

  EXPECT_EQ(health.exit_code, 0) << health.error;
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.body, R"({"status":"ok"})");
  EXPECT_EQ(exec.status, 200) << exec.error;
  EXPECT_THAT(exec.body, HasSubstr(R"("stdout":"over tls\n")"));
  EXPECT_EQ(head.status, 200) << head.error;
  EXPECT_EQ(untrusted.exit_code, 60)
      << "curl trusted a certificate it should not: " << untrusted.error;
  EXPECT_NE(plain.exit_code, 0) << "plain HTTP was answered on the TLS port";
  EXPECT_EQ(plain.status, 0);
  // The server serves on after the failed handshakes.
  EXPECT_EQ(Curl(trust, Url("https", "/healthz")).status, 200);
}

TEST_F(ServeTlsTest, ClientCertificatesAreRequiredWithAClientCa) {
  ASSERT_NO_FATAL_FAILURE(MakeServerCertificate());
  ASSERT_NO_FATAL_FAILURE(MakeClientCertificate());
  ASSERT_NO_FATAL_FAILURE(Start({"--tls-cert", dir() / "server.pem", "--tls-key",
                                 dir() / "server.key", "--tls-client-ca", dir() / "ca.pem"}));
  std::string trust = fmt::format("--cacert '{}'", dir() / "server.pem");

  CurlResult anonymous = Curl(trust, Url("https", "/healthz"));
  CurlResult self_made = Curl(
      fmt::format("{} --cert '{}' --key '{}'", trust, dir() / "server.pem", dir() / "server.key"),
      Url("https", "/healthz"));
  CurlResult known = Curl(
      fmt::format("{} --cert '{}' --key '{}'", trust, dir() / "client.pem", dir() / "client.key"),
      Url("https", "/healthz"));

  EXPECT_NE(anonymous.exit_code, 0) << "served a client without a certificate";
  EXPECT_EQ(anonymous.status, 0);
  EXPECT_NE(self_made.exit_code, 0) << "served a client whose certificate the CA did not sign";
  EXPECT_EQ(known.exit_code, 0) << known.error;
  EXPECT_EQ(known.status, 200);
}

TEST_F(ServeTlsTest, BadTlsFlagsStopTheServerWithAMessage) {
  ASSERT_NO_FATAL_FAILURE(MakeServerCertificate());
  std::vector<std::string> env = {"HOME=" + (dir() / "home")};
  std::string data = dir() / "data";

  Exit key_missing = RunWarden(
      {"serve", "--listen", "127.0.0.1:0", "--data-dir", data, "--tls-cert", dir() / "server.pem"},
      env);
  Exit no_such_file =
      RunWarden({"serve", "--listen", "127.0.0.1:0", "--data-dir", data, "--tls-cert",
                 dir() / "missing.pem", "--tls-key", dir() / "server.key"},
                env);
  Exit wrong_key = RunWarden({"serve", "--listen", "127.0.0.1:0", "--data-dir", data, "--tls-cert",
                              dir() / "server.pem", "--tls-key", dir() / "server.pem"},
                             env);

  EXPECT_EQ(key_missing.code, 2);
  EXPECT_THAT(key_missing.err, HasSubstr("--tls-cert and --tls-key go together"));
  EXPECT_EQ(no_such_file.code, 2);
  EXPECT_THAT(no_such_file.err, HasSubstr("missing.pem"));
  EXPECT_EQ(wrong_key.code, 2);
  EXPECT_THAT(wrong_key.err, HasSubstr("TLS private key"));
}

}  // namespace
}  // namespace warden::serve_test
