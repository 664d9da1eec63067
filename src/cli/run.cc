// `warden run "TASK"`: a task in plain language, carried out by an LLM in sandboxes, in the
// foreground. Streams the plan, each step and its live output, then a summary with the files
// produced and the tokens used (--json: the events as JSON lines).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/egress_flags.h"
#include "cli/render.h"
#include "cli/run_record.h"
#include "cli/signals.h"
#include "cli/workspace_flags.h"
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "agent/agent.h"
#include "base/config.h"
#include "base/units.h"
#include "jobs/limits.h"
#include "llm/providers.h"

namespace warden::cli {
namespace {

constexpr int kExitDone = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

struct RunOptions {
  std::string provider, model, base_url;
  std::string workspace;
  std::vector<std::string> ro_binds;
  std::vector<std::string> inputs;
  std::string network = "none";
  EgressFlags egress;
  std::string approve;
  int max_steps = 0;
  std::string max_time;
  std::string action_timeout;
  std::string memory;
  uint64_t token_budget = 0;
  bool validate = false;
  bool no_plan = false;
  bool json = false;
  std::string config;
  std::vector<std::string> task;
};

// A fresh workspace for the run `id`: ~/.local/share/warden/runs/ID (XDG_DATA_HOME first).
Result<std::string> NewWorkspacePath(const std::string& id) {
  std::string base;
  // NOLINTBEGIN(concurrency-mt-unsafe): read at start-up
  if (::geteuid() == 0) {
    base = "/var/lib/warden/runs";  // root's home is closed to the sandbox user
  } else if (const char* data = std::getenv("XDG_DATA_HOME"); data != nullptr && data[0] == '/') {
    base = std::string(data) + "/warden/runs";
  } else if (const char* home = std::getenv("HOME"); home != nullptr && home[0] == '/') {
    base = std::string(home) + "/.local/share/warden/runs";
  } else {
    base = "/tmp/warden-runs";
  }
  // NOLINTEND(concurrency-mt-unsafe)
  std::error_code ec;
  std::filesystem::create_directories(base, ec);
  if (ec) {
    return Error(ErrorCode::kFailedPrecondition,
                 fmt::format("cannot create {} ({}): pass --workspace DIR", base, ec.message()));
  }
  return base + "/" + id;
}

// The run's workspace: --workspace, or a new directory; with the --input files copied in.
Result<std::string> PrepareRunWorkspace(const RunOptions& o, const std::string& id,
                                        uid_t sandbox_uid) {
  std::string path = o.workspace;
  if (path.empty()) {
    ASSIGN_OR_RETURN(path, NewWorkspacePath(id));
  }
  ASSIGN_OR_RETURN(std::string workspace, PrepareWorkspace(path, sandbox_uid));
  RETURN_IF_ERROR(CopyInputs(o.inputs, workspace, sandbox_uid));
  return workspace;
}

// Asks on the terminal; without one, refuses.
bool AskOnTerminal(Renderer& renderer, const std::string& tool, const json::object& arguments,
                   const std::string& reason, std::string* why) {
  int tty = ::open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
  if (tty < 0 || !::isatty(STDIN_FILENO)) {
    if (tty >= 0) {
      ::close(tty);
    }
    *why =
        "there is no terminal to ask for approval (use --approve never, or allow the command "
        "in the configuration's agent.allow)";
    return false;
  }
  renderer.Quiet();
  std::string question = renderer.ApprovalQuestion(tool, arguments, reason);
  (void)::write(tty, question.data(), question.size());
  std::string answer;
  char c;
  while (::read(tty, &c, 1) == 1 && c != '\n') {
    answer += c;
  }
  ::close(tty);
  bool yes = answer == "y" || answer == "Y" || answer == "yes";
  if (!yes) {
    *why = "the user said no";
  }
  return yes;
}

Result<std::chrono::milliseconds> DurationOr(const std::string& flag,
                                             const std::optional<std::string>& config,
                                             std::chrono::milliseconds fallback) {
  std::string text = !flag.empty() ? flag : config.value_or("");
  if (text.empty()) {
    return fallback;
  }
  return ParseDuration(text);
}

}  // namespace

int Run(int argc, char** argv) {
  CLI::App app(
      "Carry out a task written in plain language: an LLM plans it, then runs commands and\n"
      "Python in fresh sandboxes over the task's workspace, reads what happened, and corrects\n"
      "itself until the task is done or a bound is reached.\n"
      "Exit code: 0 done; 1 the task failed or was stopped by a bound; 2 usage or configuration "
      "error; 130 interrupted.",
      "warden run");
  app.footer(fmt::format(
      "Providers: {}. Keys come from OPENAI_API_KEY, OPENROUTER_API_KEY, GEMINI_API_KEY,\n"
      "ANTHROPIC_API_KEY; Ollama from OLLAMA_HOST. Settings: ~/.config/warden/config.toml.",
      llm::ProviderNames()));
  RunOptions o;
  app.add_option("--provider", o.provider, "LLM provider (default: what is configured or found)");
  app.add_option("--model", o.model, "Model name");
  app.add_option("--base-url", o.base_url, "API base URL (any OpenAI-compatible server)");
  app.add_option("--workspace", o.workspace,
                 "Directory mounted at /workspace, where results stay (default: a new one under "
                 "~/.local/share/warden/runs)");
  app.add_option("--ro-bind", o.ro_binds,
                 "Make SRC visible read-only to every action at DST (SRC[:DST], repeatable)");
  app.add_option("--input", o.inputs,
                 "Copy FILE (or a directory) into the workspace before the task starts "
                 "(repeatable)");
  app.add_option("--network", o.network, "none: no network; host: the host's network")
      ->check(CLI::IsMember({"none", "host"}))
      ->capture_default_str();
  AddEgressFlags(app, o.egress);
  app.add_option("--approve", o.approve, "Ask before actions: never, risky (default) or always");
  app.add_option("--max-steps", o.max_steps, "Model turns at most (default 30)");
  app.add_option("--max-time", o.max_time, "Wall time for the whole task (default 30m)");
  app.add_option("--action-timeout", o.action_timeout, "Wall time of one action (default 2m)");
  app.add_option("--memory", o.memory, "Memory limit of one action (default 1G)");
  app.add_option("--token-budget", o.token_budget, "Tokens at most, input and output (default 1M)");
  app.add_flag("--validate", o.validate, "Have the model review each command before it runs");
  app.add_flag("--no-plan", o.no_plan, "Act at once, without a plan first");
  app.add_flag("--json", o.json, "Print the events as JSON lines");
  app.add_option("--config", o.config, "Configuration file (default ~/.config/warden/config.toml)");
  app.add_option("task", o.task, "The task, in plain language")->required();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : kExitUsage;
  }

  auto fail = [](const std::string& message) {
    fmt::print(stderr, "warden run: {}\n", message);
    return kExitUsage;
  };
  Result<Config> config = o.config.empty() ? Config::LoadDefault() : Config::Load(o.config);
  if (!config.ok()) {
    return fail(config.error().message());
  }
  std::string task;
  for (const std::string& word : o.task) {
    task += (task.empty() ? "" : " ") + word;
  }
  if (task.find_first_not_of(" \t\n") == std::string::npos) {
    return fail(
        "the task is empty: say what to do, e.g. warden run \"count the lines of "
        "/etc/services\"");
  }

  agent::AgentOptions options;
  options.max_steps =
      o.max_steps > 0 ? o.max_steps : static_cast<int>(config->Int("agent.max_steps").value_or(30));
  options.plan = !o.no_plan && config->Bool("agent.plan").value_or(true);
  options.validate = o.validate || config->Bool("agent.validate").value_or(false);
  options.token_budget =
      o.token_budget > 0
          ? o.token_budget
          : static_cast<uint64_t>(config->Int("agent.token_budget").value_or(1'000'000));
  auto max_time =
      DurationOr(o.max_time, config->String("agent.max_time"), std::chrono::minutes(30));
  // The same defaults as a server's jobs.
  auto limits = jobs::ActionLimits(*config, o.action_timeout, o.memory);
  if (!max_time.ok() || !limits.ok()) {
    return fail(!max_time.ok() ? max_time.error().message() : limits.error().message());
  }
  options.wall_time = std::chrono::duration_cast<std::chrono::seconds>(*max_time);
  auto mode = agent::ParseApprovalMode(
      !o.approve.empty() ? o.approve : config->String("agent.approve").value_or("risky"));
  if (!mode.ok()) {
    return fail(mode.error().message());
  }

  agent::ToolOptions tools;
  tools.network = o.network == "host" ? sandbox::NetworkMode::kHost : sandbox::NetworkMode::kNone;
  if (Status egress = ApplyEgressFlags(o.egress, *config, o.network, &tools.network, &tools.egress);
      !egress.ok()) {
    return fail(egress.error().message());
  }
  tools.limits = *limits;

  auto provider = llm::ResolveProvider({o.provider, o.model, o.base_url}, *config,
                                       [](const char* name) { return std::getenv(name); });
  if (!provider.ok()) {
    return fail(provider.error().message());
  }
  sandbox::SupervisorOptions supervisor_options;
  std::string run_id = NewRunId();
  auto workspace = PrepareRunWorkspace(o, run_id, supervisor_options.root_sandbox_uid);
  if (!workspace.ok()) {
    return fail(workspace.error().message());
  }
  tools.workspace = *workspace;
  auto ro_binds = ParseRoBinds(o.ro_binds);
  if (!ro_binds.ok()) {
    return fail(ro_binds.error().message());
  }
  tools.ro_binds = *ro_binds;
  if (!tools.ro_binds.empty()) {
    std::string where;
    for (const sandbox::BindMount& bind : tools.ro_binds) {
      where += (where.empty() ? "" : ", ") + bind.target;
    }
    task += fmt::format("\n\n(Read-only, from the user: {})", where);
  }
  auto supervisor = sandbox::Supervisor::Create(supervisor_options);
  if (!supervisor.ok()) {
    return fail(supervisor.error().message() + " (`warden doctor` tells more)");
  }

  std::unique_ptr<llm::Client> client = llm::MakeClient(*provider);
  agent::ToolRunner runner(**supervisor, tools);
  agent::Policy policy(*mode, config->Strings("agent.allow"), config->Strings("agent.deny"),
                       tools.network == sandbox::NetworkMode::kHost);
  Renderer renderer(TerminalRenderOptions(o.json));
  auto record = RunRecord::Create(run_id, task, *workspace);
  if (record.ok()) {
    renderer.set_whole_output("the transcript " + (*record)->transcript_path());
  } else {
    fmt::print(stderr, "warden run: the run is not recorded: {}\n", record.error().message());
  }
  renderer.Start(task, provider->Describe(), *workspace);
  auto started = std::chrono::steady_clock::now();
  agent::Agent agent(
      *client, runner, std::move(policy), options,
      [&](const agent::Event& event) {
        if (record.ok()) {
          (*record)->Add(event);
        }
        renderer.Show(event);
      },
      [&](const std::string& tool, const json::object& arguments, const std::string& reason,
          std::string* why) { return AskOnTerminal(renderer, tool, arguments, reason, why); });

  sandbox::CancelToken cancel;
  CancelOnSignals(&cancel);
  agent::AgentResult result = agent.Run(task, &cancel);
  CancelOnSignals(nullptr);
  if (record.ok()) {
    (*record)->Finish(result);
  }
  renderer.End(OutcomeOfRun(result, *workspace,
                            std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::steady_clock::now() - started)));
  if (result.status == "cancelled") {
    return CaughtSignal() != 0 ? 128 + CaughtSignal() : 130;
  }
  return result.status == "succeeded" ? kExitDone : kExitFailed;
}

}  // namespace warden::cli
