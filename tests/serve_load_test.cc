// `warden serve` under abuse, end to end: /v1/exec beyond its slots (per server and per key), a
// client that leaves in the middle of a run, HEAD requests, more connections than the cap, idle
// connections. The real binary on loopback, real sandboxes.
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/json.h"
#include "serve_fixture.h"

namespace warden::serve_test {
namespace {

using ::testing::HasSubstr;

constexpr char kKeyA[] = "alice-key-5f0c2e9a41b7d3c8";
constexpr char kKeyB[] = "bob-key-91d4e7a02c6b58f3";

// The raw request of a /v1/exec run of `command` in bash, with a key when one is given.
std::string ExecRequest(std::string_view command, std::string_view key = "") {
  std::string body = json::serialize(json::object{{"language", "bash"}, {"code", command}});
  return fmt::format(
      "POST /v1/exec HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n{}"
      "Content-Length: {}\r\n\r\n{}",
      key.empty() ? "" : fmt::format("Authorization: Bearer {}\r\n", key), body.size(), body);
}

// A /v1/exec request left waiting on a connection of its own: the run goes on until the test
// reads its answer or drops the connection (which cancels the run).
struct PendingExec {
  std::unique_ptr<Connection> connection;

  PendingExec(uint16_t port, std::string_view command, std::string_view key = "")
      : connection(std::make_unique<Connection>(port)) {
    EXPECT_TRUE(connection->Send(ExecRequest(command, key))) << connection->error();
  }
  HttpResponse Answer(milliseconds timeout) { return connection->ReadResponse(After(timeout)); }
};

// A bash command that sleeps for long, findable among the host's processes by `marker`.
std::string Sleeper(std::string_view marker) {
  return fmt::format("sleep 600; : {}", marker);
}

// Waits until `count` host processes carry `marker` in their command line.
bool WaitForProcesses(std::string_view marker, size_t count, milliseconds timeout) {
  for (Deadline deadline = After(timeout); std::chrono::steady_clock::now() < deadline;
       std::this_thread::sleep_for(milliseconds(20))) {  // nothing to wait on but /proc
    if (ProcessesMatching(marker).size() >= count) {
      return true;
    }
  }
  return false;
}

bool WaitForNoProcess(std::string_view marker, milliseconds timeout) {
  for (Deadline deadline = After(timeout); std::chrono::steady_clock::now() < deadline;
       std::this_thread::sleep_for(milliseconds(20))) {
    if (ProcessesMatching(marker).empty()) {
      return true;
    }
  }
  return false;
}

// Polls GET /healthz until it answers 200 (a server still working off connections it refused)
// or `timeout` passed; the last status.
int HealthWithin(const HttpClient& client, milliseconds timeout) {
  int status = 0;
  for (Deadline deadline = After(timeout);
       status != 200 && std::chrono::steady_clock::now() < deadline;
       std::this_thread::sleep_for(milliseconds(50))) {  // nothing to wait on but the API
    status = client.Get("/healthz").status;
  }
  return status;
}

using ServeLoadTest = ServeTest;

// Issue 8.2: sixteen execs froze the whole API, /healthz included. Twenty now: the slots fill,
// the rest get 429 with Retry-After at once, and the health, readiness and metrics routes answer.
TEST_F(ServeLoadTest, ExecsBeyondTheSlotsGet429AndHealthStillAnswers) {
  ASSERT_NO_FATAL_FAILURE(Start());
  std::vector<PendingExec> execs;
  for (int i = 0; i < 20; ++i) {
    execs.emplace_back(server().port(), Sleeper("warden-flood-marker"));
  }
  ASSERT_TRUE(WaitForProcesses("warden-flood-marker", 1, milliseconds(20'000)));

  HttpResponse health = client().Get("/healthz");
  HttpResponse ready = client().Get("/readyz");
  HttpResponse metrics = client().Get("/metrics");

  EXPECT_EQ(health.status, 200) << health.Describe();
  EXPECT_EQ(ready.status, 200) << ready.Describe();
  EXPECT_EQ(metrics.status, 200) << metrics.Describe();
  int refused = 0;
  for (PendingExec& exec : execs) {
    HttpResponse answer = exec.Answer(milliseconds(2'000));
    if (answer.status == 0) {
      continue;  // still running: it holds a slot
    }
    ++refused;
    EXPECT_EQ(answer.status, 429) << answer.Describe();
    EXPECT_EQ(answer.ErrorCode(), "too_many_runs");
    EXPECT_EQ(answer.Header("retry-after"), "1");
    EXPECT_THAT(answer.body, HasSubstr("slots of this server are busy"));
  }
  EXPECT_GE(refused, 1);
}

// Each key has slots of its own within the server's: one key cannot take them all.
TEST_F(ServeLoadTest, EachKeyHasItsOwnExecSlotsWithinTheServers) {
  WriteConfig(fmt::format(
      "[[api.keys]]\nid = \"alice\"\nkey = \"{}\"\n[[api.keys]]\nid = \"bob\"\nkey = \"{}\"\n",
      kKeyA, kKeyB));
  ASSERT_NO_FATAL_FAILURE(Start({"--exec-slots", "3", "--exec-slots-per-key", "2"}));
  PendingExec alice1(server().port(), Sleeper("warden-slots-alice"), kKeyA);
  PendingExec alice2(server().port(), Sleeper("warden-slots-alice"), kKeyA);
  ASSERT_TRUE(WaitForProcesses("warden-slots-alice", 2, milliseconds(20'000)));

  HttpResponse alice3 = PendingExec(server().port(), "echo hi", kKeyA).Answer(milliseconds(10'000));
  PendingExec bob1(server().port(), Sleeper("warden-slots-bob"), kKeyB);
  ASSERT_TRUE(WaitForProcesses("warden-slots-bob", 1, milliseconds(20'000)));
  HttpResponse bob2 = PendingExec(server().port(), "echo hi", kKeyB).Answer(milliseconds(10'000));

  EXPECT_EQ(alice3.status, 429) << alice3.Describe();
  EXPECT_EQ(alice3.Header("retry-after"), "1");
  EXPECT_THAT(alice3.body, HasSubstr("key 'alice' already has 2 /v1/exec runs in progress"));
  EXPECT_EQ(bob2.status, 429) << bob2.Describe();
  EXPECT_THAT(bob2.body, HasSubstr("all 3 /v1/exec slots of this server are busy"));
}

// A client that leaves in the middle of a run no longer keeps it (and its slot) to its time limit.
TEST_F(ServeLoadTest, ExecWhoseClientLeavesIsCancelled) {
  ASSERT_NO_FATAL_FAILURE(Start());
  auto exec = std::make_unique<PendingExec>(server().port(), Sleeper("warden-leaver-marker"));
  ASSERT_TRUE(WaitForProcesses("warden-leaver-marker", 1, milliseconds(20'000)));

  exec.reset();  // the client closes its connection

  EXPECT_TRUE(WaitForNoProcess("warden-leaver-marker", milliseconds(20'000)))
      << "the sandbox still runs after its client left";
  bool counted = false;
  for (Deadline deadline = After(milliseconds(20'000));
       !counted && std::chrono::steady_clock::now() < deadline;
       std::this_thread::sleep_for(milliseconds(50))) {
    counted = client()
                  .Get("/metrics")
                  .body.find("warden_sandbox_runs_total{where=\"exec\",outcome=\"cancelled\"} 1") !=
              std::string::npos;
  }
  EXPECT_TRUE(counted) << client().Get("/metrics").body;
}

// Issue 8: "HEAD answers carry a body". The headers of the GET answer, and nothing after them.
TEST_F(ServeLoadTest, HeadAnswersCarryHeadersOnly) {
  ASSERT_NO_FATAL_FAILURE(Start());
  for (std::string target : {"/healthz", "/v1/jobs", "/openapi.json", "/no/such/thing"}) {
    Connection connection(server().port());
    ASSERT_TRUE(connection.Send(
        fmt::format("HEAD {} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", target)));
    HttpResponse head;
    std::string rest;
    ASSERT_TRUE(connection.ReadHead(head, rest, After(milliseconds(10'000)))) << head.error;
    while (connection.ReadSome(rest, After(milliseconds(10'000)))) {
    }
    HttpResponse get = client().Get(target);

    EXPECT_EQ(head.status, get.status) << target;
    EXPECT_EQ(rest, "") << target << ": a body came after the headers of a HEAD answer";
    EXPECT_EQ(head.Header("content-length"), std::to_string(get.body.size())) << target;
  }
}

// Issue 8: 21,000 idle connections exhausted the descriptors. Beyond the cap a connection gets
// a 503 and is closed; idle ones time out; the server keeps serving.
TEST_F(ServeLoadTest, ConnectionsBeyondTheCapAreRefusedAndIdleOnesTimeOut) {
  ASSERT_NO_FATAL_FAILURE(Start({"--max-connections", "4", "--idle-timeout", "2s"}));
  std::vector<std::unique_ptr<Connection>> idle;
  for (int i = 0; i < 4; ++i) {
    idle.push_back(std::make_unique<Connection>(server().port()));
  }
  // A request on each: the server has accepted them all before the next one comes.
  for (auto& connection : idle) {
    ASSERT_TRUE(connection->Send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
    ASSERT_EQ(connection->ReadResponse(After(milliseconds(10'000))).status, 200);
  }

  HttpResponse refused = client().Get("/healthz");

  EXPECT_EQ(refused.status, 503) << refused.Describe();
  EXPECT_EQ(refused.ErrorCode(), "too_many_connections");
  EXPECT_EQ(refused.Header("retry-after"), "1");
  EXPECT_EQ(refused.Header("connection"), "close");
  // The held connections are idle now: the server closes them after --idle-timeout.
  for (auto& connection : idle) {
    std::string ignored;
    EXPECT_FALSE(connection->ReadSome(ignored, After(milliseconds(20'000))));
    EXPECT_FALSE(connection->timed_out()) << "an idle connection stayed open";
  }
  EXPECT_EQ(HealthWithin(client(), milliseconds(20'000)), 200)
      << "the server does not serve again once connections closed";
}

// A flood of connections far beyond the cap costs the server no more than the cap and its 503s:
// the rest wait in the kernel's backlog, and all are served or refused; nothing hangs.
TEST_F(ServeLoadTest, AFloodOfConnectionsLeavesTheServerServing) {
  ASSERT_NO_FATAL_FAILURE(Start({"--max-connections", "8"}));
  std::vector<std::unique_ptr<Connection>> flood;
  for (int i = 0; i < 300; ++i) {
    flood.push_back(std::make_unique<Connection>(server().port()));
  }
  int refused = 0;
  for (auto& connection : flood) {
    connection->Send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
  }
  for (auto& connection : flood) {
    HttpResponse response = connection->ReadResponse(After(milliseconds(20'000)));
    EXPECT_THAT(response.status, ::testing::AnyOf(200, 503)) << response.Describe();
    refused += response.status == 503 ? 1 : 0;
    connection.reset();
  }

  EXPECT_GT(refused, 0);
  // Connections the kernel still held for the server are worked off; then it serves again.
  EXPECT_EQ(HealthWithin(client(), milliseconds(20'000)), 200);
}

}  // namespace
}  // namespace warden::serve_test
