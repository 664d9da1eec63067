// The jobs API over real HTTP and a real SQLite store, with the router's quick handler on the I/O
// thread as `warden serve` has it: what it answers while every handler thread is blocked, and
// that those answers are the pool's, byte for byte.
#include <future>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "api/http.h"
#include "api/http_test_client.h"
#include "api/jobs_api.h"
#include "api/router.h"
#include "jobs/sqlite_store.h"
#include "sys/fs.h"

namespace warden::api {
namespace {

using test::Client;
using test::Gate;
using test::Reply;

class JobsApiQuickTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = sys::TempDir::Create("warden-jobs-quick-test-");
    ASSERT_TRUE(dir.ok()) << dir.error().ToString();
    dir_ = std::make_unique<sys::TempDir>(std::move(*dir));
    jobs::SqliteStoreOptions options;
    options.path = dir_->path() + "/warden.db";
    auto store = jobs::SqliteStore::Open(options);
    ASSERT_TRUE(store.ok()) << store.error().ToString();
    store_ = std::move(*store);
    jobs::NewJob job;
    job.kind = jobs::JobKind::kSteps;
    job.input = {{"steps", json::array{json::object{{"shell", "true"}}}}};
    auto created = store_->Create(job);
    ASSERT_TRUE(created.ok()) << created.error().ToString();
    id_ = created->id;

    jobs_api_ = std::make_unique<JobsApi>(*store_, nullptr, JobsApiOptions{});
    jobs_api_->AddRoutes(router_);
    // A route that may block, as a store write may: it holds the one handler thread.
    router_.Add("GET", "/block", [this](Request&) {
      blocked_.set_value();
      gate_.Wait();
      return Response::Text(200, "unblocked");
    });
    ServerOptions server_options;
    server_options.handler_threads = 1;
    server_options.quick = [this](Request& request) {
      return router_.HandleQuick(request);
    };
    server_ = test::StartServer([this](Request& request) { return router_.Handle(request); },
                                server_options);
    ASSERT_TRUE(server_);
  }

  void TearDown() override { gate_.Open(); }

  // What the pool's handler answers to GET `target`, with no HTTP in between.
  std::string PoolBody(const std::string& target) {
    Request request;
    request.method = "GET";
    EXPECT_TRUE(ParseTarget(target, &request));
    return router_.Handle(request).body;
  }

  std::unique_ptr<sys::TempDir> dir_;
  std::unique_ptr<jobs::SqliteStore> store_;
  std::string id_;
  Router router_;
  std::unique_ptr<JobsApi> jobs_api_;
  Gate gate_;
  std::promise<void> blocked_;
  std::unique_ptr<HttpServer> server_;  // last: stopped first
};

TEST_F(JobsApiQuickTest, AJobAPageOfJobsAndHealthAreAnsweredWhileTheHandlerThreadIsBlocked) {
  Client blocker(server_->port());
  ASSERT_TRUE(blocker.Send("GET /block HTTP/1.1\r\nHost: x\r\n\r\n"));
  blocked_.get_future().wait();

  Client client(server_->port());
  std::optional<Reply> job = client.Request("GET", "/v1/jobs/" + id_);
  std::optional<Reply> page = client.Request("GET", "/v1/jobs?limit=5");
  std::optional<Reply> health = client.Request("GET", "/healthz");
  std::optional<Reply> missing = client.Request("GET", "/v1/jobs/j_nonexistent");
  gate_.Open();

  ASSERT_TRUE(job && page && health && missing) << "a quick request waited for the handler";
  EXPECT_EQ(job->status, 200);
  EXPECT_EQ(job->body, PoolBody("/v1/jobs/" + id_));
  EXPECT_EQ(page->status, 200);
  EXPECT_EQ(page->body, PoolBody("/v1/jobs?limit=5"));
  EXPECT_NE(page->body.find(id_), std::string::npos) << page->body;
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(missing->body, PoolBody("/v1/jobs/j_nonexistent"));
  std::optional<Reply> unblocked = blocker.ReadResponse();
  ASSERT_TRUE(unblocked);
  EXPECT_EQ(unblocked->body, "unblocked");
}

TEST_F(JobsApiQuickTest, RoutesThatMayBlockAreLeftToThePool) {
  for (auto [method, target] : {std::pair{"POST", "/v1/jobs"},
                                {"POST", "/v1/jobs/ID/cancel"},
                                {"DELETE", "/v1/jobs/ID"},
                                {"GET", "/v1/jobs/ID/events"},
                                {"GET", "/v1/jobs/ID/archive"},
                                {"GET", "/readyz"},
                                // Filters without an index, and the counts, may scan.
                                {"GET", "/v1/jobs?q=build"},
                                {"GET", "/v1/jobs?kind=task"},
                                {"GET", "/v1/jobs?counts=true"}}) {
    Request request;
    request.method = method;
    std::string path = target;
    if (size_t at = path.find("ID"); at != std::string::npos) {
      path.replace(at, 2, id_);
    }
    ASSERT_TRUE(ParseTarget(path, &request));
    EXPECT_FALSE(router_.HandleQuick(request)) << method << " " << target;
  }
}

}  // namespace
}  // namespace warden::api
