#!/usr/bin/env bash
# Static checks; CI runs them from scripts/test.sh after the build (clang-tidy reads the build's
# compile_commands.json, the sources it generates and ninja's record of the headers each file
# includes):
#   1. scripts/check_layers.py: every #include "folder/..." under src/ against the layering and
#      each folder's CMake dependency list, PUBLIC and PRIVATE;
#   2. scripts/clang_tidy.py: clang-tidy 14 with the repository's .clang-tidy, warnings as
#      errors, on the sources of src/ that are not tests (--all: every file of src/, tests/ and
#      bench/) whose digest (content, includes, flags) is not yet recorded as passing in
#      .ci/clang-tidy-passed: on a clean checkout, the files a change touched. Commit that file
#      with your change (a run rewrites it).
# Usage: scripts/lint.sh [--all] [--budget SECONDS] [PATH_REGEX...]
#   --budget: start no clang-tidy run after SECONDS; the next run starts with what was left.
# Environment: LINT_JOBS (default: the number of cores), LINT_BUILD_DIR (default build/release).
set -euo pipefail
cd "$(dirname "$0")/.."
/usr/bin/python3 scripts/check_layers.py
/usr/bin/python3 scripts/clang_tidy.py --jobs "${LINT_JOBS:-$(nproc 2>/dev/null || echo 2)}" \
  --build-dir "${LINT_BUILD_DIR:-build/release}" "$@"
