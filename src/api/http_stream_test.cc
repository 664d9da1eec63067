// Streamed responses over real loopback HTTP: pulled downloads, SSE streams, Stop() with work in
// flight, many clients at once.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <future>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "api/http.h"
#include "api/http_test_client.h"

namespace warden::api {
namespace {

using std::chrono::seconds;
using test::Client;
using test::ParseJson;
using test::Reply;
using test::ResidentKib;
using test::StartServer;

// AddressSanitizer keeps freed memory in quarantine: resident memory says nothing there.
#ifdef __SANITIZE_ADDRESS__
constexpr bool kMeasuresMemory = false;
#else
constexpr bool kMeasuresMemory = true;
#endif

// A body producer of `total` bytes in 64 KiB pieces, made on the fly.
BodyPuller Counting(size_t total, std::atomic<size_t>* pieces) {
  auto sent = std::make_shared<size_t>(0);
  return [total, sent, pieces]() -> Result<std::optional<std::string>> {
    if (*sent == total) {
      return std::optional<std::string>();
    }
    size_t n = std::min<size_t>(64 << 10, total - *sent);
    *sent += n;
    ++*pieces;
    return std::optional<std::string>(std::string(n, static_cast<char>('a' + *pieces % 26)));
  };
}

TEST(HttpServerTest, PulledBodyStreamsFiftyMegabytesInChunks) {
  constexpr size_t kTotal = 50 << 20;
  std::atomic<size_t> pieces{0};
  auto server = StartServer([&](Request&) {
    return Response::Pull("application/octet-stream", Counting(kTotal, &pieces));
  });
  Client client(server->port());
  ASSERT_TRUE(client.Request("GET", "/warm-up"));  // the first connection's allocations
  pieces = 0;
  int64_t before_kib = ResidentKib();

  size_t received = 0;
  ASSERT_TRUE(client.Send("GET /big HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::optional<Reply> reply =
      client.ReadResponse([&](std::string_view bytes) { received += bytes.size(); });

  int64_t growth_kib = ResidentKib() - before_kib;
  ASSERT_TRUE(reply);
  EXPECT_TRUE(reply->chunked);
  EXPECT_EQ(reply->headers["content-type"], "application/octet-stream");
  EXPECT_EQ(received, kTotal);
  EXPECT_EQ(pieces, 800U);
  if (kMeasuresMemory) {
    EXPECT_LT(growth_kib, 20 << 10) << "the server kept the body in memory";
  }
  // The connection stays usable after a pulled body.
  std::optional<Reply> after = client.Request("GET", "/small");
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 200);
}

TEST(HttpServerTest, PullErrorCutsTheBodyShort) {
  auto server = StartServer([](Request&) {
    auto calls = std::make_shared<int>(0);
    return Response::Pull("text/plain", [calls]() -> Result<std::optional<std::string>> {
      if (++*calls == 1) {
        return std::optional<std::string>("first piece");
      }
      return Error(ErrorCode::kDataLoss, "disk went away");
    });
  });
  Client client(server->port());
  ASSERT_TRUE(client.Send("GET /file HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::optional<Reply> head = client.ReadHead();
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(client.ReadChunk(), "first piece");
  EXPECT_EQ(client.ReadChunk(), std::nullopt);  // no last chunk: the connection ended
}

// The streams that handlers started, for a test to write to from its own thread.
class Hub {
 public:
  Handler Follow() {
    return [this](Request&) {
      return Response::EventStream(
          [this](std::shared_ptr<Stream> stream) { Add(std::move(stream)); });
    };
  }

  void Add(std::shared_ptr<Stream> stream) {
    stream->OnClose([this] { ++closed_; });
    std::lock_guard lock(mu_);
    streams_.push_back(std::move(stream));
    cv_.notify_all();
  }

  bool WaitFor(size_t count) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, seconds(10), [&] { return streams_.size() >= count; });
  }

  std::shared_ptr<Stream> stream(size_t i) {
    std::lock_guard lock(mu_);
    return streams_.at(i);
  }

  // Writes to every stream; returns how many took it.
  size_t Broadcast(const std::string& data) {
    std::lock_guard lock(mu_);
    size_t taken = 0;
    for (const std::shared_ptr<Stream>& stream : streams_) {
      taken += stream->Write(data) ? 1 : 0;
    }
    return taken;
  }

  int closed() const { return closed_; }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::shared_ptr<Stream>> streams_;
  std::atomic<int> closed_{0};
};

// Opens a stream and reads its head.
std::unique_ptr<Client> Follow(uint16_t port) {
  auto client = std::make_unique<Client>(port);
  if (!client->Send("GET /events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")) {
    return nullptr;
  }
  std::optional<Reply> head = client->ReadHead();
  if (!head || head->status != 200) {
    return nullptr;
  }
  return client;
}

TEST(HttpStreamTest, EventsWrittenFromAnotherThreadArriveInOrder) {
  Hub hub;
  auto server = StartServer(hub.Follow());
  Client client(server->port());
  ASSERT_TRUE(client.Send("GET /events HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::optional<Reply> head = client.ReadHead();
  ASSERT_TRUE(head);
  EXPECT_EQ(head->headers["content-type"], "text/event-stream");
  EXPECT_EQ(head->headers["cache-control"], "no-cache");
  EXPECT_EQ(head->headers["x-accel-buffering"], "no");
  EXPECT_TRUE(head->chunked);
  ASSERT_TRUE(hub.WaitFor(1));

  std::string expected;
  for (int i = 0; i < 200; ++i) {
    expected += "id: " + std::to_string(i) + "\ndata: {\"n\":" + std::to_string(i) + "}\n\n";
  }
  std::jthread writer([&hub] {
    std::shared_ptr<Stream> stream = hub.stream(0);
    for (int i = 0; i < 200; ++i) {
      stream->Write("id: " + std::to_string(i) + "\ndata: {\"n\":" + std::to_string(i) + "}\n\n");
    }
    stream->Close();
  });

  std::string received;
  while (true) {
    std::optional<std::string> chunk = client.ReadChunk();
    ASSERT_TRUE(chunk) << "the stream broke after " << received.size() << " bytes";
    if (chunk->empty()) {
      break;  // the last chunk: the handler closed the stream
    }
    received += *chunk;
  }
  EXPECT_EQ(received, expected);
  EXPECT_TRUE(client.WaitClosed());
  EXPECT_EQ(hub.closed(), 1);
}

TEST(HttpStreamTest, ServerNoticesAClientThatLeaves) {
  Hub hub;
  auto server = StartServer(hub.Follow());
  std::unique_ptr<Client> client = Follow(server->port());
  ASSERT_TRUE(client && hub.WaitFor(1));
  std::shared_ptr<Stream> stream = hub.stream(0);
  std::promise<void> closed;
  stream->OnClose([&closed] { closed.set_value(); });
  EXPECT_TRUE(stream->Write("data: hi\n\n"));

  client->Close();

  EXPECT_EQ(closed.get_future().wait_for(seconds(1)), std::future_status::ready);
  EXPECT_TRUE(stream->closed());
  EXPECT_FALSE(stream->Write("data: anyone?\n\n"));
}

TEST(HttpStreamTest, IdleStreamGetsPings) {
  Hub hub;
  ServerOptions options;
  options.keepalive_ping = seconds(1);
  auto server = StartServer(hub.Follow(), options);
  std::unique_ptr<Client> client = Follow(server->port());
  ASSERT_TRUE(client);
  EXPECT_EQ(client->ReadChunk(), ": ping\n\n");
}

TEST(HttpStreamTest, ClientThatFallsBehindIsDropped) {
  Hub hub;
  ServerOptions options;
  options.max_stream_queue_bytes = 64 << 10;
  auto server = StartServer(hub.Follow(), options);
  std::unique_ptr<Client> client = Follow(server->port());  // and never reads again
  ASSERT_TRUE(client && hub.WaitFor(1));
  std::shared_ptr<Stream> stream = hub.stream(0);

  // However large the kernel's socket buffers, 256 MB do not fit.
  std::string event = "data: " + std::string(16 << 10, 'x') + "\n\n";
  int writes = 0;
  while (writes < 16384 && stream->Write(event)) {
    ++writes;
  }

  EXPECT_LT(writes, 16384);
  EXPECT_TRUE(stream->closed());
  EXPECT_TRUE(client->WaitClosed());
  EXPECT_EQ(hub.closed(), 1);
}

TEST(HttpStreamTest, BroadcastReachesTwoHundredClients) {
  Hub hub;
  auto server = StartServer(hub.Follow());
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 200; ++i) {
    clients.push_back(Follow(server->port()));
    ASSERT_TRUE(clients.back()) << i;
  }
  ASSERT_TRUE(hub.WaitFor(200));

  EXPECT_EQ(hub.Broadcast("event: job\ndata: {\"state\":\"done\"}\n\n"), 200U);

  for (auto& client : clients) {
    EXPECT_EQ(client->ReadChunk(), "event: job\ndata: {\"state\":\"done\"}\n\n");
  }
}

TEST(HttpStreamTest, OneIoThreadHoldsAThousandFollowersAndStillAnswers) {
  Hub hub;
  ServerOptions options;
  options.io_threads = 1;
  auto server = StartServer(
      [&hub](Request& request) {
        return request.path == "/events" ? hub.Follow()(request) : Response::Text(200, "pong");
      },
      options);
  int64_t before_kib = ResidentKib();

  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 1000; ++i) {
    clients.push_back(Follow(server->port()));
    ASSERT_TRUE(clients.back()) << i;
  }
  ASSERT_TRUE(hub.WaitFor(1000));
  int64_t growth_kib = ResidentKib() - before_kib;
  Client other(server->port());
  std::optional<Reply> pong = other.Request("GET", "/ping");

  ASSERT_TRUE(pong);
  EXPECT_EQ(pong->body, "pong");
  EXPECT_EQ(hub.Broadcast("data: all\n\n"), 1000U);
  for (auto& client : clients) {
    ASSERT_EQ(client->ReadChunk(), "data: all\n\n");
  }
  // Server and clients together, in user space; the kernel's socket buffers are not counted.
  std::printf("1000 followers: resident memory grew by %s KiB\n",
              std::to_string(growth_kib).c_str());
  if (kMeasuresMemory) {
    EXPECT_LT(growth_kib, 32 << 10);
  }
}

TEST(HttpStreamTest, StopWithOpenStreamsReturnsPromptly) {
  Hub hub;
  ServerOptions options;
  options.stop_grace = seconds(60);  // Stop() must not need it: streams are closed at once
  auto server = StartServer(hub.Follow(), options);
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 20; ++i) {
    clients.push_back(Follow(server->port()));
    ASSERT_TRUE(clients.back());
  }
  ASSERT_TRUE(hub.WaitFor(20));

  auto stopped = std::async(std::launch::async, [&server] { server->Stop(); });

  ASSERT_EQ(stopped.wait_for(seconds(10)), std::future_status::ready);
  EXPECT_EQ(hub.closed(), 20);
  EXPECT_EQ(hub.Broadcast("data: late\n\n"), 0U);
  for (auto& client : clients) {
    EXPECT_TRUE(client->WaitClosed());
  }
}

TEST(HttpStreamTest, StreamOutlivesTheServerSafely) {
  Hub hub;
  auto server = StartServer(hub.Follow());
  std::unique_ptr<Client> client = Follow(server->port());
  ASSERT_TRUE(client && hub.WaitFor(1));
  server.reset();
  EXPECT_FALSE(hub.stream(0)->Write("data: gone\n\n"));
  hub.stream(0)->Close();
  bool called = false;
  hub.stream(0)->OnClose([&called] { called = true; });
  EXPECT_TRUE(called);
}

TEST(HttpServerStopTest, StopLetsARunningHandlerAnswer) {
  std::promise<void> entered;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  ServerOptions options;
  options.stop_grace = seconds(60);
  auto server = StartServer(
      [&](Request&) {
        entered.set_value();
        released.wait();
        return Response::Text(200, "finished");
      },
      options);
  Client client(server->port());
  ASSERT_TRUE(client.Send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_EQ(entered.get_future().wait_for(seconds(10)), std::future_status::ready);

  auto stopped = std::async(std::launch::async, [&server] { server->Stop(); });
  // Stop() waits for the handler (a bounded wait: this only checks it does not return early).
  EXPECT_EQ(stopped.wait_for(std::chrono::milliseconds(200)), std::future_status::timeout);
  release.set_value();
  std::optional<Reply> reply = client.ReadResponse();

  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->body, "finished");
  EXPECT_TRUE(client.WaitClosed());
  EXPECT_EQ(stopped.wait_for(seconds(10)), std::future_status::ready);
  Client late(server->port());
  EXPECT_FALSE(late.connected());
}

TEST(HttpServerLoadTest, EightClientsTwoHundredRequestsEach) {
  ServerOptions options;
  options.io_threads = 2;
  auto server = StartServer(
      [](Request& request) {
        return Response::Json(200, json::object{{"n", request.query["n"]}, {"body", request.body}});
      },
      options);
  std::atomic<int> correct{0};
  std::vector<std::jthread> threads;
  threads.reserve(8);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      auto client = std::make_unique<Client>(server->port());
      for (int i = 0; i < 200; ++i) {
        if (i % 50 == 49) {
          client = std::make_unique<Client>(server->port());  // some fresh connections too
        }
        std::string n = std::to_string(t * 1000 + i);
        std::optional<Reply> reply = i % 2 == 0 ? client->Request("GET", "/n?n=" + n)
                                                : client->Request("POST", "/n?n=" + n, n);
        if (reply && reply->status == 200 && ParseJson(reply->body).at("n").as_string() == n) {
          ++correct;
        }
      }
    });
  }
  threads.clear();
  EXPECT_EQ(correct, 8 * 200);
}

}  // namespace
}  // namespace warden::api
