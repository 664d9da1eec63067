#!/usr/bin/python3
"""Round trip of `echo hi` through MCP over Streamable HTTP, side by side with POST /v1/exec.

Starts a private `warden serve` (port 0, a temporary data directory, no keys), opens one MCP
session and one sandbox, then alternates: a tools/call of sandbox_run in that sandbox (JSON reply)
and a POST /v1/exec of the same command, each on its own keep-alive connection. Prints p50, p99
and mean of each and the ratio MCP / exec: what MCP adds to the run itself (the changed-files
listing of the workspace, JSON-RPC, the session).

  bench/mcp_http.py build/release/src/warden
  bench/mcp_http.py build/release/src/warden --runs 500

Run as root on an otherwise idle machine (the two cores are shared: both rows suffer alike).
"""
import argparse
import http.client
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time


def start_server(binary, data_dir):
    env = {"PATH": "/usr/bin:/bin", "HOME": data_dir, "WARDEN_CONFIG": data_dir + "/config.toml"}
    open(data_dir + "/config.toml", "w").close()
    proc = subprocess.Popen([binary, "serve", "--listen", "127.0.0.1:0", "--data-dir",
                             data_dir + "/data"], stdout=subprocess.PIPE,
                            stderr=open(data_dir + "/serve.log", "w"), env=env, text=True)
    match = re.search(r"listening on http://127\.0\.0\.1:(\d+)", proc.stdout.readline())
    if not match:
        proc.kill()
        sys.exit("mcp_http.py: the server did not start; see serve.log")
    return proc, int(match.group(1))


def post(connection, path, body, headers=None):
    connection.request("POST", path, body=json.dumps(body),
                       headers={"Content-Type": "application/json", **(headers or {})})
    response = connection.getresponse()
    data = response.read()
    if response.status != 200:
        sys.exit(f"mcp_http.py: {path} answered {response.status}: {data[:300]!r}")
    return response, json.loads(data)


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("binary")
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args()
    data_dir = tempfile.mkdtemp(prefix="warden-mcp-bench-")
    proc, port = start_server(args.binary, data_dir)
    try:
        mcp = http.client.HTTPConnection("127.0.0.1", port)
        exec_ = http.client.HTTPConnection("127.0.0.1", port)
        response, _ = post(mcp, "/mcp", {"jsonrpc": "2.0", "id": 0, "method": "initialize",
                                         "params": {"protocolVersion": "2025-06-18"}})
        session = {"Mcp-Session-Id": response.getheader("Mcp-Session-Id")}
        _, created = post(mcp, "/mcp", {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                                        "params": {"name": "sandbox_create", "arguments": {}}},
                          session)
        box = created["result"]["structuredContent"]["sandbox_id"]
        call = {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                "params": {"name": "sandbox_run",
                           "arguments": {"sandbox_id": box, "command": ["echo", "hi"]}}}
        direct = {"language": "sh", "code": "echo hi"}
        times = {"mcp": [], "exec": []}
        for i in range(args.runs + 10):
            for name in ("mcp", "exec"):
                start = time.perf_counter()
                if name == "mcp":
                    _, reply = post(mcp, "/mcp", call, session)
                    out = reply["result"]["structuredContent"]["stdout"]
                else:
                    _, reply = post(exec_, "/v1/exec", direct)
                    out = reply["stdout"]
                elapsed = (time.perf_counter() - start) * 1000
                if out != "hi\n":
                    sys.exit(f"mcp_http.py: {name} printed {out!r}")
                if i >= 10:  # the first runs warm the pools up
                    times[name].append(elapsed)
        print(f"echo hi round trip, {args.runs} runs each (ms)")
        print(f"{'':12}{'p50':>8}{'p99':>8}{'mean':>8}")
        for name, label in (("mcp", "MCP /mcp"), ("exec", "/v1/exec")):
            values = times[name]
            print(f"{label:12}{percentile(values, 0.5):8.2f}{percentile(values, 0.99):8.2f}"
                  f"{statistics.mean(values):8.2f}")
        ratio = percentile(times["mcp"], 0.5) / percentile(times["exec"], 0.5)
        print(f"MCP / exec at p50: {ratio:.2f}x")
    finally:
        proc.terminate()
        proc.wait()
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
