// `warden exec` as a user types it: argument parsing, pass-through output and exit codes.
#include <gtest/gtest.h>

#include "hostile_harness.h"

namespace warden::hostile {
namespace {

WardenResult Exec(std::vector<std::string> args) {
  args.insert(args.begin(), "exec");
  WardenOptions options;
  options.args = std::move(args);
  return RunWarden(options);
}

TEST(CliExecTest, ProgramWithoutDoubleDashAndRepeatedOptions) {
  WardenResult r = Exec({"--env", "A=1", "--env", "B=2", "/bin/sh", "-c", "echo $A$B; exit 7"});
  EXPECT_EQ(r.warden_exit, 7) << r.raw_stderr;
  EXPECT_EQ(r.raw_stdout, "12\n");
}

TEST(CliExecTest, OptionsAfterTheProgramBelongToIt) {
  WardenResult r = Exec({"--", "/bin/echo", "--json", "--timeout"});
  EXPECT_EQ(r.warden_exit, 0) << r.raw_stderr;
  EXPECT_EQ(r.raw_stdout, "--json --timeout\n");
}

TEST(CliExecTest, SnippetsFromCode) {
  WardenResult py = Exec({"--lang", "python", "--code", "import sys; print(sys.version_info[0])"});
  EXPECT_EQ(py.raw_stdout, "3\n") << py.raw_stderr;
  WardenResult sh = Exec({"--lang", "bash", "--code", "echo ${BASH_VERSINFO[0]:+bash}"});
  EXPECT_EQ(sh.raw_stdout, "bash\n") << sh.raw_stderr;
}

TEST(CliExecTest, ExitCodesFollowTimeoutAndDockerConventions) {
  EXPECT_EQ(Exec({"--timeout", "300ms", "--", "/bin/sleep", "10"}).warden_exit, 124);
  EXPECT_EQ(Exec({"--", "/bin/sh", "-c", "kill -TERM $$"}).warden_exit, 128 + 15);
  EXPECT_EQ(Exec({"--", "no-such-program"}).warden_exit, 127);
  EXPECT_EQ(
      Exec({"--memory", "32M", "--lang", "python", "--code", "b = bytearray(1 << 30)"}).warden_exit,
      137);
  EXPECT_EQ(Exec({"--output-limit", "1K", "--", "/usr/bin/yes"}).warden_exit, 141);
}

TEST(CliExecTest, BadInputIsAClearErrorAnd125) {
  WardenResult unknown = Exec({"--bogus"});
  EXPECT_EQ(unknown.warden_exit, 125);
  EXPECT_NE(unknown.raw_stderr.find("unknown option --bogus"), std::string::npos)
      << unknown.raw_stderr;
  WardenResult bad_size = Exec({"--memory", "lots", "--", "/bin/true"});
  EXPECT_EQ(bad_size.warden_exit, 125);
  EXPECT_NE(bad_size.raw_stderr.find("--memory must be a size of at least 4M, not \"lots\""),
            std::string::npos)
      << bad_size.raw_stderr;
  WardenResult bad_env = Exec({"--env", "NOEQUALS", "--", "/bin/true"});
  EXPECT_EQ(bad_env.warden_exit, 125);
  EXPECT_NE(bad_env.raw_stderr.find("expected KEY=VALUE"), std::string::npos) << bad_env.raw_stderr;
  WardenResult nothing = Exec({});
  EXPECT_EQ(nothing.warden_exit, 125);
  EXPECT_NE(nothing.raw_stderr.find("nothing to run"), std::string::npos) << nothing.raw_stderr;
}

TEST(CliExecTest, CommandNotFoundSaysSo) {
  WardenResult r = Exec({"--", "no-such-program"});
  EXPECT_EQ(r.warden_exit, 127);
  EXPECT_NE(r.raw_stderr.find("command not found"), std::string::npos) << r.raw_stderr;
}

TEST(CliExecTest, NoSandboxRunsOnTheHostAndWarnsEveryTime) {
  WardenResult r = Exec({"--no-sandbox", "--", "/bin/sh", "-c", "test -d /sys/fs && echo host"});
  EXPECT_EQ(r.warden_exit, 0) << r.raw_stderr;
  EXPECT_EQ(r.raw_stdout, "host\n");  // no sandbox: the host's /sys is there
  EXPECT_NE(r.raw_stderr.find("WITHOUT a sandbox"), std::string::npos) << r.raw_stderr;
}

TEST(CliExecTest, DoctorReportsFullIsolationHere) {
  WardenOptions options;
  options.args = {"doctor", "--json"};
  WardenResult r = RunWarden(options);
  EXPECT_EQ(r.warden_exit, 0) << r.raw_stdout << r.raw_stderr;
  EXPECT_NE(r.raw_stdout.find("\"full_isolation\":true"), std::string::npos) << r.raw_stdout;
}

TEST(CliExecTest, AllowDomainGivesAProxyThatRefusesOtherHostsSayingSoOnStderr) {
  WardenResult r = Exec({"--allow-domain", "pypi.org", "--lang", "python", "--code",
                         "import urllib.request, urllib.error\n"
                         "try:\n"
                         "    urllib.request.urlopen('http://example.org/', timeout=10)\n"
                         "except urllib.error.HTTPError as e:\n"
                         "    print(e.code, e.read().decode().strip())\n"});
  EXPECT_EQ(r.warden_exit, 0) << r.raw_stderr;
  EXPECT_EQ(r.raw_stdout,
            "403 blocked by the job's network policy: host not on the allow-list; ask for it to "
            "be added instead of trying another route\n");
  EXPECT_NE(r.raw_stderr.find("warden: blocked by the job's network policy"), std::string::npos)
      << r.raw_stderr;
}

TEST(CliExecTest, AMalformedAllowDomainIsRefusedNamingIt) {
  WardenResult r = Exec({"--allow-domain", "*.*.org", "--", "/bin/true"});
  EXPECT_EQ(r.warden_exit, 125);
  EXPECT_NE(r.raw_stderr.find("network rule \"*.*.org\""), std::string::npos) << r.raw_stderr;
}

}  // namespace
}  // namespace warden::hostile
