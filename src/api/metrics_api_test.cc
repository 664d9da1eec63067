#include "api/metrics_api.h"

#include <cstdint>
#include <memory>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/metrics.h"
#include "jobs/sqlite_store.h"
#include "sys/fs.h"

namespace warden::api {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class MetricsApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = sys::TempDir::Create("warden-metrics-api-test-");
    ASSERT_TRUE(dir.ok()) << dir.error().ToString();
    dir_ = std::make_unique<sys::TempDir>(std::move(*dir));
    jobs::SqliteStoreOptions options;
    options.path = dir_->path() + "/warden.db";
    auto store = jobs::SqliteStore::Open(options);
    ASSERT_TRUE(store.ok()) << store.error().ToString();
    store_ = std::move(*store);
    api_ = std::make_unique<MetricsApi>(*store_, nullptr);
    api_->AddRoutes(router_);
  }

  Response Scrape() {
    Request request;
    request.method = "GET";
    EXPECT_TRUE(ParseTarget("/metrics", &request));
    return router_.Handle(request);
  }

  void AddJob() {
    jobs::NewJob job;
    job.kind = jobs::JobKind::kSteps;
    job.input = json::object{{"steps", json::array{json::object{{"shell", "true"}}}}};
    ASSERT_TRUE(store_->Create(std::move(job)).ok());
  }

  std::unique_ptr<sys::TempDir> dir_;
  std::unique_ptr<jobs::SqliteStore> store_;
  std::unique_ptr<MetricsApi> api_;
  Router router_;
};

TEST_F(MetricsApiTest, ScrapeHasJobsByStateAndQueueDepthFromTheStore) {
  AddJob();
  AddJob();
  AddJob();
  auto claimed = store_->ClaimNext("test-worker");
  ASSERT_TRUE(claimed.ok() && claimed->has_value());

  Response response = Scrape();
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.headers.Get("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_THAT(response.body, HasSubstr("# TYPE warden_jobs gauge\n"
                                       "warden_jobs{state=\"queued\"} 2\n"
                                       "warden_jobs{state=\"running\"} 1\n"
                                       "warden_jobs{state=\"succeeded\"} 0\n"
                                       "warden_jobs{state=\"failed\"} 0\n"
                                       "warden_jobs{state=\"cancelled\"} 0\n"));
  EXPECT_THAT(response.body, HasSubstr("# TYPE warden_queue_depth gauge\nwarden_queue_depth 2\n"));
  EXPECT_THAT(response.body, HasSubstr("warden_store_up 1\n"));
  // No workers in this process: no gauge of them rather than a made-up zero.
  EXPECT_THAT(response.body, Not(HasSubstr("warden_workers_busy")));
}

TEST_F(MetricsApiTest, ScrapeIncludesWhatWasRecorded) {
  // The process-wide metrics: other tests (and --gtest_repeat) record too, so compare.
  auto runs = [this] {
    std::string body = Scrape().body;
    std::string series =
        "\nwarden_sandbox_runs_total{where=\"metrics-api-test\",outcome=\"timeout\"} ";
    size_t at = body.find(series);
    return at == std::string::npos ? 0 : std::stoll(body.substr(at + series.size()));
  };
  int64_t before = runs();
  metrics::RecordSandboxRun("metrics-api-test", "timeout");
  EXPECT_EQ(runs(), before + 1);
  Response response = Scrape();
  EXPECT_THAT(response.body, HasSubstr("# TYPE warden_sandbox_runs_total counter\n"));
  EXPECT_THAT(response.body, HasSubstr("# TYPE warden_http_request_duration_seconds histogram\n"));
}

}  // namespace
}  // namespace warden::api
