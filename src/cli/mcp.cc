// `warden mcp`: Warden's sandbox as MCP tools for a client that starts the server itself
// (Claude Desktop, Claude Code, Cursor, VS Code): JSON-RPC on stdin/stdout, logs on stderr. The
// sandboxes live as long as the client: at end of input they are cancelled and removed.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <optional>
#include <string>
#include <type_traits>

#include "cli/commands.h"
#include "cli/egress_flags.h"
#include "cli/limit_flags.h"
#include "cli/signals.h"
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "base/config.h"
#include "base/log.h"
#include "jobs/limits.h"
#include "mcp/sandbox_pool.h"
#include "mcp/sandbox_tools.h"
#include "mcp/session.h"
#include "mcp/stdio_transport.h"
#include "sys/fs.h"

namespace warden::cli {
namespace {

struct McpOptions {
  std::string memory = "512M";
  std::string timeout = "60s";
  std::string cpu_time = "30s";
  uint32_t pids = 128;
  std::string output_limit = "1M";
  std::string disk_limit = "256M";
  double cpus = 0;
  std::string network = "none";
  size_t max_sandboxes = 8;
  std::string idle_ttl = "30m";
  size_t warm = 1;
  std::string config;
  EgressFlags egress;  // --allow-domain ...: the proxy's allow-list instead of no network
};

// Options not given as flags come from the [mcp] section of the configuration file.
Status ApplyConfig(const CLI::App& app, const Config& config, McpOptions& o) {
  auto text = [&](const char* flag, const char* key, std::string& value) {
    if (app.count(flag) == 0) {
      value = config.String(key).value_or(value);
    }
  };
  text("--memory", "mcp.memory", o.memory);
  text("--timeout", "mcp.timeout", o.timeout);
  text("--cpu-time", "mcp.cpu_time", o.cpu_time);
  text("--output-limit", "mcp.output_limit", o.output_limit);
  text("--disk-limit", "mcp.disk_limit", o.disk_limit);
  text("--network", "mcp.network", o.network);
  text("--idle-ttl", "mcp.idle_ttl", o.idle_ttl);
  if (o.network != "none" && o.network != "host") {
    return Error(ErrorCode::kInvalidArgument,
                 "mcp.network must be \"none\" or \"host\", not \"" + o.network + "\"");
  }
  auto count = [&](const char* flag, const char* key, int64_t most, auto& value) -> Status {
    if (app.count(flag) != 0) {
      return OkStatus();
    }
    if (std::optional<int64_t> set = config.Int(key)) {
      if (*set < 1 || *set > most) {
        return Error(ErrorCode::kInvalidArgument,
                     fmt::format("{} must be from 1 to {}, not {}", key, most, *set));
      }
      value = static_cast<std::remove_reference_t<decltype(value)>>(*set);
    }
    return OkStatus();
  };
  RETURN_IF_ERROR(count("--pids", "mcp.pids", 1 << 20, o.pids));
  RETURN_IF_ERROR(count("--max-sandboxes", "mcp.max_sandboxes", 1000, o.max_sandboxes));
  if (app.count("--warm") == 0) {
    if (std::optional<int64_t> warm = config.Int("mcp.warm"); warm && *warm >= 0 && *warm <= 64) {
      o.warm = static_cast<size_t>(*warm);
    } else if (warm) {
      return Error(ErrorCode::kInvalidArgument,
                   fmt::format("mcp.warm must be from 0 to 64, not {}", *warm));
    }
  }
  if (app.count("--cpus") == 0) {
    o.cpus = config.Number("mcp.cpus").value_or(o.cpus);
  }
  return OkStatus();
}

// The run limits from the flags, as `warden exec` reads them: defaults and ceilings of the tools.
Result<mcp::ToolOptions> ToolOptionsFrom(const McpOptions& o, const Config& config) {
  mcp::ToolOptions options;
  RETURN_IF_ERROR(SetLimitsFromFlags(
      {o.memory, o.timeout, o.cpu_time, o.output_limit, o.disk_limit}, &options.limits));
  options.limits.max_pids = o.pids;
  options.limits.cpus = o.cpus;
  options.network = o.network == "host" ? sandbox::NetworkMode::kHost : sandbox::NetworkMode::kNone;
  RETURN_IF_ERROR(ApplyEgressFlags(o.egress, config, o.network, &options.network, &options.egress));
  return options;
}

void AddFlags(CLI::App& app, McpOptions& o) {
  app.add_option("--memory", o.memory, "Memory limit of a run (and the most a client may ask)")
      ->capture_default_str();
  app.add_option("--timeout", o.timeout, "Wall time limit of a run (and the most a client may ask)")
      ->capture_default_str();
  app.add_option("--cpu-time", o.cpu_time, "CPU time limit of a run")->capture_default_str();
  app.add_option("--pids", o.pids, "Processes and threads at once")->capture_default_str();
  app.add_option("--output-limit", o.output_limit, "stdout + stderr bytes of a run")
      ->capture_default_str();
  app.add_option("--disk-limit", o.disk_limit, "Bytes a run may write")->capture_default_str();
  app.add_option("--cpus", o.cpus, "CPU bandwidth in cores (0: no cap)")->capture_default_str();
  app.add_option("--network", o.network, "none: loopback only; host: the host's network")
      ->check(CLI::IsMember({"none", "host"}))
      ->capture_default_str();
  AddEgressFlags(app, o.egress);
  app.add_option("--max-sandboxes", o.max_sandboxes, "Live sandboxes at once")
      ->check(CLI::Range(size_t{1}, size_t{1000}))
      ->capture_default_str();
  app.add_option("--idle-ttl", o.idle_ttl, "A sandbox unused this long is destroyed")
      ->capture_default_str();
  app.add_option("--warm", o.warm, "Sandboxes built ahead of time, for faster runs")
      ->capture_default_str();
  app.add_option("--config", o.config,
                 "Configuration file: its [mcp] section sets what the flags do not (default "
                 "~/.config/warden/config.toml)");
}

int Fail(std::string_view message) {
  fmt::print(stderr, "warden mcp: {}\n", message);
  return 1;
}

}  // namespace

int Mcp(int argc, char** argv) {
  CLI::App app(
      "Serve Warden's sandbox as MCP tools over stdio (newline-delimited JSON-RPC on stdin and\n"
      "stdout, logs on stderr), for an AI client that starts the server itself. Every sandbox\n"
      "is removed when the client closes stdin.",
      "warden mcp");
  McpOptions o;
  AddFlags(app, o);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  Result<Config> config = o.config.empty() ? Config::LoadDefault() : Config::Load(o.config);
  if (!config.ok()) {
    return Fail(config.error().message());
  }
  if (Status applied = ApplyConfig(app, *config, o); !applied.ok()) {
    return Fail(applied.error().message());
  }
  auto tool_options = ToolOptionsFrom(o, *config);
  if (!tool_options.ok()) {
    return Fail(tool_options.error().message());
  }
  auto ttl = jobs::ParseDurationIn("--idle-ttl", o.idle_ttl, std::chrono::seconds(1),
                                   std::chrono::hours(24 * 7));
  if (!ttl.ok()) {
    return Fail(ttl.error().message());
  }
  // A client gone: write() fails with EPIPE, and the sandboxes are cleaned up.
  if (::signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
    return Fail("cannot ignore SIGPIPE");
  }
  auto dir = sys::TempDir::Create("warden-mcp-");
  if (!dir.ok()) {
    return Fail(dir.error().message());
  }
  sandbox::SupervisorOptions supervisor_options;
  mcp::PoolOptions pool_options;
  pool_options.root = dir->path() + "/sandboxes";
  pool_options.sandbox_uid = supervisor_options.root_sandbox_uid;
  pool_options.max_per_owner = o.max_sandboxes;
  pool_options.idle_ttl = *ttl;
  auto pool = mcp::SandboxPool::Create(pool_options);
  if (!pool.ok()) {
    return Fail(pool.error().message());
  }
  supervisor_options.workspace_root = pool_options.root;
  supervisor_options.warm_sandboxes = o.warm;
  auto supervisor = sandbox::Supervisor::Create(supervisor_options);
  if (!supervisor.ok()) {
    return Fail(supervisor.error().message());
  }
  mcp::SandboxTools tools(**supervisor, **pool, *tool_options);
  mcp::Session session(tools, "stdio");
  sandbox::CancelToken stop;
  CancelOnSignals(&stop);
  LOG_INFO("warden mcp: serving MCP on stdin/stdout");
  Status served = mcp::ServeStdio(session, STDIN_FILENO, STDOUT_FILENO, &stop);
  CancelOnSignals(nullptr);
  size_t destroyed = (*pool)->DestroyOwner("stdio");
  LOG_INFO("warden mcp: the client is gone; removed {} sandboxes", destroyed);
  if (!served.ok()) {
    return Fail(served.error().message());
  }
  return 0;
}

}  // namespace warden::cli
