// `warden runs`: the recent local runs of `warden run`, newest first, with their outcome, task,
// workspace and when they started (--json: their records).
#include <cstdio>
#include <ctime>
#include <string>

#include "cli/commands.h"
#include "cli/run_record.h"
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "base/json_text.h"

namespace warden::cli {
namespace {

std::string Field(const json::object& object, std::string_view key) {
  const json::value* value = object.if_contains(key);
  return value != nullptr && value->is_string() ? std::string(value->get_string()) : "";
}

std::string When(const json::object& run) {
  const json::value* value = run.if_contains("started_at_ms");
  if (value == nullptr || !value->is_number()) {
    return "?";
  }
  std::time_t seconds = static_cast<std::time_t>(value->to_number<int64_t>() / 1000);
  std::tm local{};
  ::localtime_r(&seconds, &local);
  char text[32];
  size_t n = std::strftime(text, sizeof text, "%Y-%m-%d %H:%M", &local);
  return std::string(text, n);
}

std::string Shortened(std::string text, size_t most) {
  if (auto newline = text.find('\n'); newline != std::string::npos) {
    text = text.substr(0, newline) + " …";
  }
  return text.size() > most ? text.substr(0, most - 3) + "..." : text;
}

}  // namespace

int Runs(int argc, char** argv) {
  CLI::App app("The recent runs of `warden run`, newest first.", "warden runs");
  size_t limit = 20;
  bool json_out = false;
  app.add_option("--limit", limit, "How many")->capture_default_str();
  app.add_flag("--json", json_out, "Print the runs' records as JSON");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  auto dir = RunRecordsDir();
  if (!dir.ok()) {
    fmt::print(stderr, "warden runs: {}\n", dir.error().message());
    return 1;
  }
  std::vector<json::object> runs = ListRuns(*dir);
  if (runs.size() > limit) {
    runs.resize(limit);
  }
  if (json_out) {
    json::array items(runs.begin(), runs.end());
    fmt::print("{}\n", SerializeJson(json::object{{"runs", std::move(items)}}));
    return 0;
  }
  if (runs.empty()) {
    fmt::print("No runs yet: start one with `warden run \"TASK\"`.\n");
  }
  for (const json::object& run : runs) {
    std::string state = Field(run, "state");
    if (std::string reason = Field(run, "reason"); !reason.empty() && reason != "finished") {
      state += " (" + reason + ")";
    }
    fmt::print("{}  {:<9}  {}  {}  in {}\n", Field(run, "id"), state, When(run),
               Shortened(Field(run, "task"), 60), Field(run, "workspace"));
  }
  return 0;
}

}  // namespace warden::cli
