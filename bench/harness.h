// The timing loops behind every row of the spawn benchmark: sequential latency (median, p90) and
// throughput of several clients spawning at once. A failed spawn is counted, never timed.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace warden::bench {

// Starts one program and waits for it. Returns "" on success, else why the run failed
// ("exit status 1", "setup_error at mount /proc: EPERM"). Called from several threads at once by
// MeasureThroughput().
using SpawnOnce = std::function<std::string()>;

// Counts failed runs and keeps the first reason. Not thread-safe.
struct Failures {
  int count = 0;
  std::string first;

  void Add(const std::string& why);
  void Merge(const Failures& other);
};

struct Latency {
  int runs = 0;         // timed
  int warmup_runs = 0;  // untimed; their failures are in `failures` too
  Failures failures;
  std::vector<double> ms;  // the successful runs, in milliseconds

  double Median() const { return Percentile(0.5); }
  double P90() const { return Percentile(0.9); }
  // Nearest-rank percentile of `ms`; 0 when there is none.
  double Percentile(double fraction) const;
};

struct Throughput {
  int clients = 0;
  int runs = 0;  // over all clients
  Failures failures;
  double seconds = 0;

  double PerSecond() const { return seconds > 0 ? runs / seconds : 0; }
};

// Runs `spawn` `warmup` times untimed (failures still count), then `runs` times one after another,
// timing each call with steady_clock. `before_each`, when given, runs untimed before every timed
// call (to let background work settle).
Latency MeasureLatency(int runs, int warmup, const SpawnOnce& spawn,
                       const std::function<void()>& before_each = nullptr);

// `clients` threads each call `spawn` `runs_per_client` times in a loop; the clock runs from the
// start of the first thread to the end of the last.
Throughput MeasureThroughput(int clients, int runs_per_client, const SpawnOnce& spawn);

}  // namespace warden::bench
