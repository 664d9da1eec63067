// The access log: one line per answered request (method, path, route, status, duration, key),
// as text or as a JSON line like every other line of the log (`--log-format json`).
//
//   AccessLog log;
//   server_options.on_request = [&log](const Request& r, int status, microseconds took) {
//     log.Record(r, status, took);
//   };
//
// Record never writes itself: lines gather in a buffer that a thread of the log writes out every
// `flush_every` (or sooner, once it holds 64 KiB), so that a request never waits for the log. The
// I/O threads answer quick requests themselves, in tens of microseconds; a write(2) of each line
// would cost them a good part of that. Lines beyond kMaxBuffered (a log that cannot be written as
// fast as requests come) are dropped, and their number is written when the log catches up.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>

#include "api/http.h"

namespace warden::api {

class AccessLog {
 public:
  static constexpr size_t kMaxBuffered = size_t{4} << 20;

  explicit AccessLog(std::chrono::milliseconds flush_every = std::chrono::milliseconds(200));
  ~AccessLog();  // writes what is buffered
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  // Thread-safe. Nothing when the log's level is above info.
  void Record(const Request& request, int status, std::chrono::microseconds latency);

  // Writes what is buffered now.
  void Flush();

 private:
  void Run(const std::stop_token& stop);
  void WriteOut(std::string& text, uint64_t dropped);

  const std::chrono::milliseconds flush_every_;
  std::mutex mutex_;
  std::string buffer_;
  uint64_t dropped_ = 0;
  std::mutex write_mutex_;  // one writer at a time: lines never interleave
  std::condition_variable_any wake_;
  std::jthread writer_;  // last: starts after the members it uses, stops before them
};

}  // namespace warden::api
