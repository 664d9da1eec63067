// Subcommands of the warden binary. Each takes the arguments after its name and returns the
// process exit code. CLI11 stays inside the cli/*.cc files: it is slow to compile.
#pragma once

namespace warden::cli {

int Exec(int argc, char** argv);
int Doctor(int argc, char** argv);
int Run(int argc, char** argv);

}  // namespace warden::cli
