// Process-wide metrics: counters and histograms with labels, kept in memory and written in the
// Prometheus text format by GET /metrics. Recording is cheap and thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace warden::metrics {

// One sandbox run ended. `where`: "job" (a job's step or agent action) or "exec" (POST /v1/exec).
// `outcome`: the sandbox's outcome name (exited, signaled, timeout, memory, ...).
void RecordSandboxRun(std::string_view where, std::string_view outcome);

// An LLM answered a request of a job: tokens in and out, by provider name.
void RecordTokens(std::string_view provider, int64_t input_tokens, int64_t output_tokens);

// One HTTP request answered: its route pattern (e.g. "/v1/jobs/{id}", or "unmatched"), method,
// status and latency.
void RecordRequest(std::string_view method, std::string_view route, int status,
                   std::chrono::microseconds latency);

// Every metric recorded so far, in the Prometheus text exposition format (version 0.0.4).
std::string Exposition();

}  // namespace warden::metrics
