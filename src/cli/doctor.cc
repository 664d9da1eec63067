// `warden doctor`: what the host allows, which isolation the sandbox will use, a test run, and
// the interpreters and Python modules a sandboxed program finds; with --store, the job store too.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "cli/doctor_toolbox.h"
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "base/json.h"
#include "jobs/open_store.h"
#include "jobs/pg_check.h"
#include "sandbox/host_probe.h"
#include "sandbox/sandbox.h"

namespace warden::cli {
namespace {

// Runs /bin/true in a real sandbox: the end-to-end proof that the checks above add up.
sandbox::HostCheck SmokeTest(const Result<std::unique_ptr<sandbox::Supervisor>>& supervisor) {
  sandbox::HostCheck check{"test run", sandbox::HostCheck::Level::kOk, ""};
  if (!supervisor.ok()) {
    check.level = sandbox::HostCheck::Level::kFail;
    check.detail = supervisor.error().message();
    return check;
  }
  sandbox::Spec spec;
  spec.argv = {"/bin/sh", "-c", "test \"$(id -u)\" = 1000 && test -d /workspace"};
  auto start = std::chrono::steady_clock::now();
  auto result = (*supervisor)->Run(spec);
  auto micros = std::chrono::duration_cast<std::chrono::microseconds>(
                    std::chrono::steady_clock::now() - start)
                    .count();
  if (!result.ok()) {
    check.level = sandbox::HostCheck::Level::kFail;
    check.detail = result.error().message();
  } else if (result->outcome != sandbox::Outcome::kExited || result->exit_code != 0) {
    check.level = sandbox::HostCheck::Level::kFail;
    check.detail = fmt::format("a sandboxed /bin/sh did not succeed: {} {}", result->message,
                               result->stderr_data);
  } else {
    check.detail = fmt::format("/bin/sh ran as uid 1000 in a full sandbox in {:.2f} ms",
                               static_cast<double>(micros) / 1000);
  }
  return check;
}

// The store's checks: PostgreSQL's from CheckPgStore; a SQLite file has nothing to check remotely.
Result<std::vector<sandbox::HostCheck>> StoreChecks(const std::string& store) {
  ASSIGN_OR_RETURN(jobs::StoreLocation location, jobs::ParseStoreLocation(store, ""));
  if (location.kind == jobs::StoreKind::kPostgres) {
    return jobs::CheckPgStore(location.target);
  }
  return std::vector<sandbox::HostCheck>{
      {"job store", sandbox::HostCheck::Level::kInfo,
       jobs::DescribeStore(location) + ": opened by `warden serve` on its machine"}};
}

}  // namespace

int Doctor(int argc, char** argv) {
  CLI::App app(
      "Check what this host allows and which isolation Warden will use, and the job store\n"
      "with --store. Exits 0 when full isolation is possible (and the store is usable), 1\n"
      "when not.",
      "warden doctor");
  bool as_json = false;
  app.add_flag("--json", as_json, "Print the report as one JSON object");
  std::string store;
  app.add_option("--store", store,
                 "Also check this job store (postgresql://...): reachable, server version, "
                 "migrations applied, long transactions")
      ->envname("WARDEN_STORE");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }

  sandbox::HostReport report = sandbox::ProbeHost();
  if (report.full_isolation) {
    auto supervisor = sandbox::Supervisor::Create({});
    sandbox::HostCheck smoke = SmokeTest(supervisor);
    bool ran = smoke.level != sandbox::HostCheck::Level::kFail;
    if (!ran) {
      report.full_isolation = false;
      report.isolation = "none: the test run failed (see above)";
    }
    report.checks.push_back(std::move(smoke));
    report.checks.push_back(sandbox::CheckWorkspaceMounting());
    if (ran) {
      for (sandbox::HostCheck& check : ProbeSandboxToolbox(**supervisor)) {
        report.checks.push_back(std::move(check));
      }
    }
  }

  bool store_ok = true;
  if (!store.empty()) {
    auto checks = StoreChecks(store);
    if (!checks.ok()) {
      (void)std::fprintf(stderr, "warden doctor: --store: %s\n", checks.error().message().c_str());
      return 2;
    }
    for (sandbox::HostCheck& check : *checks) {
      store_ok = store_ok && check.level != sandbox::HostCheck::Level::kFail;
      report.checks.push_back(std::move(check));
    }
  }

  if (as_json) {
    json::array checks;
    for (const auto& check : report.checks) {
      checks.push_back(json::object{{"name", check.name},
                                    {"status", sandbox::HostCheckLevelName(check.level)},
                                    {"detail", check.detail}});
    }
    json::object out{{"full_isolation", report.full_isolation},
                     {"isolation", report.isolation},
                     {"checks", std::move(checks)}};
    std::puts(json::serialize(out).c_str());
  } else {
    for (const auto& check : report.checks) {
      std::printf("%-5s %-16s %s\n", std::string(sandbox::HostCheckLevelName(check.level)).c_str(),
                  check.name.c_str(), check.detail.c_str());
    }
    std::printf("\nIsolation: %s\n", report.isolation.c_str());
  }
  return report.full_isolation && store_ok ? 0 : 1;
}

}  // namespace warden::cli
