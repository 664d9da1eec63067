#!/usr/bin/env bash
# Configures and builds Warden (release preset: optimized, with line tables for backtraces) into build/release.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)
cmake --preset release >/dev/null
echo "build.sh: building with $jobs jobs (a first build takes a few minutes)"
cmake --build build/release -j"$jobs"
