// `warden exec` as a user types it: argument parsing, pass-through output and exit codes.
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

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

// `warden exec ARGS` with `input` arriving on its standard input through a pipe or a file.
WardenResult ExecWithStdin(std::vector<std::string> args, const std::string& input, bool pipe) {
  int fd = -1;
  if (pipe) {
    int ends[2];
    EXPECT_EQ(::pipe2(ends, O_CLOEXEC), 0);
    EXPECT_EQ(::write(ends[1], input.data(), input.size()), static_cast<ssize_t>(input.size()));
    ::close(ends[1]);
    fd = ends[0];
  } else {
    std::FILE* file = std::tmpfile();
    EXPECT_NE(file, nullptr);
    std::fwrite(input.data(), 1, input.size(), file);
    std::fflush(file);
    fd = ::dup(::fileno(file));
    std::fclose(file);
    ::lseek(fd, 0, SEEK_SET);
  }
  args.insert(args.begin(), "exec");
  WardenOptions options;
  options.args = std::move(args);
  options.leak_fds = {{fd, 0}};
  WardenResult result = RunWarden(options);
  ::close(fd);
  return result;
}

TEST(CliExecTest, StandardInputReachesTheProgramEveryWayItArrives) {
  const std::string lines = "1\n2\n3\n4\n5\n";
  for (bool pipe : {true, false}) {
    SCOPED_TRACE(pipe ? "a pipe" : "a file");
    // A program, and a snippet given with --code, read what was piped in.
    EXPECT_EQ(ExecWithStdin({"--", "/usr/bin/wc", "-l"}, lines, pipe).raw_stdout, "5\n");
    WardenResult snippet = ExecWithStdin({"--lang", "bash", "--code", "cat | wc -l"}, lines, pipe);
    EXPECT_EQ(snippet.warden_exit, 0) << snippet.raw_stderr;
    EXPECT_EQ(snippet.raw_stdout, "5\n");
    WardenResult python = ExecWithStdin(
        {"--lang", "python", "--code", "import sys; print(sum(map(int, sys.stdin)))"}, lines, pipe);
    EXPECT_EQ(python.raw_stdout, "15\n") << python.raw_stderr;
    // Without --code, standard input is the snippet, and the snippet reads an empty input.
    WardenResult code = ExecWithStdin({"--lang", "sh"}, "echo ran; wc -c", pipe);
    EXPECT_EQ(code.raw_stdout, "ran\n0\n") << code.raw_stderr;
  }
  // A terminal never crosses into the sandbox: the program reads end of input at once.
  int master = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  ASSERT_GE(master, 0);
  ASSERT_EQ(::grantpt(master), 0);
  ASSERT_EQ(::unlockpt(master), 0);
  int terminal = ::open(::ptsname(master), O_RDWR | O_NOCTTY | O_CLOEXEC);
  ASSERT_GE(terminal, 0);
  WardenOptions options;
  options.args = {"exec", "--lang", "bash", "--code", "cat | wc -l"};
  options.leak_fds = {{terminal, 0}};
  WardenResult tty = RunWarden(options);
  EXPECT_FALSE(tty.deadline_hit);
  EXPECT_EQ(tty.raw_stdout, "0\n") << tty.raw_stderr;
  ::close(terminal);
  ::close(master);
}

TEST(CliExecTest, AMissingWorkspaceIsMadeAsWardenRunMakesIt) {
  HostDir parent("cli-exec-");
  std::string workspace = parent / "new/workspace";
  WardenResult r = Exec({"--workspace", workspace, "--", "/bin/sh", "-c", "echo made > f.txt"});
  EXPECT_EQ(r.warden_exit, 0) << r.raw_stderr;
  EXPECT_EQ(ReadFile(workspace + "/f.txt"), "made\n");
}

// Every start of warden pays for mapping and relocating the libraries it loads: libpq and the
// twenty libraries it brings are loaded only when a PostgreSQL job store is opened, and OpenSSL
// is linked in.
TEST(CliExecTest, WardenStartsWithoutLoadingLibpqOrOpenSsl) {
  WardenOptions options;
  options.args = {"--version"};
  options.env = {"LD_TRACE_LOADED_OBJECTS=1"};  // the dynamic loader lists what it loads, and stops
  WardenResult r = RunWarden(options);
  ASSERT_NE(r.raw_stdout.find("libc.so"), std::string::npos) << r.raw_stdout << r.raw_stderr;
  EXPECT_EQ(r.raw_stdout.find("libpq"), std::string::npos) << r.raw_stdout;
  EXPECT_EQ(r.raw_stdout.find("libkrb5"), std::string::npos) << r.raw_stdout;
  EXPECT_EQ(r.raw_stdout.find("libssl"), std::string::npos) << r.raw_stdout;
  EXPECT_EQ(r.raw_stdout.find("libcrypto"), std::string::npos) << r.raw_stdout;
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
