#!/usr/bin/env bash
# Retakes the dashboard's screenshots in docs/screenshots/ (referenced from README.md): runs the
# browser tests (tests/dashboard, CTest's dashboard_test) with SCREENSHOT_DIR set, so that they
# save the pages they visit. Needs a release build (cmake --build build/release).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p docs/screenshots
SCREENSHOT_DIR="$PWD/docs/screenshots" ctest --test-dir build/release -R '^dashboard_test$' \
  --output-on-failure
ls -l docs/screenshots
