#!/usr/bin/env bash
# Warden's main job, from nothing: install packages, build, check the host, run sandboxed demos.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
warden=build/release/src/warden

echo
echo "== warden doctor: what this host allows"
"$warden" doctor

echo
echo "== a Python snippet in a fresh sandbox"
"$warden" exec --lang python --code '
import os, socket
print("uid", os.getuid(), "in", os.getcwd(), "on", socket.gethostname())
print("visible processes:", sorted(int(p) for p in os.listdir("/proc") if p.isdigit()))
try:
    socket.create_connection(("1.1.1.1", 53), timeout=2)
    print("network: reachable")
except OSError as e:
    print("network: none (" + e.strerror + ")")
'

echo
echo "== a memory bomb, stopped by the 64M limit (the result as JSON)"
"$warden" exec --json --memory 64M --lang python --code 'x = bytearray(1 << 30)' || true

echo
echo "== an agent task: warden run (needs an LLM: an API key in the environment, or a local Ollama)"
task="Write a Python script primes.py that prints the prime numbers below 100, run it, and save its output to primes.txt"
if "$warden" run --approve never "$task"; then
  echo "(the files are in the workspace printed above)"
else
  code=$?
  case "$code" in
    1) echo "(the model did not finish the task: its steps and the reason are above)" ;;
    2) echo "(no LLM here: the message above says how to configure one; everything else works without)" ;;
    *) exit "$code" ;;
  esac
fi

echo
echo "== the job service: warden serve on http://127.0.0.1:8000 (Ctrl-C stops it)"
echo "   try: curl -s -XPOST localhost:8000/v1/jobs -d '{\"steps\":[{\"python\":\"print(6*7)\"}]}'"
echo "        $warden jobs; $warden logs --follow JOB_ID; $warden download JOB_ID"
exec "$warden" serve
