// Checks that a sandbox really isolates: the namespace ids a program inside prints
// (readlink /proc/self/ns/*) against the benchmark's own. A fast sandbox that shares the host's
// namespaces would win every comparison for the wrong reason.
#pragma once

#include <array>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace warden::bench {

// Everything the benchmark asks of bwrap.
inline constexpr std::array<std::string_view, 7> kAllNamespaces = {"user", "pid",    "net", "ipc",
                                                                   "uts",  "cgroup", "mnt"};
// What DESIGN.md section 4 promises for Warden's sandbox.
inline constexpr std::array<std::string_view, 6> kWardenNamespaces = {"user", "pid", "net",
                                                                      "ipc",  "uts", "mnt"};

// The command that prints one id per line ("pid:[4026532184]"), for a sandbox to run.
std::vector<std::string> PrintNamespacesCommand();

struct NamespaceCheck {
  std::vector<std::string_view> fresh;   // differ from the benchmark's own
  std::vector<std::string_view> shared;  // the same as the benchmark's, or not printed at all
  bool isolated = false;                 // every required namespace is fresh
};

// Compares the output of PrintNamespacesCommand() run inside a sandbox with this process's ids.
NamespaceCheck CompareNamespaces(const std::string& output,
                                 std::span<const std::string_view> required);

// "new namespaces: user pid mnt; shares the host's: cgroup"
std::string DescribeNamespaces(const NamespaceCheck& check);

}  // namespace warden::bench
