// HttpServer over real loopback HTTP, with a small blocking client written for these tests.
#include "api/http.h"

#include <atomic>

#include <gtest/gtest.h>

#include "api/http_test_client.h"
#include "api/router.h"

namespace warden::api {
namespace {

using std::chrono::seconds;
using test::Client;
using test::ParseJson;
using test::Reply;
using test::StartServer;

// Echoes what the handler saw, as JSON.
Response Echo(Request& request) {
  json::object query;
  for (const auto& [key, value] : request.query) {
    query[key] = value;
  }
  json::object seen{{"method", request.method},
                    {"path", request.path},
                    {"query", query},
                    {"body", request.body},
                    {"tag", request.headers.Get("x-tag")},
                    {"id", request.request_id}};
  return Response::Json(200, seen);
}

TEST(HttpServerTest, GetAndPostRoundTripJson) {
  auto server = StartServer(Echo);
  Client client(server->port());
  ASSERT_TRUE(client.connected());

  std::optional<Reply> get = client.Request("GET", "/v1/things", "", "X-Tag: first\r\n");
  std::optional<Reply> post = client.Request("POST", "/v1/things", R"({"goal":"list files"})");

  ASSERT_TRUE(get && post);
  EXPECT_EQ(get->status, 200);
  EXPECT_EQ(get->headers["content-type"], "application/json");
  EXPECT_EQ(get->headers["server"], "warden");
  EXPECT_EQ(get->headers["content-length"], std::to_string(get->body.size()));
  json::value seen = ParseJson(get->body);
  EXPECT_EQ(seen.at("method").as_string(), "GET");
  EXPECT_EQ(seen.at("tag").as_string(), "first");
  EXPECT_EQ(seen.at("id").as_string(), get->headers["x-request-id"]);
  EXPECT_EQ(ParseJson(ParseJson(post->body).at("body").as_string().c_str()).at("goal").as_string(),
            "list files");
  EXPECT_NE(get->headers["x-request-id"], post->headers["x-request-id"]);
}

TEST(HttpServerTest, KeepsAPlainRequestIdFromTheClient) {
  auto server = StartServer(Echo);
  Client client(server->port());
  std::optional<Reply> kept = client.Request("GET", "/", "", "X-Request-Id: trace-123\r\n");
  std::optional<Reply> replaced = client.Request("GET", "/", "", "X-Request-Id: a b\r\n");
  ASSERT_TRUE(kept && replaced);
  EXPECT_EQ(kept->headers["x-request-id"], "trace-123");
  EXPECT_NE(replaced->headers["x-request-id"], "a b");
}

TEST(HttpServerTest, DecodesPathAndQuery) {
  auto server = StartServer(Echo);
  Client client(server->port());
  std::optional<Reply> reply = client.Request("GET", "/files/a%20b%2Fc?q=x%26y+z&n=1");
  ASSERT_TRUE(reply);
  json::value seen = ParseJson(reply->body);
  EXPECT_EQ(seen.at("path").as_string(), "/files/a b/c");
  EXPECT_EQ(seen.at("query").at("q").as_string(), "x&y z");
  EXPECT_EQ(seen.at("query").at("n").as_string(), "1");
}

TEST(HttpServerTest, BadEscapeInTargetIs400) {
  auto server = StartServer(Echo);
  Client client(server->port());
  std::optional<Reply> reply = client.Request("GET", "/files/%zz");
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 400);
}

TEST(HttpServerTest, KeepAliveAndPipeliningServeManyRequestsOnOneConnection) {
  auto server = StartServer(Echo);
  Client client(server->port());
  for (int i = 0; i < 5; ++i) {
    std::optional<Reply> reply = client.Request("GET", "/one?i=" + std::to_string(i));
    ASSERT_TRUE(reply) << i;
    EXPECT_FALSE(reply->close);
    EXPECT_EQ(ParseJson(reply->body).at("query").at("i").as_string(), std::to_string(i));
  }
  // Three requests in one packet: answered in order.
  ASSERT_TRUE(
      client.Send("GET /p?i=a HTTP/1.1\r\nHost: x\r\n\r\nGET /p?i=b HTTP/1.1\r\nHost: x\r\n\r\n"
                  "POST /p?i=c HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nok"));
  for (std::string expected : {"a", "b", "c"}) {
    std::optional<Reply> reply = client.ReadResponse();
    ASSERT_TRUE(reply);
    EXPECT_EQ(ParseJson(reply->body).at("query").at("i").as_string(), expected);
  }
}

TEST(HttpServerTest, ConnectionCloseIsHonored) {
  auto server = StartServer(Echo);
  Client client(server->port());
  std::optional<Reply> reply = client.Request("GET", "/", "", "Connection: close\r\n");
  ASSERT_TRUE(reply);
  EXPECT_TRUE(reply->close);
  EXPECT_TRUE(client.WaitClosed());
}

TEST(HttpServerTest, RouterAnswers404And405) {
  Router router;
  router.Add("GET", "/v1/jobs/{id}", [](Request& request) {
    return Response::Json(200, json::object{{"id", request.params["id"]}});
  });
  auto server = StartServer([router](Request& request) { return router.Handle(request); });
  Client client(server->port());
  std::optional<Reply> found = client.Request("GET", "/v1/jobs/j%201");
  std::optional<Reply> missing = client.Request("GET", "/v1/nope");
  std::optional<Reply> wrong_method = client.Request("DELETE", "/v1/jobs/1");
  ASSERT_TRUE(found && missing && wrong_method);
  EXPECT_EQ(ParseJson(found->body).at("id").as_string(), "j 1");
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(ParseJson(missing->body).at("error").at("code").as_string(), "not_found");
  EXPECT_EQ(wrong_method->status, 405);
  EXPECT_EQ(wrong_method->headers["allow"], "GET, HEAD");
}

TEST(HttpServerTest, OversizedBodyGets413BeforeItIsSent) {
  std::atomic<int> handled{0};
  std::atomic<int> reported_status{0};
  ServerOptions options;
  options.on_request = [&](const Request&, int status, std::chrono::microseconds) {
    reported_status = status;
  };
  auto server = StartServer(
      [&](Request&) {
        ++handled;
        return Response::Text(200, "no");
      },
      options);
  Client client(server->port());
  // 100 MB announced, a few bytes sent: the answer must come from the header alone.
  ASSERT_TRUE(
      client.Send("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\nabc"));
  std::optional<Reply> reply = client.ReadResponse();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 413);
  EXPECT_TRUE(reply->close);
  EXPECT_EQ(ParseJson(reply->body).at("error").at("code").as_string(), "payload_too_large");
  EXPECT_EQ(handled, 0);
  EXPECT_EQ(reported_status, 413);
  EXPECT_TRUE(client.WaitClosed());
}

TEST(HttpServerTest, ChunkedBodyOverTheLimitGets413) {
  ServerOptions options;
  options.max_body_bytes = 1000;
  auto server = StartServer(Echo, options);
  Client client(server->port());
  std::string chunk(800, 'x');
  ASSERT_TRUE(
      client.Send("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n320\r\n" +
                  chunk + "\r\n320\r\n" + chunk + "\r\n0\r\n\r\n"));
  std::optional<Reply> reply = client.ReadResponse();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 413);
}

TEST(HttpServerTest, ExpectContinueGetsTheBodySent) {
  auto server = StartServer(Echo);
  Client client(server->port());
  ASSERT_TRUE(client.Send(
      "POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"));
  std::optional<Reply> interim = client.ReadHead();
  ASSERT_TRUE(interim);
  EXPECT_EQ(interim->status, 100);
  ASSERT_TRUE(client.Send("hello"));
  std::optional<Reply> reply = client.ReadResponse();
  ASSERT_TRUE(reply);
  EXPECT_EQ(ParseJson(reply->body).at("body").as_string(), "hello");
}

TEST(HttpServerTest, MalformedRequestGets400AndClose) {
  auto server = StartServer(Echo);
  Client client(server->port());
  ASSERT_TRUE(client.Send("THIS IS NOT HTTP\r\n\r\n"));
  std::optional<Reply> reply = client.ReadResponse();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 400);
  EXPECT_EQ(ParseJson(reply->body).at("error").at("code").as_string(), "bad_request");
  EXPECT_TRUE(client.WaitClosed());
}

TEST(HttpServerTest, OversizedHeaderGets431) {
  ServerOptions options;
  options.max_header_bytes = 4096;
  auto server = StartServer(Echo, options);
  Client client(server->port());
  std::optional<Reply> reply =
      client.Request("GET", "/", "", "X-Big: " + std::string(8000, 'a') + "\r\n");
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 431);
}

TEST(HttpServerTest, HandlerExceptionBecomes500Json) {
  auto server = StartServer([](Request&) -> Response { throw std::runtime_error("boom"); });
  Client client(server->port());
  std::optional<Reply> first = client.Request("GET", "/");
  std::optional<Reply> second = client.Request("GET", "/");  // the server is still there
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->status, 500);
  EXPECT_EQ(first->headers["content-type"], "application/json");
  EXPECT_EQ(ParseJson(first->body).at("error").at("code").as_string(), "internal");
  EXPECT_EQ(second->status, 500);
}

TEST(HttpServerTest, Http10ClientGetsLengthAndClose) {
  auto server = StartServer(Echo);
  Client client(server->port());
  ASSERT_TRUE(client.Send("GET /old HTTP/1.0\r\n\r\n"));
  std::optional<Reply> reply = client.ReadResponse();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 200);
  EXPECT_TRUE(client.WaitClosed());
}

TEST(HttpServerTest, IdleConnectionIsClosedAfterTheTimeout) {
  ServerOptions options;
  options.idle_timeout = seconds(1);
  auto server = StartServer(Echo, options);
  Client client(server->port());
  ASSERT_TRUE(client.Request("GET", "/"));
  EXPECT_TRUE(client.WaitClosed());  // well before the client's own 10 s
}

}  // namespace
}  // namespace warden::api
