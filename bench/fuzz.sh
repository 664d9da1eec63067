#!/usr/bin/env bash
# Fuzzes every libFuzzer target under fuzz/ for a while, one after the other (docs/fuzzing.md):
#   bench/fuzz.sh                  # 60 s per target
#   bench/fuzz.sh 20               # 20 s per target
#   bench/fuzz.sh --ci             # what CI runs: 20,000 inputs per target from the seeds alone,
#                                  # with a fixed random seed, so that a run is repeatable (a
#                                  # finding fails every run until fixed, not one run in ten)
#   bench/fuzz.sh 600 fuzz_router  # one target, ten minutes
# Builds the fuzz preset (clang 14, ASan + UBSan, libFuzzer) into build/fuzz first. Each target
# starts from its seeds in fuzz/corpus/<target> (read, never written) and from what earlier runs
# found (build/fuzz/corpus/<target>). A crash, a leak, a sanitizer report, a violated property or an
# input slower than 10 s fails the script, with the input saved in build/fuzz/crashes/: replay it
# with `build/fuzz/fuzz/<target> <file>`, fix the bug, and add the input to a unit test.
set -euo pipefail
cd "$(dirname "$0")/.."

ci=0
if [ "${1:-}" = --ci ]; then
  ci=1
  shift
  set -- 1 "$@"
fi
seconds=${1:-60}
shift || true
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -lt 1 ]; then
  echo "usage: bench/fuzz.sh [seconds per target, default 60] [target...]" >&2
  exit 2
fi

launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
fi
cmake --preset fuzz "${launcher[@]}" >/dev/null
cmake --build build/fuzz --target fuzz_targets -j"$(nproc 2>/dev/null || echo 2)"

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for dir in fuzz/corpus/fuzz_*; do
    targets+=("$(basename "$dir")")
  done
fi

mkdir -p build/fuzz/crashes build/fuzz/logs
failed=()
for target in "${targets[@]}"; do
  binary=build/fuzz/fuzz/$target
  if [ ! -x "$binary" ]; then
    echo "fuzz.sh: no target $target (see fuzz/CMakeLists.txt)" >&2
    exit 2
  fi
  mkdir -p "build/fuzz/corpus/$target"
  log=build/fuzz/logs/$target.log
  dict=()
  case "$target" in
    fuzz_json_repair | fuzz_schema | fuzz_text_calls | fuzz_llm_response | fuzz_stream)
      dict=(-dict=fuzz/dict/json.dict) ;;
    fuzz_http_request | fuzz_router) dict=(-dict=fuzz/dict/http.dict) ;;
    fuzz_config) dict=(-dict=fuzz/dict/toml.dict) ;;
  esac
  # -rss_limit_mb: a target that grows past 2 GB is a bug. -timeout: so is one input taking 10 s.
  if [ "$ci" -eq 1 ]; then
    # The seeds are copied so that what the run adds stays out of the repository.
    rm -rf "build/fuzz/ci-corpus/$target"
    mkdir -p "build/fuzz/ci-corpus/$target"
    cp "fuzz/corpus/$target"/* "build/fuzz/ci-corpus/$target/"
    budget=(-runs=20000 -seed=1)
    corpora=("build/fuzz/ci-corpus/$target")
  else
    budget=(-max_total_time="$seconds")
    corpora=("build/fuzz/corpus/$target" "fuzz/corpus/$target")
  fi
  if "$binary" "${budget[@]}" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="build/fuzz/crashes/$target-" "${dict[@]}" \
      "${corpora[@]}" >"$log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n1 || true)
    corpus=$(find "${corpora[@]}" -type f | sort -u | wc -l)
    printf 'fuzz.sh: %-20s ok   %9s runs, %s, %s inputs\n' "$target" "${runs:-?}" \
      "${cov:-cov: ?}" "$corpus"
  else
    failed+=("$target")
    printf 'fuzz.sh: %-20s FAILED (log: %s)\n' "$target" "$log"
    grep -E 'ERROR|property violated|SUMMARY|Test unit written' "$log" | head -n 8 | sed 's/^/    /'
  fi
done

if [ ${#failed[@]} -ne 0 ]; then
  echo "fuzz.sh: ${#failed[@]} target(s) failed: ${failed[*]}; inputs in build/fuzz/crashes/" >&2
  exit 1
fi
if [ "$ci" -eq 1 ]; then
  echo "fuzz.sh: ${#targets[@]} targets, 20,000 inputs each (seed 1), no crash"
else
  echo "fuzz.sh: ${#targets[@]} targets, ${seconds}s each, no crash"
fi
