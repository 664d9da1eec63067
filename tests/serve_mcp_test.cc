// Warden's agent as an MCP tool on `warden serve` (/mcp), end to end: the real binary, real
// sandboxes, a scripted LLM. agent_task makes a durable job of the caller's key, reports the
// agent's steps as progress notifications while it runs, and links the files it made to the REST
// API; agent_task_status reads a job again, for its owner only.
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fake_llm.h"
#include "serve_fixture.h"

namespace warden::serve_test {
namespace {

using ::testing::HasSubstr;

constexpr std::string_view kKey = "mcp-key-0a1b2c3d4e5f6a7b8c9d";
constexpr std::string_view kOtherKey = "other-key-9f8e7d6c5b4a3f2e1d";

class ServeMcpTest : public ServeTest {
 protected:
  void StartWith(const testing::FakeLlm& fake, std::string_view more_config = "") {
    WriteConfig(fmt::format(
        "{}[llm]\nprovider = \"openai-compatible\"\nbase_url = \"{}\"\nmodel = \"fake-model\"\n"
        "retry_base_ms = 20\nmax_retries = 1\n"
        "[[api.keys]]\nid = \"mcp\"\nkey = \"{}\"\n[[api.keys]]\nid = \"other\"\nkey = \"{}\"\n",
        more_config, fake.BaseUrl(), kKey, kOtherKey));
    ASSERT_NO_FATAL_FAILURE(Start());
  }

  // POST /mcp with `message`, as `key`, in session `session` ("" before initialize).
  HttpResponse Post(std::string_view key, const std::string& session, const json::object& message) {
    std::string body = json::serialize(message);
    return client().Raw(
        fmt::format(
            "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nAuthorization: Bearer {}\r\n"
            "Accept: application/json, text/event-stream\r\nContent-Type: application/json\r\n"
            "{}Content-Length: {}\r\nConnection: close\r\n\r\n{}",
            server().port(), key,
            session.empty()
                ? ""
                : fmt::format("Mcp-Session-Id: {}\r\nMCP-Protocol-Version: 2025-06-18\r\n",
                              session),
            body.size(), body),
        std::chrono::milliseconds(60'000));
  }

  std::string Initialize(std::string_view key) {
    HttpResponse init =
        Post(key, "",
             json::object{{"jsonrpc", "2.0"},
                          {"id", 1},
                          {"method", "initialize"},
                          {"params",
                           {{"protocolVersion", "2025-06-18"},
                            {"capabilities", json::object{}},
                            {"clientInfo", {{"name", "test"}, {"version", "1"}}}}}});
    EXPECT_EQ(init.status, 200) << init.Describe();
    std::string session = init.Header("mcp-session-id");
    Post(key, session, json::object{{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}});
    return session;
  }

  // The JSON-RPC messages of a reply: one JSON body, or the data of each SSE event.
  static std::vector<json::object> Messages(const HttpResponse& response) {
    std::vector<json::object> messages;
    if (response.Header("content-type").starts_with("application/json")) {
      messages.push_back(response.Json());
      return messages;
    }
    size_t at = 0;
    while ((at = response.body.find("data: ", at)) != std::string::npos) {
      size_t end = response.body.find('\n', at);
      messages.push_back(json::parse(response.body.substr(at + 6, end - at - 6)).as_object());
      at = end;
    }
    return messages;
  }

  static json::object Call(std::string_view tool, json::object arguments, int id) {
    return json::object{{"jsonrpc", "2.0"},
                        {"id", id},
                        {"method", "tools/call"},
                        {"params",
                         {{"name", tool},
                          {"arguments", std::move(arguments)},
                          {"_meta", {{"progressToken", fmt::format("p{}", id)}}}}}};
  }
};

TEST_F(ServeMcpTest, AgentTaskRunsAJobOfTheKeyReportingEachStepAndLinksItsFiles) {
  testing::FakeLlm fake(testing::Wire::kOpenAi);
  fake.Script({testing::TextReply("1. Write out.txt"),
               testing::ToolCallReply("run_shell", R"({"command": "echo made > out.txt"})"),
               testing::ToolCallReply("finish", R"({"summary": "wrote out.txt"})")});
  ASSERT_NO_FATAL_FAILURE(StartWith(fake));
  std::string session = Initialize(kKey);
  ASSERT_FALSE(session.empty());
  HttpResponse listed =
      Post(kKey, session, json::object{{"jsonrpc", "2.0"}, {"id", 2}, {"method", "tools/list"}});
  EXPECT_THAT(listed.body, HasSubstr("\"agent_task\""));
  EXPECT_THAT(listed.body, HasSubstr("\"agent_task_status\""));

  HttpResponse called = Post(kKey, session, Call("agent_task", {{"task", "write out.txt"}}, 3));
  ASSERT_EQ(called.status, 200) << called.Describe();
  std::vector<json::object> messages = Messages(called);
  ASSERT_GE(messages.size(), 2U) << called.body;
  std::vector<std::string> progress;
  double last = -1;
  for (size_t i = 0; i + 1 < messages.size(); ++i) {
    ASSERT_EQ(Str(messages[i], "method"), "notifications/progress") << called.body;
    json::object params = Obj(messages[i], "params");
    EXPECT_EQ(Str(params, "progressToken"), "p3");
    double value = params.at("progress").to_number<double>();
    EXPECT_GT(value, last) << "progress must grow";
    last = value;
    progress.push_back(Str(params, "message"));
  }
  EXPECT_THAT(progress, ::testing::Contains(HasSubstr("step 1: run_shell: echo made > out.txt")));
  EXPECT_THAT(progress, ::testing::Contains(HasSubstr("step 1 ended")));

  json::object result = Obj(messages.back(), "result");
  json::object outcome = Obj(result, "structuredContent");
  ASSERT_EQ(Str(outcome, "state"), "succeeded") << called.body;
  EXPECT_EQ(Str(outcome, "summary"), "wrote out.txt");
  const std::string job = Str(outcome, "job_id");
  ASSERT_TRUE(job.starts_with("j_")) << job;
  std::string link;
  for (const json::value& block : Arr(result, "content")) {
    if (Str(block.get_object(), "type") == "resource_link") {
      link = Str(block.get_object(), "uri");
    }
  }
  const std::string prefix = fmt::format("http://127.0.0.1:{}", server().port());
  ASSERT_EQ(link, prefix + "/v1/jobs/" + job + "/files/out.txt") << called.body;

  // The job is the key's, as if posted to /v1/jobs: its file downloads with that key only.
  std::string path = link.substr(prefix.size());
  EXPECT_EQ(client().Get(path, fmt::format("Authorization: Bearer {}\r\n", kKey)).body, "made\n");
  EXPECT_EQ(client().Get(path, fmt::format("Authorization: Bearer {}\r\n", kOtherKey)).status, 404);

  HttpResponse status = Post(kKey, session, Call("agent_task_status", {{"job_id", job}}, 4));
  EXPECT_EQ(Str(Obj(Obj(Messages(status).back(), "result"), "structuredContent"), "state"),
            "succeeded")
      << status.body;
  std::string other = Initialize(kOtherKey);
  HttpResponse stranger = Post(kOtherKey, other, Call("agent_task_status", {{"job_id", job}}, 5));
  json::object refused = Obj(Messages(stranger).back(), "result");
  EXPECT_TRUE(refused.at("isError").as_bool()) << stranger.body;
  EXPECT_THAT(stranger.body, HasSubstr("no job " + job + " of yours"));
}

// A risky action: agent_task returns at once with the request, and agent_task_approve answers it
// and waits for the job's end.
TEST_F(ServeMcpTest, AgentTaskReturnsARequestForApprovalThatAgentTaskApproveAnswers) {
  testing::FakeLlm fake(testing::Wire::kOpenAi);
  fake.Script({testing::TextReply("1. Clean"),
               testing::ToolCallReply(
                   "run_shell", R"({"command": "mkdir -p d && rm -rf d && echo gone > log"})"),
               testing::ToolCallReply("finish", R"({"summary": "cleaned"})")});
  ASSERT_NO_FATAL_FAILURE(StartWith(fake));
  std::string session = Initialize(kKey);
  HttpResponse called = Post(kKey, session, Call("agent_task", {{"task", "clean"}}, 2));
  json::object outcome = Obj(Obj(Messages(called).back(), "result"), "structuredContent");
  ASSERT_EQ(Str(outcome, "state"), "running") << called.body;
  json::object approval = Obj(outcome, "approval");
  EXPECT_EQ(Str(approval, "reason"), "it deletes recursively");
  EXPECT_THAT(Str(Obj(approval, "arguments"), "command"), HasSubstr("rm -rf d"));
  EXPECT_THAT(called.body, HasSubstr("call agent_task_approve"));
  std::string job = Str(outcome, "job_id");

  // Another key cannot answer it.
  std::string other = Initialize(kOtherKey);
  HttpResponse stranger = Post(
      kOtherKey, other, Call("agent_task_approve", {{"job_id", job}, {"decision", "approve"}}, 3));
  EXPECT_THAT(stranger.body, HasSubstr("no job " + job + " of yours"));

  HttpResponse approved = Post(
      kKey, session,
      Call("agent_task_approve",
           {{"job_id", job}, {"decision", "approve"}, {"approval_id", Int(approval, "id")}}, 4));
  json::object ended = Obj(Obj(Messages(approved).back(), "result"), "structuredContent");
  EXPECT_EQ(Str(ended, "state"), "succeeded") << approved.body;
  EXPECT_FALSE(ended.contains("approval"));
  EXPECT_EQ(
      client()
          .Get("/v1/jobs/" + job + "/files/log", fmt::format("Authorization: Bearer {}\r\n", kKey))
          .body,
      "gone\n");
}

TEST_F(ServeMcpTest, AgentTaskRefusesBadOptionsBeforeAnyJobIsStored) {
  testing::FakeLlm fake(testing::Wire::kOpenAi);
  ASSERT_NO_FATAL_FAILURE(StartWith(fake));
  std::string session = Initialize(kKey);
  HttpResponse called =
      Post(kKey, session, Call("agent_task", {{"task", "x"}, {"options", {{"memory", "0"}}}}, 2));
  json::object result = Obj(Messages(called).back(), "result");
  EXPECT_TRUE(result.at("isError").as_bool()) << called.body;
  EXPECT_THAT(called.body, HasSubstr("options.memory"));
  HttpResponse jobs = client().Get("/v1/jobs", fmt::format("Authorization: Bearer {}\r\n", kKey));
  EXPECT_EQ(Arr(jobs.Json(), "jobs").size(), 0U) << jobs.body;
}

// A thousand sandboxes created and abandoned (never destroyed) expire after their idle time and
// leave no workspace or mount behind.
TEST_F(ServeMcpTest, AbandonedSandboxesExpireAndLeaveNothingBehind) {
  testing::FakeLlm fake(testing::Wire::kOpenAi);
  ASSERT_NO_FATAL_FAILURE(
      StartWith(fake, "[mcp]\nidle_ttl = \"1s\"\nmax_sandboxes = 2000\n[api]\nrate_limit = 0\n"));
  std::string session = Initialize(kKey);
  for (int i = 0; i < 1000; ++i) {
    HttpResponse made = Post(kKey, session, Call("sandbox_create", {}, 10 + i));
    json::object outcome = Obj(Obj(Messages(made).back(), "result"), "structuredContent");
    std::string id = Str(outcome, "sandbox_id");
    ASSERT_TRUE(id.starts_with("sbx_")) << made.body;
    if (i % 50 == 0) {  // some of them ran a program and hold a file
      HttpResponse ran =
          Post(kKey, session,
               Call("sandbox_run",
                    {{"sandbox_id", id}, {"language", "bash"}, {"code", "echo kept > kept.txt"}},
                    5000 + i));
      EXPECT_EQ(Int(Obj(Obj(Messages(ran).back(), "result"), "structuredContent"), "exit_code"), 0)
          << ran.body;
    }
  }
  const std::filesystem::path root = std::filesystem::path(data_dir()) / "workspaces" / ".mcp";
  auto left = [&] {
    size_t count = 0;
    for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(root)) {
      ++count;
    }
    return count;
  };
  EXPECT_GT(left(), 0U);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (left() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(left(), 0U) << "sandboxes left after their idle time";
  std::ifstream mountinfo("/proc/self/mountinfo");
  std::stringstream mounts;
  mounts << mountinfo.rdbuf();
  EXPECT_EQ(mounts.str().find(root.string()), std::string::npos);
  HttpResponse gone =
      Post(kKey, session, Call("sandbox_list_files", {{"sandbox_id", "sbx_unknown"}}, 9999));
  EXPECT_THAT(gone.body, HasSubstr("expired"));
}

}  // namespace
}  // namespace warden::serve_test
