// `warden serve` observed from outside: GET /metrics after real jobs, exec runs and requests,
// and the API's own description (GET /openapi.json, GET /docs) checked against what the server
// actually routes.
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <regex>
#include <sstream>
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
using ::testing::StartsWith;

// The samples of a Prometheus exposition: "name{labels}" -> value.
std::map<std::string, double> Samples(const std::string& text) {
  std::map<std::string, double> samples;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] == '#') {
      continue;
    }
    size_t space = line.rfind(' ');
    samples[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return samples;
}

// -1 when the sample is missing, so that a missing series fails any expectation of a count.
double Sample(const std::map<std::string, double>& samples, const std::string& key) {
  auto it = samples.find(key);
  return it == samples.end() ? -1 : it->second;
}

std::string Str(const json::object& object, std::string_view key) {
  const json::value* value = object.if_contains(key);
  return value != nullptr && value->is_string() ? std::string(value->get_string()) : "";
}

class ServeMetricsTest : public ::testing::Test {
 protected:
  ServeMetricsTest() : dir_("warden-serve-metrics-test-") {
    std::filesystem::create_directory(dir_ / "home");
    WriteFile(dir_ / "config.toml", "");
  }

  void TearDown() override {
    if (server_ != nullptr && server_->pid() > 0) {
      EXPECT_EQ(server_->Stop(), 0) << server_->Describe();
    }
  }

  void Start() {
    std::vector<std::string> env = {"HOME=" + (dir_ / "home"),
                                    "WARDEN_CONFIG=" + (dir_ / "config.toml")};
    server_ = std::make_unique<ServeProcess>(std::vector<std::string>{"--data-dir", dir_ / "data"},
                                             env, dir_ / "serve.log");
    ASSERT_NE(server_->port(), 0);
    client_ = std::make_unique<HttpClient>(server_->port());
  }

  HttpClient& client() { return *client_; }

  std::map<std::string, double> Scrape() {
    HttpResponse response = client_->Get("/metrics");
    EXPECT_EQ(response.status, 200) << response.Describe();
    EXPECT_THAT(response.Header("content-type"), StartsWith("text/plain; version=0.0.4"));
    last_scrape_ = response.body;
    return Samples(response.body);
  }

  TempDir dir_;
  std::unique_ptr<ServeProcess> server_;
  std::unique_ptr<HttpClient> client_;
  std::string last_scrape_;
};

TEST_F(ServeMetricsTest, MetricsCountJobsByStateExecRunsByOutcomeAndRequestsByRoute) {
  ASSERT_NO_FATAL_FAILURE(Start());
  HttpClient& http = client();
  HttpResponse submitted = http.PostJson(
      "/v1/jobs", json::object{{"steps", json::array{json::object{{"shell", "echo metered"}}}}});
  ASSERT_EQ(submitted.status, 201) << submitted.Describe();
  std::string id = Str(submitted.Json(), "id");
  // The job's event stream ends with the job.
  SseStream events(server_->port(), "/v1/jobs/" + id + "/events");
  std::vector<SseEvent> seen = events.Rest(milliseconds(20'000));
  ASSERT_TRUE(events.ended() && !seen.empty()) << server_->Describe();
  constexpr int kJobRequests = 3;
  for (int i = 0; i < kJobRequests; ++i) {
    HttpResponse job = http.Get("/v1/jobs/" + id);
    ASSERT_EQ(job.status, 200) << job.Describe();
    ASSERT_EQ(Str(job.Json(), "state"), "succeeded") << job.Describe();
  }
  HttpResponse unknown_job = http.Get("/v1/jobs/j_0000000000000000000000000z");
  EXPECT_EQ(unknown_job.status, 404);
  EXPECT_EQ(http.Get("/v1/no-such-route").status, 404);

  HttpResponse exited = http.PostJson("/v1/exec", json::object{{"code", "print(6 * 7)"}});
  ASSERT_EQ(exited.status, 200) << exited.Describe();
  EXPECT_EQ(Str(exited.Json(), "status"), "exited");
  HttpResponse timed_out =
      http.PostJson("/v1/exec", json::object{{"language", "sh"},
                                             {"code", "sleep 30"},
                                             {"limits", json::object{{"timeout", "300ms"}}}});
  ASSERT_EQ(timed_out.status, 200) << timed_out.Describe();
  EXPECT_EQ(Str(timed_out.Json(), "status"), "timeout");
  EXPECT_EQ(http.PostJson("/v1/exec", json::object{{"code", ""}}).status, 400);  // never ran

  std::map<std::string, double> samples = Scrape();
  const std::string& text = last_scrape_;
  // Jobs by state, read from the store at the scrape.
  EXPECT_EQ(Sample(samples, "warden_jobs{state=\"succeeded\"}"), 1) << text;
  EXPECT_EQ(Sample(samples, "warden_jobs{state=\"queued\"}"), 0);
  EXPECT_EQ(Sample(samples, "warden_jobs{state=\"running\"}"), 0);
  EXPECT_EQ(Sample(samples, "warden_jobs{state=\"failed\"}"), 0);
  EXPECT_EQ(Sample(samples, "warden_jobs{state=\"cancelled\"}"), 0);
  EXPECT_EQ(Sample(samples, "warden_queue_depth"), 0);
  EXPECT_GE(Sample(samples, "warden_workers_busy"), 0);
  EXPECT_EQ(Sample(samples, "warden_store_up"), 1);
  // Exec runs by outcome; the refused request ran nothing.
  EXPECT_EQ(Sample(samples, "warden_sandbox_runs_total{where=\"exec\",outcome=\"exited\"}"), 1);
  EXPECT_EQ(Sample(samples, "warden_sandbox_runs_total{where=\"exec\",outcome=\"timeout\"}"), 1);
  // Requests by route pattern, never by raw path: the job ids are nowhere in the metrics.
  std::string job_route = "method=\"GET\",route=\"/v1/jobs/{id}\"";
  EXPECT_EQ(Sample(samples, "warden_http_requests_total{" + job_route + ",status=\"200\"}"),
            kJobRequests);
  EXPECT_EQ(Sample(samples, "warden_http_requests_total{" + job_route + ",status=\"404\"}"), 1);
  EXPECT_GE(Sample(samples, "warden_http_request_duration_seconds_count{" + job_route + "}"),
            kJobRequests + 1);
  EXPECT_EQ(
      Sample(samples, "warden_http_request_duration_seconds_bucket{" + job_route + ",le=\"+Inf\"}"),
      Sample(samples, "warden_http_request_duration_seconds_count{" + job_route + "}"));
  EXPECT_GT(Sample(samples, "warden_http_request_duration_seconds_sum{" + job_route + "}"), 0);
  EXPECT_EQ(Sample(samples,
                   "warden_http_requests_total{method=\"POST\",route=\"/v1/exec\","
                   "status=\"200\"}"),
            2);
  EXPECT_EQ(Sample(samples,
                   "warden_http_requests_total{method=\"GET\",route=\"unmatched\","
                   "status=\"404\"}"),
            1);
  EXPECT_THAT(text, Not(HasSubstr(id)));
  EXPECT_THAT(text, Not(HasSubstr("no-such-route")));
  EXPECT_THAT(text, HasSubstr("# TYPE warden_http_request_duration_seconds histogram\n"));
}

TEST_F(ServeMetricsTest, OpenApiDocumentAndDocsPageAreServedWithTheirContentTypes) {
  ASSERT_NO_FATAL_FAILURE(Start());
  HttpResponse document = client().Get("/openapi.json");
  ASSERT_EQ(document.status, 200) << document.Describe();
  EXPECT_EQ(document.Header("content-type"), "application/json");
  json::object openapi = document.Json();
  ASSERT_TRUE(openapi.contains("paths")) << document.body.substr(0, 200);
  EXPECT_THAT(Str(openapi, "openapi"), StartsWith("3."));
  EXPECT_TRUE(openapi.at("paths").get_object().contains("/v1/sessions/{id}/messages"));

  HttpResponse page = client().Get("/docs");
  ASSERT_EQ(page.status, 200) << page.Describe();
  EXPECT_EQ(page.Header("content-type"), "text/html; charset=utf-8");
  EXPECT_THAT(page.body, StartsWith("<!DOCTYPE html>"));
  EXPECT_THAT(page.body, HasSubstr("<code>/v1/jobs/{id}/events</code>"));
  EXPECT_THAT(page.body, Not(HasSubstr("<script")));
}

// The document against the real server: each operation it lists reaches a route (the handler's
// own answer, not the router's 404 "no such resource" or 405), and each is then counted in the
// metrics under its route's pattern.
TEST_F(ServeMetricsTest, EveryDocumentedOperationIsRoutedAndCountedUnderItsPattern) {
  ASSERT_NO_FATAL_FAILURE(Start());
  json::object openapi = client().Get("/openapi.json").Json();
  ASSERT_TRUE(openapi.contains("paths"));
  static const std::regex param(R"(\{([^}]+)\})");
  std::vector<std::string> expected_series;
  for (const auto& [path_key, item] : openapi.at("paths").get_object()) {
    std::string path(path_key);
    for (const char* method : {"get", "post", "put", "patch", "delete"}) {
      if (!item.get_object().contains(method)) {
        continue;
      }
      // The API has GETs, POSTs, PUT of a session's files and DELETE /mcp; a new method needs
      // this test taught to send it.
      std::string_view name = method;
      std::string upper = name == "get"      ? "GET"
                          : name == "delete" ? "DELETE"
                          : name == "put"    ? "PUT"
                                             : "POST";
      ASSERT_EQ(upper == "POST", name == "post") << method << " " << path;
      std::string target = std::regex_replace(path, param, "p1");
      HttpResponse response =
          upper == "GET" ? client().Get(target)
          : upper == "DELETE" || upper == "PUT"
              ? client().Raw(fmt::format("{} {} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: "
                                         "0\r\nConnection: close\r\n\r\n",
                                         upper, target))
              : client().Post(target, "{}");
      SCOPED_TRACE(fmt::format("{} {}: {}", upper, path, response.Describe()));
      EXPECT_NE(response.status, 0);
      EXPECT_NE(response.status, 405);
      if (response.status == 404) {
        json::object body = response.Json();
        EXPECT_THAT(json::serialize(body), Not(HasSubstr("no such resource")));
      }
      // The router's pattern: a tail parameter is "{name...}" there.
      std::string pattern =
          path.ends_with("/files/{path}") ? path.substr(0, path.size() - 1) + "...}" : path;
      expected_series.push_back(
          fmt::format("warden_http_requests_total{{method=\"{}\",route=\"{}\","
                      "status=\"{}\"}}",
                      upper, pattern, response.status));
    }
  }
  EXPECT_GE(expected_series.size(), 19u);
  std::map<std::string, double> samples = Scrape();
  for (const std::string& series : expected_series) {
    EXPECT_GE(Sample(samples, series), 1) << series << "\n" << last_scrape_;
  }
}

}  // namespace
}  // namespace warden::serve_test
