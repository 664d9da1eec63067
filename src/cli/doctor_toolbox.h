// `warden doctor`'s list of what a sandboxed program can use: the interpreters (python3, bash,
// node) and the main Python data modules, as one real sandbox run finds them.
#pragma once

#include <string>
#include <vector>

#include "sandbox/host_probe.h"
#include "sandbox/sandbox.h"

namespace warden::cli {

// The Python modules a data task commonly needs, in the order they are listed.
inline constexpr const char* kDataModules[] = {"numpy", "pandas",   "matplotlib",
                                               "scipy", "requests", "openpyxl"};

// Runs one probe in a sandbox of `supervisor` and returns a check per interpreter and module:
// ok with its version, or why it is missing and which Debian package brings it.
std::vector<sandbox::HostCheck> ProbeSandboxToolbox(sandbox::Supervisor& supervisor);

// The checks of a probe's output (lines "NAME<TAB>VERSION<TAB>WHERE"); exposed for tests.
std::vector<sandbox::HostCheck> ParseToolboxProbe(const std::string& output);

}  // namespace warden::cli
