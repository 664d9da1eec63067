#include "api/access_log.h"

#include <time.h>
#include <unistd.h>

#include <fmt/format.h>

#include "base/json.h"
#include "base/log.h"
#include "base/log_format.h"

namespace warden::api {
namespace {

constexpr size_t kWriteSoon = size_t{64} * 1024;

// The path as sent, without the query (which may hold a search text), at most 200 bytes.
std::string_view LoggedPath(const Request& request) {
  std::string_view target = request.raw_target;
  target = target.substr(0, target.find('?'));
  return target.substr(0, 200);
}

// "21:40:03.123" (text, as the rest of the log) or "2026-12-07T21:40:03.123Z" (JSON).
std::string Now(bool full) {
  timespec now{};
  ::clock_gettime(CLOCK_REALTIME, &now);
  tm local{};
  if (full) {
    ::gmtime_r(&now.tv_sec, &local);
  } else {
    ::localtime_r(&now.tv_sec, &local);
  }
  char text[32];
  size_t n = ::strftime(text, sizeof text, full ? "%Y-%m-%dT%H:%M:%S" : "%H:%M:%S", &local);
  return fmt::format("{}.{:03d}{}", std::string_view(text, n), now.tv_nsec / 1'000'000,
                     full ? "Z" : "");
}

std::string Line(const Request& request, int status, std::chrono::microseconds latency) {
  auto owner = request.params.find("owner");
  const std::string dash = "-";
  const std::string& key =
      owner == request.params.end() || owner->second.empty() ? dash : owner->second;
  double ms = static_cast<double>(latency.count()) / 1000.0;
  const std::string& route = request.route.empty() ? dash : request.route;
  if (log::CurrentFormat() == log::Format::kJson) {
    json::object line{{"time", Now(true)},
                      {"level", "info"},
                      {"msg", "request"},
                      {"method", request.method},
                      {"path", LoggedPath(request)},
                      {"route", route},
                      {"status", status},
                      {"ms", ms},
                      {"key", key},
                      {"remote", request.remote},
                      {"request_id", request.request_id}};
    return json::serialize(line) + '\n';
  }
  return fmt::format("I {} warden: {} {} {} {:.2f} ms route={} key={} remote={} id={}\n",
                     Now(false), request.method, LoggedPath(request), status, ms, route, key,
                     request.remote, request.request_id);
}

}  // namespace

AccessLog::AccessLog(std::chrono::milliseconds flush_every)
    : flush_every_(flush_every), writer_([this](const std::stop_token& stop) { Run(stop); }) {}

AccessLog::~AccessLog() {
  writer_.request_stop();
  writer_.join();
  Flush();
}

void AccessLog::Record(const Request& request, int status, std::chrono::microseconds latency) {
  if (!log::Enabled(log::Level::kInfo)) {
    return;
  }
  std::string line = Line(request, status, latency);
  std::lock_guard lock(mutex_);
  if (buffer_.size() + line.size() > kMaxBuffered) {
    ++dropped_;
    return;
  }
  buffer_ += line;
  if (buffer_.size() >= kWriteSoon) {
    wake_.notify_one();
  }
}

void AccessLog::Flush() {
  std::string text;
  uint64_t dropped = 0;
  {
    std::lock_guard lock(mutex_);
    text.swap(buffer_);
    std::swap(dropped, dropped_);
  }
  WriteOut(text, dropped);
}

void AccessLog::Run(const std::stop_token& stop) {
  while (!stop.stop_requested()) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait_for(lock, stop, flush_every_, [this] { return buffer_.size() >= kWriteSoon; });
    }
    Flush();
  }
}

void AccessLog::WriteOut(std::string& text, uint64_t dropped) {
  std::lock_guard lock(write_mutex_);
  for (size_t done = 0; done < text.size();) {
    ssize_t n = ::write(STDERR_FILENO, text.data() + done, text.size() - done);
    if (n <= 0) {
      return;  // the log is gone: nothing else to tell it to
    }
    done += static_cast<size_t>(n);
  }
  if (dropped > 0) {
    LOG_WARN("the access log fell behind: {} request lines were dropped", dropped);
  }
}

}  // namespace warden::api
