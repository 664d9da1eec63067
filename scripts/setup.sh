#!/usr/bin/env bash
# Installs every Debian package Warden's build, tests and benchmarks need. Idempotent; run as
# root on Debian 12. Never installs Debian's default Boost 1.74 (libboost-dev): Warden uses 1.81.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config git
  # static checks (scripts/lint.sh); libFuzzer and its runtimes (bench/fuzz.sh)
  clang-tidy clang-14 libclang-rt-14-dev llvm-14
  # libraries
  libseccomp-dev libcap-dev libfmt-dev libspdlog-dev libcli11-dev libboost-json1.81-dev libboost1.81-dev libcurl4-openssl-dev libtomlplusplus-dev
  libsqlite3-dev libpq-dev libedit-dev libncurses-dev libbsd-dev libmd-dev libarchive-dev nettle-dev liblzma-dev libbz2-dev zlib1g-dev libssl-dev
  # tests and benchmarks (PostgreSQL 15: the tests start private servers of their own)
  postgresql libgtest-dev libgmock-dev libbenchmark-dev bubblewrap hyperfine wrk nginx-light sqlite3 curl
  # the second kernel (tests/uml/run.sh): Debian's user-mode Linux 6.1, and insmod for its modules
  user-mode-linux kmod
  # tools the sandbox tests run inside the sandbox
  python3 iproute2 procps
  # the data stack a sandboxed program finds, so that "plot this CSV" works (warden doctor lists
  # it). Not python3-scipy: it needs python3-pythran, which pulls Boost 1.74 (see `excluded`)
  python3-numpy python3-pandas python3-matplotlib python3-requests python3-openpyxl
  # pip, for tasks that fetch packages through the egress proxy (egress_test downloads a wheel)
  python3-pip
  # tests that unpack downloaded archives
  unzip
  # TLS tests: certificates made with the CLI
  openssl
  # the MCP tests drive the server with the official TypeScript SDK client (tests/mcp_sdk)
  nodejs
  # the dashboard's browser tests (tests/dashboard): Debian's Chromium, driven by playwright-core
  chromium
)

# Never installed, whatever depends on them: python3-pythran pulls Debian's Boost 1.74 headers,
# which conflict with the Boost 1.81 Warden builds with.
excluded=(python3-pythran-)

if [ "$(id -u)" -ne 0 ]; then
  echo "setup.sh: run as root (it installs Debian packages with apt-get)" >&2
  exit 1
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup.sh: all ${#packages[@]} packages already installed"
else
  echo "setup.sh: installing ${#missing[@]} packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" "${excluded[@]}"
fi

# The npm packages of the MCP tests and of the dashboard's browser tests, exactly as their
# package-lock.json pins them. `npm ci` starts from an empty node_modules each time; skipped when
# the installed tree already matches the lock file.
if ! command -v npm >/dev/null; then
  # Debian's nodejs comes without npm (NodeSource's includes it).
  echo "setup.sh: installing npm"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm
fi
for suite in mcp_sdk dashboard; do
  dir="$(cd "$(dirname "$0")/.." && pwd)/tests/$suite"
  if cmp -s "$dir/package-lock.json" "$dir/node_modules/.package-lock.json.installed"; then
    echo "setup.sh: tests/$suite/node_modules matches its lock file"
  else
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    cp "$dir/package-lock.json" "$dir/node_modules/.package-lock.json.installed"
  fi
done
