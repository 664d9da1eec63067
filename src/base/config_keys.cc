#include "base/config_keys.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <vector>

namespace warden {
namespace {

using T = ConfigType;

// Keep each section's keys together: the documentation lists them in this order. A key read
// anywhere in src/ must be here (config_keys_test.cc reads the sources to make sure).
constexpr std::array kKeys = {
    // [llm]: the model that carries out tasks.
    ConfigKey{"llm.provider", T::kString, "", "run, serve",
              "The LLM provider: `ollama`, `openai`, `openrouter`, `gemini`, `anthropic` or "
              "`openai-compatible`. Unset: `openai-compatible` when `llm.base_url` is set, else "
              "the first provider whose API key is in the environment (Anthropic, OpenAI, "
              "OpenRouter, Gemini), else a local Ollama."},
    ConfigKey{"llm.model", T::kString, "", "run, serve",
              "The model. Unset: the provider's default, or the first model a local server "
              "lists."},
    ConfigKey{"llm.base_url", T::kString, "", "run, serve",
              "The API's base URL (`http://` or `https://`), for a server of your own: "
              "`http://127.0.0.1:8080/v1` for llama.cpp. Unset: the provider's."},
    ConfigKey{"llm.api_key_env", T::kString, "", "run, serve",
              "The environment variable that holds the API key (keys never go in this file). "
              "Unset: the provider's (`OPENAI_API_KEY`...)."},
    ConfigKey{"llm.stream", T::kBool, "true", "run, serve",
              "Stream the model's answers as they are written."},
    ConfigKey{"llm.context_tokens", T::kInt, "0", "run, serve",
              "Ollama's context window (`num_ctx`); 0: the model's, at most 32768."},
    ConfigKey{"llm.timeout", T::kNumber, "120", "run, serve",
              "Seconds without a byte from the model before the request is retried."},
    ConfigKey{"llm.max_retries", T::kInt, "4", "run, serve",
              "Retries of a failed request (429, 5xx, timeouts, cut streams)."},
    ConfigKey{"llm.retry_base_ms", T::kInt, "1000", "run, serve",
              "The first wait before a retry, in milliseconds; it doubles at each retry, with "
              "jitter, and a server's `Retry-After` wins."},
    // [agent]: how a task is carried out.
    ConfigKey{"agent.max_steps", T::kInt, "30", "run", "Model turns at most (`--max-steps`)."},
    ConfigKey{"agent.max_time", T::kDuration, R"("30m")", "run",
              "Wall time for the whole task (`--max-time`)."},
    ConfigKey{"agent.action_timeout", T::kDuration, R"("2m")", "run, serve",
              "Wall time and CPU time of one action (`--action-timeout`), in `warden run` and in "
              "a server's jobs alike (a job's `action_timeout` option wins)."},
    ConfigKey{"agent.token_budget", T::kInt, "1000000", "run",
              "Tokens at most, input and output (`--token-budget`)."},
    ConfigKey{"agent.plan", T::kBool, "true", "run",
              "Have the model write a plan before it acts (`--no-plan` turns it off)."},
    ConfigKey{"agent.validate", T::kBool, "false", "run",
              "Have the model review each command before it runs (`--validate`)."},
    ConfigKey{"agent.approve", T::kString, R"("risky")", "run, serve",
              "When to ask before an action: `never`, `risky` or `always` (`--approve`). A "
              "server's job waits for an answer through the API (`POST "
              "/v1/jobs/{id}/approvals`, `warden approve`); a job's `approve` option wins."},
    ConfigKey{"agent.approval_timeout", T::kDuration, R"("10m")", "serve",
              "How long a server job's action waits for approval before it is denied."},
    ConfigKey{"agent.allow", T::kStrings, "[]", "run, serve",
              "Shell-style patterns (`*`, `?`, `[..]`) of commands that need no approval; the "
              "built-in rules still apply."},
    ConfigKey{"agent.deny", T::kStrings, "[]", "run, serve",
              "Shell-style patterns of commands never to run; a deny pattern wins over an allow "
              "pattern."},
    // [sandbox]: the limits of each action of `warden run`.
    ConfigKey{"sandbox.memory", T::kBytes, R"("1G")", "run, serve",
              "Memory limit of one action (`--memory`), in `warden run` and in a server's jobs "
              "alike (a job's `memory` option wins). Each action also gets a 1G disk, 256 "
              "processes and 1M of output."},
    // [mcp]: the sandboxes of `warden mcp` (its flags win).
    ConfigKey{"mcp.memory", T::kBytes, R"("512M")", "mcp",
              "Memory limit of a run, and the most a client may ask (`--memory`)."},
    ConfigKey{"mcp.timeout", T::kDuration, R"("60s")", "mcp",
              "Wall time limit of a run, and the most a client may ask (`--timeout`)."},
    ConfigKey{"mcp.cpu_time", T::kDuration, R"("30s")", "mcp",
              "CPU time limit of a run (`--cpu-time`)."},
    ConfigKey{"mcp.pids", T::kInt, "128", "mcp",
              "Processes and threads of a run at once (`--pids`)."},
    ConfigKey{"mcp.output_limit", T::kBytes, R"("1M")", "mcp",
              "stdout and stderr bytes of a run (`--output-limit`)."},
    ConfigKey{"mcp.disk_limit", T::kBytes, R"("256M")", "mcp",
              "Bytes a run may write (`--disk-limit`)."},
    ConfigKey{"mcp.cpus", T::kNumber, "0", "mcp",
              "CPU bandwidth of a run in cores; 0: no cap (`--cpus`)."},
    ConfigKey{"mcp.network", T::kString, R"("none")", "mcp",
              "`none` (loopback only) or `host` (the host's network) (`--network`)."},
    ConfigKey{"mcp.max_sandboxes", T::kInt, "8", "mcp, serve",
              "Live sandboxes of one client at once (`--max-sandboxes`); for `warden serve`, of "
              "one API key on `/mcp`."},
    ConfigKey{"mcp.idle_ttl", T::kDuration, R"("30m")", "mcp, serve",
              "A sandbox unused this long is destroyed (`--idle-ttl`; on `/mcp` too)."},
    ConfigKey{"mcp.warm", T::kInt, "1", "mcp",
              "Sandboxes built ahead of time, for faster runs (`--warm`)."},
    // [network]: what runs may reach through the egress proxy (docs/egress.md).
    ConfigKey{"network.allow", T::kStrings, "[]", "serve",
              "The hosts a job may ask for with `\"network\": {\"allow\": [...]}`: rules such "
              "as `pypi.org`, `*.github.com`, `pypi.org:443`, or `*` for any host. A job asking "
              "for a host outside them is refused at submission (400, naming the rule). Empty: "
              "jobs get no network through the proxy."},
    ConfigKey{"network.deny", T::kStrings, "[]", "exec, serve",
              "Hosts no run may reach through the proxy, added to the deny rules of every run "
              "(deny rules win)."},
    ConfigKey{"network.allow_private", T::kStrings, "[]", "exec, serve",
              "Address ranges (`10.20.0.0/16`) the proxy may connect to although they are "
              "private or loopback: an internal package mirror. The metadata addresses "
              "(169.254.169.254, fd00:ec2::254) stay refused."},
    ConfigKey{"network.presets", T::kTables, "", "exec, serve",
              "Named lists of allow rules, one `[[network.presets]]` section each, used as "
              "`\"presets\": [\"NAME\"]` in a job or `--allow-preset NAME`. Built in: "
              "`python-packages`, `npm`, `github`; a section of the same name replaces one."},
    ConfigKey{"network.presets.name", T::kString, "", "exec, serve", "The preset's name."},
    ConfigKey{"network.presets.allow", T::kStrings, "", "exec, serve", "Its allow rules."},
    // [api]: the server's clients.
    ConfigKey{"api.rate_limit", T::kNumber, "50", "serve",
              "Requests per second per API key; 0: no limit."},
    ConfigKey{"api.burst", T::kNumber, "", "serve",
              "Requests a key may send at once above its rate. Unset: twice `api.rate_limit`."},
    ConfigKey{"api.keys", T::kTables, "", "serve",
              "The API keys, one `[[api.keys]]` section each. Without keys (here or in "
              "`WARDEN_API_KEYS`) every client is the operator, and the server listens on "
              "loopback only."},
    ConfigKey{"api.keys.id", T::kString, "", "serve",
              "The key's name, owner of the jobs made with it: letters, digits, `.` `_` `-`. "
              "Unset: `k_` and 12 hex digits of the key's SHA-256."},
    ConfigKey{"api.keys.key", T::kString, "", "serve",
              "The key, 16 characters at least (`openssl rand -hex 32` makes one). Give this or "
              "`key_sha256`."},
    ConfigKey{"api.keys.key_sha256", T::kString, "", "serve",
              "The key's SHA-256 in 64 hex digits (`printf %s KEY | sha256sum`), so that the "
              "file need not hold the key."},
    ConfigKey{"api.keys.rate", T::kNumber, "", "serve",
              "This key's own requests per second. Unset: `api.rate_limit`."},
    ConfigKey{"api.keys.burst", T::kNumber, "", "serve",
              "This key's own burst. Unset: `api.burst`, or twice its rate."},
    // [store]: where `warden serve` keeps its jobs.
    ConfigKey{"store.url", T::kString, "", "serve",
              "The job store: a PostgreSQL URL (`postgresql://user@host:5432/warden`, or "
              "`postgresql:///warden?host=/run/postgresql` for a unix socket) or `sqlite:PATH`. "
              "Unset: SQLite in the data directory. `--store` and `WARDEN_STORE` win over it; "
              "keep the password in `~/.pgpass` or `PGPASSWORD`, not here."},
    // [artifacts]: a job's files, hashed once when the job ends.
    ConfigKey{"artifacts.hash_budget", T::kBytes, R"("1G")", "serve",
              "Bytes read at most to hash a job's files when it ends; files beyond are listed "
              "without a digest."},
    ConfigKey{"artifacts.hash_time", T::kDuration, R"("10s")", "serve",
              "How long hashing a job's files at its end may take at most."},
};

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

std::string_view Leaf(std::string_view name) {
  size_t dot = name.rfind('.');
  return dot == std::string_view::npos ? name : name.substr(dot + 1);
}

// Edits (insertions, deletions, substitutions, swaps of neighbours) that turn `a` into `b`: the
// optimal string alignment distance, so that "modle" is one edit from "model".
size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) {
    d[i][0] = i;
  }
  for (size_t j = 0; j <= b.size(); ++j) {
    d[0][j] = j;
  }
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

}  // namespace

std::string_view ConfigTypeName(ConfigType type) {
  switch (type) {
    case ConfigType::kString:
      return "string";
    case ConfigType::kStrings:
      return "array of strings";
    case ConfigType::kBool:
      return "boolean";
    case ConfigType::kInt:
      return "integer";
    case ConfigType::kNumber:
      return "number";
    case ConfigType::kBytes:
      return "size";
    case ConfigType::kDuration:
      return "duration";
    case ConfigType::kTables:
      return "array of tables";
  }
  return "value";
}

std::string_view TableOfConfigKey(const ConfigKey& key) {
  for (const ConfigKey& table : kKeys) {
    if (table.type == ConfigType::kTables && key.name.size() > table.name.size() &&
        key.name.starts_with(table.name) && key.name[table.name.size()] == '.') {
      return table.name;
    }
  }
  return "";
}

std::span<const ConfigKey> ConfigKeys() {
  return kKeys;
}

const ConfigKey* FindConfigKey(std::string_view name) {
  for (const ConfigKey& key : kKeys) {
    if (key.name == name) {
      return &key;
    }
  }
  return nullptr;
}

std::optional<std::string_view> ClosestConfigKey(std::string_view name, std::string_view table) {
  std::string lower = Lower(name);
  // Up to a quarter of the name may be wrong, and at least two edits are forgiven.
  size_t best = std::max<size_t>(2, lower.size() / 4) + 1;
  std::optional<std::string_view> closest;
  for (const ConfigKey& key : kKeys) {
    if (TableOfConfigKey(key) != table) {
      continue;
    }
    size_t distance = EditDistance(lower, key.name);
    // The right name in the wrong section ("[agent] model") is as good as one typo.
    if (Leaf(lower) == Leaf(key.name)) {
      distance = std::min<size_t>(distance, 1);
    }
    if (distance < best) {
      best = distance;
      closest = key.name;
    }
  }
  return closest;
}

}  // namespace warden
