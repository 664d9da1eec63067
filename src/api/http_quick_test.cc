// The quick handler of HttpServer (ServerOptions::quick): answers on the I/O thread, without the
// handler pool, and what it leaves to the pool.
#include <future>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "api/http.h"
#include "api/http_test_client.h"

namespace warden::api {
namespace {

using test::Client;
using test::Gate;
using test::Reply;
using test::StartServer;

// A server with one handler thread. Its quick handler answers /quick, throws for /throws and
// leaves the rest to the pool, where /block waits for `gate`. Both record the thread that ran
// them, by path.
class QuickServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerOptions options;
    options.handler_threads = 1;
    options.quick = [this](Request& request) -> std::optional<Response> {
      Record(quick_threads_, request.path);
      if (request.path == "/throws") {
        throw std::runtime_error("broken");
      }
      if (request.path == "/quick") {
        return Response::Text(200, "quick");
      }
      return std::nullopt;
    };
    server_ = StartServer(
        [this](Request& request) {
          Record(pool_threads_, request.path);
          if (request.path == "/block") {
            blocked_.set_value();
            gate_.Wait();
          }
          return Response::Text(200, "pool");
        },
        options);
    ASSERT_TRUE(server_);
  }

  void TearDown() override { gate_.Open(); }

  void Record(std::map<std::string, std::thread::id>& threads, const std::string& path) {
    std::lock_guard lock(mu_);
    threads[path] = std::this_thread::get_id();
  }
  std::thread::id ThreadOf(const std::map<std::string, std::thread::id>& threads,
                           const std::string& path) {
    std::lock_guard lock(mu_);
    auto it = threads.find(path);
    return it == threads.end() ? std::thread::id() : it->second;
  }

  Gate gate_;
  std::promise<void> blocked_;
  std::mutex mu_;
  std::map<std::string, std::thread::id> quick_threads_;  // guarded by mu_
  std::map<std::string, std::thread::id> pool_threads_;   // guarded by mu_
  std::unique_ptr<HttpServer> server_;  // last: stopped before what its handlers use goes
};

TEST_F(QuickServerTest, AQuickAnswerComesWhileTheOnlyHandlerThreadIsBlocked) {
  Client blocker(server_->port());
  ASSERT_TRUE(blocker.Send("GET /block HTTP/1.1\r\nHost: x\r\n\r\n"));
  blocked_.get_future().wait();  // the one handler thread now waits for the gate

  std::optional<Reply> quick = Client(server_->port()).Request("GET", "/quick");
  gate_.Open();

  ASSERT_TRUE(quick) << "GET /quick waited for the blocked handler thread";
  EXPECT_EQ(quick->status, 200);
  EXPECT_EQ(quick->body, "quick");
  EXPECT_EQ(ThreadOf(pool_threads_, "/quick"), std::thread::id()) << "the pool ran it too";
  std::optional<Reply> blocked = blocker.ReadResponse();
  ASSERT_TRUE(blocked);
  EXPECT_EQ(blocked->body, "pool");
}

TEST_F(QuickServerTest, ARequestTheQuickHandlerLeavesIsAnsweredOnTheHandlerPool) {
  gate_.Open();
  Client client(server_->port());
  std::optional<Reply> block = client.Request("GET", "/block");
  std::optional<Reply> left = client.Request("POST", "/v1/jobs", R"({"steps":[]})");

  ASSERT_TRUE(block && left);
  EXPECT_EQ(left->status, 200);
  EXPECT_EQ(left->body, "pool");
  // The quick handler saw it first, on an I/O thread; the one pool thread answered it.
  std::thread::id pool_thread = ThreadOf(pool_threads_, "/block");
  EXPECT_NE(ThreadOf(quick_threads_, "/v1/jobs"), std::thread::id());
  EXPECT_NE(ThreadOf(quick_threads_, "/v1/jobs"), pool_thread);
  EXPECT_EQ(ThreadOf(pool_threads_, "/v1/jobs"), pool_thread);
}

TEST_F(QuickServerTest, AQuickHandlerThatThrowsGets500AndTheConnectionGoesOn) {
  Client client(server_->port());
  std::optional<Reply> failed = client.Request("GET", "/throws");
  std::optional<Reply> next = client.Request("GET", "/quick");

  ASSERT_TRUE(failed && next);
  EXPECT_EQ(failed->status, 500);
  EXPECT_EQ(next->body, "quick");
  EXPECT_EQ(ThreadOf(pool_threads_, "/throws"), std::thread::id());
}

}  // namespace
}  // namespace warden::api
