#!/usr/bin/env bash
# Every check, from nothing: install packages, build, then the stages below in order. Every stage
# runs even when an earlier one failed; the summary at the end lists each with its time, and the
# exit status is non-zero when any failed.
#   lint   scripts/lint.sh: the layering of src/ against CMake, clang-tidy on the changed sources
#   tests  CTest on the release build: unit, sandbox and integration tests
#   uml    the sandbox-labelled suites and second_kernel_test again, inside user-mode Linux
#          (kernel 6.1, cgroup v2 only; tests/uml/run.sh, docs/second-kernel.md): CTest label uml
#   fuzz   bench/fuzz.sh --ci: every libFuzzer target for 20,000 inputs from its seeds, repeatably
#   asan   scripts/sanitize.sh asan: the whole suite under AddressSanitizer and UBSan
#   tsan   scripts/sanitize.sh tsan: the server, store and worker tests under ThreadSanitizer
# WARDEN_TEST_STAGES="tests" (or any subset) runs only those; extra arguments go to the tests
# stage's ctest (`scripts/test.sh -R Serve`). Run as root: the sandbox tests need user namespaces
# and cgroups, which Warden sets up itself.
set -euo pipefail
cd "$(dirname "$0")/.."

stages=${WARDEN_TEST_STAGES:-lint tests uml fuzz asan tsan}
scripts/setup.sh
scripts/build.sh

summary=()
failed=0
declare -A stage_dirs=([tests]=build/release [uml]=build/release [asan]=build/asan)
run_stage() {
  local name=$1
  shift
  [[ " $stages " == *" $name "* ]] || return 0
  echo "test.sh: === $name: $* ==="
  local start=$SECONDS status=0
  "$@" || status=$?
  local took=$((SECONDS - start))
  if [[ $status -eq 0 ]]; then
    summary+=("$(printf '%-6s ok      %4d s' "$name" "$took")")
  else
    summary+=("$(printf '%-6s FAILED  %4d s (exit %d)' "$name" "$took" "$status")")
    failed=1
    # The names of the tests that failed, where CI's log keeps them: at its end.
    local dir=${stage_dirs[$name]:-}
    if [[ -n $dir && -s $dir/Testing/Temporary/LastTestsFailed.log ]]; then
      while read -r line; do
        summary+=("         ${line#*:}")
      done <"$dir/Testing/Temporary/LastTestsFailed.log"
    fi
  fi
}

run_stage lint scripts/lint.sh
run_stage tests ctest --test-dir build/release --output-on-failure --timeout 300 -j"$(nproc 2>/dev/null || echo 2)" -LE uml "$@"
# One guest per suite; each guest has one CPU, so the suites run side by side.
run_stage uml ctest --test-dir build/release --output-on-failure --timeout 900 -j"$(nproc 2>/dev/null || echo 2)" -L uml --no-tests=error
run_stage fuzz bench/fuzz.sh --ci
run_stage asan scripts/sanitize.sh asan
run_stage tsan scripts/sanitize.sh tsan

echo "test.sh: summary"
printf '  %s\n' "${summary[@]}"
exit "$failed"
