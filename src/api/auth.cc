#include "api/auth.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <set>
#include <utility>

#include <fmt/format.h>

namespace warden::api {
namespace {

using std::chrono::nanoseconds;

constexpr size_t kMaxIdLength = 64;
constexpr std::string_view kPublicPaths[] = {"/healthz", "/readyz", "/openapi.json", "/docs"};

bool IsValidId(std::string_view id) {
  if (id.empty() || id.size() > kMaxIdLength) {
    return false;
  }
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

// A key must survive a trip through an HTTP header untouched: printable ASCII, no spaces.
Status CheckKey(std::string_view key, std::string_view where) {
  if (key.size() < kMinApiKeyLength) {
    return Error(ErrorCode::kInvalidArgument,
                 fmt::format("{}: the key has {} characters; an API key needs at least {} (make "
                             "one with `openssl rand -hex 32`)",
                             where, key.size(), kMinApiKeyLength));
  }
  if (!std::all_of(key.begin(), key.end(), [](char c) { return c > ' ' && c < 0x7f; })) {
    return Error(ErrorCode::kInvalidArgument,
                 fmt::format("{}: an API key may hold only printable ASCII characters, no spaces "
                             "or commas",
                             where));
  }
  return OkStatus();
}

std::optional<Sha256::Digest> ParseHexDigest(std::string_view hex) {
  if (hex.size() != 2 * Sha256::kDigestBytes) {
    return std::nullopt;
  }
  Sha256::Digest digest{};
  for (size_t i = 0; i < hex.size(); ++i) {
    char c = hex[i];
    int nibble = c >= '0' && c <= '9'   ? c - '0'
                 : c >= 'a' && c <= 'f' ? c - 'a' + 10
                 : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                        : -1;
    if (nibble < 0) {
      return std::nullopt;
    }
    digest[i / 2] = static_cast<uint8_t>(digest[i / 2] << 4 | nibble);
  }
  return digest;
}

Sha256::Digest DigestOf(std::string_view key) {
  Sha256 hash;
  hash.Update(key);
  return hash.Finish();
}

// The id of a key given without one: stable, and says nothing useful about the key.
std::string IdOf(const Sha256::Digest& digest) {
  return "k_" + ToHex(digest).substr(0, 12);
}

// `key` of `config` as a finite number >= 0; nullopt when it is not set.
Result<std::optional<double>> Rate(const Config& config, std::string_view key,
                                   std::string_view where) {
  if (!config.Has(key)) {
    return std::optional<double>();
  }
  std::optional<double> value = config.Number(key);
  if (!value || !std::isfinite(*value) || *value < 0) {
    return Error(ErrorCode::kInvalidArgument,
                 fmt::format("{}: {} must be a number, 0 or more", where, key));
  }
  return value;
}

// A limit of `rate` per second and `burst`, which defaults to two seconds' worth of requests.
Result<RateLimit> MakeLimit(double rate, std::optional<double> burst, std::string_view where) {
  RateLimit limit;
  limit.per_second = rate;
  limit.burst = burst.value_or(std::ceil(2 * rate));
  if (rate == 0) {
    limit.burst = 1;  // unlimited: the bucket is never looked at
  } else if (limit.burst < 1) {
    return Error(ErrorCode::kInvalidArgument,
                 fmt::format("{}: burst must be at least 1 (one request)", where));
  }
  return limit;
}

// The defaults of every key: api.rate_limit and api.burst.
struct Defaults {
  double rate = RateLimit().per_second;
  std::optional<double> burst;
};

// The keys of the [[api.keys]] tables.
Status AddConfigKeys(const Config& config, const Defaults& defaults, std::vector<ApiKey>& keys) {
  std::string origin = config.origin().empty() ? "config" : config.origin();
  ASSIGN_OR_RETURN(std::vector<Config> tables, config.Tables("api.keys"));
  for (size_t i = 0; i < tables.size(); ++i) {
    const Config& table = tables[i];
    std::optional<std::string> id = table.String("id");
    std::string where = id ? fmt::format("{}: API key \"{}\"", origin, *id)
                           : fmt::format("{}: [[api.keys]] number {}", origin, i + 1);
    if (table.Has("id") && !id) {
      return Error(ErrorCode::kInvalidArgument, fmt::format("{}: id must be a string", where));
    }
    ApiKey key;
    std::optional<std::string> text = table.String("key");
    std::optional<std::string> hex = table.String("key_sha256");
    if (text.has_value() == hex.has_value()) {
      return Error(ErrorCode::kInvalidArgument,
                   fmt::format("{}: needs either key (the key) or key_sha256 (its SHA-256 in "
                               "hex), as a string",
                               where));
    }
    if (text) {
      RETURN_IF_ERROR(CheckKey(*text, where));
      key.digest = DigestOf(*text);
    } else if (std::optional<Sha256::Digest> digest = ParseHexDigest(*hex)) {
      key.digest = *digest;
    } else {
      return Error(ErrorCode::kInvalidArgument,
                   fmt::format("{}: key_sha256 must be 64 hex digits", where));
    }
    key.id = id.value_or(IdOf(key.digest));
    ASSIGN_OR_RETURN(std::optional<double> rate, Rate(table, "rate", where));
    ASSIGN_OR_RETURN(std::optional<double> burst, Rate(table, "burst", where));
    ASSIGN_OR_RETURN(
        key.limit, MakeLimit(rate.value_or(defaults.rate), burst ? burst : defaults.burst, where));
    keys.push_back(std::move(key));
  }
  return OkStatus();
}

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
    text.remove_prefix(1);
  }
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) {
    text.remove_suffix(1);
  }
  return text;
}

// The keys of WARDEN_API_KEYS: "id:key,key,...", all with the default limit.
Status AddEnvKeys(std::string_view env, const RateLimit& limit, std::vector<ApiKey>& keys) {
  for (size_t number = 1; !env.empty(); ++number) {
    size_t comma = env.find(',');
    std::string_view entry = Trim(env.substr(0, comma));
    env.remove_prefix(comma == std::string_view::npos ? env.size() : comma + 1);
    if (entry.empty()) {
      continue;
    }
    ApiKey key;
    size_t colon = entry.find(':');
    std::string_view text = colon == std::string_view::npos ? entry : entry.substr(colon + 1);
    std::string where = fmt::format("WARDEN_API_KEYS, entry {}", number);
    if (colon != std::string_view::npos) {
      key.id = std::string(entry.substr(0, colon));
      where = fmt::format("WARDEN_API_KEYS, key \"{}\"", key.id);
    }
    RETURN_IF_ERROR(CheckKey(text, where));
    key.digest = DigestOf(text);
    if (key.id.empty()) {
      key.id = IdOf(key.digest);
    }
    key.limit = limit;
    keys.push_back(std::move(key));
  }
  return OkStatus();
}

bool IsPublic(const Request& request, const std::function<bool(std::string_view)>& also_public) {
  if (request.method != "GET" && request.method != "HEAD") {
    return false;
  }
  // The path as sent: the router matches it segment by segment, so no escape can make a
  // protected route look like a public one here.
  std::string_view path = request.raw_target.empty() ? request.path : request.raw_target;
  path = path.substr(0, path.find('?'));
  return std::find(std::begin(kPublicPaths), std::end(kPublicPaths), path) !=
             std::end(kPublicPaths) ||
         (also_public && also_public(path));
}

bool StartsWithBearer(std::string_view value) {
  constexpr std::string_view kScheme = "bearer";
  if (value.size() <= kScheme.size() ||
      (value[kScheme.size()] != ' ' && value[kScheme.size()] != '\t')) {
    return false;
  }
  for (size_t i = 0; i < kScheme.size(); ++i) {
    if ((value[i] | 0x20) != kScheme[i]) {  // the scheme is case-insensitive (RFC 9110)
      return false;
    }
  }
  return true;
}

// The key a request presents: "Authorization: Bearer KEY", else "X-API-Key: KEY" (so that a
// proxy's own Authorization scheme can coexist with a key); "" when there is none.
std::string_view PresentedKey(const Headers& headers) {
  std::string_view authorization = headers.Get("Authorization");
  if (StartsWithBearer(authorization)) {
    return Trim(authorization.substr(6));
  }
  return Trim(headers.Get("X-API-Key"));
}

Response Unauthorized(std::string_view message, std::string_view challenge) {
  Response response = Response::Error(401, "unauthorized", message);
  response.headers.Set("WWW-Authenticate", std::string(challenge));
  return response;
}

}  // namespace

Result<std::vector<ApiKey>> ParseApiKeys(const Config& config, const char* env_keys) {
  std::string origin = config.origin().empty() ? "config" : config.origin();
  ASSIGN_OR_RETURN(std::optional<double> rate, Rate(config, "api.rate_limit", origin));
  ASSIGN_OR_RETURN(std::optional<double> burst, Rate(config, "api.burst", origin));
  Defaults defaults{rate.value_or(RateLimit().per_second), burst};
  std::vector<ApiKey> keys;
  RETURN_IF_ERROR(AddConfigKeys(config, defaults, keys));
  if (env_keys != nullptr) {
    ASSIGN_OR_RETURN(RateLimit limit, MakeLimit(defaults.rate, defaults.burst, origin));
    RETURN_IF_ERROR(AddEnvKeys(env_keys, limit, keys));
  }
  std::set<std::string> ids;
  std::set<Sha256::Digest> digests;
  for (const ApiKey& key : keys) {
    if (!IsValidId(key.id)) {
      return Error(ErrorCode::kInvalidArgument,
                   fmt::format("API key id \"{}\": ids are 1 to {} letters, digits, '.', '_' or "
                               "'-'",
                               key.id, kMaxIdLength));
    }
    if (!ids.insert(key.id).second) {
      return Error(ErrorCode::kInvalidArgument,
                   fmt::format("API key id \"{}\" is configured twice: each key needs an id of "
                               "its own",
                               key.id));
    }
    if (!digests.insert(key.digest).second) {
      return Error(ErrorCode::kInvalidArgument,
                   fmt::format("API key \"{}\" is the same key as another one: each id needs a "
                               "key of its own",
                               key.id));
    }
  }
  return keys;
}

Result<std::unique_ptr<Auth>> Auth::Create(const Config& config, const char* env_keys) {
  return Create(config, env_keys, [] { return std::chrono::steady_clock::now(); });
}

Result<std::unique_ptr<Auth>> Auth::Create(const Config& config, const char* env_keys,
                                           Clock clock) {
  ASSIGN_OR_RETURN(std::vector<ApiKey> keys, ParseApiKeys(config, env_keys));
  return std::unique_ptr<Auth>(new Auth(std::move(keys), std::move(clock)));
}

Auth::Auth(std::vector<ApiKey> keys, Clock clock)
    : keys_(std::move(keys)), clock_(std::move(clock)), buckets_(keys_.size()) {
  auto now = clock_();
  for (size_t i = 0; i < keys_.size(); ++i) {
    buckets_[i] = {keys_[i].limit.burst, now};  // full: a fresh client may burst at once
  }
}

Handler Auth::Wrap(Handler inner, std::function<bool(std::string_view)> also_public) const {
  if (!enabled()) {
    return inner;
  }
  return [this, inner = std::move(inner), also_public = std::move(also_public)](Request& request) {
    if (request.key_checked) {
      return inner(request);  // on an I/O thread, by WrapQuick()
    }
    std::optional<Response> refused = Check(request, also_public);
    return refused ? std::move(*refused) : inner(request);
  };
}

QuickHandler Auth::WrapQuick(QuickHandler inner,
                             std::function<bool(std::string_view)> also_public) const {
  if (!enabled()) {
    return inner;
  }
  return [this, inner = std::move(inner),
          also_public = std::move(also_public)](Request& request) -> std::optional<Response> {
    if (std::optional<Response> refused = Check(request, also_public)) {
      return refused;
    }
    std::optional<Response> answer = inner(request);
    request.key_checked = !answer.has_value();
    return answer;
  };
}

std::optional<std::string> Auth::OwnerOfKey(std::string_view presented) const {
  int index = presented.empty() ? -1 : Find(presented);
  if (index < 0 || Take(static_cast<size_t>(index)) > nanoseconds(0)) {
    return std::nullopt;
  }
  return keys_[static_cast<size_t>(index)].id;
}

int Auth::Find(std::string_view presented) const {
  Sha256::Digest digest = DigestOf(presented);
  int found = -1;
  for (size_t i = 0; i < keys_.size(); ++i) {
    uint8_t difference = 0;
    for (size_t b = 0; b < digest.size(); ++b) {
      difference |= static_cast<uint8_t>(digest[b] ^ keys_[i].digest[b]);
    }
    if (difference == 0) {
      found = static_cast<int>(i);
    }
  }
  return found;
}

nanoseconds Auth::Take(size_t index) const {
  const RateLimit& limit = keys_[index].limit;
  if (limit.per_second == 0) {
    return nanoseconds(0);
  }
  std::lock_guard lock(mutex_);
  Bucket& bucket = buckets_[index];
  auto now = clock_();
  if (now > bucket.refilled) {
    double elapsed = std::chrono::duration<double>(now - bucket.refilled).count();
    bucket.tokens = std::min(limit.burst, bucket.tokens + elapsed * limit.per_second);
    bucket.refilled = now;
  }
  if (bucket.tokens >= 1) {
    bucket.tokens -= 1;
    return nanoseconds(0);
  }
  auto wait = std::chrono::duration<double>((1 - bucket.tokens) / limit.per_second);
  return std::max(nanoseconds(1), std::chrono::ceil<nanoseconds>(wait));
}

std::optional<Response> Auth::Check(
    Request& request, const std::function<bool(std::string_view)>& also_public) const {
  request.params.erase("owner");  // only ever set here, from a valid key
  if (IsPublic(request, also_public)) {
    return std::nullopt;
  }
  std::string_view presented = PresentedKey(request.headers);
  if (presented.empty()) {
    return Unauthorized(
        "this server needs an API key: send it as \"Authorization: Bearer KEY\" or "
        "\"X-API-Key: KEY\" (warden's client commands: --api-key or WARDEN_API_KEY)",
        "Bearer realm=\"warden\"");
  }
  int index = Find(presented);
  if (index < 0) {
    return Unauthorized("the API key is not valid",
                        "Bearer realm=\"warden\", error=\"invalid_token\"");
  }
  const ApiKey& key = keys_[static_cast<size_t>(index)];
  if (nanoseconds wait = Take(static_cast<size_t>(index)); wait > nanoseconds(0)) {
    auto seconds = std::max<int64_t>(1, std::chrono::ceil<std::chrono::seconds>(wait).count());
    Response response = Response::Error(
        429, "rate_limited",
        fmt::format("API key \"{}\" is over its rate limit of {:g} requests per second (bursts "
                    "of {:g}); retry in {} s",
                    key.id, key.limit.per_second, key.limit.burst, seconds));
    response.headers.Set("Retry-After", std::to_string(seconds));
    return response;
  }
  request.params["owner"] = key.id;
  return std::nullopt;
}

}  // namespace warden::api
