// The warden binary: dispatches to the subcommand. Only the chosen subcommand's parser is built,
// so that `warden exec` starts fast.
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <string_view>

#include "cli/commands.h"

namespace {

constexpr const char* kUsage =
    "warden - run commands and code in a Linux sandbox\n"
    "\n"
    "Usage: warden COMMAND [OPTIONS]\n"
    "\n"
    "Commands:\n"
    "  run      carry out a task in plain language with an LLM, in sandboxes\n"
    "  runs     list the recent runs of `warden run`, with their outcome and workspace\n"
    "  serve    run the job service: durable queue, workers, REST+SSE API\n"
    "  worker   run jobs from a job store shared with `serve` nodes (PostgreSQL)\n"
    "  exec     run a program or a code snippet in a fresh sandbox\n"
    "  chat     talk with the agent through a running `warden serve`\n"
    "  mcp      serve the sandbox as MCP tools over stdio, for AI clients\n"
    "  submit, jobs, status, logs, cancel, retry, approve, download, sessions, upload\n"
    "           clients of a running `warden serve`\n"
    "  parse    show the tool calls Warden would run from a model's raw reply\n"
    "  doctor   check what this host allows and which isolation Warden will use\n"
    "\n"
    "Run 'warden COMMAND --help' for the options of a command.\n";

}  // namespace

// NOLINTBEGIN(cert-err33-c): main() writes only to the terminal: no one to tell if that fails.
int main(int argc, char** argv) {
  if (argc < 2) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  std::string_view command = argv[1];
  try {
    if (command == "exec") {
      return warden::cli::Exec(argc - 1, argv + 1);
    }
    if (command == "run") {
      return warden::cli::Run(argc - 1, argv + 1);
    }
    if (command == "runs") {
      return warden::cli::Runs(argc - 1, argv + 1);
    }
    if (command == "serve") {
      return warden::cli::Serve(argc - 1, argv + 1);
    }
    if (command == "worker") {
      return warden::cli::Worker(argc - 1, argv + 1);
    }
    if (command == "submit" || command == "jobs" || command == "status" || command == "logs" ||
        command == "cancel" || command == "retry" || command == "download" ||
        command == "sessions") {
      return warden::cli::Client(std::string(command), argc - 1, argv + 1);
    }
    if (command == "approve") {
      return warden::cli::Approve(argc - 1, argv + 1);
    }
    if (command == "chat") {
      return warden::cli::Chat(argc - 1, argv + 1);
    }
    if (command == "upload") {
      return warden::cli::Upload(argc - 1, argv + 1);
    }
    if (command == "mcp") {
      return warden::cli::Mcp(argc - 1, argv + 1);
    }
    if (command == "parse") {
      return warden::cli::Parse(argc - 1, argv + 1);
    }
    if (command == "doctor") {
      return warden::cli::Doctor(argc - 1, argv + 1);
    }
    if (command == "--help" || command == "-h" || command == "help") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (command == "--version") {
      std::puts("warden 0.1.0");
      return 0;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "warden: %s\n", e.what());
    return 125;
  }
  std::fprintf(stderr, "warden: unknown command '%s'\n\n%s", argv[1], kUsage);
  return 2;
}
// NOLINTEND(cert-err33-c)
