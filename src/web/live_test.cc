// The live channel over a real WebSocket: a real HTTP server on loopback, a real SQLite store, a
// Beast WebSocket client. Keys: "key-alice" acts as alice, "key-bob" as bob.
#include "web/live.h"

#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <gtest/gtest.h>

#include "api/http.h"
#include "api/router.h"
#include "base/json_text.h"
#include "jobs/sqlite_store.h"

namespace warden::web {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using Tcp = asio::ip::tcp;

// A string member as std::string ("" otherwise); a number as int64_t (-1 otherwise).
std::string S(const json::value& value) {
  return value.is_string() ? std::string(value.get_string()) : "";
}
int64_t I(const json::value& value) {
  return value.is_int64() ? value.get_int64() : -1;
}

class LiveTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char pattern[] = "/tmp/warden-live-test-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = new std::string(pattern);
    auto store = jobs::SqliteStore::Open(jobs::SqliteStoreOptions{*dir_ + "/jobs.db", {}, 2});
    ASSERT_TRUE(store.ok()) << store.error().message();
    store_ = store->release();
    LiveOptions options;
    options.check_key = [](std::string_view key) -> std::optional<std::string> {
      if (key == "key-alice") {
        return "alice";
      }
      if (key == "key-bob") {
        return "bob";
      }
      return std::nullopt;
    };
    options.jobs_poll = std::chrono::milliseconds(20);
    hub_ = new LiveHub(*store_, options);
    router_ = new api::Router();
    hub_->AddRoutes(*router_);
    api::ServerOptions server_options;
    server_options.port = 0;
    auto server = api::HttpServer::Start(
        server_options, [](api::Request& request) { return router_->Handle(request); });
    ASSERT_TRUE(server.ok()) << server.error().message();
    server_ = server->release();
  }

  static void TearDownTestSuite() {
    delete server_;
    delete hub_;
    delete router_;
    delete store_;
    std::filesystem::remove_all(*dir_);
    delete dir_;
  }

  // A connected client (the handshake done).
  struct Client {
    asio::io_context io;
    websocket::stream<Tcp::socket> ws{io};

    void Send(const json::object& message) { ws.write(asio::buffer(SerializeJson(message))); }
    // The next message; a JSON object with "closed": code once the server closed the socket, or
    // with "missing": true when none came in 10 s (a test that waits for a message fails rather
    // than hangs).
    json::object Next() {
      beast::flat_buffer buffer;
      std::optional<boost::system::error_code> result;
      ws.async_read(buffer, [&result](boost::system::error_code ec, size_t) { result = ec; });
      io.restart();
      io.run_for(std::chrono::seconds(10));
      if (!result) {
        ws.next_layer().close();
        io.restart();
        io.run();
        return {{"missing", true}};
      }
      if (*result) {
        return {{"closed", static_cast<int>(ws.reason().code)}};
      }
      return json::parse(beast::buffers_to_string(buffer.data())).as_object();
    }
  };

  static std::unique_ptr<Client> Connect() {
    auto client = std::make_unique<Client>();
    Tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), server_->port());
    client->ws.next_layer().connect(endpoint);
    client->ws.handshake("127.0.0.1", "/v1/live");
    return client;
  }

  // Authenticated as `key`, "ready" read.
  static std::unique_ptr<Client> SignedIn(const std::string& key) {
    auto client = Connect();
    client->Send({{"type", "auth"}, {"key", key}});
    json::object ready = client->Next();
    EXPECT_EQ(S(ready["type"]), "ready") << SerializeJson(ready);
    return client;
  }

  static jobs::Job NewJob(const std::string& owner) {
    auto job = store_->Create(
        jobs::NewJob{owner, jobs::JobKind::kSteps, {{"steps", json::array{}}}, "", "", false});
    EXPECT_TRUE(job.ok());
    return *job;
  }

  static std::string* dir_;
  static jobs::JobStore* store_;
  static LiveHub* hub_;
  static api::Router* router_;
  static api::HttpServer* server_;
};

std::string* LiveTest::dir_ = nullptr;
jobs::JobStore* LiveTest::store_ = nullptr;
LiveHub* LiveTest::hub_ = nullptr;
api::Router* LiveTest::router_ = nullptr;
api::HttpServer* LiveTest::server_ = nullptr;

TEST_F(LiveTest, ASocketThatSubscribesBeforeItAuthenticatesIsClosedAsUnauthorized) {
  auto client = Connect();
  client->Send({{"type", "subscribe"}, {"sub", "s1"}, {"topic", "jobs"}});
  json::object error = client->Next();
  EXPECT_EQ(S(error["code"]), "unauthorized");
  EXPECT_EQ(I(client->Next()["closed"]), kCloseUnauthorized);
}

TEST_F(LiveTest, AKeyThatIsNotValidIsRefusedAndTheSocketClosed) {
  auto client = Connect();
  client->Send({{"type", "auth"}, {"key", "key-mallory"}});
  json::object error = client->Next();
  EXPECT_EQ(S(error["code"]), "unauthorized");
  EXPECT_EQ(S(error["message"]), "the API key is not valid");
  EXPECT_EQ(I(client->Next()["closed"]), kCloseUnauthorized);
}

TEST_F(LiveTest, AMessageThatIsNotJsonGetsAnErrorAndTheSocketStaysOpen) {
  auto client = Connect();
  client->ws.write(asio::buffer(std::string("{not json")));
  EXPECT_EQ(S(client->Next()["code"]), "invalid_argument");
  client->Send({{"type", "auth"}, {"key", "key-alice"}});
  EXPECT_EQ(S(client->Next()["type"]), "ready");
}

TEST_F(LiveTest, ABinaryFrameClosesTheSocketAsUnsupported) {
  auto client = SignedIn("key-alice");
  client->ws.binary(true);
  client->ws.write(asio::buffer(std::string("\x01\x02", 2)));
  EXPECT_EQ(I(client->Next()["closed"]), static_cast<int>(websocket::close_code::bad_payload));
}

TEST_F(LiveTest, AnUnknownTopicAndAnUnknownJobAreErrorsOfTheirSubscription) {
  auto client = SignedIn("key-alice");
  client->Send({{"type", "subscribe"}, {"sub", "s1"}, {"topic", "weather"}});
  json::object topic = client->Next();
  EXPECT_EQ(S(topic["sub"]), "s1");
  EXPECT_EQ(S(topic["code"]), "invalid_argument");
  client->Send({{"type", "subscribe"}, {"sub", "s2"}, {"topic", "job"}, {"job", "j_nothing"}});
  json::object job = client->Next();
  EXPECT_EQ(S(job["sub"]), "s2");
  EXPECT_EQ(S(job["code"]), "not_found");
}

TEST_F(LiveTest, AnotherOwnersJobIsNotFoundLikeAnUnknownOne) {
  jobs::Job bobs = NewJob("bob");
  auto client = SignedIn("key-alice");
  client->Send({{"type", "subscribe"}, {"sub", "s1"}, {"topic", "job"}, {"job", bobs.id}});
  json::object error = client->Next();
  EXPECT_EQ(S(error["code"]), "not_found");
  EXPECT_EQ(S(error["message"]), "no job \"" + bobs.id + "\"");
}

TEST_F(LiveTest, AFollowedJobSendsItsHistoryThenLiveEventsThenEnd) {
  jobs::Job job = NewJob("alice");
  auto client = SignedIn("key-alice");
  client->Send({{"type", "subscribe"}, {"sub", "j"}, {"topic", "job"}, {"job", job.id}});
  json::object first = client->Next();
  EXPECT_EQ(S(first["type"]), "event");
  EXPECT_EQ(S(first["sub"]), "j");
  EXPECT_EQ(S(first["event"].as_object()["type"]), "state");  // "submitted", from the history
  ASSERT_TRUE(store_->AppendEvent(job.id, "output", {{"step", 1}, {"text", "hello\n"}}).ok());
  json::object live = client->Next();
  EXPECT_EQ(S(live["event"].as_object()["data"].as_object()["text"]), "hello\n");
  ASSERT_TRUE(
      store_
          ->Finish(job.id, jobs::FinishRequest{jobs::JobState::kCancelled, "cancelled", "", {}, ""})
          .ok());
  EXPECT_EQ(S(client->Next()["event"].as_object()["type"]), "state");
  json::object end = client->Next();
  EXPECT_EQ(S(end["type"]), "end");
  EXPECT_EQ(S(end["sub"]), "j");
}

TEST_F(LiveTest, TheJobListSaysItChangedWhenTheOwnerSubmitsAJob) {
  auto client = SignedIn("key-bob");
  client->Send({{"type", "subscribe"}, {"sub", "list"}, {"topic", "jobs"}});
  EXPECT_EQ(S(client->Next()["type"]), "jobs_changed");  // at once: the page reads its list now
  NewJob("bob");
  json::object changed = client->Next();
  EXPECT_EQ(S(changed["type"]), "jobs_changed");
  EXPECT_EQ(S(changed["sub"]), "list");
}

TEST_F(LiveTest, APlainGetOfTheLiveChannelIsAnsweredUpgradeRequired) {
  asio::io_context io;
  Tcp::socket socket(io);
  socket.connect(Tcp::endpoint(asio::ip::make_address("127.0.0.1"), server_->port()));
  beast::http::request<beast::http::empty_body> request(beast::http::verb::get, "/v1/live", 11);
  request.set(beast::http::field::host, "127.0.0.1");
  beast::http::write(socket, request);
  beast::flat_buffer buffer;
  beast::http::response<beast::http::string_body> response;
  beast::http::read(socket, buffer, response);
  EXPECT_EQ(response.result_int(), 426);
  EXPECT_EQ(response[beast::http::field::upgrade], "websocket");
}

}  // namespace
}  // namespace warden::web
