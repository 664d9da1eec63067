#include "cli/doctor_toolbox.h"

#include <algorithm>
#include <string_view>

#include <fmt/format.h>

namespace warden::cli {
namespace {

using Level = sandbox::HostCheck::Level;

// Prints "NAME<TAB>VERSION<TAB>WHERE" per interpreter and per module given as an argument,
// VERSION empty when missing. Modules are found (importlib's find_spec) and their versions read
// from the installed metadata, not imported: importing pandas and matplotlib takes seconds.
constexpr char kProbe[] = R"(for p in python3 bash node; do
  where=$(command -v "$p" 2>/dev/null) || where=""
  version=""
  case "$where" in
    "") ;;
    *python3) version=$("$where" -c 'import platform; print(platform.python_version())') ;;
    *bash) version=$("$where" -c 'echo "$BASH_VERSION"') ;;
    *) version=$("$where" --version 2>/dev/null) ;;
  esac
  printf '%s\t%s\t%s\n' "$p" "$version" "$where"
done
command -v python3 >/dev/null 2>&1 || exit 0
exec python3 - "$@" <<'PROBE'
import importlib.metadata, importlib.util, sys
for name in sys.argv[1:]:
    version = ""
    try:
        if importlib.util.find_spec(name) is not None:
            try:
                version = importlib.metadata.version(name)
            except importlib.metadata.PackageNotFoundError:
                version = "present"
    except (ImportError, ValueError):
        pass
    print(f"module:{name}\t{version}\t")
PROBE
)";

sandbox::HostCheck InterpreterCheck(std::string_view name, const std::string& version,
                                    const std::string& where) {
  if (version.empty()) {
    return {std::string(name), name == "node" ? Level::kInfo : Level::kWarn,
            fmt::format("not in the sandbox (Debian: apt-get install {})",
                        name == "node" ? "nodejs" : name)};
  }
  return {std::string(name), Level::kOk, fmt::format("{} at {}", version, where)};
}

sandbox::HostCheck ModuleCheck(std::string_view module, const std::string& version) {
  std::string name = fmt::format("python {}", module);
  if (version.empty()) {
    return {
        name, Level::kWarn,
        fmt::format("not importable in the sandbox (Debian: apt-get install python3-{})", module)};
  }
  return {name, Level::kOk, version};
}

}  // namespace

std::vector<sandbox::HostCheck> ParseToolboxProbe(const std::string& output) {
  std::vector<sandbox::HostCheck> checks;
  std::string_view rest = output;
  while (!rest.empty()) {
    std::string_view line = rest.substr(0, rest.find('\n'));
    rest.remove_prefix(std::min(rest.size(), line.size() + 1));
    size_t tab = line.find('\t');
    size_t tab2 = tab == std::string_view::npos ? tab : line.find('\t', tab + 1);
    if (tab2 == std::string_view::npos) {
      continue;
    }
    std::string_view name = line.substr(0, tab);
    std::string version(line.substr(tab + 1, tab2 - tab - 1));
    std::string where(line.substr(tab2 + 1));
    if (name.starts_with("module:")) {
      checks.push_back(ModuleCheck(name.substr(7), version));
    } else {
      checks.push_back(InterpreterCheck(name, version, where));
    }
  }
  return checks;
}

std::vector<sandbox::HostCheck> ProbeSandboxToolbox(sandbox::Supervisor& supervisor) {
  sandbox::Spec spec;
  spec.argv = {"/bin/sh", "-c", kProbe, "probe"};
  for (const char* module : kDataModules) {
    spec.argv.emplace_back(module);
  }
  auto result = supervisor.Run(spec);
  if (!result.ok() || result->outcome != sandbox::Outcome::kExited || result->exit_code != 0) {
    std::string why =
        result.ok() ? result->message + " " + result->stderr_data : result.error().message();
    return {{"toolbox", Level::kWarn, "the sandbox's interpreters could not be probed: " + why}};
  }
  return ParseToolboxProbe(result->stdout_data);
}

}  // namespace warden::cli
