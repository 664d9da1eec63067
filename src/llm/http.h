// HTTP for the LLM clients, over libcurl loaded at first use.
//
// libcurl and its dependencies cost ~4 ms at every process start when linked (measured: a
// trivial program goes from 0.6 ms to 4.5 ms), and `warden exec` starts a sandbox in ~4 ms:
// so the binary does not link it, and dlopen()s libcurl.so.4 only when an LLM is called.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"

namespace warden::llm {

struct HttpRequest {
  std::string method = "POST";  // GET, or POST, PUT, ... with `body`
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::chrono::milliseconds connect_timeout{10'000};
  // The transfer fails when no byte arrives for this long (a stalled server), however long the
  // whole response takes.
  std::chrono::milliseconds idle_timeout{120'000};
  std::chrono::milliseconds total_timeout{0};  // 0: none
};

struct HttpResponse {
  long status = 0;  // NOLINT(google-runtime-int): curl writes CURLINFO_RESPONSE_CODE as a long
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;                            // the whole body, unless a sink took it
};

// Called with each piece of a successful (2xx) response body as it arrives; returning an error
// aborts the transfer with that error. Bodies of other statuses are collected in `body`.
using BodySink = std::function<Status(std::string_view)>;

// Performs the request. Errors: kUnavailable when the server cannot be reached or the
// connection broke, kDeadlineExceeded on a timeout, kCancelled when `cancel` became true,
// kFailedPrecondition when libcurl is missing. An HTTP error status is not an error here.
Result<HttpResponse> PerformHttp(const HttpRequest& request, const BodySink& sink,
                                 const std::atomic<bool>* cancel);

}  // namespace warden::llm
