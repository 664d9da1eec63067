#include "namespaces.h"

#include <unistd.h>

#include <algorithm>

namespace warden::bench {
namespace {

// The first line of `text` that starts with `prefix`, without its newline; "" when none does.
std::string_view LineStartingWith(std::string_view text, std::string_view prefix) {
  while (!text.empty()) {
    size_t newline = text.find('\n');
    std::string_view line = text.substr(0, newline);
    if (line.substr(0, prefix.size()) == prefix) {
      return line;
    }
    text = newline == std::string_view::npos ? "" : text.substr(newline + 1);
  }
  return "";
}

std::string Join(const std::vector<std::string_view>& words) {
  std::string joined;
  for (std::string_view word : words) {
    joined += (joined.empty() ? "" : " ") + std::string(word);
  }
  return joined;
}

}  // namespace

std::vector<std::string> PrintNamespacesCommand() {
  std::vector<std::string> argv = {"/usr/bin/readlink"};
  for (std::string_view ns : kAllNamespaces) {
    argv.push_back("/proc/self/ns/" + std::string(ns));
  }
  return argv;
}

NamespaceCheck CompareNamespaces(const std::string& output,
                                 std::span<const std::string_view> required) {
  NamespaceCheck check;
  check.isolated = true;
  for (std::string_view ns : kAllNamespaces) {
    std::string path = "/proc/self/ns/" + std::string(ns);
    char own[128] = {};
    ssize_t n = readlink(path.c_str(), own, sizeof(own) - 1);
    std::string_view inside = LineStartingWith(output, std::string(ns) + ":[");
    // A namespace not printed inside counts as shared: claim no isolation that was not seen.
    bool fresh = n > 0 && !inside.empty() && inside != std::string_view(own, n);
    (fresh ? check.fresh : check.shared).push_back(ns);
    if (!fresh && std::find(required.begin(), required.end(), ns) != required.end()) {
      check.isolated = false;
    }
  }
  return check;
}

std::string DescribeNamespaces(const NamespaceCheck& check) {
  std::string text = "new namespaces: " + (check.fresh.empty() ? "none" : Join(check.fresh));
  if (!check.shared.empty()) {
    text += "; shares the host's: " + Join(check.shared);
  }
  return text;
}

}  // namespace warden::bench
