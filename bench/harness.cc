#include "harness.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <thread>

namespace warden::bench {
namespace {

using Clock = std::chrono::steady_clock;

double MillisecondsSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

}  // namespace

void Failures::Add(const std::string& why) {
  if (count++ == 0) {
    first = why;
  }
}

void Failures::Merge(const Failures& other) {
  if (count == 0) {
    first = other.first;
  }
  count += other.count;
}

double Latency::Percentile(double fraction) const {
  if (ms.empty()) {
    return 0;
  }
  std::vector<double> sorted = ms;
  std::sort(sorted.begin(), sorted.end());
  // Nearest rank: the smallest value with at least `fraction` of the samples at or below it.
  size_t rank = static_cast<size_t>(std::ceil(fraction * static_cast<double>(sorted.size())));
  return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
}

Latency MeasureLatency(int runs, int warmup, const SpawnOnce& spawn,
                       const std::function<void()>& before_each) {
  Latency latency;
  latency.warmup_runs = warmup;
  for (int i = 0; i < warmup; ++i) {
    if (std::string why = spawn(); !why.empty()) {
      latency.failures.Add("warm-up: " + why);
    }
  }
  latency.ms.reserve(runs);
  for (int i = 0; i < runs; ++i) {
    if (before_each) {
      before_each();
    }
    Clock::time_point start = Clock::now();
    std::string why = spawn();
    double elapsed_ms = MillisecondsSince(start);
    ++latency.runs;
    if (why.empty()) {
      latency.ms.push_back(elapsed_ms);
    } else {
      latency.failures.Add(why);
    }
  }
  return latency;
}

Throughput MeasureThroughput(int clients, int runs_per_client, const SpawnOnce& spawn) {
  // One Failures per client: no lock inside the timed loop.
  std::vector<Failures> failures(clients);
  Clock::time_point start = Clock::now();
  {
    std::vector<std::jthread> threads;
    threads.reserve(clients);
    for (int c = 0; c < clients; ++c) {
      threads.emplace_back([&spawn, &mine = failures[c], runs_per_client] {
        for (int i = 0; i < runs_per_client; ++i) {
          if (std::string why = spawn(); !why.empty()) {
            mine.Add(why);
          }
        }
      });
    }
  }  // joins every client
  Throughput throughput;
  throughput.seconds = MillisecondsSince(start) / 1000;
  throughput.clients = clients;
  throughput.runs = clients * runs_per_client;
  for (const Failures& f : failures) {
    throughput.failures.Merge(f);
  }
  return throughput;
}

}  // namespace warden::bench
