#!/usr/bin/env bash
# Checks tests/uml/run.sh itself (CTest: uml_run_script): a command's output and exit code come
# back; the guest is cgroup v2 with the controllers on, and cannot write to the host even when it
# remounts its root or mounts another host path; a missing kernel and a guest that overruns its
# time end with what to do.
set -uo pipefail
run=$(dirname "$0")/run.sh
failures=0
fail() {
  echo "FAILED: $*" >&2
  failures=$((failures + 1))
}

marker=warden-uml-test-$$
out=$("$run" sh -c "
  echo visible
  cat /sys/fs/cgroup/cgroup.subtree_control
  mount -o remount,rw / 2>/dev/null; touch /etc/$marker 2>/dev/null
  mkdir -p /tmp/h && mount -t hostfs -o /etc hostfs /tmp/h && touch /tmp/h/$marker 2>/dev/null
  exit 7" 2>&1)
status=$?
[[ $status -eq 7 ]] || fail "exit status $status, not the command's 7: $out"
grep -qx visible <<<"$out" || fail "the command's output did not come back: $out"
grep -qx 'cpu memory pids' <<<"$out" || fail "cgroup v2 controllers not enabled: $out"
[[ ! -e /etc/$marker ]] || { rm -f "/etc/$marker"; fail "the guest wrote to the host's /etc"; }

out=$(WARDEN_UML_KERNEL=/nonexistent/linux.uml "$run" true 2>&1)
status=$?
[[ $status -eq 2 && $out == *"apt-get install user-mode-linux"* ]] ||
  fail "a missing kernel gave status $status and: $out"

out=$(WARDEN_UML_TIMEOUT=20 "$run" sleep 1000 2>&1)
status=$?
[[ $status -eq 124 && $out == *"did not finish within 20 s"* ]] ||
  fail "an overrunning guest gave status $status and: $out"

[[ $failures -eq 0 ]] && echo "run.sh: every check passed"
exit $((failures > 0))
