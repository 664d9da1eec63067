#!/usr/bin/env bash
# Soak: a private `warden serve` under mixed load for an hour (--minutes), one row a minute
# (RSS, descriptors, threads, latency, requests, failures, jobs by state), then a verdict,
# "flat" or "growing". The work is done by bench/soak.py; this finds or builds the binary.
#   bench/soak.sh                          # builds the release preset's warden, runs 60 minutes
#   bench/soak.sh --minutes 30
#   WARDEN=/path/to/warden bench/soak.sh   # that binary, no build
#   bench/soak.sh --help                   # every option
# Run it as root (the server runs jobs in sandboxes). It exits 1 on any 5xx, hang, connection
# error or wrong answer, a server that died or did not stop cleanly, or resources that grew.
set -euo pipefail
cd "$(dirname "$0")/.."

python=/usr/bin/python3  # Debian's, never a pyenv shim from PATH
if [[ ! -x $python ]]; then
  echo "soak.sh: $python is missing (scripts/setup.sh installs it)" >&2
  exit 1
fi
for arg in "$@"; do
  if [[ $arg == -h || $arg == --help ]]; then
    exec "$python" -B bench/soak.py --warden WARDEN --help
  fi
done

if [[ -n ${WARDEN:-} ]]; then
  warden=$WARDEN
else
  cmake --preset release >/dev/null
  cmake --build build/release -j2 --target warden
  warden=build/release/src/warden
fi
if [[ ! -x $warden ]]; then
  echo "soak.sh: no warden binary at $warden" >&2
  exit 1
fi
# The load holds many connections and followers at once.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
exec "$python" -B bench/soak.py --warden "$(realpath "$warden")" "$@"
