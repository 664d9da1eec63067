#include "api/auth.h"

#include <atomic>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "api/router.h"

namespace warden::api {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;

constexpr char kAliceKey[] = "alice-0123456789abcdef";
constexpr char kBobKey[] = "bob-0123456789abcdef";

Config MustParse(std::string_view toml) {
  auto config = Config::Parse(toml, "test.toml");
  EXPECT_TRUE(config.ok()) << config.error().ToString();
  return config.ok() ? *config : Config();
}

std::unique_ptr<Auth> MustCreate(std::string_view toml, const char* env = nullptr,
                                 Auth::Clock clock = nullptr) {
  Config config = MustParse(toml);
  auto auth = clock ? Auth::Create(config, env, std::move(clock)) : Auth::Create(config, env);
  EXPECT_TRUE(auth.ok()) << auth.error().ToString();
  return auth.ok() ? std::move(*auth) : nullptr;
}

// The error message of a configuration that must be refused.
std::string Refusal(std::string_view toml, const char* env = nullptr) {
  auto keys = ParseApiKeys(MustParse(toml), env);
  EXPECT_FALSE(keys.ok()) << toml << " / " << (env != nullptr ? env : "");
  return keys.ok() ? "" : keys.error().message();
}

Request MakeRequest(std::string method, std::string_view target,
                    const std::vector<Headers::Field>& headers = {}) {
  Request request;
  request.method = std::move(method);
  EXPECT_TRUE(ParseTarget(target, &request)) << target;
  for (auto& [name, value] : headers) {
    request.headers.Add(name, value);
  }
  return request;
}

// A handler that answers 200 with the owner it was called as ("-" for none), counting its calls.
struct Recorder {
  int calls = 0;
  Handler handler() {
    return [this](Request& request) {
      ++calls;
      auto it = request.params.find("owner");
      return Response::Text(200, it == request.params.end() ? "-" : it->second);
    };
  }
};

std::string ErrorCodeOf(const Response& response) {
  json::value body = json::parse(response.body);
  return std::string(body.at("error").at("code").as_string());
}

std::string MessageOf(const Response& response) {
  json::value body = json::parse(response.body);
  return std::string(body.at("error").at("message").as_string());
}

TEST(AuthTest, WithoutKeysEveryRequestPassesAsNoOwner) {
  auto auth = MustCreate("");
  ASSERT_NE(auth, nullptr);
  EXPECT_FALSE(auth->enabled());
  Recorder inner;
  Request request = MakeRequest("POST", "/v1/jobs");
  Response response = auth->Wrap(inner.handler())(request);
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "-");
}

TEST(AuthTest, ReadsConfigKeysWithTheirOwnLimitsOrTheDefaults) {
  auto keys =
      ParseApiKeys(MustParse(fmt::format(R"(
[api]
rate_limit = 10

[[api.keys]]
id = "alice"
key = "{}"
rate = 2
burst = 3

[[api.keys]]
id = "bob"
key = "{}"

[[api.keys]]
id = "carol"
key_sha256 = "{}"
rate = 0
)",
                                         kAliceKey, kBobKey, Sha256Hex("carol's key here!"))),
                   nullptr);
  ASSERT_TRUE(keys.ok()) << keys.error().ToString();
  ASSERT_EQ(keys->size(), 3u);
  EXPECT_EQ((*keys)[0].id, "alice");
  EXPECT_EQ((*keys)[0].limit.per_second, 2);
  EXPECT_EQ((*keys)[0].limit.burst, 3);
  EXPECT_EQ((*keys)[1].id, "bob");
  EXPECT_EQ((*keys)[1].limit.per_second, 10);
  EXPECT_EQ((*keys)[1].limit.burst, 20);  // two seconds' worth
  EXPECT_EQ((*keys)[2].id, "carol");
  EXPECT_EQ((*keys)[2].limit.per_second, 0);

  auto auth = MustCreate(R"([[api.keys]]
id = "carol"
key_sha256 = ")" + Sha256Hex("carol's key here!") +
                         "\"\n");
  Recorder inner;
  Request request = MakeRequest("GET", "/v1/jobs", {{"X-API-Key", "carol's key here!"}});
  EXPECT_EQ(auth->Wrap(inner.handler())(request).body, "carol");
}

TEST(AuthTest, ReadsEnvironmentKeysWithIdsOrNamedByTheirDigest) {
  std::string env = fmt::format(" alice:{} ,, {},", kAliceKey, kBobKey);
  auto keys = ParseApiKeys(MustParse("[api]\nrate_limit = 4\nburst = 5\n"), env.c_str());
  ASSERT_TRUE(keys.ok()) << keys.error().ToString();
  ASSERT_EQ(keys->size(), 2u);
  EXPECT_EQ((*keys)[0].id, "alice");
  EXPECT_EQ((*keys)[1].id, "k_" + Sha256Hex(kBobKey).substr(0, 12));
  EXPECT_EQ((*keys)[1].limit.per_second, 4);
  EXPECT_EQ((*keys)[1].limit.burst, 5);

  auto defaults = ParseApiKeys(Config(), kBobKey);
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ((*defaults)[0].limit.per_second, 50);
  EXPECT_EQ((*defaults)[0].limit.burst, 100);
}

TEST(AuthTest, RefusesBadKeysAndNeverRepeatsTheKeyInTheError) {
  std::string too_short = Refusal("", "alice:short-key-123");
  EXPECT_NE(too_short.find("at least 16"), std::string::npos) << too_short;
  EXPECT_NE(too_short.find("\"alice\""), std::string::npos) << too_short;
  EXPECT_EQ(too_short.find("short-key-123"), std::string::npos) << too_short;

  std::string spaced = Refusal("[[api.keys]]\nid = \"a\"\nkey = \"has a space in the key\"\n");
  EXPECT_NE(spaced.find("printable"), std::string::npos) << spaced;
  EXPECT_NE(spaced.find("test.toml"), std::string::npos) << spaced;
  EXPECT_EQ(spaced.find("has a space"), std::string::npos) << spaced;

  std::string twice =
      Refusal(fmt::format("[[api.keys]]\nid = \"alice\"\nkey = \"{}\"\n", kAliceKey),
              fmt::format("alice:{}", kBobKey).c_str());
  EXPECT_NE(twice.find("\"alice\" is configured twice"), std::string::npos) << twice;

  std::string same_key = Refusal("", fmt::format("a:{},b:{}", kAliceKey, kAliceKey).c_str());
  EXPECT_NE(same_key.find("same key"), std::string::npos) << same_key;

  EXPECT_NE(Refusal("", fmt::format("al ice:{}", kAliceKey).c_str()).find("ids are"),
            std::string::npos);
  EXPECT_NE(Refusal("[[api.keys]]\nid = \"x\"\n").find("needs either key"), std::string::npos);
  EXPECT_NE(Refusal("[[api.keys]]\nid = \"x\"\nkey = 1234567890123456789\n").find("needs either"),
            std::string::npos);
  EXPECT_NE(Refusal("[[api.keys]]\nid = 7\nkey = \"0123456789abcdef\"\n").find("id must be"),
            std::string::npos);
  EXPECT_NE(Refusal("[[api.keys]]\nkey_sha256 = \"abc\"\n").find("64 hex"), std::string::npos);
  EXPECT_NE(Refusal("[api]\nkeys = [\"0123456789abcdef\"]\n").find("array of tables"),
            std::string::npos);
  std::string negative =
      fmt::format("[[api.keys]]\nid = \"a\"\nkey = \"{}\"\nrate = -1\n", kBobKey);
  EXPECT_NE(Refusal(negative).find("rate must be a number"), std::string::npos);
  std::string tiny_burst =
      fmt::format("[[api.keys]]\nid = \"a\"\nkey = \"{}\"\nrate = 1\nburst = 0.5\n", kBobKey);
  EXPECT_NE(Refusal(tiny_burst).find("burst must be at least 1"), std::string::npos);
  EXPECT_NE(Refusal("[api]\nrate_limit = \"fast\"\n", kBobKey).find("api.rate_limit"),
            std::string::npos);
}

TEST(AuthTest, AcceptsBearerOrXApiKeyAndCallsTheHandlerAsTheKeysOwner) {
  auto auth = MustCreate("", fmt::format("alice:{},bob:{}", kAliceKey, kBobKey).c_str());
  ASSERT_TRUE(auth->enabled());
  Recorder inner;
  Handler handler = auth->Wrap(inner.handler());
  std::vector<std::pair<std::vector<Headers::Field>, std::string>> cases = {
      {{{"Authorization", std::string("Bearer ") + kAliceKey}}, "alice"},
      {{{"authorization", std::string("bearer  ") + kBobKey + " "}}, "bob"},
      {{{"X-API-Key", kBobKey}}, "bob"},
      // A proxy's own scheme in Authorization leaves X-API-Key to carry the key.
      {{{"Authorization", "Basic dXNlcjpwYXNz"}, {"X-API-Key", kAliceKey}}, "alice"},
  };
  for (auto& [headers, owner] : cases) {
    Request request = MakeRequest("GET", "/v1/jobs", headers);
    Response response = handler(request);
    EXPECT_EQ(response.status, 200) << headers[0].second;
    EXPECT_EQ(response.body, owner) << headers[0].second;
  }
  // The owner comes from the key, whatever the request held before.
  Request spoofed = MakeRequest("GET", "/v1/jobs", {{"X-API-Key", kBobKey}});
  spoofed.params["owner"] = "alice";
  EXPECT_EQ(handler(spoofed).body, "bob");
}

TEST(AuthTest, AMissingOrWrongKeyGets401WithABearerChallenge) {
  auto auth = MustCreate("", kAliceKey);
  Recorder inner;
  Handler handler = auth->Wrap(inner.handler());

  Request missing = MakeRequest("POST", "/v1/jobs");
  Response response = handler(missing);
  EXPECT_EQ(response.status, 401);
  EXPECT_EQ(ErrorCodeOf(response), "unauthorized");
  EXPECT_EQ(response.headers.Get("WWW-Authenticate"), "Bearer realm=\"warden\"");
  EXPECT_NE(MessageOf(response).find("Authorization: Bearer KEY"), std::string::npos);
  EXPECT_NE(MessageOf(response).find("X-API-Key: KEY"), std::string::npos);

  for (std::vector<Headers::Field> headers : std::vector<std::vector<Headers::Field>>{
           {{"Authorization", std::string("Bearer ") + kAliceKey + "x"}},
           {{"X-API-Key", std::string(kAliceKey).substr(1)}},
           {{"Authorization", std::string("Token ") + kAliceKey}},
           {{"Authorization", "Bearer "}}}) {
    Request request = MakeRequest("GET", "/v1/jobs/j_1", headers);
    Response wrong = handler(request);
    EXPECT_EQ(wrong.status, 401) << headers[0].second;
    EXPECT_EQ(ErrorCodeOf(wrong), "unauthorized");
    EXPECT_EQ(wrong.headers.Get("WWW-Authenticate").substr(0, 6), "Bearer");
  }
  EXPECT_EQ(inner.calls, 0);
}

TEST(AuthTest, OnlyHealthReadinessAndTheApiDocumentArePublic) {
  auto auth = MustCreate("", kAliceKey);
  Recorder inner;
  Handler handler = auth->Wrap(inner.handler());
  for (const char* target : {"/healthz", "/readyz", "/openapi.json", "/docs", "/healthz?x=1"}) {
    Request request = MakeRequest("GET", target);
    request.params["owner"] = "alice";
    Response response = handler(request);
    EXPECT_EQ(response.status, 200) << target;
    EXPECT_EQ(response.body, "-") << target;  // public, as no one
  }
  for (std::pair<const char*, const char*> request_line : {std::pair{"GET", "/metrics"},
                                                           {"POST", "/healthz"},
                                                           {"GET", "/healthz/x"},
                                                           {"GET", "/%68ealthz"},
                                                           {"GET", "/docs/../v1/jobs"},
                                                           {"GET", "/"}}) {
    Request request = MakeRequest(request_line.first, request_line.second);
    EXPECT_EQ(handler(request).status, 401) << request_line.first << " " << request_line.second;
  }
  EXPECT_EQ(inner.calls, 5);
}

// Through the router, as `warden serve` wires it: route handlers must see the key's owner.
TEST(AuthTest, RouteHandlersBehindTheRouterSeeTheOwner) {
  auto auth = MustCreate("", fmt::format("alice:{}", kAliceKey).c_str());
  Router router;
  Recorder inner;
  router.Add("GET", "/v1/jobs/{id}", inner.handler());
  Handler handler = auth->Wrap([&router](Request& request) { return router.Handle(request); });
  Request request = MakeRequest("GET", "/v1/jobs/j_1", {{"X-API-Key", kAliceKey}});
  Response response = handler(request);
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "alice")
      << "the route handler did not see params[\"owner\"]: Router::Handle must keep the "
         "parameters set before routing";
  EXPECT_EQ(request.params["id"], "j_1");
}

TEST(AuthTest, TheBucketRefillsAtItsRateUpToItsBurst) {
  std::chrono::steady_clock::time_point now{};
  auto auth = MustCreate(
      fmt::format("[[api.keys]]\nid = \"a\"\nkey = \"{}\"\nrate = 4\nburst = 3\n", kAliceKey),
      nullptr, [&now] { return now; });
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(auth->Take(0), nanoseconds(0)) << i;  // a fresh bucket is full
  }
  EXPECT_EQ(auth->Take(0), milliseconds(250));  // one token per quarter second
  now += milliseconds(125);
  EXPECT_EQ(auth->Take(0), milliseconds(125));  // half a token there, and kept
  now += milliseconds(125);
  EXPECT_EQ(auth->Take(0), nanoseconds(0));
  EXPECT_EQ(auth->Take(0), milliseconds(250));

  now += std::chrono::hours(1);  // a long pause fills it to the burst, no more
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(auth->Take(0), nanoseconds(0)) << i;
  }
  EXPECT_GT(auth->Take(0), nanoseconds(0));
}

TEST(AuthTest, OverItsRateAKeyGets429WithRetryAfterAndOtherKeysAreUnaffected) {
  std::chrono::steady_clock::time_point now{};
  auto auth = MustCreate(fmt::format(R"(
[[api.keys]]
id = "slow"
key = "{}"
rate = 0.25
burst = 1

[[api.keys]]
id = "fast"
key = "{}"
rate = 4
burst = 1

[[api.keys]]
id = "free"
key = "free-0123456789abcdef"
rate = 0
)",
                                     kAliceKey, kBobKey),
                         nullptr, [&now] { return now; });
  Recorder inner;
  Handler handler = auth->Wrap(inner.handler());
  auto call = [&](const char* key) {
    Request request = MakeRequest("GET", "/v1/jobs", {{"X-API-Key", key}});
    return handler(request);
  };
  EXPECT_EQ(call(kAliceKey).status, 200);
  Response limited = call(kAliceKey);
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(ErrorCodeOf(limited), "rate_limited");
  EXPECT_EQ(limited.headers.Get("Retry-After"), "4");
  EXPECT_NE(MessageOf(limited).find("\"slow\""), std::string::npos) << MessageOf(limited);

  EXPECT_EQ(call(kBobKey).status, 200);
  Response soon = call(kBobKey);
  EXPECT_EQ(soon.status, 429);
  EXPECT_EQ(soon.headers.Get("Retry-After"), "1");  // 250 ms, rounded up to a whole second
  for (int i = 0; i < 1000; ++i) {
    ASSERT_EQ(call("free-0123456789abcdef").status, 200) << i;
  }
  now += std::chrono::seconds(4);
  EXPECT_EQ(call(kAliceKey).status, 200);
  EXPECT_EQ(inner.calls, 1 + 1 + 1000 + 1);
}

TEST(AuthTest, ARequestTheQuickCheckLeavesToThePoolIsCheckedAndCountedOnce) {
  std::chrono::steady_clock::time_point now{};
  auto auth = MustCreate(fmt::format(R"(
[[api.keys]]
id = "alice"
key = "{}"
rate = 1
burst = 1
)",
                                     kAliceKey),
                         nullptr, [&now] { return now; });
  Recorder pool;
  Handler handler = auth->Wrap(pool.handler());
  int declined = 0;
  QuickHandler quick = auth->WrapQuick([&declined](Request&) -> std::optional<Response> {
    ++declined;
    return std::nullopt;  // a route that may block
  });
  auto call = [&](std::vector<Headers::Field> headers) {
    Request request = MakeRequest("POST", "/v1/jobs", headers);
    std::optional<Response> answer = quick(request);
    return answer ? std::move(*answer) : handler(request);
  };

  Response first = call({{"X-API-Key", kAliceKey}});
  EXPECT_EQ(first.status, 200);
  EXPECT_EQ(first.body, "alice");
  // The bucket held one token: the first request took it, once.
  EXPECT_EQ(call({{"X-API-Key", kAliceKey}}).status, 429);
  EXPECT_EQ(call({}).status, 401);
  EXPECT_EQ(call({{"X-API-Key", kBobKey}}).status, 401);
  EXPECT_EQ(declined, 1);
  EXPECT_EQ(pool.calls, 1);
}

TEST(AuthTest, ConcurrentRequestsNeverGetMoreThanTheBurst) {
  std::chrono::steady_clock::time_point now{};  // frozen: no refill
  auto auth = MustCreate(
      fmt::format("[[api.keys]]\nid = \"a\"\nkey = \"{}\"\nrate = 1\nburst = 100\n", kAliceKey),
      nullptr, [&now] { return now; });
  std::atomic<int> allowed = 0;
  {
    std::vector<std::jthread> threads;
    threads.reserve(8);
    for (int t = 0; t < 8; ++t) {
      threads.emplace_back([&] {
        for (int i = 0; i < 50; ++i) {
          if (auth->Take(0) == nanoseconds(0)) {
            ++allowed;
          }
        }
      });
    }
  }
  EXPECT_EQ(allowed.load(), 100);
}

}  // namespace
}  // namespace warden::api
