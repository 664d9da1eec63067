#!/usr/bin/env bash
# Every test, from nothing: install packages, build, run CTest (unit, sandbox and integration).
# Run as root: the sandbox tests need user namespaces and cgroups, which Warden sets up itself.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
scripts/lint.sh --budget 420  # static checks: layering, clang-tidy (7 min at most; see the script)
ctest --test-dir build/release --output-on-failure --timeout 300 "$@"
