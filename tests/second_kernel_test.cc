// The second kernel's own checks, run only inside the user-mode Linux guest (tests/uml/run.sh;
// the CTest test uml_second_kernel_test): a cgroup v2 only system with Debian 12's kernel 6.1.
// They fail when Warden does not take the v2 path there, when `warden doctor` does not say how it
// kills and measures runs on this kernel, when a limit does not end a run with its status, and
// when a service started in a delegated subtree (systemd's Delegate=yes) does not keep its runs
// inside that subtree.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/json.h"
#include "serve_fixture.h"
#include "serve_util.h"

namespace warden::serve_test {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;

// Linux (major, minor) of the running kernel.
std::pair<int, int> KernelVersion() {
  struct utsname u {};
  ::uname(&u);
  int major = 0;
  int minor = 0;
  (void)std::sscanf(u.release, "%d.%d", &major, &minor);
  return {major, minor};
}

bool AtLeast(int major, int minor) {
  auto [have_major, have_minor] = KernelVersion();
  return have_major > major || (have_major == major && have_minor >= minor);
}

json::object ParseObject(const std::string& text) {
  boost::system::error_code ec;
  json::value value = json::parse(text, ec);
  return !ec && value.is_object() ? value.get_object() : json::object{};
}

// `warden exec --json ARGS`, parsed.
json::object ExecJson(const std::vector<std::string>& args) {
  std::vector<std::string> all = {"exec", "--json"};
  all.insert(all.end(), args.begin(), args.end());
  Exit exit = RunWarden(all, {"TMPDIR=/tmp"}, milliseconds(60'000));
  json::object result = ParseObject(exit.out);
  EXPECT_FALSE(result.empty()) << exit.out << exit.err;
  return result;
}

TEST(SecondKernelTest, TheGuestIsCgroupV2Only) {
  // One line, hierarchy 0: no v1 hierarchy is mounted, so nothing but the v2 path can work here.
  EXPECT_EQ(ReadFile("/proc/self/cgroup"), "0::/\n");
}

TEST(SecondKernelTest, DoctorSaysItUsesCgroupV2AndHowItKillsAndMeasuresOnThisKernel) {
  Exit exit = RunWarden({"doctor", "--json"}, {"TMPDIR=/tmp"}, milliseconds(60'000));
  ASSERT_EQ(exit.code, 0) << exit.out << exit.err;
  json::object report = ParseObject(exit.out);
  EXPECT_EQ(report.at("full_isolation"), json::value(true)) << exit.out;
  std::string cgroups;
  for (const json::value& check : Arr(report, "checks")) {
    if (Str(check.as_object(), "name") == "cgroups") {
      cgroups = Str(check.as_object(), "detail");
    }
  }
  EXPECT_THAT(cgroups, StartsWith("using cgroup v2 at /sys/fs/cgroup/warden")) << exit.out;
  EXPECT_THAT(cgroups, HasSubstr("start: clone3 into the cgroup (CLONE_INTO_CGROUP)"));
  EXPECT_THAT(cgroups, HasSubstr(AtLeast(5, 14) ? "kill: cgroup.kill;" : "kill: SIGKILL"));
  // What the kernel offers decides the mechanism (the fallbacks: src/sandbox/cgroup_fallback_test).
  EXPECT_THAT(cgroups, HasSubstr(AtLeast(5, 19) ? "peak memory: memory.peak"
                                                : "peak memory: memory.current sampled"));
}

TEST(SecondKernelTest, MemoryLimitEndsARunAsOutOfMemoryWithItsPeak) {
  json::object r = ExecJson({"--memory", "64M", "--timeout", "30s", "--", "/usr/bin/python3", "-c",
                             "b = []\nwhile True: b.append(bytearray(1 << 20))"});
  EXPECT_EQ(Str(r, "status"), "memory_limit") << json::serialize(r);
  EXPECT_GT(Int(r, "peak_memory_bytes"), 32ll << 20) << json::serialize(r);
  EXPECT_LE(Int(r, "peak_memory_bytes"), 64ll << 20) << json::serialize(r);
}

TEST(SecondKernelTest, PidsLimitStopsForksAndCpuTimeLimitEndsARun) {
  json::object forks = ExecJson({"--pids", "8", "--timeout", "30s", "--", "/usr/bin/python3", "-c",
                                 "import os, time\n"
                                 "n = 0\n"
                                 "try:\n"
                                 "    while n < 50:\n"
                                 "        if os.fork() == 0:\n"
                                 "            time.sleep(30)\n"
                                 "            os._exit(0)\n"
                                 "        n += 1\n"
                                 "except BlockingIOError:\n"
                                 "    print('stopped after', n)\n"});
  EXPECT_EQ(Str(forks, "status"), "exited") << json::serialize(forks);
  EXPECT_THAT(Str(forks, "stdout"), StartsWith("stopped after ")) << json::serialize(forks);
  json::object burn = ExecJson(
      {"--cpu-time", "1s", "--timeout", "60s", "--", "/bin/bash", "-c", "while :; do :; done"});
  EXPECT_EQ(Str(burn, "status"), "cpu_limit") << json::serialize(burn);
}

// `warden serve` as systemd starts it with Delegate=yes: alone in a cgroup of its own
// (delegated.slice/warden.service) whose controllers its parent enabled for it.
class DelegatedServeTest : public ServeTest {
 protected:
  static constexpr char kSlice[] = "/sys/fs/cgroup/delegated.slice";
  static constexpr char kService[] = "/sys/fs/cgroup/delegated.slice/warden.service";

  void SetUp() override {
    ASSERT_EQ(::mkdir(kSlice, 0755), 0) << ErrnoText();
    WriteFile(std::string(kSlice) + "/cgroup.subtree_control", "+memory +pids +cpu");
    ASSERT_THAT(ReadFile(std::string(kSlice) + "/cgroup.subtree_control"),
                HasSubstr("memory pids"));
    ASSERT_EQ(::mkdir(kService, 0755), 0) << ErrnoText();
    procs_.reset(::open((std::string(kService) + "/cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC));
    ASSERT_TRUE(procs_) << ErrnoText();
    set_server_cgroup_procs_fd(procs_.get());
  }

  void TearDown() override {
    ServeTest::TearDown();  // stops the server
    ::rmdir((std::string(kService) + "/warden").c_str());
    ::rmdir((std::string(kService) + "/supervisor").c_str());
    EXPECT_EQ(::rmdir(kService), 0) << "a run's cgroup was left behind: " << ErrnoText();
    ::rmdir(kSlice);
  }

  UniqueFd procs_;
};

TEST_F(DelegatedServeTest, RunsOfAServiceInADelegatedSubtreeStayInsideItUnderTheirLimits) {
  ASSERT_NO_FATAL_FAILURE(Start());
  const std::string service = kService;
  // Warden moved itself into a leaf, so that the service's cgroup can hand controllers on.
  EXPECT_EQ(ReadFile(service + "/cgroup.procs"), "");
  EXPECT_THAT(ReadFile(service + "/supervisor/cgroup.procs"),
              HasSubstr(std::to_string(server().pid())));
  EXPECT_THAT(ReadFile(service + "/cgroup.subtree_control"), HasSubstr("memory pids"));

  const std::string duration = fmt::format("30.2{}", ::getpid());
  std::string id = Str(Submit(StepsJob({Shell("sleep " + duration)})), "id");
  WaitForState(id, "running");
  std::vector<pid_t> sleeping;
  for (Deadline deadline = After(milliseconds(20'000));
       sleeping.empty() && std::chrono::steady_clock::now() < deadline;) {
    std::this_thread::sleep_for(milliseconds(20));  // nothing to wait on but /proc
    sleeping = ProcessesMatching("sleep " + duration);
  }
  ASSERT_EQ(sleeping.size(), 1u) << server().Describe();
  EXPECT_THAT(
      ReadFile(fmt::format("/proc/{}/cgroup", sleeping[0])),
      StartsWith(fmt::format("0::/delegated.slice/warden.service/run-{}-", server().pid())));
  EXPECT_EQ(client().Post("/v1/jobs/" + id + "/cancel", "").status, 202);
  EXPECT_EQ(Str(WaitForState(id, "cancelled"), "state"), "cancelled");
  EXPECT_THAT(ProcessesMatching("sleep " + duration), IsEmpty());

  // The guest's OOM path is slow (seconds): more time than the client's default.
  const std::string body = json::serialize(json::object{
      {"code", "x = bytearray(1 << 30)"}, {"limits", json::object{{"memory", "64M"}}}});
  HttpResponse bomb = client().Raw(
      fmt::format("POST /v1/exec HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                  "Content-Length: {}\r\nConnection: close\r\n\r\n{}",
                  body.size(), body),
      milliseconds(60'000));
  ASSERT_EQ(bomb.status, 200) << bomb.Describe();
  EXPECT_EQ(Str(bomb.Json(), "status"), "memory_limit") << bomb.body;
}

}  // namespace
}  // namespace warden::serve_test
