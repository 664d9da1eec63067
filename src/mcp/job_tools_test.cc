// JobTools against a real SQLite store, with no worker: a job stays queued, so what the tools do
// while it waits (progress, the end of a wait, a cancelled call) is seen exactly.
#include "mcp/job_tools.h"

#include <atomic>
#include <mutex>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "jobs/sqlite_store.h"
#include "sys/fs.h"

namespace warden::mcp {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;

class JobToolsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = sys::TempDir::Create("warden-job-tools-");
    ASSERT_TRUE(dir.ok());
    dir_ = std::make_unique<sys::TempDir>(std::move(dir).value());
    auto store =
        jobs::SqliteStore::Open(jobs::SqliteStoreOptions{dir_->path() + "/jobs.db", {}, 2});
    ASSERT_TRUE(store.ok()) << store.error().ToString();
    store_ = std::move(store).value();
    JobToolOptions options;
    options.progress_every = std::chrono::milliseconds(50);
    options.cancel_running = [this](const std::string& id) {
      std::lock_guard lock(mu_);
      killed_.push_back(id);
    };
    tools_ = std::make_unique<JobTools>(*store_, options);
  }

  CallContext Context(std::string owner, const sandbox::CancelToken* cancel = nullptr) {
    return CallContext{std::move(owner), cancel,
                       [this](double progress, std::optional<double>, std::string_view message) {
                         std::lock_guard lock(mu_);
                         progress_.push_back(progress);
                         messages_.emplace_back(message);
                       },
                       "https://warden.example:8443"};
  }

  std::unique_ptr<sys::TempDir> dir_;
  std::unique_ptr<jobs::SqliteStore> store_;
  std::unique_ptr<JobTools> tools_;
  std::mutex mu_;
  std::vector<double> progress_;
  std::vector<std::string> messages_;
  std::vector<std::string> killed_;
};

TEST_F(JobToolsTest, AWaitingCallReportsProgressOftenAndEndsSayingHowToWaitAgain) {
  auto result =
      tools_->Call("agent_task", json::parse(R"({"task": "x", "wait_seconds": 1})").as_object(),
                   Context("alice"));
  ASSERT_TRUE(result.ok()) << result.error().ToString();
  EXPECT_EQ(result->structured.at("state"), "queued");
  const std::string id(result->structured.at("job_id").as_string());
  EXPECT_THAT(json::value_to<std::string>(result->content[0].at("text")),
              HasSubstr("Call agent_task_status with job_id \"" + id + "\""));
  // A notification every 50 ms over one second: many, each larger than the one before.
  std::lock_guard lock(mu_);
  EXPECT_GE(progress_.size(), 5U);
  for (size_t i = 1; i < progress_.size(); ++i) {
    EXPECT_GT(progress_[i], progress_[i - 1]);
  }
  EXPECT_THAT(messages_, Contains(HasSubstr("job " + id + " still running")));
  auto job = store_->Get(id, "alice");
  ASSERT_TRUE(job.ok());
  EXPECT_EQ(job->input.at("task"), "x");
}

TEST_F(JobToolsTest, ACancelledCallCancelsItsJob) {
  sandbox::CancelToken cancel;
  cancel.Cancel();  // as notifications/cancelled, or the client gone, would
  auto result = tools_->Call("agent_task", json::parse(R"({"task": "x"})").as_object(),
                             Context("alice", &cancel));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code(), ErrorCode::kCancelled);
  auto page = store_->List(jobs::JobFilter{.owner = "alice"}, jobs::PageRequest{});
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->jobs.size(), 1U);
  EXPECT_EQ(page->jobs[0].state, jobs::JobState::kCancelled);
  std::lock_guard lock(mu_);
  EXPECT_EQ(killed_, std::vector<std::string>{page->jobs[0].id});
}

TEST_F(JobToolsTest, AnEndedJobIsReadWithLinksToItsFilesByItsOwnerOnly) {
  jobs::NewJob job;
  job.owner = "alice";
  job.input = json::object{{"task", "x"}};
  auto created = store_->Create(job);
  ASSERT_TRUE(created.ok());
  ASSERT_TRUE(store_->ClaimNext("w").ok());
  jobs::FinishRequest finish;
  finish.state = jobs::JobState::kSucceeded;
  finish.reason = std::string(jobs::kReasonFinished);
  finish.summary = "made it";
  finish.result["files"] = json::parse(R"([{"path": "out dir/a b.txt", "size": 3}])");
  ASSERT_TRUE(store_->Finish(created->id, finish).ok());

  json::object ask{{"job_id", created->id}};
  auto read = tools_->Call("agent_task_status", ask, Context("alice"));
  ASSERT_TRUE(read.ok()) << read.error().ToString();
  EXPECT_FALSE(read->is_error);
  EXPECT_EQ(read->structured.at("summary"), "made it");
  ASSERT_EQ(read->content.size(), 2U);
  EXPECT_EQ(read->content[1].at("type"), "resource_link");
  EXPECT_EQ(json::value_to<std::string>(read->content[1].at("uri")),
            "https://warden.example:8443/v1/jobs/" + created->id + "/files/out%20dir/a%20b.txt");

  auto stranger = tools_->Call("agent_task_status", ask, Context("bob"));
  ASSERT_FALSE(stranger.ok());
  EXPECT_EQ(stranger.error().code(), ErrorCode::kNotFound);
  auto steps =
      tools_->Call("agent_task", json::parse(R"({"task": "x", "wait_seconds": 99999})").as_object(),
                   Context("alice"));
  ASSERT_FALSE(steps.ok());
  EXPECT_THAT(steps.error().message(), HasSubstr("wait_seconds may be at most 3600"));
}

TEST_F(JobToolsTest, AnAgentTaskStartedAsATaskIsItsJobForItsOwnerOnly) {
  auto task = tools_->StartTask("agent_task", json::parse(R"({"task": "x"})").as_object(),
                                Context("alice"));
  ASSERT_TRUE(task.ok()) << task.error().ToString();
  const std::string id(task->at("taskId").as_string());
  EXPECT_EQ(task->at("status"), "working");
  EXPECT_TRUE(task->at("createdAt").as_string().ends_with("Z"));
  EXPECT_EQ(store_->Get(id, "alice")->state, jobs::JobState::kQueued);
  EXPECT_FALSE(tools_->RunsAsTask("sandbox_run"));
  EXPECT_FALSE(
      tools_
          ->StartTask("agent_task",
                      json::parse(R"({"task": "x", "options": {"memory": "0"}})").as_object(),
                      Context("alice"))
          .ok());

  auto listed = tools_->ListTasks("", Context("alice"));
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->at("tasks").as_array().size(), 1U);
  EXPECT_EQ(tools_->ListTasks("", Context("bob"))->at("tasks").as_array().size(), 0U);
  EXPECT_EQ(tools_->GetTask(id, Context("bob")).error().code(), ErrorCode::kNotFound);

  auto cancelled = tools_->CancelTask(id, Context("alice"));
  ASSERT_TRUE(cancelled.ok()) << cancelled.error().ToString();
  EXPECT_EQ(cancelled->at("status"), "cancelled");
  EXPECT_EQ(tools_->GetTask(id, Context("alice"))->at("status"), "cancelled");
  EXPECT_EQ(tools_->CancelTask(id, Context("alice")).error().code(),
            ErrorCode::kFailedPrecondition);
  auto result = tools_->AwaitTask(id, Context("alice"));
  ASSERT_TRUE(result.ok());
  EXPECT_TRUE(result->is_error);
  EXPECT_EQ(result->structured.at("state"), "cancelled");
}

}  // namespace
}  // namespace warden::mcp
