// API keys: who may call the API, as whom (the owner of the jobs they make), and how often.
//
// Keys come from the configuration file and from WARDEN_API_KEYS. With none, the server is open
// (and serve.cc keeps it on loopback); with any, every request but a few public ones needs a key.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/http.h"
#include "base/config.h"
#include "base/sha256.h"

namespace warden::api {

// A token bucket: `per_second` tokens flow in, up to `burst`; a request takes one.
struct RateLimit {
  double per_second = 50;  // 0: no limit
  double burst = 100;      // at least 1
};

// One configured key. The key itself is not kept, only its digest.
struct ApiKey {
  std::string id;  // the owner of the jobs the key makes: [A-Za-z0-9._-], at most 64 characters
  Sha256::Digest digest;
  RateLimit limit;
};

// Keys shorter than this are refused: they could be guessed.
inline constexpr size_t kMinApiKeyLength = 16;

// Parses the keys of `config` ([[api.keys]] tables with id, key, rate and burst; api.rate_limit
// and api.burst as defaults) and of `env_keys` (WARDEN_API_KEYS: comma-separated "id:key" or bare
// "key", whose id is then "k_" and 12 hex digits of its SHA-256). kInvalidArgument, naming the
// key's id or place but never the key, for a short or malformed key, a duplicate id or key, or a
// bad rate.
Result<std::vector<ApiKey>> ParseApiKeys(const Config& config, const char* env_keys);

// Checks the key of each request, names its owner and applies the key's rate limit.
// Thread-safe: the handler from Wrap() runs on every handler thread at once (one mutex guards the
// buckets; it is held for a few arithmetic operations).
class Auth {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;

  // Keys from the configuration and the WARDEN_API_KEYS value (`env_keys`, may be null).
  static Result<std::unique_ptr<Auth>> Create(const Config& config, const char* env_keys);
  // The same with the clock of the rate limit given (tests).
  static Result<std::unique_ptr<Auth>> Create(const Config& config, const char* env_keys,
                                              Clock clock);

  Auth(const Auth&) = delete;
  Auth& operator=(const Auth&) = delete;

  // True when at least one key is configured: every request then needs one.
  bool enabled() const { return !keys_.empty(); }
  const std::vector<ApiKey>& keys() const { return keys_; }

  // `inner` behind the key check and the rate limit. Without keys, `inner` itself. With keys:
  // GET (or HEAD) of /healthz, /readyz, /openapi.json and /docs pass as they are; any other request
  // without a valid key ("Authorization: Bearer KEY" or "X-API-Key: KEY") gets 401, one over its
  // key's rate 429 with Retry-After, and the rest reach `inner` with params["owner"] set to the
  // key's id. GET (or HEAD) of a path for which `also_public` (when set) is true passes too: the
  // dashboard's pages, which a browser loads before it has a key. The handler refers to this Auth,
  // which must outlive it.
  Handler Wrap(Handler inner, std::function<bool(std::string_view path)> also_public = {}) const;
  // The same for the server's quick handler (ServerOptions::quick), on an I/O thread: the check
  // hashes the key and holds a mutex for a few operations, so it never blocks. A request that
  // `inner` leaves to the pool keeps its owner, and Request::key_checked tells the handler from
  // Wrap() not to check it again: it is counted against its key's rate once.
  QuickHandler WrapQuick(QuickHandler inner,
                         std::function<bool(std::string_view path)> also_public = {}) const;

  // The id of the key `presented`, or std::nullopt when no key matches (or none is configured).
  // For a client that cannot send headers: the dashboard's WebSocket sends its key in a message.
  // Takes a token of the key's rate limit, as a request would; a key over its rate is refused.
  std::optional<std::string> OwnerOfKey(std::string_view presented) const;

  // Takes a token from the bucket of key `index`. Returns zero when one was taken, otherwise how
  // long until one will be there.
  std::chrono::nanoseconds Take(size_t index) const;

 private:
  struct Bucket {
    double tokens = 0;
    std::chrono::steady_clock::time_point refilled;
  };

  Auth(std::vector<ApiKey> keys, Clock clock);

  // The index of the key `presented`, or -1. Compares digests of every key without stopping at
  // the first difference, so the time taken says nothing about how close a guess came.
  int Find(std::string_view presented) const;
  // Checks the key of `request` and sets params["owner"] from it: std::nullopt when the request
  // may go on (also when its path is public), otherwise the 401 or 429 answer.
  std::optional<Response> Check(Request& request,
                                const std::function<bool(std::string_view)>& also_public) const;

  std::vector<ApiKey> keys_;
  Clock clock_;
  mutable std::mutex mutex_;
  mutable std::vector<Bucket> buckets_;  // one per key, guarded by mutex_
};

}  // namespace warden::api
