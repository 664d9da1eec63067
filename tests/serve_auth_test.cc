// `warden serve` with API keys, end to end: the real binary with keys from WARDEN_API_KEYS or its
// configuration file, driven over loopback as two clients with different keys would, and through
// the `warden` client commands. Each test starts (and stops) its own server.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/json.h"
#include "serve_util.h"

namespace warden::serve_test {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kKeyA[] = "alice-key-5f0c2e9a41b7d3c8";
constexpr char kKeyB[] = "bob-key-91d4e7a02c6b58f3";
const std::string kBothKeys = fmt::format("WARDEN_API_KEYS=alice:{},bob:{}", kKeyA, kKeyB);

std::string Str(const json::object& object, std::string_view key) {
  const json::value* value = object.if_contains(key);
  return value != nullptr && value->is_string() ? std::string(value->get_string()) : "";
}

// The ids of the items in a list answer: GET /v1/jobs ("jobs") or GET /v1/sessions ("sessions").
std::vector<std::string> Ids(const HttpResponse& list, std::string_view field) {
  std::vector<std::string> ids;
  json::object body = list.Json();
  const json::value* items = body.if_contains(field);
  if (items != nullptr && items->is_array()) {
    for (const json::value& item : items->get_array()) {
      ids.push_back(Str(item.get_object(), "id"));
    }
  }
  return ids;
}

std::vector<std::string> JobIds(const HttpResponse& list) {
  return Ids(list, "jobs");
}

// Every request on a connection of its own, presenting one key (or none).
class KeyClient {
 public:
  KeyClient(uint16_t port, std::string_view key)
      : http_(port), auth_(key.empty() ? "" : fmt::format("Authorization: Bearer {}\r\n", key)) {}

  HttpResponse Get(const std::string& target, const std::string& extra_headers = "") const {
    return http_.Get(target, auth_ + extra_headers);
  }
  // Server-sent events of a job that has ended: the whole stream, which ends with the job.
  HttpResponse EventStream(const std::string& id) const {
    return http_.Raw(
        fmt::format(
            "GET /v1/jobs/{}/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n{}"
            "Connection: close\r\n\r\n",
            id, auth_),
        milliseconds(30'000));
  }
  HttpResponse Post(const std::string& target, const std::string& body = "") const {
    return http_.Raw(
        fmt::format("POST {} HTTP/1.1\r\nHost: 127.0.0.1\r\n{}Content-Type: application/json\r\n"
                    "Content-Length: {}\r\nConnection: close\r\n\r\n{}",
                    target, auth_, body.size(), body));
  }

 private:
  HttpClient http_;
  std::string auth_;  // the header line, or ""
};

// A private HOME, configuration and data directory, and the server started on them.
class ServeAuthTest : public ::testing::Test {
 protected:
  ServeAuthTest() : dir_("warden-serve-auth-test-") {
    std::filesystem::create_directory(dir_ / "home");
    WriteConfig("");
  }

  void TearDown() override {
    if (server_ != nullptr && server_->pid() > 0) {
      EXPECT_EQ(server_->Stop(), 0) << "warden serve did not exit cleanly on SIGTERM\n"
                                    << server_->Describe();
    }
  }

  void WriteConfig(std::string_view toml) { WriteFile(dir_ / "config.toml", toml); }
  std::vector<std::string> BaseEnv() const {
    return {"HOME=" + (dir_ / "home"), "WARDEN_CONFIG=" + (dir_ / "config.toml")};
  }
  std::vector<std::string> ServeArgs() const { return {"--data-dir", dir_ / "data"}; }

  // Starts `warden serve` with `env` added to its environment; a server that does not come up
  // fails the test (call it inside ASSERT_NO_FATAL_FAILURE).
  void Start(const std::vector<std::string>& env, const std::string& listen = "127.0.0.1:0") {
    std::vector<std::string> full = BaseEnv();
    full.insert(full.end(), env.begin(), env.end());
    server_ = std::make_unique<ServeProcess>(ServeArgs(), full, dir_ / "serve.log", listen);
    ASSERT_NE(server_->port(), 0);
  }

  ServeProcess& server() { return *server_; }
  uint16_t port() const { return server_->port(); }

  // Submits a steps job as `client` and follows its event stream to its end; returns its id.
  std::string RunJob(const KeyClient& client, const std::string& marker) {
    json::object job{
        {"steps", json::array{json::object{{"write_file", json::object{{"path", "out.txt"},
                                                                       {"content", marker}}}},
                              json::object{{"shell", "echo " + marker}}}}};
    HttpResponse submitted = client.Post("/v1/jobs", json::serialize(job));
    EXPECT_EQ(submitted.status, 201) << submitted.Describe();
    std::string id = Str(submitted.Json(), "id");
    HttpResponse events = client.EventStream(id);
    EXPECT_EQ(events.status, 200) << events.Describe();
    EXPECT_THAT(events.body, HasSubstr(R"("state":"succeeded")")) << server_->Describe();
    return id;
  }

 private:
  TempDir dir_;
  std::unique_ptr<ServeProcess> server_;
};

TEST_F(ServeAuthTest, WithKeysEveryRequestNeedsAValidOneButHealthIsPublic) {
  ASSERT_NO_FATAL_FAILURE(Start({kBothKeys}));
  KeyClient anonymous(port(), "");
  KeyClient wrong(port(), std::string(kKeyA) + "0");
  KeyClient alice(port(), kKeyA);

  HttpResponse missing = anonymous.Post("/v1/jobs", R"({"steps": [{"shell": "echo hi"}]})");
  EXPECT_EQ(missing.status, 401) << missing.Describe();
  EXPECT_EQ(missing.ErrorCode(), "unauthorized");
  EXPECT_THAT(missing.Header("www-authenticate"), HasSubstr("Bearer"));
  EXPECT_THAT(missing.body, HasSubstr("Authorization: Bearer"));
  EXPECT_EQ(anonymous.Get("/v1/jobs").status, 401);
  EXPECT_EQ(anonymous.Get("/metrics").status, 401);
  HttpResponse bad = wrong.Get("/v1/jobs");
  EXPECT_EQ(bad.status, 401) << bad.Describe();
  EXPECT_EQ(bad.ErrorCode(), "unauthorized");
  EXPECT_THAT(bad.Header("www-authenticate"), HasSubstr("invalid_token"));

  EXPECT_EQ(anonymous.Get("/healthz").status, 200);
  EXPECT_EQ(anonymous.Get("/readyz").status, 200);

  // The refused POST made no job; the key works in either header.
  HttpResponse list = alice.Get("/v1/jobs");
  ASSERT_EQ(list.status, 200) << list.Describe();
  EXPECT_TRUE(JobIds(list).empty()) << list.body;
  EXPECT_EQ(anonymous.Get("/v1/jobs", fmt::format("X-API-Key: {}\r\n", kKeyB)).status, 200);

  // The log tells how many keys there are, and never a key.
  std::string printed = server().Describe();
  EXPECT_THAT(printed, HasSubstr("2 API keys loaded (alice, bob)"));
  EXPECT_THAT(printed, Not(HasSubstr(kKeyA)));
  EXPECT_THAT(printed, Not(HasSubstr(kKeyB)));
}

// API-key isolation between two keys: every route of a job answers another key's client as if
// the job did not exist.
TEST_F(ServeAuthTest, AJobIsInvisibleToAnotherKey) {
  ASSERT_NO_FATAL_FAILURE(Start({kBothKeys}));
  KeyClient alice(port(), kKeyA);
  KeyClient bob(port(), kKeyB);
  std::string id = RunJob(alice, "alice-private-output");
  ASSERT_TRUE(id.starts_with("j_")) << id;

  // Alice sees everything of her job...
  EXPECT_EQ(alice.Get("/v1/jobs/" + id).status, 200);
  EXPECT_EQ(alice.Get("/v1/jobs/" + id + "/events").status, 200);
  EXPECT_EQ(alice.Get("/v1/jobs/" + id + "/logs").body, "alice-private-output\n");
  EXPECT_THAT(alice.Get("/v1/jobs/" + id + "/files").body, HasSubstr("out.txt"));
  EXPECT_EQ(alice.Get("/v1/jobs/" + id + "/files/out.txt").body, "alice-private-output");
  EXPECT_EQ(alice.Get("/v1/jobs/" + id + "/archive?format=tar.gz").status, 200);
  EXPECT_EQ(alice.Post("/v1/jobs/" + id + "/cancel").status, 409);  // it has finished
  EXPECT_THAT(JobIds(alice.Get("/v1/jobs")), ::testing::ElementsAre(id));

  // ...and Bob nothing: 404 wherever Alice got an answer, the same as for a job that never was.
  for (std::string suffix : {"", "/events", "/logs", "/files", "/files/out.txt",
                             "/archive?format=zip", "/archive?format=tar.gz", "/approvals"}) {
    HttpResponse response = bob.Get(fmt::format("/v1/jobs/{}{}", id, suffix));
    EXPECT_EQ(response.status, 404) << suffix << "\n" << response.Describe();
    EXPECT_EQ(response.ErrorCode(), "not_found") << suffix;
    EXPECT_THAT(response.body, Not(HasSubstr("alice-private-output"))) << suffix;
  }
  HttpResponse stream = bob.EventStream(id);
  EXPECT_EQ(stream.status, 404) << stream.Describe();
  EXPECT_THAT(stream.Header("content-type"), Not(HasSubstr("text/event-stream")));
  HttpResponse cancel = bob.Post("/v1/jobs/" + id + "/cancel");
  EXPECT_EQ(cancel.status, 404) << cancel.Describe();  // not 409: that would tell it exists
  EXPECT_EQ(bob.Post("/v1/jobs/" + id + "/retry").status, 404);
  EXPECT_EQ(bob.Post("/v1/jobs/" + id + "/approvals").status, 404);
  HttpResponse bobs_list = bob.Get("/v1/jobs");
  ASSERT_EQ(bobs_list.status, 200) << bobs_list.Describe();
  EXPECT_TRUE(JobIds(bobs_list).empty()) << bobs_list.body;  // the refused retry made none

  // The other way round too; Alice's retry is Alice's.
  std::string bobs = RunJob(bob, "bob-output");
  EXPECT_EQ(alice.Get("/v1/jobs/" + bobs).status, 404);
  EXPECT_EQ(alice.Get("/v1/jobs/" + bobs + "/logs").status, 404);
  HttpResponse retry = alice.Post("/v1/jobs/" + id + "/retry");
  ASSERT_EQ(retry.status, 201) << retry.Describe();
  std::string retry_id = Str(retry.Json(), "id");
  EXPECT_EQ(bob.Get("/v1/jobs/" + retry_id).status, 404);
  EXPECT_THAT(JobIds(bob.Get("/v1/jobs")), ::testing::ElementsAre(bobs));
  EXPECT_THAT(JobIds(alice.Get("/v1/jobs")), ::testing::UnorderedElementsAre(id, retry_id));
}

// The list's filters and counts see the caller's own jobs only.
TEST_F(ServeAuthTest, FiltersAndCountsOfTheJobListAreTheKeysOwn) {
  ASSERT_NO_FATAL_FAILURE(Start({kBothKeys}));
  KeyClient alice(port(), kKeyA);
  KeyClient bob(port(), kKeyB);
  std::string mine = RunJob(alice, "Quarterly-Report");
  std::string other = RunJob(alice, "something-else");
  std::string bobs = RunJob(bob, "quarterly-report-of-bob");

  EXPECT_THAT(JobIds(alice.Get("/v1/jobs?q=quarterly")), ::testing::ElementsAre(mine));
  EXPECT_THAT(JobIds(bob.Get("/v1/jobs?q=QUARTERLY")), ::testing::ElementsAre(bobs));
  EXPECT_THAT(JobIds(alice.Get("/v1/jobs?kind=steps")), ::testing::ElementsAre(other, mine));
  EXPECT_TRUE(JobIds(alice.Get("/v1/jobs?kind=task")).empty());
  HttpResponse counted = alice.Get("/v1/jobs?q=quarterly&counts=true");
  ASSERT_EQ(counted.status, 200) << counted.Describe();
  const json::object counts = counted.Json().at("counts").as_object();
  EXPECT_EQ(counts.at("succeeded").as_int64(), 2);  // Alice's both, whatever q says; no Bob's
  EXPECT_EQ(counts.at("failed").as_int64(), 0);
  EXPECT_FALSE(alice.Get("/v1/jobs").Json().contains("counts"));
  EXPECT_EQ(alice.Get("/v1/jobs?kind=chat").ErrorCode(), "invalid_argument");
  EXPECT_EQ(alice.Get("/v1/jobs?q=" + std::string(201, 'a')).ErrorCode(), "invalid_argument");
  EXPECT_EQ(alice.Get("/v1/jobs?q=%FF%FE").ErrorCode(), "invalid_argument");
}

TEST_F(ServeAuthTest, ASessionIsInvisibleToAnotherKey) {
  ASSERT_NO_FATAL_FAILURE(Start({kBothKeys}));
  KeyClient alice(port(), kKeyA);
  KeyClient bob(port(), kKeyB);
  EXPECT_EQ(KeyClient(port(), "").Post("/v1/sessions", "{}").status, 401);
  HttpResponse created = alice.Post("/v1/sessions", "{}");
  ASSERT_EQ(created.status, 201) << created.Describe();
  std::string id = Str(created.Json(), "id");
  ASSERT_FALSE(id.empty()) << created.body;
  HttpResponse other = bob.Get("/v1/sessions/" + id);
  EXPECT_EQ(other.status, 404) << other.Describe();
  EXPECT_EQ(other.ErrorCode(), "not_found");
  HttpResponse message = bob.Post("/v1/sessions/" + id + "/messages", R"({"message": "hi"})");
  EXPECT_EQ(message.status, 404) << message.Describe();

  // Bob's message left no trace: no turn in Alice's session, no job anywhere.
  HttpResponse mine = alice.Get("/v1/sessions/" + id);
  ASSERT_EQ(mine.status, 200) << mine.Describe();
  json::object session = mine.Json();
  const json::value* turns = session.if_contains("turns");
  EXPECT_TRUE(turns != nullptr && turns->is_array() && turns->get_array().empty()) << mine.body;
  EXPECT_TRUE(JobIds(bob.Get("/v1/jobs")).empty());
  EXPECT_TRUE(JobIds(alice.Get("/v1/jobs")).empty());

  // Each key lists its own sessions only.
  HttpResponse bobs_session = bob.Post("/v1/sessions", "{}");
  ASSERT_EQ(bobs_session.status, 201) << bobs_session.Describe();
  EXPECT_THAT(Ids(alice.Get("/v1/sessions"), "sessions"), ::testing::ElementsAre(id));
  EXPECT_THAT(Ids(bob.Get("/v1/sessions"), "sessions"),
              ::testing::ElementsAre(Str(bobs_session.Json(), "id")));
  EXPECT_EQ(KeyClient(port(), "").Get("/v1/sessions").status, 401);
}

TEST_F(ServeAuthTest, AKeyOverItsRateGets429WithRetryAfterWhileAnotherKeyIsServed) {
  // One request per 1000 s after a burst of 3: the fourth is refused however slow the machine.
  WriteConfig(fmt::format(R"(
[[api.keys]]
id = "slow"
key = "{}"
rate = 0.001
burst = 3

[[api.keys]]
id = "other"
key = "{}"
)",
                          kKeyA, kKeyB));
  ASSERT_NO_FATAL_FAILURE(Start({}));
  KeyClient slow(port(), kKeyA);
  KeyClient other(port(), kKeyB);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(slow.Get("/v1/jobs").status, 200) << i;
  }
  HttpResponse limited = slow.Get("/v1/jobs");
  EXPECT_EQ(limited.status, 429) << limited.Describe();
  EXPECT_EQ(limited.ErrorCode(), "rate_limited");
  std::string retry_after = limited.Header("retry-after");
  ASSERT_FALSE(retry_after.empty());
  ASSERT_EQ(retry_after.find_first_not_of("0123456789"), std::string::npos) << retry_after;
  EXPECT_GE(std::stoi(retry_after), 1);
  EXPECT_LE(std::stoi(retry_after), 1000);
  EXPECT_EQ(slow.Post("/v1/jobs", R"({"steps": [{"shell": "echo hi"}]})").status, 429);

  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(other.Get("/v1/jobs").status, 200) << i;
  }
  EXPECT_EQ(KeyClient(port(), "").Get("/healthz").status, 200);  // no key, no bucket
  HttpResponse jobs = other.Get("/v1/jobs");
  EXPECT_TRUE(JobIds(jobs).empty()) << jobs.body;  // the refused POST made no job
}

TEST_F(ServeAuthTest, RefusesToListenBeyondLoopbackWithoutKeysAndServesThereWithThem) {
  std::vector<std::string> args = {"serve", "--listen", "0.0.0.0:0"};
  std::vector<std::string> serve_args = ServeArgs();
  args.insert(args.end(), serve_args.begin(), serve_args.end());
  Exit refused = RunWarden(args, BaseEnv());
  EXPECT_EQ(refused.code, 2) << refused.err;
  EXPECT_THAT(refused.err, HasSubstr("refusing to listen on 0.0.0.0 without API keys"));
  EXPECT_THAT(refused.err, HasSubstr("WARDEN_API_KEYS"));
  EXPECT_THAT(refused.out, Not(HasSubstr("listening on")));

  // A bad key stops it too, without the key in the message.
  std::vector<std::string> short_key = BaseEnv();
  short_key.push_back("WARDEN_API_KEYS=alice:tooshort123");
  Exit bad = RunWarden(args, short_key);
  EXPECT_EQ(bad.code, 2) << bad.err;
  EXPECT_THAT(bad.err, HasSubstr("at least 16"));
  EXPECT_THAT(bad.err, Not(HasSubstr("tooshort123")));

  ASSERT_NO_FATAL_FAILURE(Start({kBothKeys}, "0.0.0.0:0"));
  EXPECT_EQ(KeyClient(port(), "").Get("/v1/jobs").status, 401);
  EXPECT_EQ(KeyClient(port(), kKeyA).Get("/v1/jobs").status, 200);
}

TEST_F(ServeAuthTest, TheClientCommandsPresentTheirApiKey) {
  ASSERT_NO_FATAL_FAILURE(Start({kBothKeys}));
  std::string id = RunJob(KeyClient(port(), kKeyA), "cli-visible");
  std::string server = fmt::format("http://127.0.0.1:{}", port());
  std::vector<std::string> env = {"HOME=/nonexistent"};

  Exit listed = RunWarden({"jobs", "--server", server, "--api-key", kKeyA}, env);
  EXPECT_EQ(listed.code, 0) << listed.err;
  EXPECT_THAT(listed.out, HasSubstr(id));
  EXPECT_THAT(listed.out, HasSubstr("succeeded"));

  std::vector<std::string> env_key = {"HOME=/nonexistent", "WARDEN_SERVER=" + server,
                                      std::string("WARDEN_API_KEY=") + kKeyA};
  Exit logs = RunWarden({"logs", id}, env_key);
  EXPECT_EQ(logs.code, 0) << logs.err;
  EXPECT_EQ(logs.out, "cli-visible\n");

  Exit others = RunWarden({"jobs", "--server", server, "--api-key", kKeyB, "--json"}, env);
  EXPECT_EQ(others.code, 0) << others.err;
  EXPECT_THAT(others.out, Not(HasSubstr(id)));
  Exit status = RunWarden({"status", id, "--server", server, "--api-key", kKeyB}, env);
  EXPECT_EQ(status.code, 1);
  EXPECT_THAT(status.err, HasSubstr("404"));

  Exit keyless = RunWarden({"jobs", "--server", server}, env);
  EXPECT_EQ(keyless.code, 1);
  EXPECT_THAT(keyless.err, HasSubstr("401"));
  EXPECT_THAT(keyless.err, HasSubstr("--api-key"));
}

}  // namespace
}  // namespace warden::serve_test
