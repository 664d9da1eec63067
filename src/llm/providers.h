// Which LLM to talk to: from the command line, the configuration file and the environment, in
// that order; with nothing configured, whatever is available (an API key in the environment,
// else a local Ollama), or an error that says exactly how to configure one.
#pragma once

#include <functional>
#include <string>

#include "base/config.h"
#include "base/result.h"
#include "llm/client.h"

namespace warden::llm {

struct ProviderFlags {  // empty: not given
  std::string provider;
  std::string model;
  std::string base_url;
};

using EnvLookup = std::function<const char*(const char*)>;

// Errors: kInvalidArgument for an unknown provider or a bad URL, kFailedPrecondition when a key
// or a model is missing or nothing is configured (the message says what to do).
Result<ProviderConfig> ResolveProvider(const ProviderFlags& flags, const Config& config,
                                       const EnvLookup& env);

// The providers Warden knows, for --help and errors.
const char* ProviderNames();

}  // namespace warden::llm
