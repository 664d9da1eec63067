// `warden serve` under limits a client might try to slip past, end to end on the real binary: a
// limit of zero or over the ceiling, a job that writes or prints a little in each of many steps,
// the host's network on a server that forbids it, one key filling the queue, and one key filling
// the disk with the workspaces of finished jobs.
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "serve_fixture.h"

namespace warden::serve_test {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class ServeLimitsTest : public ServeTest {};

// 0 meant "no limit" inside the sandbox, and min(asked, ceiling) let it through every ceiling.
TEST_F(ServeLimitsTest, ExecRefusesZeroNegativeAndOverCeilingLimitsNamingTheRange) {
  ASSERT_NO_FATAL_FAILURE(Start());
  const std::pair<const char*, const char*> cases[] = {
      {R"("memory": "0")", "limits.memory must be a size from 4M to 4G"},
      {R"("memory": "5G")", "limits.memory must be a size from 4M to 4G"},
      {R"("timeout": "0")", "limits.timeout must be a duration from 100ms to 10m"},
      {R"("cpu_time": "0s")", "limits.cpu_time"},
      {R"("disk_limit": "0")", "limits.disk_limit"},
      {R"("output_limit": "-1")", "limits.output_limit"},
      {R"("timeout": "1h")", "limits.timeout"},
  };
  for (const auto& [limit, says] : cases) {
    std::string body =
        fmt::format(R"({{"language": "bash", "code": "echo ran", "limits": {{{}}}}})", limit);
    HttpResponse response = client().Post("/v1/exec", body);
    EXPECT_EQ(response.status, 400) << limit << "\n" << response.Describe();
    EXPECT_THAT(response.body, HasSubstr(says)) << limit;
    EXPECT_THAT(response.body, Not(HasSubstr("ran\\n"))) << limit;
  }
  // Within range it runs, with the limit it asked for.
  HttpResponse ok = client().Post(
      "/v1/exec", R"({"language": "bash", "code": "echo ran", "limits": {"memory": "64M"}})");
  ASSERT_EQ(ok.status, 200) << ok.Describe();
  EXPECT_EQ(Str(ok.Json(), "stdout"), "ran\n");
}

TEST_F(ServeLimitsTest, JobsWithUnboundedOrForbiddenOptionsAreRefusedBeforeTheyAreStored) {
  ASSERT_NO_FATAL_FAILURE(Start());
  const std::pair<const char*, const char*> cases[] = {
      {R"("memory": "0")", "options.memory"},
      {R"("timeout": "0")", "options.timeout"},
      {R"("action_timeout": "0s")", "options.action_timeout"},
      {R"("disk_limit": "0")", "options.disk_limit"},
      {R"("output_limit": "0")", "options.output_limit"},
      {R"("memory": "1T")", "options.memory"},
  };
  for (const auto& [option, says] : cases) {
    std::string body =
        fmt::format(R"({{"steps": [{{"shell": "echo ran"}}], "options": {{{}}}}})", option);
    HttpResponse response = client().Post("/v1/jobs", body);
    EXPECT_EQ(response.status, 400) << option << "\n" << response.Describe();
    EXPECT_THAT(response.body, HasSubstr(says)) << option;
  }
  // The host's network on a server started without --allow-network: refused now, not failed later.
  HttpResponse network = client().Post(
      "/v1/jobs", R"({"steps": [{"shell": "true"}], "options": {"network": "host"}})");
  EXPECT_EQ(network.status, 403) << network.Describe();
  EXPECT_THAT(network.body, HasSubstr("--allow-network"));
  HttpResponse list = client().Get("/v1/jobs");
  ASSERT_EQ(list.status, 200);
  EXPECT_TRUE(Arr(list.Json(), "jobs").empty()) << list.body;
}

// The disk limit used to start afresh at every step: six steps wrote 1.5 GB under 256 MB.
TEST_F(ServeLimitsTest, TheDiskLimitHoldsAcrossAllOfAJobsSteps) {
  ASSERT_NO_FATAL_FAILURE(Start());
  json::array steps;
  for (int i = 0; i < 5; ++i) {
    steps.push_back(Shell(fmt::format("head -c 3000000 /dev/urandom > part{}", i)));
  }
  json::object body = StepsJob(steps);
  body["options"] = json::object{{"disk_limit", "8M"}};
  json::object job = Submit(body);
  json::object done = WaitForState(Str(job, "id"), "failed");
  EXPECT_EQ(Str(done, "state"), "failed");
  EXPECT_EQ(Str(done, "reason"), "disk_limit") << json::serialize(done);
  int64_t actions = 0;
  for (const json::object& event : Events(Str(job, "id"))) {
    actions += Str(event, "type") == "action" ? 1 : 0;
  }
  EXPECT_LE(actions, 3) << "steps ran after the job's disk was full";
}

// Output was capped per step only: 100 steps added 96 MB to the database in 9 s.
TEST_F(ServeLimitsTest, StoredOutputIsBoundedForTheWholeJob) {
  ASSERT_NO_FATAL_FAILURE(Start());
  json::array steps;
  for (int i = 0; i < 12; ++i) {
    steps.push_back(Shell("head -c 200000 /dev/zero | tr '\\0' a"));
  }
  json::object body = StepsJob(steps);
  body["options"] = json::object{{"output_limit", "1M"}};
  json::object job = Submit(body);
  json::object done = WaitForState(Str(job, "id"), "failed");
  EXPECT_EQ(Str(done, "reason"), "output_limit") << json::serialize(done);
  size_t stored = 0;
  int64_t steps_with_output = 0;
  for (const json::object& event : Events(Str(job, "id"))) {
    if (Str(event, "type") == "output") {
      stored += Str(Obj(event, "data"), "text").size();
      steps_with_output = std::max(steps_with_output, Int(Obj(event, "data"), "step"));
    }
  }
  EXPECT_LE(stored, size_t{1} << 20);
  EXPECT_GE(stored, size_t{1000} * 1000) << "the job stopped before its bound";
  EXPECT_LE(steps_with_output, 6);
}

// One key filling the queue must not lock out the others.
TEST_F(ServeLimitsTest, OneKeyCannotFillTheQueueForTheOthers) {
  WriteConfig(
      "[[api.keys]]\nid = \"flooder\"\nkey = \"flooder-key-0a1b2c3d4e5f6a7b\"\n"
      "[[api.keys]]\nid = \"other\"\nkey = \"other-key-9f8e7d6c5b4a3f2e\"\n");
  ASSERT_NO_FATAL_FAILURE(Start({"--workers", "1", "--max-queued-per-key", "2"}));
  auto post = [&](const char* key, const std::string& body) {
    return client().Raw(fmt::format(
        "POST /v1/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {}\r\n"
        "Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
        key, body.size(), body));
  };
  const std::string sleeper = R"({"steps": [{"shell": "sleep 60"}]})";
  const char* flooder = "flooder-key-0a1b2c3d4e5f6a7b";
  std::vector<std::string> ids;
  HttpResponse refused;
  for (int i = 0; i < 6 && refused.status != 429; ++i) {
    HttpResponse response = post(flooder, sleeper);
    if (response.status == 201) {
      ids.push_back(Str(response.Json(), "id"));
    } else {
      refused = response;
    }
  }
  ASSERT_EQ(refused.status, 429) << "the flooder was never refused: " << refused.Describe();
  EXPECT_THAT(refused.body, HasSubstr("max_queued_per_key"));
  EXPECT_FALSE(refused.Header("retry-after").empty());
  EXPECT_LE(ids.size(), 3u);  // one running, two queued
  HttpResponse other = post("other-key-9f8e7d6c5b4a3f2e", R"({"steps": [{"shell": "true"}]})");
  EXPECT_EQ(other.status, 201) << other.Describe();
  for (const std::string& id : ids) {
    client().Raw(fmt::format(
        "POST /v1/jobs/{}/cancel HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {}\r\n"
        "Content-Length: 0\r\nConnection: close\r\n\r\n",
        id, flooder));
  }
}

// Finished jobs keep their workspaces (until retention): one key must not fill the disk with them.
TEST_F(ServeLimitsTest, OneKeysKeptWorkspacesAreBoundedUntilItDeletesJobs) {
  WriteConfig(
      "[[api.keys]]\nid = \"filler\"\nkey = \"filler-key-0a1b2c3d4e5f6a7b\"\n"
      "[[api.keys]]\nid = \"other\"\nkey = \"other-key-9f8e7d6c5b4a3f2e\"\n");
  ASSERT_NO_FATAL_FAILURE(Start({"--workers", "1", "--max-workspace-bytes-per-key", "1M"}));
  const std::string filler = "filler-key-0a1b2c3d4e5f6a7b";
  auto call = [&](std::string_view method, const std::string& path, const std::string& key,
                  const std::string& body = "") {
    return client().Raw(fmt::format(
        "{} {} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {}\r\n"
        "Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
        method, path, key, body.size(), body));
  };
  // A sparse file counts for its full length: 2 MB written as one byte.
  const std::string big = R"({"steps": [{"shell": "truncate -s 2M big && echo made"}]})";
  HttpResponse created = call("POST", "/v1/jobs", filler, big);
  ASSERT_EQ(created.status, 201) << created.Describe();
  const std::string id = Str(created.Json(), "id");
  std::string state;
  for (auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
       state != "succeeded" && std::chrono::steady_clock::now() < deadline;
       std::this_thread::sleep_for(std::chrono::milliseconds(50))) {
    state = Str(call("GET", "/v1/jobs/" + id, filler).Json(), "state");
  }
  ASSERT_EQ(state, "succeeded");

  // The server reads a key's total at most once a second: a job or two may still pass meanwhile.
  HttpResponse refused;
  for (auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
       std::chrono::steady_clock::now() < deadline;
       std::this_thread::sleep_for(std::chrono::milliseconds(100))) {
    refused = call("POST", "/v1/jobs", filler, R"({"steps": [{"shell": "true"}]})");
    if (refused.status != 201) {
      break;
    }
  }
  ASSERT_EQ(refused.status, 429) << refused.Describe();
  EXPECT_EQ(Str(Obj(refused.Json(), "error"), "code"), "workspace_quota");
  EXPECT_THAT(refused.body, HasSubstr("DELETE /v1/jobs/{id}"));
  EXPECT_FALSE(refused.Header("retry-after").empty());
  EXPECT_EQ(call("POST", "/v1/jobs/" + id + "/retry", filler).status, 429);
  HttpResponse other =
      call("POST", "/v1/jobs", "other-key-9f8e7d6c5b4a3f2e", R"({"steps": [{"shell": "true"}]})");
  EXPECT_EQ(other.status, 201) << other.Describe();

  // Only its owner deletes a job, and only once it has ended; its workspace goes with it.
  EXPECT_EQ(call("DELETE", "/v1/jobs/" + id, "other-key-9f8e7d6c5b4a3f2e").status, 404);
  const std::filesystem::path workspace = std::filesystem::path(data_dir()) / "workspaces" / id;
  EXPECT_TRUE(std::filesystem::exists(workspace / "big"));
  HttpResponse deleted = call("DELETE", "/v1/jobs/" + id, filler);
  EXPECT_EQ(deleted.status, 204) << deleted.Describe();
  EXPECT_FALSE(std::filesystem::exists(workspace));
  EXPECT_EQ(call("GET", "/v1/jobs/" + id, filler).status, 404);
  HttpResponse again = call("POST", "/v1/jobs", filler, R"({"steps": [{"shell": "sleep 60"}]})");
  ASSERT_EQ(again.status, 201) << again.Describe();
  HttpResponse running = call("DELETE", "/v1/jobs/" + Str(again.Json(), "id"), filler);
  EXPECT_EQ(running.status, 409) << running.Describe();
  EXPECT_THAT(running.body, HasSubstr("cancel it"));
  call("POST", "/v1/jobs/" + Str(again.Json(), "id") + "/cancel", filler);
}

}  // namespace
}  // namespace warden::serve_test
