#!/usr/bin/env bash
# Builds the release preset and runs the spawn benchmark. Arguments go to spawn_bench:
#   bench/run_spawn.sh                            # everything, default counts
#   bench/run_spawn.sh --only memory --live 100   # one section
# Run it as root on an otherwise idle machine: the rows are timed against each other.
set -euo pipefail
cd "$(dirname "$0")/.."

cmake --preset release >/dev/null
cmake --build build/release -j2 --target spawn_bench warden
exec build/release/bench/spawn_bench "$@"
