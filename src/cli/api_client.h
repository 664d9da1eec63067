// What the client verbs of `warden serve`'s API share: the server flags, calls that return the
// API's JSON, and following a job's events over SSE.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "base/json.h"
#include "base/result.h"

namespace CLI {  // NOLINT(readability-identifier-naming): CLI11's own namespace
class App;
}

namespace warden::cli {

inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;

// --server (or WARDEN_SERVER), --api-key (or WARDEN_API_KEY), --json.
struct ServerFlags {
  std::string server;
  std::string api_key;
  bool json = false;
};

void AddServerFlags(CLI::App& app, ServerFlags& flags);

// The URL of the API's `path` ("/v1/jobs/ID/archive") on the server.
std::string ApiUrl(const ServerFlags& flags, const std::string& path);

struct ApiReply {
  int64_t status = 0;
  std::string body;
  json::value value;  // the body as JSON, when it is
};

// One request to the API. An HTTP error status is a reply, not an error; an error means the server
// could not be reached, and says so.
Result<ApiReply> CallApi(const ServerFlags& flags, const std::string& method,
                         const std::string& path, const std::string& body = "");

// Prints the API's error (its message, not the raw JSON) for `verb` and returns the exit code.
int PrintApiFailure(const char* verb, const Result<ApiReply>& reply);

// The string at `key`, or "".
std::string StringField(const json::object& object, std::string_view key);

// Called with each event of a followed job: its type ("state", "output", ...), the event
// {seq, time_ms, type, data} and its JSON text.
using EventFn =
    std::function<void(const std::string& type, const json::object& event, const std::string& raw)>;

// Follows a job's events over SSE until the job ends (or `cancel` becomes true: kCancelled).
// Returns the job's final state.
Result<std::string> FollowEvents(const ServerFlags& flags, const std::string& job_id,
                                 const EventFn& on_event,
                                 const std::atomic<bool>* cancel = nullptr);

}  // namespace warden::cli
