#include "llm/http.h"

#include <dlfcn.h>

#include <algorithm>
#include <cctype>
#include <mutex>
#include <optional>

#include <curl/curl.h>
#include <fmt/format.h>

namespace warden::llm {
namespace {

// The few libcurl entry points Warden uses, resolved from libcurl.so.4 at first use.
struct CurlApi {
  CURLcode (*global_init)(long);  // NOLINT(google-runtime-int): curl's own signature
  CURL* (*easy_init)();
  CURLcode (*easy_setopt)(CURL*, CURLoption, ...);
  CURLcode (*easy_perform)(CURL*);
  CURLcode (*easy_getinfo)(CURL*, CURLINFO, ...);
  void (*easy_cleanup)(CURL*);
  const char* (*easy_strerror)(CURLcode);
  curl_slist* (*slist_append)(curl_slist*, const char*);
  void (*slist_free_all)(curl_slist*);
};

Result<const CurlApi*> LoadCurl() {
  static CurlApi api;
  static std::string error;
  static std::once_flag once;
  std::call_once(once, [] {
    void* lib = ::dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (lib == nullptr) {
      error = fmt::format(
          "cannot load libcurl ({}): install it with `apt-get install libcurl4` to call an LLM",
          ::dlerror());
      return;
    }
    auto load = [&](auto& fn, const char* name) {
      fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(::dlsym(lib, name));  // NOLINT
      if (fn == nullptr && error.empty()) {
        error = fmt::format("libcurl.so.4 has no {}: it is too old", name);
      }
    };
    load(api.global_init, "curl_global_init");
    load(api.easy_init, "curl_easy_init");
    load(api.easy_setopt, "curl_easy_setopt");
    load(api.easy_perform, "curl_easy_perform");
    load(api.easy_getinfo, "curl_easy_getinfo");
    load(api.easy_cleanup, "curl_easy_cleanup");
    load(api.easy_strerror, "curl_easy_strerror");
    load(api.slist_append, "curl_slist_append");
    load(api.slist_free_all, "curl_slist_free_all");
    if (error.empty() && api.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
      error = "libcurl failed to initialise";
    }
  });
  if (!error.empty()) {
    return Error(ErrorCode::kFailedPrecondition, error);
  }
  return &api;
}

struct Transfer {
  const BodySink* sink = nullptr;
  const std::atomic<bool>* cancel = nullptr;
  HttpResponse* response = nullptr;
  long status = 0;  // NOLINT(google-runtime-int): curl writes CURLINFO_RESPONSE_CODE as a long
  std::optional<Error> sink_error;
  CURL* handle = nullptr;
  const CurlApi* api = nullptr;
  std::chrono::milliseconds idle_timeout{0};
  std::chrono::steady_clock::time_point last_byte = std::chrono::steady_clock::now();
  bool idle_expired = false;
};

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  transfer->last_byte = std::chrono::steady_clock::now();
  std::string_view line(data, size * count);
  if (line.starts_with("HTTP/")) {
    transfer->response->headers.clear();  // a new response (after a 100 Continue, a redirect)
    return size * count;
  }
  size_t colon = line.find(':');
  if (colon != std::string_view::npos) {
    std::string name(line.substr(0, colon));
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && std::isspace(static_cast<unsigned char>(value.front()))) {
      value.remove_prefix(1);
    }
    while (!value.empty() && std::isspace(static_cast<unsigned char>(value.back()))) {
      value.remove_suffix(1);
    }
    transfer->response->headers[name] = std::string(value);
  }
  return size * count;
}

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  transfer->last_byte = std::chrono::steady_clock::now();
  size_t bytes = size * count;
  if (transfer->status == 0) {
    transfer->api->easy_getinfo(transfer->handle, CURLINFO_RESPONSE_CODE, &transfer->status);
  }
  bool success = transfer->status >= 200 && transfer->status < 300;
  if (!success || transfer->sink == nullptr || !*transfer->sink) {
    transfer->response->body.append(data, bytes);
    return bytes;
  }
  Status status = (*transfer->sink)(std::string_view(data, bytes));
  if (!status.ok()) {
    transfer->sink_error = std::move(status).error();
    return CURL_WRITEFUNC_ERROR;
  }
  return bytes;
}

// Called by libcurl at least once a second, also while nothing arrives. libcurl's own low-speed
// check averages over several seconds that include the upload, and notices silence ~6 s late.
int OnProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* transfer = static_cast<Transfer*>(user);
  if (transfer->cancel != nullptr && transfer->cancel->load()) {
    return 1;
  }
  if (transfer->idle_timeout.count() > 0 &&
      std::chrono::steady_clock::now() - transfer->last_byte > transfer->idle_timeout) {
    transfer->idle_expired = true;
    return 1;
  }
  return 0;
}

}  // namespace

Result<HttpResponse> PerformHttp(const HttpRequest& request, const BodySink& sink,
                                 const std::atomic<bool>* cancel) {
  ASSIGN_OR_RETURN(const CurlApi* api, LoadCurl());
  CURL* handle = api->easy_init();
  if (handle == nullptr) {
    return Error(ErrorCode::kResourceExhausted, "curl_easy_init failed");
  }
  curl_slist* headers = nullptr;
  for (const auto& [name, value] : request.headers) {
    headers = api->slist_append(headers, fmt::format("{}: {}", name, value).c_str());
  }
  // No "Expect: 100-continue" round trip for large prompts.
  headers = api->slist_append(headers, "Expect:");

  HttpResponse response;
  Transfer transfer{&sink, cancel, &response, 0, std::nullopt, handle, api};
  api->easy_setopt(handle, CURLOPT_URL, request.url.c_str());
  api->easy_setopt(handle, CURLOPT_HTTPHEADER, headers);
  api->easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
  api->easy_setopt(handle, CURLOPT_FOLLOWLOCATION, 0L);
  api->easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "http,https");
  api->easy_setopt(handle, CURLOPT_ACCEPT_ENCODING, "");
  if (request.method != "GET") {
    api->easy_setopt(handle, CURLOPT_POST, 1L);
    api->easy_setopt(handle, CURLOPT_POSTFIELDS, request.body.data());
    api->easy_setopt(handle, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request.body.size()));
    if (request.method != "POST") {
      api->easy_setopt(handle, CURLOPT_CUSTOMREQUEST, request.method.c_str());  // the same body
    }
  }
  // NOLINTBEGIN(google-runtime-int): curl takes these options as a long.
  api->easy_setopt(handle, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(request.connect_timeout.count()));
  if (request.total_timeout.count() > 0) {
    api->easy_setopt(handle, CURLOPT_TIMEOUT_MS, static_cast<long>(request.total_timeout.count()));
  }
  // NOLINTEND(google-runtime-int)
  transfer.idle_timeout = request.idle_timeout;  // a stalled server: see OnProgress
  api->easy_setopt(handle, CURLOPT_HEADERFUNCTION, &OnHeader);
  api->easy_setopt(handle, CURLOPT_HEADERDATA, &transfer);
  api->easy_setopt(handle, CURLOPT_WRITEFUNCTION, &OnBody);
  api->easy_setopt(handle, CURLOPT_WRITEDATA, &transfer);
  api->easy_setopt(handle, CURLOPT_NOPROGRESS, 0L);
  api->easy_setopt(handle, CURLOPT_XFERINFOFUNCTION, &OnProgress);
  api->easy_setopt(handle, CURLOPT_XFERINFODATA, &transfer);

  CURLcode code = api->easy_perform(handle);
  api->easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &response.status);
  api->easy_cleanup(handle);
  api->slist_free_all(headers);

  if (transfer.sink_error) {
    return *std::move(transfer.sink_error);
  }
  switch (code) {
    case CURLE_OK:
      return response;
    case CURLE_ABORTED_BY_CALLBACK:
      if (transfer.idle_expired) {
        return Error(ErrorCode::kDeadlineExceeded,
                     fmt::format("{} sent nothing for {:.1f} s", request.url,
                                 std::chrono::duration<double>(request.idle_timeout).count()));
      }
      return Error(ErrorCode::kCancelled, "cancelled");
    case CURLE_OPERATION_TIMEDOUT:
      return Error(ErrorCode::kDeadlineExceeded,
                   fmt::format("{} timed out ({})", request.url, api->easy_strerror(code)));
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
      return Error(ErrorCode::kInvalidArgument,
                   fmt::format("bad URL {}: {}", request.url, api->easy_strerror(code)));
    default:
      return Error(ErrorCode::kUnavailable,
                   fmt::format("{}: {}", request.url, api->easy_strerror(code)));
  }
}

}  // namespace warden::llm
