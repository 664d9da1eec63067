#include "base/metrics.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <map>
#include <shared_mutex>

#include <fmt/format.h>

#include "base/log.h"

namespace warden::metrics {
namespace {

[[noreturn]] void Fail(std::string_view name, std::string_view why) {
  LOG_ERROR("metric {}: {}", name, why);
  std::abort();
}

bool IsNameChar(char c, bool first, bool colon_allowed) {
  bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
  return letter || (colon_allowed && c == ':') || (!first && c >= '0' && c <= '9');
}

bool IsValidName(std::string_view name, bool colon_allowed) {
  if (name.empty()) {
    return false;
  }
  for (size_t i = 0; i < name.size(); ++i) {
    if (!IsNameChar(name[i], i == 0, colon_allowed)) {
      return false;
    }
  }
  return true;
}

// Orders label sets; `is_transparent` lets a lookup use the caller's string_views as they are,
// without building a key (no allocation on the recording path once a series exists).
struct LabelsLess {
  using is_transparent = void;
  template <typename A, typename B>
  bool operator()(const A& a, const B& b) const {
    return std::lexicographical_compare(
        a.begin(), a.end(), b.begin(), b.end(),
        [](std::string_view x, std::string_view y) { return x < y; });
  }
};

// {a="1",b="2"} from names and values; `extra` (e.g. le="0.5") goes last. "" when there are none.
std::string LabelText(const std::vector<std::string>& names, const std::vector<std::string>& values,
                      std::string_view extra = {}) {
  if (names.empty() && extra.empty()) {
    return "";
  }
  std::string out = "{";
  for (size_t i = 0; i < names.size(); ++i) {
    out += fmt::format("{}{}=\"{}\"", i == 0 ? "" : ",", names[i], EscapeLabelValue(values[i]));
  }
  if (!extra.empty()) {
    out += names.empty() ? "" : ",";
    out += extra;
  }
  out += "}";
  return out;
}

}  // namespace

// One family: its description and, per label set, a counter value or a histogram's buckets.
// Series are created on first use and never removed; std::map keeps their addresses stable, so
// their atomics are updated outside the lock. Thread-safe.
class SeriesTable {
 public:
  enum class Kind { kCounter, kHistogram };

  SeriesTable(Kind kind, std::string name, std::string help, std::vector<std::string> label_names,
              std::vector<double> bounds)
      : kind_(kind),
        name_(std::move(name)),
        help_(std::move(help)),
        label_names_(std::move(label_names)),
        bounds_(std::move(bounds)) {}

  void Add(LabelValues labels, uint64_t amount) {
    Find(labels).buckets[0].fetch_add(amount, std::memory_order_relaxed);
  }

  void Observe(LabelValues labels, double value) {
    if (std::isnan(value)) {
      return;
    }
    Series& series = Find(labels);
    // Bucket i holds the values in (bounds[i-1], bounds[i]]; the last one those above every bound.
    size_t index = std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
    series.buckets[index].fetch_add(1, std::memory_order_relaxed);
    series.sum.fetch_add(value, std::memory_order_relaxed);
  }

  void Write(std::string* out) const {
    *out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name_, EscapeHelp(help_), name_,
                        kind_ == Kind::kCounter ? "counter" : "histogram");
    std::shared_lock lock(mutex_);
    for (const auto& [values, series] : series_) {
      if (kind_ == Kind::kCounter) {
        *out += fmt::format("{}{} {}\n", name_, LabelText(label_names_, values),
                            series.buckets[0].load(std::memory_order_relaxed));
        continue;
      }
      // _count is the sum of the buckets read here, so it always equals the +Inf bucket, even
      // while other threads observe.
      uint64_t cumulative = 0;
      for (size_t i = 0; i <= bounds_.size(); ++i) {
        cumulative += series.buckets[i].load(std::memory_order_relaxed);
        std::string le = i < bounds_.size() ? FormatValue(bounds_[i]) : "+Inf";
        *out +=
            fmt::format("{}_bucket{} {}\n", name_,
                        LabelText(label_names_, values, fmt::format("le=\"{}\"", le)), cumulative);
      }
      std::string labels = LabelText(label_names_, values);
      *out += fmt::format("{}_sum{} {}\n", name_, labels,
                          FormatValue(series.sum.load(std::memory_order_relaxed)));
      *out += fmt::format("{}_count{} {}\n", name_, labels, cumulative);
    }
  }

  const std::string& name() const { return name_; }

 private:
  struct Series {
    explicit Series(size_t bucket_count)
        : buckets(std::make_unique<std::atomic<uint64_t>[]>(bucket_count)) {}
    // A counter's value is buckets[0]. A histogram's buckets are not cumulative here (one
    // increment per observation); the last one is +Inf.
    std::unique_ptr<std::atomic<uint64_t>[]> buckets;
    std::atomic<double> sum{0};
  };

  Series& Find(LabelValues labels) {
    if (labels.size() != label_names_.size()) {
      Fail(name_,
           fmt::format("{} label values given for {} labels", labels.size(), label_names_.size()));
    }
    {
      std::shared_lock lock(mutex_);
      if (auto it = series_.find(labels); it != series_.end()) {
        return it->second;
      }
    }
    std::vector<std::string> key(labels.begin(), labels.end());
    std::lock_guard lock(mutex_);
    if (series_.size() >= kMaxSeriesPerFamily && !series_.contains(key)) {
      std::fill(key.begin(), key.end(), "_other");
    }
    return series_.try_emplace(std::move(key), bounds_.size() + 1).first->second;
  }

  const Kind kind_;
  const std::string name_;
  const std::string help_;
  const std::vector<std::string> label_names_;
  const std::vector<double> bounds_;  // histograms only
  mutable std::shared_mutex mutex_;   // guards the map's structure, not the atomics in it
  std::map<std::vector<std::string>, Series, LabelsLess> series_;
};

void Counter::Add(LabelValues labels, uint64_t amount) const {
  table_->Add(labels, amount);
}

void Histogram::Observe(LabelValues labels, double value) const {
  table_->Observe(labels, value);
}

Registry::Registry() = default;
Registry::~Registry() = default;

Counter Registry::AddCounter(std::string name, std::string help,
                             std::vector<std::string> label_names) {
  if (!IsValidName(name, true)) {
    Fail(name, "not a valid metric name");
  }
  for (const std::string& label : label_names) {
    if (!IsValidName(label, false)) {
      Fail(name, fmt::format("\"{}\" is not a valid label name", label));
    }
  }
  auto table =
      std::make_unique<SeriesTable>(SeriesTable::Kind::kCounter, std::move(name), std::move(help),
                                    std::move(label_names), std::vector<double>{});
  std::lock_guard lock(mutex_);
  families_.push_back(std::move(table));
  return Counter(families_.back().get());
}

Histogram Registry::AddHistogram(std::string name, std::string help,
                                 std::vector<std::string> label_names, std::vector<double> bounds) {
  if (!IsValidName(name, true)) {
    Fail(name, "not a valid metric name");
  }
  for (const std::string& label : label_names) {
    if (!IsValidName(label, false) || label == "le") {
      Fail(name, fmt::format("\"{}\" is not a valid label name for a histogram", label));
    }
  }
  for (size_t i = 0; i < bounds.size(); ++i) {
    if (!std::isfinite(bounds[i]) || (i > 0 && bounds[i] <= bounds[i - 1])) {
      Fail(name, "bucket bounds must be finite and strictly increasing");
    }
  }
  auto table =
      std::make_unique<SeriesTable>(SeriesTable::Kind::kHistogram, std::move(name), std::move(help),
                                    std::move(label_names), std::move(bounds));
  std::lock_guard lock(mutex_);
  families_.push_back(std::move(table));
  return Histogram(families_.back().get());
}

std::string Registry::Exposition() const {
  std::string out;
  std::lock_guard lock(mutex_);
  for (const std::unique_ptr<SeriesTable>& table : families_) {
    table->Write(&out);
  }
  return out;
}

std::string FormatGauge(std::string_view name, std::string_view help,
                        const std::vector<GaugeSample>& samples) {
  std::string out = fmt::format("# HELP {} {}\n# TYPE {} gauge\n", name, EscapeHelp(help), name);
  for (const GaugeSample& sample : samples) {
    std::string labels;
    for (const auto& [label, value] : sample.labels) {
      labels +=
          fmt::format("{}{}=\"{}\"", labels.empty() ? "{" : ",", label, EscapeLabelValue(value));
    }
    if (!labels.empty()) {
      labels += "}";
    }
    out += fmt::format("{}{} {}\n", name, labels, FormatValue(sample.value));
  }
  return out;
}

std::string EscapeLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string EscapeHelp(std::string_view help) {
  std::string out;
  out.reserve(help.size());
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string FormatValue(double value) {
  if (std::isnan(value)) {
    return "NaN";
  }
  if (std::isinf(value)) {
    return value > 0 ? "+Inf" : "-Inf";
  }
  return fmt::format("{}", value);
}

// --- The process-wide registry ---

namespace {

// The methods HTTP defines; anything else a client sends is counted as "other", so that a client
// cannot make series without end.
std::string_view KnownMethod(std::string_view method) {
  static constexpr std::array<std::string_view, 9> kMethods = {
      "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE"};
  for (std::string_view known : kMethods) {
    if (method == known) {
      return known;
    }
  }
  return "other";
}

struct Globals {
  Registry registry;
  Counter sandbox_runs = registry.AddCounter(
      "warden_sandbox_runs_total",
      "Sandbox runs that ended, by where they ran (job: a job's step or agent action; exec: POST "
      "/v1/exec) and outcome (exited, signaled, timeout, memory_limit, ..., or error when the "
      "sandbox refused the run).",
      {"where", "outcome"});
  Counter llm_responses =
      registry.AddCounter("warden_llm_responses_total",
                          "Answers from LLMs to requests made by jobs, by provider.", {"provider"});
  Counter llm_tokens = registry.AddCounter(
      "warden_llm_tokens_total",
      "Tokens of LLM requests made by jobs, by provider and direction (input: the prompt; output: "
      "the answer).",
      {"provider", "direction"});
  Counter http_requests = registry.AddCounter(
      "warden_http_requests_total",
      "HTTP requests answered, by method, route pattern (\"unmatched\" when no route matched) and "
      "status code.",
      {"method", "route", "status"});
  Counter egress_denials = registry.AddCounter(
      "warden_egress_denials_total",
      "Connections that a run's egress proxy refused, by reason (not_allowed, deny_rule, "
      "forbidden_address, host_mismatch, sni_mismatch, bad_request, method_not_allowed).",
      {"reason"});
  Histogram http_latency = registry.AddHistogram(
      "warden_http_request_duration_seconds",
      "Time the handler took to answer a request (not counting a wait for a free handler thread, "
      "nor the streaming of a download or an event stream), by method and route pattern.",
      {"method", "route"},
      std::vector<double>(std::begin(kLatencyBuckets), std::end(kLatencyBuckets)));
};

Globals& GlobalMetrics() {
  static Globals* globals = new Globals;  // never destroyed: threads may record during exit
  return *globals;
}

}  // namespace

void RecordSandboxRun(std::string_view where, std::string_view outcome) {
  GlobalMetrics().sandbox_runs.Add({where, outcome});
}

void RecordTokens(std::string_view provider, int64_t input_tokens, int64_t output_tokens) {
  Globals& globals = GlobalMetrics();
  globals.llm_responses.Add({provider});
  // A counter never goes down: a negative count (a provider's bug) adds nothing.
  globals.llm_tokens.Add({provider, "input"},
                         static_cast<uint64_t>(std::max<int64_t>(0, input_tokens)));
  globals.llm_tokens.Add({provider, "output"},
                         static_cast<uint64_t>(std::max<int64_t>(0, output_tokens)));
}

void RecordEgressDenial(std::string_view reason) {
  GlobalMetrics().egress_denials.Add({reason});
}

void RecordRequest(std::string_view method, std::string_view route, int status,
                   std::chrono::microseconds latency) {
  Globals& globals = GlobalMetrics();
  std::string_view known = KnownMethod(method);
  // Statuses are three digits; anything else is a bug upstream, counted as it is.
  char status_text[12];
  auto length = fmt::format_to_n(status_text, sizeof(status_text), "{}", status).size;
  globals.http_requests.Add(
      {known, route, std::string_view(status_text, std::min(length, sizeof(status_text)))});
  globals.http_latency.Observe({known, route}, std::chrono::duration<double>(latency).count());
}

std::string Exposition() {
  return GlobalMetrics().registry.Exposition();
}

}  // namespace warden::metrics
