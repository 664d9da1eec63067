// Process-wide metrics: counters and histograms with labels, kept in memory and written in the
// Prometheus text format by GET /metrics. Recording is cheap and thread-safe.
//
//   metrics::RecordSandboxRun("exec", "exited");
//   std::string text = metrics::Exposition();  // "# HELP warden_sandbox_runs_total ..."
//
// Underneath is a small Registry that tests (and anything wanting its own set) can build alone.
#pragma once

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace warden::metrics {

// --- What Warden records, into one process-wide registry ---

// One sandbox run ended. `where`: "job" (a job's step or agent action) or "exec" (POST /v1/exec).
// `outcome`: the sandbox's outcome name (exited, signaled, timeout, memory, ...).
void RecordSandboxRun(std::string_view where, std::string_view outcome);

// An LLM answered a request of a job: tokens in and out, by provider name.
void RecordTokens(std::string_view provider, int64_t input_tokens, int64_t output_tokens);

// A run's egress proxy refused a connection, for `reason` (EgressDenialName: "not_allowed"...).
void RecordEgressDenial(std::string_view reason);

// One HTTP request answered: its route pattern (e.g. "/v1/jobs/{id}", or "unmatched"), method,
// status and latency.
void RecordRequest(std::string_view method, std::string_view route, int status,
                   std::chrono::microseconds latency);

// Every metric recorded so far, in the Prometheus text exposition format (version 0.0.4).
std::string Exposition();

// --- The registry ---

// The values of a series' labels, one per label name of its family, in the same order.
using LabelValues = std::initializer_list<std::string_view>;

// Upper bounds (seconds) of the request latency histogram's buckets; +Inf is implied.
inline constexpr double kLatencyBuckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                             0.1,    0.25,  0.5,    1,     2.5,  5,     10};

// A family stops making new series at this many label sets: further new label sets are counted
// under a series whose every label value is "_other". A guard against unbounded cardinality.
inline constexpr size_t kMaxSeriesPerFamily = 2000;

class SeriesTable;  // metrics.cc: one family's series, by label values

// A handle to a counter family: a number per label set that only goes up. Cheap to copy; valid
// as long as its Registry. Thread-safe.
class Counter {
 public:
  // Adds `amount` to the series of these label values, creating it at 0 first.
  void Add(LabelValues labels, uint64_t amount = 1) const;

 private:
  friend class Registry;
  explicit Counter(SeriesTable* table) : table_(table) {}
  SeriesTable* table_;
};

// A handle to a histogram family: per label set, how many observations fell at or below each
// bucket's upper bound, their count and their sum. Cheap to copy; valid as long as its Registry.
// Thread-safe.
class Histogram {
 public:
  // Counts `value` in the series of these label values. A NaN is ignored.
  void Observe(LabelValues labels, double value) const;

 private:
  friend class Registry;
  explicit Histogram(SeriesTable* table) : table_(table) {}
  SeriesTable* table_;
};

// Metric families and their exposition. Names follow Prometheus: a metric name matches
// [a-zA-Z_:][a-zA-Z0-9_:]*, a label name [a-zA-Z_][a-zA-Z0-9_]* (and a histogram's is never "le");
// a bad name, or recording with the wrong number of label values, is a programming error: it is
// logged and aborts. Thread-safe: families may be added while others record.
class Registry {
 public:
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  Counter AddCounter(std::string name, std::string help, std::vector<std::string> label_names);
  // `bounds`: the buckets' upper bounds, strictly increasing and finite; "+Inf" is added.
  Histogram AddHistogram(std::string name, std::string help, std::vector<std::string> label_names,
                         std::vector<double> bounds);

  // Every family in the order added, each with # HELP and # TYPE lines and its series sorted by
  // label values; histograms as _bucket (cumulative, with le), _sum and _count.
  std::string Exposition() const;

 private:
  mutable std::mutex mutex_;  // guards families_ itself; each table guards its own series
  std::vector<std::unique_ptr<SeriesTable>> families_;
};

// --- Values read at scrape time ---

struct GaugeSample {
  std::vector<std::pair<std::string, std::string>> labels;  // name, value
  double value = 0;
};

// A gauge family in the exposition format: # HELP, # TYPE gauge, then one line per sample.
std::string FormatGauge(std::string_view name, std::string_view help,
                        const std::vector<GaugeSample>& samples);

// For the exposition format: a label value with \, " and newline escaped; HELP text with \ and
// newline escaped; a sample value ("+Inf", "NaN", else the shortest exact decimal form).
std::string EscapeLabelValue(std::string_view value);
std::string EscapeHelp(std::string_view help);
std::string FormatValue(double value);

}  // namespace warden::metrics
