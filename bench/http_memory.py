#!/usr/bin/python3
"""Resident memory of `warden serve` through bursts of HTTP abuse, and after them.

Starts a private server (port 0, a temporary data directory), then runs each burst and prints the
server's RSS before, at the peak and once the server has been quiet for a while:

  idle        N idle connections held open, then closed
  bodies      16 clients POSTing 8 MB bodies (refused with 413 after the read)
  exec-output 4 concurrent /v1/exec runs printing 16 MB each (the answer is ~16 MB of JSON)
  listing     16 clients reading GET /openapi.json and GET /v1/jobs in a loop

  bench/http_memory.py build/release/warden
  bench/http_memory.py build/release/warden --idle 5000 --quiet-seconds 10

Run as root (the server runs sandboxes) on an otherwise idle machine.
"""
import argparse
import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def start_server(binary, data_dir, extra):
    args = [binary, "serve", "--listen", "127.0.0.1:0", "--data-dir", data_dir] + extra
    env = {"PATH": "/usr/bin:/bin", "HOME": data_dir}
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=open(data_dir + "/serve.log", "w"),
                            env=env, text=True)
    line = proc.stdout.readline()
    match = re.search(r"listening on https?://127\.0\.0\.1:(\d+)", line)
    if not match:
        proc.kill()
        sys.exit(f"http_memory.py: the server did not start: {line!r}")
    return proc, int(match.group(1))


def request(port, method, path, body=None, timeout=120):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(method, path, body=body,
                           headers={"Content-Type": "application/json"} if body else {})
        response = connection.getresponse()
        data = response.read()
        return response.status, data
    except OSError:
        return 0, b""
    finally:
        connection.close()


def in_threads(count, work):
    threads = [threading.Thread(target=work, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


class Sampler:
    """Samples the server's RSS every 50 ms to catch the peak of a burst."""

    def __init__(self, pid):
        self.pid, self.peak, self.running = pid, 0, True
        self.thread = threading.Thread(target=self.run)
        self.thread.start()

    def run(self):
        while self.running:
            self.peak = max(self.peak, rss_kib(self.pid))
            time.sleep(0.05)

    def stop(self):
        self.running = False
        self.thread.join()
        return self.peak


def burst_idle(port, count):
    sockets = []
    for _ in range(count):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        sockets.append(s)
    for s in sockets:
        s.recv(4096)  # the answer; the connection then stays open, idle
    time.sleep(1)
    for s in sockets:
        s.close()


def burst_bodies(port):
    body = b"x" * (8 << 20)
    in_threads(16, lambda i: [request(port, "POST", "/v1/jobs", body) for _ in range(8)])


def burst_exec_output(port):
    code = json.dumps({"language": "bash", "code": "head -c 16000000 /dev/zero | tr '\\0' a",
                       "limits": {"output_limit": "32M"}})
    in_threads(4, lambda i: [request(port, "POST", "/v1/exec", code) for _ in range(3)])


def burst_listing(port):
    in_threads(16, lambda i: [(request(port, "GET", "/openapi.json"),
                               request(port, "GET", "/v1/jobs?limit=100")) for _ in range(200)])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("warden")
    parser.add_argument("--idle", type=int, default=2000, help="idle connections (default 2000)")
    parser.add_argument("--quiet-seconds", type=float, default=12,
                        help="how long the server is left quiet after each burst (default 12: "
                        "it trims its heap 5 to 10 s after the last request)")
    parser.add_argument("serve_args", nargs="*", help="more `warden serve` flags, after --")
    options = parser.parse_args()

    data_dir = tempfile.mkdtemp(prefix="warden-http-memory-")
    os.chmod(data_dir, 0o755)  # the sandbox user must reach the workspaces under it
    proc, port = start_server(os.path.abspath(options.warden), data_dir, options.serve_args)
    try:
        time.sleep(1)
        print(f"{'burst':<12} {'before':>10} {'peak':>10} {'after':>10}   (RSS, MB)")
        bursts = [("idle", lambda: burst_idle(port, options.idle)),
                  ("bodies", lambda: burst_bodies(port)),
                  ("exec-output", lambda: burst_exec_output(port)),
                  ("listing", lambda: burst_listing(port))]
        for name, burst in bursts:
            before = rss_kib(proc.pid)
            sampler = Sampler(proc.pid)
            burst()
            time.sleep(options.quiet_seconds)
            peak = sampler.stop()
            after = rss_kib(proc.pid)
            print(f"{name:<12} {before / 1024:>10.1f} {peak / 1024:>10.1f} {after / 1024:>10.1f}",
                  flush=True)
        status, _ = request(port, "GET", "/healthz")
        if status != 200:
            sys.exit(f"http_memory.py: GET /healthz answered {status} after the bursts")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
