#include "base/metrics.h"

#include <cmath>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace warden::metrics {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(MetricsTest, CounterIsWrittenExactlyWithItsSeriesSortedByLabels) {
  Registry registry;
  Counter runs = registry.AddCounter("test_runs_total", "Runs that ended.", {"where", "outcome"});
  runs.Add({"job", "timeout"});
  runs.Add({"exec", "exited"}, 3);
  runs.Add({"job", "exited"});
  runs.Add({"job", "exited"});

  EXPECT_EQ(registry.Exposition(),
            "# HELP test_runs_total Runs that ended.\n"
            "# TYPE test_runs_total counter\n"
            "test_runs_total{where=\"exec\",outcome=\"exited\"} 3\n"
            "test_runs_total{where=\"job\",outcome=\"exited\"} 2\n"
            "test_runs_total{where=\"job\",outcome=\"timeout\"} 1\n");
}

TEST(MetricsTest, FamiliesAppearInTheOrderAddedAndWithoutLabelsHaveNoBraces) {
  Registry registry;
  Counter second = registry.AddCounter("b_total", "B.", {});
  Counter first = registry.AddCounter("a_total", "A.", {});
  registry.AddCounter("unused_total", "Never recorded.", {"x"});
  first.Add({}, 7);
  second.Add({});

  EXPECT_EQ(registry.Exposition(),
            "# HELP b_total B.\n# TYPE b_total counter\nb_total 1\n"
            "# HELP a_total A.\n# TYPE a_total counter\na_total 7\n"
            "# HELP unused_total Never recorded.\n# TYPE unused_total counter\n");
}

TEST(MetricsTest, HistogramHasCumulativeBucketsUpToInfSumAndCount) {
  Registry registry;
  Histogram latency =
      registry.AddHistogram("test_seconds", "Latency.", {"route"}, {0.0005, 0.5, 1, 10});
  // A value equal to a bound falls in that bucket (le is "less than or equal").
  for (double value : {0.25, 0.5, 0.75, 1.0, 3.0, 64.0}) {
    latency.Observe({"/v1/jobs/{id}"}, value);
  }
  latency.Observe({"/healthz"}, 0.0001);

  EXPECT_EQ(registry.Exposition(),
            "# HELP test_seconds Latency.\n"
            "# TYPE test_seconds histogram\n"
            "test_seconds_bucket{route=\"/healthz\",le=\"0.0005\"} 1\n"
            "test_seconds_bucket{route=\"/healthz\",le=\"0.5\"} 1\n"
            "test_seconds_bucket{route=\"/healthz\",le=\"1\"} 1\n"
            "test_seconds_bucket{route=\"/healthz\",le=\"10\"} 1\n"
            "test_seconds_bucket{route=\"/healthz\",le=\"+Inf\"} 1\n"
            "test_seconds_sum{route=\"/healthz\"} 0.0001\n"
            "test_seconds_count{route=\"/healthz\"} 1\n"
            "test_seconds_bucket{route=\"/v1/jobs/{id}\",le=\"0.0005\"} 0\n"
            "test_seconds_bucket{route=\"/v1/jobs/{id}\",le=\"0.5\"} 2\n"
            "test_seconds_bucket{route=\"/v1/jobs/{id}\",le=\"1\"} 4\n"
            "test_seconds_bucket{route=\"/v1/jobs/{id}\",le=\"10\"} 5\n"
            "test_seconds_bucket{route=\"/v1/jobs/{id}\",le=\"+Inf\"} 6\n"
            "test_seconds_sum{route=\"/v1/jobs/{id}\"} 69.5\n"
            "test_seconds_count{route=\"/v1/jobs/{id}\"} 6\n");
}

TEST(MetricsTest, HistogramWithoutLabelsPutsOnlyLeInBraces) {
  Registry registry;
  Histogram sizes = registry.AddHistogram("test_bytes", "Sizes.", {}, {100});
  sizes.Observe({}, 50);
  sizes.Observe({}, std::nan(""));  // ignored

  EXPECT_EQ(registry.Exposition(),
            "# HELP test_bytes Sizes.\n# TYPE test_bytes histogram\n"
            "test_bytes_bucket{le=\"100\"} 1\ntest_bytes_bucket{le=\"+Inf\"} 1\n"
            "test_bytes_sum 50\ntest_bytes_count 1\n");
}

TEST(MetricsTest, LabelValuesAndHelpAreEscaped) {
  Registry registry;
  Counter counter = registry.AddCounter("test_total", "Line one\nback\\slash \"quoted\"", {"v"});
  counter.Add({"a\"b\\c\nd"});

  EXPECT_EQ(registry.Exposition(),
            "# HELP test_total Line one\\nback\\\\slash \"quoted\"\n"
            "# TYPE test_total counter\n"
            "test_total{v=\"a\\\"b\\\\c\\nd\"} 1\n");
}

TEST(MetricsTest, GaugesReadAtScrapeTimeAreFormattedLikeTheRest) {
  std::vector<GaugeSample> samples = {{{{"state", "queued"}}, 3}, {{{"state", "we\"ird"}}, 0.5}};
  EXPECT_EQ(FormatGauge("test_jobs", "Jobs.", samples),
            "# HELP test_jobs Jobs.\n# TYPE test_jobs gauge\n"
            "test_jobs{state=\"queued\"} 3\ntest_jobs{state=\"we\\\"ird\"} 0.5\n");
  EXPECT_EQ(FormatGauge("test_depth", "Depth.", {{{}, 12}}),
            "# HELP test_depth Depth.\n# TYPE test_depth gauge\ntest_depth 12\n");
  EXPECT_EQ(FormatValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatValue(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(FormatValue(std::nan("")), "NaN");
  EXPECT_EQ(FormatValue(0.0025), "0.0025");
}

TEST(MetricsTest, ConcurrentRecordingLosesNothing) {
  Registry registry;
  Counter counter = registry.AddCounter("test_total", "C.", {"thread_kind"});
  Histogram histogram = registry.AddHistogram("test_seconds", "H.", {"thread_kind"}, {1});
  constexpr int kThreads = 8;
  constexpr int kPerThread = 20'000;
  {
    std::vector<std::jthread> threads;
    threads.reserve(kThreads);
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        // Half the threads share one series, and each of the others has its own, created while
        // the rest record: both the lookup and the insertion race.
        std::string kind = t % 2 == 0 ? "shared" : fmt::format("own{}", t);
        for (int i = 0; i < kPerThread; ++i) {
          counter.Add({kind});
          histogram.Observe({kind}, i % 2 == 0 ? 0.5 : 2.0);  // exact in binary: sums are exact
        }
      });
    }
  }
  std::string text = registry.Exposition();
  EXPECT_THAT(text, HasSubstr(fmt::format("test_total{{thread_kind=\"shared\"}} {}\n",
                                          kPerThread * kThreads / 2)));
  EXPECT_THAT(text, HasSubstr(fmt::format("test_seconds_count{{thread_kind=\"shared\"}} {}\n",
                                          kPerThread * kThreads / 2)));
  EXPECT_THAT(text, HasSubstr(fmt::format("test_seconds_bucket{{thread_kind=\"shared\",le=\"1\"}} "
                                          "{}\n",
                                          kPerThread * kThreads / 4)));
  EXPECT_THAT(text, HasSubstr(fmt::format("test_seconds_sum{{thread_kind=\"shared\"}} {}\n",
                                          (0.5 + 2.0) * kPerThread * kThreads / 4)));
  for (int t = 1; t < kThreads; t += 2) {
    EXPECT_THAT(text,
                HasSubstr(fmt::format("test_total{{thread_kind=\"own{}\"}} {}\n", t, kPerThread)));
    EXPECT_THAT(text, HasSubstr(fmt::format("test_seconds_sum{{thread_kind=\"own{}\"}} {}\n", t,
                                            1.25 * kPerThread)));
  }
}

TEST(MetricsTest, LabelSetsBeyondTheLimitAreCountedAsOther) {
  Registry registry;
  Counter counter = registry.AddCounter("test_total", "C.", {"id"});
  for (size_t i = 0; i < kMaxSeriesPerFamily + 5; ++i) {
    counter.Add({fmt::format("id{}", i)});
  }
  counter.Add({"id0"});  // an existing series still counts as itself

  std::string text = registry.Exposition();
  EXPECT_THAT(text, HasSubstr("test_total{id=\"_other\"} 5\n"));
  EXPECT_THAT(text, HasSubstr("test_total{id=\"id0\"} 2\n"));
  EXPECT_THAT(text, Not(HasSubstr(fmt::format("id=\"id{}\"", kMaxSeriesPerFamily))));
}

TEST(MetricsDeathTest, WrongNumberOfLabelValuesAborts) {
  Registry registry;
  Counter counter = registry.AddCounter("test_total", "C.", {"a", "b"});
  EXPECT_DEATH(counter.Add({"only-one"}), "label values");
}

TEST(MetricsDeathTest, BadNamesAbort) {
  Registry registry;
  EXPECT_DEATH(registry.AddCounter("1bad", "C.", {}), "not a valid metric name");
  EXPECT_DEATH(registry.AddCounter("ok_total", "C.", {"bad-label"}), "not a valid label name");
  EXPECT_DEATH(registry.AddHistogram("ok_seconds", "H.", {"le"}, {1}), "not a valid label name");
  EXPECT_DEATH(registry.AddHistogram("ok_seconds", "H.", {}, {1, 1}), "strictly increasing");
}

// The value of `series` ("name{labels}") in an exposition; 0 when it is not there.
double ValueOf(const std::string& text, const std::string& series) {
  size_t at = text.find("\n" + series + " ");
  return at == std::string::npos ? 0 : std::stod(text.substr(at + series.size() + 2));
}

// What recording adds to each series of the process-wide metrics, which other tests (and
// --gtest_repeat) record into too.
class GlobalMetricsTest : public ::testing::Test {
 protected:
  void SetUp() override { before_ = Exposition(); }
  double Added(const std::string& series) {
    return ValueOf(Exposition(), series) - ValueOf(before_, series);
  }

  std::string before_;
};

TEST_F(GlobalMetricsTest, RecordRequestCountsByMethodRouteAndStatusWithLatencyInSeconds) {
  RecordRequest("GET", "/test/{one}", 200, std::chrono::microseconds(300));
  RecordRequest("GET", "/test/{one}", 200, std::chrono::milliseconds(2));
  RecordRequest("GET", "/test/{one}", 404, std::chrono::milliseconds(20));
  RecordRequest("BREW", "/test/{one}", 405, std::chrono::microseconds(0));

  std::string text = Exposition();
  EXPECT_THAT(text, HasSubstr("# TYPE warden_http_requests_total counter\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE warden_http_request_duration_seconds histogram\n"));
  std::string get = "method=\"GET\",route=\"/test/{one}\"";
  EXPECT_EQ(Added("warden_http_requests_total{" + get + ",status=\"200\"}"), 2);
  EXPECT_EQ(Added("warden_http_requests_total{" + get + ",status=\"404\"}"), 1);
  // A method HTTP does not define is not a label value of its own.
  EXPECT_EQ(Added("warden_http_requests_total{method=\"other\",route=\"/test/{one}\","
                  "status=\"405\"}"),
            1);
  EXPECT_THAT(text, Not(HasSubstr("BREW")));
  std::string bucket = "warden_http_request_duration_seconds_bucket{" + get;
  EXPECT_EQ(Added(bucket + ",le=\"0.0005\"}"), 1);
  EXPECT_EQ(Added(bucket + ",le=\"0.0025\"}"), 2);
  EXPECT_EQ(Added(bucket + ",le=\"0.025\"}"), 3);
  EXPECT_EQ(Added(bucket + ",le=\"+Inf\"}"), 3);
  EXPECT_EQ(Added("warden_http_request_duration_seconds_count{" + get + "}"), 3);
  EXPECT_NEAR(Added("warden_http_request_duration_seconds_sum{" + get + "}"), 0.0223, 1e-9);
}

TEST_F(GlobalMetricsTest, SandboxRunsAndTokensAreCountedByTheirLabels) {
  RecordSandboxRun("test-where", "exited");
  RecordSandboxRun("test-where", "exited");
  RecordSandboxRun("test-where", "timeout");
  RecordTokens("test-provider", 120, 30);
  RecordTokens("test-provider", 5, 1);
  RecordTokens("test-provider", -4, 0);  // a provider's bug never makes a counter go down

  EXPECT_EQ(Added("warden_sandbox_runs_total{where=\"test-where\",outcome=\"exited\"}"), 2);
  EXPECT_EQ(Added("warden_sandbox_runs_total{where=\"test-where\",outcome=\"timeout\"}"), 1);
  EXPECT_EQ(Added("warden_llm_tokens_total{provider=\"test-provider\",direction=\"input\"}"), 125);
  EXPECT_EQ(Added("warden_llm_tokens_total{provider=\"test-provider\",direction=\"output\"}"), 31);
  EXPECT_EQ(Added("warden_llm_responses_total{provider=\"test-provider\"}"), 3);
}

}  // namespace
}  // namespace warden::metrics
