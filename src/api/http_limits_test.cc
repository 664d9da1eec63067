// HttpServer under load and abuse, over real loopback HTTP: HEAD, the connection cap, deferred
// answers and clients that leave before them, the priority pool.
#include <sys/resource.h>

#include <chrono>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "api/http.h"
#include "api/http_test_client.h"
#include "api/router.h"

namespace warden::api {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using test::Client;
using test::Gate;
using test::Reply;
using test::StartServer;

// Keeps the responders of deferred requests for the test to answer. Thread-safe.
class Pending {
 public:
  void Add(std::shared_ptr<Responder> responder) {
    {
      std::lock_guard lock(mu_);
      responders_.push_back(std::move(responder));
    }
    cv_.notify_all();
  }
  // The oldest responder not taken yet, waiting up to 10 s for one; null when none came.
  std::shared_ptr<Responder> Take() {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, seconds(10), [this] { return !responders_.empty(); })) {
      return nullptr;
    }
    std::shared_ptr<Responder> first = responders_.front();
    responders_.erase(responders_.begin());
    return first;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::shared_ptr<Responder>> responders_;
};

Response Text(const std::string& text) {
  return Response::Text(200, text);
}

TEST(HttpHeadTest, HeadAnswersCarryTheGetHeadersAndNoBody) {
  Router router;
  router.Add("GET", "/thing", [](Request&) { return Text("the thing itself"); });
  router.Add("GET", "/download", [](Request&) {
    auto sent = std::make_shared<bool>(false);
    return Response::Pull("application/octet-stream",
                          [sent]() -> Result<std::optional<std::string>> {
                            if (std::exchange(*sent, true)) {
                              return std::optional<std::string>();
                            }
                            return std::optional<std::string>("piece");
                          });
  });
  auto server = StartServer([&router](Request& request) { return router.Handle(request); });
  Client client(server->port());

  // One keep-alive connection: a body after any HEAD answer would be read as the next answer.
  ASSERT_TRUE(client.Send("HEAD /thing HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::optional<Reply> thing = client.ReadHead();
  ASSERT_TRUE(client.Send("HEAD /download HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::optional<Reply> download = client.ReadHead();
  ASSERT_TRUE(client.Send("HEAD /missing HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::optional<Reply> missing = client.ReadHead();
  std::optional<Reply> get = client.Request("GET", "/thing");

  ASSERT_TRUE(thing && download && missing && get);
  EXPECT_EQ(thing->status, 200);
  EXPECT_EQ(thing->headers["content-length"], "16");
  EXPECT_EQ(download->status, 200);
  EXPECT_EQ(download->headers["content-type"], "application/octet-stream");
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(get->status, 200);
  EXPECT_EQ(get->body, "the thing itself");
}

TEST(HttpHeadTest, MethodNotAllowedNamesHeadWhereGetIsAllowed) {
  Router router;
  router.Add("GET", "/thing", [](Request&) { return Text("x"); });
  Request request;
  request.method = "DELETE";
  request.path = "/thing";

  Response response = router.Handle(request);

  EXPECT_EQ(response.status, 405);
  EXPECT_EQ(response.headers.Get("Allow"), "GET, HEAD");
}

TEST(HttpConnectionCapTest, AConnectionBeyondTheCapGets503AndTheServerServesOn) {
  ServerOptions options;
  options.max_connections = 2;
  auto server = StartServer([](Request&) { return Text("ok"); }, options);
  auto first = std::make_unique<Client>(server->port());
  Client second(server->port());
  ASSERT_TRUE(first->Request("GET", "/") && second.Request("GET", "/"));

  Client third(server->port());
  std::optional<Reply> refused = third.ReadResponse();  // sent at once, without a request
  bool closed = third.WaitClosed();
  first.reset();
  std::optional<Reply> again;
  for (auto deadline = std::chrono::steady_clock::now() + seconds(10);
       std::chrono::steady_clock::now() < deadline; std::this_thread::sleep_for(milliseconds(20))) {
    Client next(server->port());  // admitted once the server has seen `first` close
    again = next.Request("GET", "/");
    if (again && again->status == 200) {
      break;
    }
  }

  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 503);
  EXPECT_EQ(refused->headers["retry-after"], "1");
  EXPECT_TRUE(refused->close);
  EXPECT_NE(refused->body.find("maximum of 2 connections"), std::string::npos) << refused->body;
  EXPECT_TRUE(closed);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200);
  std::optional<Reply> served_on = second.Request("GET", "/");
  ASSERT_TRUE(served_on);
  EXPECT_EQ(served_on->status, 200);
  EXPECT_EQ(server->max_connections(), 2u);
}

TEST(HttpConnectionCapTest, TheDefaultCapIsBelowTheOpenFilesLimit) {
  auto server = StartServer([](Request&) { return Text("ok"); });
  rlimit limit{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &limit), 0);

  EXPECT_GT(server->max_connections(), 0u);
  EXPECT_LT(server->max_connections(), limit.rlim_cur);
}

TEST(HttpDeferredTest, ADeferredAnswerLeavesTheHandlerThreadFree) {
  Pending pending;
  Router router;
  router.Add("GET", "/slow", [&pending](Request&) {
    return Response::Deferred([&pending](std::shared_ptr<Responder> r) { pending.Add(r); });
  });
  router.Add("GET", "/fast", [](Request&) { return Text("fast"); });
  ServerOptions options;
  options.handler_threads = 1;
  auto server =
      StartServer([&router](Request& request) { return router.Handle(request); }, options);
  Client slow(server->port());
  ASSERT_TRUE(slow.Send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::shared_ptr<Responder> responder = pending.Take();
  ASSERT_NE(responder, nullptr);

  std::optional<Reply> fast = Client(server->port()).Request("GET", "/fast");
  responder->Send(Text("slow, at last"));
  std::optional<Reply> answer = slow.ReadResponse();
  std::optional<Reply> next = slow.Request("GET", "/fast");  // the connection lives on

  ASSERT_TRUE(fast && answer && next);
  EXPECT_EQ(fast->body, "fast");
  EXPECT_EQ(answer->body, "slow, at last");
  EXPECT_EQ(next->body, "fast");
}

TEST(HttpDeferredTest, ARequestPipelinedBehindADeferredOneIsAnsweredAfterIt) {
  Pending pending;
  Router router;
  router.Add("GET", "/slow", [&pending](Request&) {
    return Response::Deferred([&pending](std::shared_ptr<Responder> r) { pending.Add(r); });
  });
  router.Add("GET", "/fast", [](Request&) { return Text("fast"); });
  auto server = StartServer([&router](Request& request) { return router.Handle(request); });
  Client client(server->port());
  ASSERT_TRUE(client.Send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::shared_ptr<Responder> responder = pending.Take();
  ASSERT_NE(responder, nullptr);

  // Read by the server's watch on the client while /slow is pending (or after it), and kept.
  ASSERT_TRUE(client.Send("GET /fast HTTP/1.1\r\nHost: x\r\n\r\n"));
  responder->Send(Text("slow"));
  std::optional<Reply> first = client.ReadResponse();
  std::optional<Reply> second = client.ReadResponse();

  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->body, "slow");
  EXPECT_EQ(second->body, "fast");
}

TEST(HttpDeferredTest, AClientThatLeavesIsReportedToTheDeferredHandler) {
  Pending pending;
  std::promise<void> left;
  std::shared_ptr<ClientWatch> watch;
  auto server = StartServer([&](Request& request) {
    watch = request.client;
    request.client->OnGone([&left] { left.set_value(); });
    return Response::Deferred([&pending](std::shared_ptr<Responder> r) { pending.Add(r); });
  });
  auto client = std::make_unique<Client>(server->port());
  ASSERT_TRUE(client->Send("GET /long HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::shared_ptr<Responder> responder = pending.Take();
  ASSERT_NE(responder, nullptr);

  client.reset();

  EXPECT_EQ(left.get_future().wait_for(seconds(10)), std::future_status::ready);
  EXPECT_TRUE(watch->gone());
  responder->Send(Text("nobody reads this"));  // dropped, harmlessly
}

TEST(HttpDeferredTest, AResponderDroppedUnansweredSends500) {
  auto server =
      StartServer([](Request&) { return Response::Deferred([](std::shared_ptr<Responder>) {}); });
  Client client(server->port());

  std::optional<Reply> reply = client.Request("GET", "/");

  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 500);
}

TEST(HttpPriorityTest, PriorityPathsAnswerWhileEveryHandlerThreadIsBusy) {
  Gate gate;
  Router router;
  router.Add("GET", "/busy", [&gate](Request&) {
    gate.Wait();
    return Text("done");
  });
  router.Add("GET", "/healthz", [](Request&) { return Text("ok"); });
  ServerOptions options;
  options.handler_threads = 2;
  options.priority_paths = {"/healthz"};
  auto server =
      StartServer([&router](Request& request) { return router.Handle(request); }, options);
  std::vector<std::unique_ptr<Client>> busy;
  for (int i = 0; i < 3; ++i) {
    busy.push_back(std::make_unique<Client>(server->port()));
    ASSERT_TRUE(busy.back()->Send("GET /busy HTTP/1.1\r\nHost: x\r\n\r\n"));
  }

  std::optional<Reply> health = Client(server->port()).Request("GET", "/healthz");
  gate.Open();

  ASSERT_TRUE(health) << "GET /healthz waited behind the busy handler threads";
  EXPECT_EQ(health->body, "ok");
  for (auto& client : busy) {
    std::optional<Reply> done = client->ReadResponse();
    ASSERT_TRUE(done);
    EXPECT_EQ(done->body, "done");
  }
}

}  // namespace
}  // namespace warden::api
