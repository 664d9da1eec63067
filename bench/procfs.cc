#include "procfs.h"

#include <dirent.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string_view>

namespace warden::bench {
namespace {

bool ReadFile(const std::string& path, std::string* contents) {
  std::ifstream in(path);
  if (!in) {
    return false;
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  *contents = buffer.str();
  return true;
}

// The value in kB of a "Name:   1234 kB" line, or 0 when there is no such line.
uint64_t KilobyteField(const std::string& text, std::string_view name) {
  size_t at = 0;
  while ((at = text.find(name, at)) != std::string::npos) {
    if ((at == 0 || text[at - 1] == '\n') && text.compare(at + name.size(), 1, ":") == 0) {
      return std::strtoull(text.c_str() + at + name.size() + 1, nullptr, 10);
    }
    at += name.size();
  }
  return 0;
}

// Parses /proc/PID/stat: "pid (comm) state ppid ...". comm may hold spaces and parentheses, so
// the fields after it are counted from the last ')'.
bool ReadProcessInfo(pid_t pid, ProcessInfo* info) {
  std::string stat;
  if (!ReadFile("/proc/" + std::to_string(pid) + "/stat", &stat)) {
    return false;  // exited meanwhile
  }
  size_t open = stat.find('(');
  size_t close = stat.rfind(')');
  if (open == std::string::npos || close == std::string::npos) {
    return false;
  }
  // Fields 3 (state) onwards; fields[k] is field k + 3 of proc(5).
  std::istringstream rest(stat.substr(close + 1));
  std::vector<std::string> fields;
  for (std::string field; rest >> field && fields.size() < 20;) {
    fields.push_back(field);
  }
  if (fields.size() < 20) {
    return false;
  }
  constexpr uint64_t kKernelThreadFlag = 0x00200000;  // PF_KTHREAD
  info->pid = pid;
  info->comm = stat.substr(open + 1, close - open - 1);
  info->ppid = static_cast<pid_t>(std::stol(fields[1]));
  info->kernel_thread = (std::stoull(fields[6]) & kKernelThreadFlag) != 0;
  info->cpu_ticks = std::stoull(fields[11]) + std::stoull(fields[12]);
  info->start_ticks = std::stoull(fields[19]);
  return true;
}

}  // namespace

std::vector<ProcessInfo> ListProcesses() {
  std::vector<ProcessInfo> all;
  if (DIR* proc = opendir("/proc")) {
    while (dirent* entry = readdir(proc)) {
      char* end = nullptr;
      int64_t pid = std::strtoll(entry->d_name, &end, 10);
      ProcessInfo info;
      if (*end == '\0' && pid > 0 && ReadProcessInfo(static_cast<pid_t>(pid), &info)) {
        all.push_back(std::move(info));
      }
    }
    closedir(proc);
  }
  return all;
}

std::vector<ProcessInfo> DescendantsOf(pid_t root, const std::vector<ProcessInfo>& all) {
  std::multimap<pid_t, const ProcessInfo*> by_parent;
  for (const ProcessInfo& info : all) {
    by_parent.emplace(info.ppid, &info);
  }
  std::vector<ProcessInfo> found;
  std::vector<pid_t> parents = {root};
  while (!parents.empty()) {
    pid_t parent = parents.back();
    parents.pop_back();
    auto [first, last] = by_parent.equal_range(parent);
    for (auto it = first; it != last; ++it) {
      found.push_back(*it->second);
      parents.push_back(it->second->pid);
    }
  }
  return found;
}

MemoryUsage& MemoryUsage::operator+=(const MemoryUsage& other) {
  rss_kb += other.rss_kb;
  pss_kb += other.pss_kb;
  page_tables_kb += other.page_tables_kb;
  return *this;
}

Result<MemoryUsage> ReadMemoryUsage(pid_t pid) {
  std::string dir = "/proc/" + std::to_string(pid);
  std::string rollup;
  std::string status;
  if (!ReadFile(dir + "/smaps_rollup", &rollup) || !ReadFile(dir + "/status", &status)) {
    return Error(ErrorCode::kNotFound, "cannot read " + dir + "/smaps_rollup or status");
  }
  MemoryUsage usage;
  usage.rss_kb = KilobyteField(rollup, "Rss");
  usage.pss_kb = KilobyteField(rollup, "Pss");
  usage.page_tables_kb = KilobyteField(status, "VmPTE");
  return usage;
}

std::string ReadCgroupPath(pid_t pid, std::string_view controller) {
  std::string text;
  if (!ReadFile("/proc/" + std::to_string(pid) + "/cgroup", &text)) {
    return "";
  }
  std::string unified;
  std::istringstream lines(text);
  std::string line;
  // Lines are "ID:CONTROLLERS:PATH"; cgroup v2's is "0::PATH".
  while (std::getline(lines, line)) {
    size_t first = line.find(':');
    size_t second = line.find(':', first + 1);
    if (first == std::string::npos || second == std::string::npos) {
      continue;
    }
    std::string path = line.substr(second + 1);
    std::string controllers = "," + line.substr(first + 1, second - first - 1) + ",";
    if (controllers == ",,") {
      unified = path;
    } else if (controllers.find("," + std::string(controller) + ",") != std::string::npos) {
      return path;
    }
  }
  return unified;
}

}  // namespace warden::bench
