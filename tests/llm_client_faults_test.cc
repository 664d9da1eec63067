// The LLM clients (llm::MakeClient) against a misbehaving FakeLlm: error statuses, Retry-After,
// stalls, dropped and truncated streams, bad JSON, a server that rejects tools, cancellation and
// an unreachable server; every wire, streamed and not. Replies and requests are in
// llm_client_test.cc.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <ostream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "base/json.h"
#include "base/unique_fd.h"
#include "fake_llm.h"
#include "llm/client.h"
#include "llm_wire_cases.h"

namespace warden::llm {
namespace {

namespace fake = warden::testing;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

constexpr std::string_view kText = "All good: this answer arrives in several pieces.";

bool Contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

ChatRequest Greeting() {
  ChatRequest request;
  request.messages.resize(2);
  request.messages[0].role = Role::kSystem;
  request.messages[0].content = "You are terse.";
  request.messages[1].role = Role::kUser;
  request.messages[1].content = "Say hello.";
  return request;
}

// A client of the fake on this test's wire, with short timeouts and quick retries; the observer
// records every retry.
class FaultTest : public ::testing::TestWithParam<WireCase> {
 protected:
  struct Retry {
    int attempt;
    milliseconds wait;
    std::string why;
    Clock::time_point at;
  };

  FaultTest() : fake_(GetParam().fake_wire) {}

  Wire wire() const { return GetParam().wire; }
  bool stream() const { return GetParam().stream; }

  ProviderConfig Config() const {
    ProviderConfig config;
    config.provider = wire() == Wire::kOpenAi   ? "openai-compatible"
                      : wire() == Wire::kOllama ? "ollama"
                                                : "anthropic";
    config.wire = wire();
    config.model = "fake-model";
    config.base_url = fake_.BaseUrl();
    config.api_key = "sk-test-SECRET";
    config.api_key_source = "TEST_API_KEY";
    config.stream = stream();
    config.connect_timeout = milliseconds(2'000);
    config.idle_timeout = milliseconds(1'000);
    config.max_retries = 2;
    config.retry_base = milliseconds(20);
    config.retry_cap = milliseconds(5'000);
    return config;
  }

  Result<ChatResponse> Chat(Client& client) {
    ChatObserver observer;
    observer.on_delta = [this](DeltaKind kind, std::string_view piece) {
      if (kind == DeltaKind::kText) {
        text_ += piece;
      }
    };
    observer.on_retry = [this](int attempt, milliseconds wait, const std::string& why) {
      retries_.push_back({attempt, wait, why, Clock::now()});
      if (cancel_on_retry_) {
        cancel_ = true;
      }
    };
    return client.Chat(Greeting(), observer, &cancel_);
  }

  Result<ChatResponse> Chat() {
    auto client = MakeClient(Config());
    return Chat(*client);
  }

  // Chat requests the fake received (Ollama's /api/show not counted).
  size_t ChatRequests() const {
    std::string_view path = wire() == Wire::kOpenAi   ? "/v1/chat/completions"
                            : wire() == Wire::kOllama ? "/api/chat"
                                                      : "/v1/messages";
    size_t count = 0;
    for (const fake::RecordedRequest& request : fake_.Requests()) {
      count += request.path == path ? 1 : 0;
    }
    return count;
  }

  // Expects the fault to be retried once, then the answer to arrive whole.
  void ExpectRetriedThenAnswered(const Result<ChatResponse>& response) {
    ASSERT_TRUE(response.ok()) << response.error().ToString();
    EXPECT_EQ(response->content, kText);
    EXPECT_EQ(retries_.size(), 1u);
    EXPECT_EQ(ChatRequests(), 2u);
  }

  fake::FakeLlm fake_;
  std::atomic<bool> cancel_{false};
  bool cancel_on_retry_ = false;
  std::string text_;
  std::vector<Retry> retries_;
};

INSTANTIATE_TEST_SUITE_P(Wires, FaultTest, ::testing::ValuesIn(kAllCases), CaseName);

// Error statuses.

TEST_P(FaultTest, RateLimitIsRetriedAfterTheWaitTheServerAsks) {
  fake_.Script({fake::ErrorReply(429, 1), fake::TextReply(std::string(kText))});
  Clock::time_point start = Clock::now();

  Result<ChatResponse> response = Chat();

  milliseconds elapsed = std::chrono::duration_cast<milliseconds>(Clock::now() - start);
  ExpectRetriedThenAnswered(response);
  ASSERT_EQ(retries_.size(), 1u);
  EXPECT_EQ(retries_[0].wait, milliseconds(1'000));
  EXPECT_TRUE(Contains(retries_[0].why, "429")) << retries_[0].why;
  EXPECT_GE(elapsed, milliseconds(1'000));
}

TEST_P(FaultTest, ServerErrorsAreRetriedWithGrowingBackoff) {
  fake_.Script({fake::ErrorReply(500), fake::ErrorReply(503), fake::TextReply(std::string(kText))});

  Result<ChatResponse> response = Chat();

  ASSERT_TRUE(response.ok()) << response.error().ToString();
  EXPECT_EQ(response->content, kText);
  ASSERT_EQ(retries_.size(), 2u);
  EXPECT_EQ(retries_[0].attempt, 1);
  EXPECT_TRUE(Contains(retries_[0].why, "500")) << retries_[0].why;
  // Jitter picks a wait in [half, all] of retry_base * 2^(attempt - 1).
  EXPECT_GE(retries_[0].wait, milliseconds(10));
  EXPECT_LE(retries_[0].wait, milliseconds(20));
  EXPECT_EQ(retries_[1].attempt, 2);
  EXPECT_TRUE(Contains(retries_[1].why, "503")) << retries_[1].why;
  EXPECT_GE(retries_[1].wait, milliseconds(20));
  EXPECT_LE(retries_[1].wait, milliseconds(40));
}

TEST_P(FaultTest, UnavailableBeyondTheRetriesGivesUpNamingTheStatus) {
  fake_.Script({fake::ErrorReply(503), fake::ErrorReply(503), fake::ErrorReply(503),
                fake::TextReply("never reached")});

  Result<ChatResponse> response = Chat();

  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().code(), ErrorCode::kUnavailable) << response.error().ToString();
  EXPECT_TRUE(Contains(response.error().message(), "503")) << response.error().ToString();
  EXPECT_EQ(ChatRequests(), 3u);  // the first attempt and max_retries more
  EXPECT_EQ(retries_.size(), 2u);
  EXPECT_EQ(fake_.pending_replies(), 1u);
}

TEST_P(FaultTest, RateLimitBeyondTheRetriesIsResourceExhausted) {
  fake_.Script({fake::ErrorReply(429), fake::ErrorReply(429), fake::ErrorReply(429)});

  Result<ChatResponse> response = Chat();

  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().code(), ErrorCode::kResourceExhausted) << response.error().ToString();
  EXPECT_TRUE(Contains(response.error().message(), "429")) << response.error().ToString();
  EXPECT_EQ(ChatRequests(), 3u);
}

TEST_P(FaultTest, RetryAfterBeyondTheCapFailsAtOnceNamingTheWait) {
  fake_.Script({fake::ErrorReply(429, 60), fake::TextReply("never reached")});

  Result<ChatResponse> response = Chat();  // retry_cap is 5 s

  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().code(), ErrorCode::kResourceExhausted) << response.error().ToString();
  EXPECT_TRUE(Contains(response.error().message(), "60 s")) << response.error().ToString();
  EXPECT_TRUE(retries_.empty());
  EXPECT_EQ(ChatRequests(), 1u);
}

TEST_P(FaultTest, WrongKeyFailsAtOnceNamingItsSourceButNotTheKey) {
  fake_.RequireApiKey("sk-test-RIGHT");
  fake_.Script({fake::TextReply("never reached")});

  Result<ChatResponse> response = Chat();

  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().code(), ErrorCode::kUnauthenticated) << response.error().ToString();
  EXPECT_TRUE(Contains(response.error().message(), "TEST_API_KEY")) << response.error().ToString();
  EXPECT_FALSE(Contains(response.error().message(), "SECRET")) << response.error().ToString();
  EXPECT_EQ(ChatRequests(), 1u);
  EXPECT_TRUE(retries_.empty());
}

TEST_P(FaultTest, ForbiddenFailsAtOnce) {
  fake_.Script({fake::ErrorReply(403), fake::TextReply("never reached")});

  Result<ChatResponse> response = Chat();

  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().code(), ErrorCode::kPermissionDenied) << response.error().ToString();
  EXPECT_EQ(ChatRequests(), 1u);
}

TEST_P(FaultTest, NotFoundFailsAtOncePointingAtTheModel) {
  fake_.Script({fake::ErrorReply(404), fake::TextReply("never reached")});

  Result<ChatResponse> response = Chat();

  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().code(), ErrorCode::kNotFound) << response.error().ToString();
  EXPECT_TRUE(Contains(response.error().message(), "--model")) << response.error().ToString();
  if (wire() == Wire::kOllama) {
    EXPECT_TRUE(Contains(response.error().message(), "ollama pull fake-model"))
        << response.error().ToString();
  }
  EXPECT_EQ(ChatRequests(), 1u);
}

TEST_P(FaultTest, BadRequestFailsAtOnceWithTheServersWords) {
  fake_.Script({fake::ErrorReply(400), fake::TextReply("never reached")});

  Result<ChatResponse> response = Chat();

  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().code(), ErrorCode::kInvalidArgument) << response.error().ToString();
  EXPECT_TRUE(Contains(response.error().message(), "fake LLM: scripted error 400"))
      << response.error().ToString();
  EXPECT_EQ(ChatRequests(), 1u);
}

// Broken transfers.

TEST_P(FaultTest, StalledServerIsRetriedAfterTheIdleTimeout) {
  fake_.Script({fake::FakeReply{.text = std::string(kText), .stall = milliseconds(30'000)},
                fake::TextReply(std::string(kText))});

  Result<ChatResponse> response = Chat();  // idle_timeout is 1 s

  ExpectRetriedThenAnswered(response);
}

TEST_P(FaultTest, StallMidStreamIsRetried) {
  fake_.Script({fake::FakeReply{.text = std::string(kText), .stall_mid_stream = true},
                fake::TextReply(std::string(kText))});

  Result<ChatResponse> response = Chat();

  ExpectRetriedThenAnswered(response);
}

TEST_P(FaultTest, DroppedConnectionIsRetried) {
  fake_.Script({fake::FakeReply{.text = std::string(kText), .drop_connection = true},
                fake::TextReply(std::string(kText))});

  Result<ChatResponse> response = Chat();

  ExpectRetriedThenAnswered(response);
}

TEST_P(FaultTest, TruncatedReplyIsRetried) {
  fake_.Script({fake::FakeReply{.text = std::string(kText), .truncate_stream = true},
                fake::TextReply(std::string(kText))});

  Result<ChatResponse> response = Chat();

  ExpectRetriedThenAnswered(response);
}

TEST_P(FaultTest, AlwaysTruncatedReplyGivesUp) {
  auto truncated = fake::FakeReply{.text = std::string(kText), .truncate_stream = true};
  fake_.Script({truncated, truncated, truncated});

  Result<ChatResponse> response = Chat();

  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().code(), ErrorCode::kUnavailable) << response.error().ToString();
  if (stream()) {  // a whole body cut short is merely bad JSON to the client
    EXPECT_TRUE(Contains(response.error().message(), "ended before its end"))
        << response.error().ToString();
  }
  EXPECT_EQ(ChatRequests(), 3u);
}

TEST_P(FaultTest, InvalidJsonIsRetried) {
  fake_.Script({fake::FakeReply{.text = std::string(kText), .invalid_json = true},
                fake::TextReply(std::string(kText))});

  Result<ChatResponse> response = Chat();

  ExpectRetriedThenAnswered(response);
}

TEST_P(FaultTest, AlwaysInvalidJsonGivesUp) {
  auto broken = fake::FakeReply{.text = std::string(kText), .invalid_json = true};
  fake_.Script({broken, broken, broken});

  Result<ChatResponse> response = Chat();

  ASSERT_FALSE(response.ok());
  ErrorCode code = response.error().code();
  EXPECT_TRUE(code == ErrorCode::kDataLoss || code == ErrorCode::kUnavailable)
      << response.error().ToString();
  EXPECT_TRUE(Contains(response.error().message(), "not valid JSON"))
      << response.error().ToString();
  EXPECT_EQ(ChatRequests(), 3u);
}

// The idle timeout is wire-independent (llm/http.cc): one wire shows it.

class IdleTimeoutTest : public FaultTest {};
INSTANTIATE_TEST_SUITE_P(Wires, IdleTimeoutTest, ::testing::Values(kAllCases[0]), CaseName);

TEST_P(IdleTimeoutTest, SilenceIsNoticedAfterTheIdleTimeoutNotLater) {
  fake_.Script({fake::FakeReply{.text = std::string(kText), .stall = milliseconds(30'000)},
                fake::FakeReply{.text = std::string(kText), .stall_mid_stream = true},
                fake::TextReply(std::string(kText))});
  Clock::time_point start = Clock::now();

  Result<ChatResponse> response = Chat();  // idle_timeout is 1 s

  ASSERT_TRUE(response.ok()) << response.error().ToString();
  ASSERT_EQ(retries_.size(), 2u);
  // Generous: libcurl looks at the clock about once a second.
  milliseconds limit = Config().idle_timeout + milliseconds(2'000);
  auto ms = [](Clock::duration d) {
    return std::chrono::duration_cast<milliseconds>(d).count();
  };
  EXPECT_LT(retries_[0].at - start, limit)
      << "silence before the response noticed after " << ms(retries_[0].at - start) << " ms";
  EXPECT_LT(retries_[1].at - retries_[0].at, retries_[0].wait + limit)
      << "silence mid-stream noticed after " << ms(retries_[1].at - retries_[0].at) << " ms";
}

// Cancellation and unreachable servers.

TEST_P(FaultTest, CancelStopsAStalledRequestPromptly) {
  fake_.Script({fake::FakeReply{.text = std::string(kText), .stall = milliseconds(30'000)}});
  ProviderConfig config = Config();
  config.idle_timeout = milliseconds(30'000);  // only the cancellation can end this
  auto client = MakeClient(config);
  Clock::time_point cancelled_at;
  std::jthread canceller([&] {
    // Once the chat request arrived (after /api/show on Ollama), the client is stuck in it.
    EXPECT_TRUE(fake_.WaitForRequests(wire() == Wire::kOllama ? 2 : 1, milliseconds(5'000)));
    cancelled_at = Clock::now();
    cancel_ = true;
  });

  Result<ChatResponse> response = Chat(*client);

  Clock::time_point returned_at = Clock::now();
  canceller.join();
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().code(), ErrorCode::kCancelled) << response.error().ToString();
  EXPECT_LT(returned_at - cancelled_at, milliseconds(1'500));
  EXPECT_TRUE(retries_.empty());
}

TEST_P(FaultTest, CancelDuringTheWaitBeforeARetryStopsIt) {
  fake_.Script({fake::ErrorReply(429, 3), fake::TextReply("never reached")});
  cancel_on_retry_ = true;
  Clock::time_point start = Clock::now();

  Result<ChatResponse> response = Chat();

  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().code(), ErrorCode::kCancelled) << response.error().ToString();
  EXPECT_LT(Clock::now() - start, milliseconds(1'500));  // not the 3 s the server asked for
  EXPECT_EQ(ChatRequests(), 1u);
}

TEST_P(FaultTest, UnreachableServerGivesUpAfterRetriesNamingTheUrl) {
  // A bound socket that does not listen: connections to its port are refused.
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  ASSERT_TRUE(fd.valid());
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  ASSERT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&address), length), 0);
  ASSERT_EQ(::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&address), &length), 0);
  std::string url = "http://127.0.0.1:" + std::to_string(ntohs(address.sin_port));
  ProviderConfig config = Config();
  config.base_url = url + (wire() == Wire::kOpenAi ? "/v1" : "");
  auto client = MakeClient(config);

  Result<ChatResponse> response = Chat(*client);

  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().code(), ErrorCode::kUnavailable) << response.error().ToString();
  EXPECT_TRUE(Contains(response.error().message(), url)) << response.error().ToString();
  EXPECT_EQ(retries_.size(), static_cast<size_t>(config.max_retries))
      << "connection errors are transient: " << response.error().ToString();
}

// A server that refuses tools: the client falls back to tools described in the prompt.

class ToolsRejectedTest : public FaultTest {};
INSTANTIATE_TEST_SUITE_P(Wires, ToolsRejectedTest, ::testing::Values(kAllCases[0], kAllCases[1]),
                         CaseName);

TEST_P(ToolsRejectedTest, ServerWithoutToolSupportSwitchesTheClientToText) {
  fake::FakeReply refusal = fake::ErrorReply(400);
  refusal.error_body = R"({"error":{"message":"registry.ollama.ai/library/gemma3:1b does not )"
                       R"(support tools","type":"api_error","param":null,"code":null}})";
  fake_.Script({refusal, fake::TextReply(std::string(kText)), fake::TextReply("Again.")});
  auto client = MakeClient(Config());
  ChatRequest request = Greeting();
  request.tools.push_back({"list_files", "Lists the files in a directory.",
                           json::object{{"type", "object"}, {"properties", json::object{}}}});
  ChatObserver observer;

  // The refusal comes back as kAborted, so that the caller can describe the tools in its prompt
  // before asking again; from then on requests carry no tools.
  Result<ChatResponse> refused = client->Chat(request, observer, nullptr);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), ErrorCode::kAborted) << refused.error().ToString();
  EXPECT_FALSE(client->native_tools());
  Result<ChatResponse> first = client->Chat(request, observer, nullptr);
  Result<ChatResponse> second = client->Chat(request, observer, nullptr);

  ASSERT_TRUE(first.ok()) << first.error().ToString();
  EXPECT_EQ(first->content, kText);
  ASSERT_TRUE(second.ok()) << second.error().ToString();
  std::vector<json::value> bodies = fake_.ChatBodies();
  ASSERT_EQ(bodies.size(), 3u);
  EXPECT_TRUE(bodies[0].as_object().contains("tools"));
  EXPECT_FALSE(bodies[1].as_object().contains("tools")) << bodies[1];
  EXPECT_FALSE(bodies[2].as_object().contains("tools")) << bodies[2];
}

// Ollama asks /api/show about the model before chatting: a 404 there means no such model.

class OllamaShowTest : public FaultTest {};
INSTANTIATE_TEST_SUITE_P(Wires, OllamaShowTest, ::testing::Values(kAllCases[2], kAllCases[3]),
                         CaseName);

TEST_P(OllamaShowTest, UnknownModelSaysToPullIt) {
  ProviderConfig config = Config();
  config.base_url += "/elsewhere";  // every path 404s, /api/show first
  auto client = MakeClient(config);

  Result<ChatResponse> response = Chat(*client);

  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().code(), ErrorCode::kNotFound) << response.error().ToString();
  EXPECT_TRUE(Contains(response.error().message(), "ollama pull fake-model"))
      << response.error().ToString();
  EXPECT_TRUE(Contains(response.error().message(), "--model")) << response.error().ToString();
  ASSERT_EQ(fake_.Requests().size(), 1u);
  EXPECT_EQ(fake_.Requests()[0].path, "/elsewhere/api/show");
}

// The idle timeout is about silence, not length: a slow stream that keeps talking is fine.

class SlowStreamTest : public FaultTest {};
INSTANTIATE_TEST_SUITE_P(Wires, SlowStreamTest,
                         ::testing::Values(kAllCases[0], kAllCases[2], kAllCases[4]), CaseName);

TEST_P(SlowStreamTest, StreamLongerThanTheIdleTimeoutIsNotAStall) {
  // About 13 pieces: with the events around them, well over a second at 100 ms apart.
  std::string text;
  while (text.size() < 200) {
    text += "A slow and steady stream. ";
  }
  fake_.SetChunkDelay(milliseconds(100));
  fake_.Script({fake::TextReply(text)});
  Clock::time_point start = Clock::now();

  Result<ChatResponse> response = Chat();  // idle_timeout is 1 s

  ASSERT_TRUE(response.ok()) << response.error().ToString();
  EXPECT_EQ(response->content, text);
  EXPECT_EQ(text_, text);
  EXPECT_TRUE(retries_.empty());
  EXPECT_GT(Clock::now() - start, Config().idle_timeout) << "the test needs a longer stream";
}

}  // namespace
}  // namespace warden::llm
