#!/usr/bin/python3
"""What readers of a large job's output cost `warden serve` in memory.

  output_readers.py [--binary PATH] [--steps 16] [--readers 16] [--rounds 2] [--binary-output]

Starts `warden serve` on a fresh data directory (loopback, port chosen by the kernel), runs one
step job whose steps each print 1,000,000 bytes of text (16 steps: a 16 MB job, the most a job
may print by default), then has READERS clients at once read all of it, ROUNDS times: `GET /logs`
to the end, then JSON `/events` page by page (following `has_more`; a server without pages answers
at most 1,000 events at once); `--read logs|events` reads only one of them. Prints the server's
RSS before the readers, its peak (VmHWM) while they read and its RSS once they are done, in MB,
with how many bytes each reader got. Run as root (the sandbox needs it) on a quiet machine;
standard library only, with Debian's /usr/bin/python3.
"""

import argparse
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

STEP_BYTES = 1_000_000


def status_kb(pid, field):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def request(port, method, path, body=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    conn.request(method, path, body, {"Content-Type": "application/json"} if body else {})
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, data


def start_server(binary, data_dir):
    with open(data_dir + "/config.toml", "w"):
        pass  # no LLM, no keys: step jobs on loopback need nothing
    env = {"PATH": "/usr/bin:/bin", "HOME": data_dir, "WARDEN_CONFIG": data_dir + "/config.toml"}
    server = subprocess.Popen(
        [binary, "serve", "--listen", "127.0.0.1:0", "--data-dir", data_dir + "/data"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True)
    line = server.stdout.readline()
    match = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
    if not match:
        server.kill()
        sys.exit(f"output_readers: warden serve did not start: {line!r}")
    return server, int(match.group(1))


def make_job(port, steps, binary):
    if binary:  # every byte value: not UTF-8, so output events carry base64
        code = f"import sys\nsys.stdout.buffer.write((bytes(range(256)) * 3908)[:{STEP_BYTES}])\n"
    else:  # lines of text, 100 bytes each
        code = f"import sys\nsys.stdout.write(('y' * 99 + '\\n') * {STEP_BYTES // 100})\n"
    body = json.dumps({"steps": [{"python": code}] * steps})
    status, data = request(port, "POST", "/v1/jobs", body)
    if status != 201:
        sys.exit(f"output_readers: POST /v1/jobs answered {status}: {data[:200]!r}")
    job_id = json.loads(data)["id"]
    while True:
        status, data = request(port, "GET", f"/v1/jobs/{job_id}")
        state = json.loads(data)["state"]
        if state in ("succeeded", "failed", "cancelled"):
            if state != "succeeded":
                sys.exit(f"output_readers: the job ended {state}")
            return job_id
        time.sleep(0.5)


def read_all(port, job_id, got, index, what):
    total = 0
    if what in ("logs", "both"):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        conn.request("GET", f"/v1/jobs/{job_id}/logs")
        response = conn.getresponse()
        while chunk := response.read(1 << 16):
            total += len(chunk)
        conn.close()
    if what in ("events", "both"):
        after = 0
        while True:
            status, data = request(port, "GET",
                                   f"/v1/jobs/{job_id}/events?after={after}&limit=1000")
            total += len(data)
            page = json.loads(data)
            events = page.get("events", [])
            if not page.get("has_more") or not events:
                break
            after = page["next_after"]
    got[index] = total


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default="build/release/src/warden")
    parser.add_argument("--steps", type=int, default=16)
    parser.add_argument("--readers", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--read", choices=("logs", "events", "both"), default="both")
    parser.add_argument("--binary-output", action="store_true",
                        help="print every byte value instead of text (servers before 0006 fail)")
    args = parser.parse_args()
    data_dir = tempfile.mkdtemp(prefix="warden-output-readers-")
    os.chmod(data_dir, 0o755)
    server, port = start_server(os.path.abspath(args.binary), data_dir)
    try:
        job_id = make_job(port, args.steps, args.binary_output)
        before = status_kb(server.pid, "VmRSS")
        for _ in range(args.rounds):
            got = [0] * args.readers
            threads = [threading.Thread(target=read_all, args=(port, job_id, got, i, args.read))
                       for i in range(args.readers)]
            started = time.monotonic()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            seconds = time.monotonic() - started
        after = status_kb(server.pid, "VmRSS")
        peak = status_kb(server.pid, "VmHWM")
        print(f"{args.readers} readers x {args.rounds} rounds of a {args.steps * STEP_BYTES / 1e6:.0f} MB "
              f"job: RSS before {before / 1024:.0f} MB, peak {peak / 1024:.0f} MB, "
              f"after {after / 1024:.0f} MB; each reader ({args.read}) got {min(got)}..{max(got)} bytes; "
              f"last round {seconds:.1f} s")
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
