// The data stack a sandboxed program finds (scripts/setup.sh installs it): "plot this CSV" works
// in a sandbox as it comes, and `warden doctor` says what the sandbox offers.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "hostile_harness.h"

namespace warden::hostile {
namespace {

// What a data task does: read a CSV with pandas, compute with numpy, save a chart with
// matplotlib. HOME points at a read-only directory, as a caller may set it: no warning may reach
// the output, and the chart must be a PNG in the workspace.
TEST(CliDataStackTest, ASandboxedPythonPlotsACsvUnderAReadOnlyHome) {
  HostDir dir("cli-data-");
  WriteFile(dir / "sales.csv", "month,units\n1,10\n2,14\n3,9\n4,21\n");
  WardenOptions options;
  options.args = {"exec",
                  "--workspace",
                  dir.path(),
                  "--env",
                  "HOME=/usr",
                  "--lang",
                  "python",
                  "--code",
                  "import numpy, pandas\n"
                  "import matplotlib.pyplot as plt\n"
                  "df = pandas.read_csv('sales.csv')\n"
                  "print(int(numpy.sum(df['units'])))\n"
                  "df.plot(x='month', y='units')\n"
                  "plt.savefig('chart.png')\n"};
  WardenResult r = RunWarden(options);
  ASSERT_EQ(r.warden_exit, 0) << r.raw_stderr;
  EXPECT_EQ(r.raw_stdout, "54\n");
  EXPECT_EQ(r.raw_stderr, "");
  EXPECT_EQ(ReadFile(dir / "chart.png").substr(0, 8), "\x89PNG\r\n\x1a\n");
}

TEST(CliDataStackTest, DoctorListsTheInterpretersAndModulesTheSandboxOffers) {
  WardenOptions options;
  options.args = {"doctor", "--json"};
  WardenResult r = RunWarden(options);
  ASSERT_EQ(r.warden_exit, 0) << r.raw_stdout << r.raw_stderr;
  for (const char* offered : {"python3", "bash", "python numpy", "python pandas",
                              "python matplotlib", "python requests", "python openpyxl"}) {
    std::string check = std::string("{\"name\":\"") + offered + "\",\"status\":\"ok\"";
    EXPECT_NE(r.raw_stdout.find(check), std::string::npos) << offered << " in " << r.raw_stdout;
  }
  // The version that the sandbox's python3 reports, not a guess.
  EXPECT_NE(r.raw_stdout.find("{\"name\":\"python3\",\"status\":\"ok\",\"detail\":\"3."),
            std::string::npos)
      << r.raw_stdout;
}

TEST(CliDataStackTest, DoctorSaysWhichPackageBringsAMissingModule) {
  WardenOptions options;
  options.args = {"doctor"};
  WardenResult r = RunWarden(options);
  ASSERT_EQ(r.warden_exit, 0) << r.raw_stdout << r.raw_stderr;
  // Every module is listed, present or not; a missing one names its Debian package.
  for (const char* module : {"numpy", "pandas", "matplotlib", "scipy", "requests", "openpyxl"}) {
    size_t at = r.raw_stdout.find(std::string("python ") + module);
    ASSERT_NE(at, std::string::npos) << module << " in " << r.raw_stdout;
    size_t begin = r.raw_stdout.rfind('\n', at) + 1;  // npos + 1: the first line
    std::string line = r.raw_stdout.substr(begin, r.raw_stdout.find('\n', at) - begin);
    EXPECT_TRUE(line.starts_with("ok") ||
                line.find(std::string("apt-get install python3-") + module) != std::string::npos)
        << line;
  }
}

}  // namespace
}  // namespace warden::hostile
