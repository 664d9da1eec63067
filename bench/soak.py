#!/usr/bin/python3
"""Soak: a private `warden serve` under an hour (--minutes) of mixed load, watched every minute.

Started by bench/soak.sh, which finds the binary. Prints one row a minute (the server's RSS,
descriptors, threads, processes below it, disk, probe latency, requests, refusals, failures, jobs
by state), then a summary and a verdict, "flat" or "growing" (the rule is in soak_report.py).
Exit status: 0 when every request got an answer that was not 5xx, nothing hung, the server lived
and stopped cleanly and its figures stayed flat; 1 otherwise; 2 on bad usage. Standard library
only; run it with Debian's /usr/bin/python3.
"""

import argparse
import os
import secrets
import signal
import sys
import threading
import time
from collections import Counter

sys.dont_write_bytecode = True  # no __pycache__ in bench/
import soak_http  # noqa: E402
import soak_load  # noqa: E402
import soak_report  # noqa: E402
import soak_server  # noqa: E402

SAMPLE_EVERY_S = 5


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--warden", required=True, help="the warden binary")
    p.add_argument("--minutes", type=int, default=60, help="length of the load (default 60)")
    p.add_argument("--workers", type=int, default=2, help="warden serve --workers (default 2)")
    p.add_argument("--retention", default="10m", help="warden serve --retention (default 10m)")
    p.add_argument("--rate", type=float, default=1.0,
                   help="multiplies every client's request rate (default 1)")
    args = p.parse_args()
    if args.minutes < 1 or args.rate <= 0 or args.workers < 1:
        p.error("--minutes and --workers must be at least 1, --rate above 0")
    return args


class Soak:
    def __init__(self, args):
        self.args = args
        self.keys = {"a": secrets.token_hex(16), "b": secrets.token_hex(16)}
        self.stop = threading.Event()
        self.minute = 0
        self.tally = soak_http.Tally(lambda: self.minute + 1)
        self.rows, self.samples = [], []
        self.log_counts, self.log_errors = Counter(), []
        self.server_5xx = {}

    def metrics(self):
        """Jobs by state and the server's own 5xx count, from GET /metrics; ({}, None) when
        that was refused."""
        response = soak_http.classify(self.tally, "metrics", lambda: soak_http.request(
            self.server.port, "GET", "/metrics", self.keys["a"], timeout_s=60), "GET /metrics")
        if response is None:
            return {}, None
        return soak_server.parse_metrics(response.body.decode("utf-8", "replace"))

    def read_log(self):
        counts = Counter()
        for line in self.server.new_log_lines():
            level = line[:1]
            counts[level] += 1
            if level == "E" and len(self.log_errors) < 5:
                self.log_errors.append(line)
        self.log_counts.update(counts)
        return counts

    def wait_minute(self, end):
        """Samples the server every few seconds until end; False when it died or we stop."""
        while not self.stop.is_set():
            sample = soak_server.sample(self.server.pid)
            if sample is None or not self.server.alive():
                return False
            self.samples.append(sample)
            left = end - time.monotonic()
            if left <= 0:
                return True
            self.stop.wait(min(SAMPLE_EVERY_S, left))
        return False

    def run_minutes(self):
        start = time.monotonic()
        before = soak_server.sample(self.server.pid)
        print(soak_report.HEADER, flush=True)
        for minute in range(1, self.args.minutes + 1):
            if not self.wait_minute(start + minute * 60):
                return
            states, server_5xx = self.metrics()
            self.server_5xx = server_5xx if server_5xx is not None else self.server_5xx
            logs = self.read_log()
            last = self.samples[-1]
            cpu = 100 * (last["cpu_s"] - before["cpu_s"]) / max(last["at"] - before["at"], 1e-3)
            before = last
            row = dict(last, minute=minute, cpu=cpu, load=os.getloadavg()[0], procs=soak_server.descendants(
                self.server.pid), data_mb=soak_server.disk_mb(self.server.data_dir),
                db_mb=soak_server.db_mb(self.server.data_dir), states=states,
                log_e=logs["E"], log_w=logs["W"], tally=self.tally.rotate())
            self.rows.append(row)
            self.minute = minute
            print(soak_report.row(row), flush=True)

    def hostile_outcomes(self):
        outcomes = Counter()
        for job_id, owner, name in self.load.book.hostile:
            try:
                response = soak_http.request(self.server.port, "GET", f"/v1/jobs/{job_id}",
                                             self.keys[owner], timeout_s=30)
                job = soak_load._json(response) if response.status == 200 else None
            except (soak_http.Hang, soak_http.ConnectionFailed) as e:
                job = {"state": type(e).__name__}
            if job is None:
                job = {"state": f"HTTP {response.status}"}
            summary = "".join("#" if c.isdigit() else c for c in str(job.get("summary", "")))
            outcomes[(name, job["state"], summary[:90])] += 1
        return outcomes

    def run(self):
        args = self.args
        self.tmp = soak_server.make_temp_dir()
        print(f"soak: {args.warden}, {args.minutes} minutes, --workers {args.workers}, "
              f"--retention {args.retention}, rate x{args.rate:g}, keys a and b", flush=True)
        self.server = soak_server.Server(args.warden, self.tmp, args.workers, args.retention,
                                         self.keys)
        try:
            if not self.server.wait_listening():
                print("soak: warden serve did not start:\n" + "\n".join(self.server.log_tail()))
                return 1
            load_avg = open("/proc/loadavg").read().split()[:3]
            print(f"soak: server pid {self.server.pid} on 127.0.0.1:{self.server.port}, data in "
                  f"{self.server.data_dir}; host {os.cpu_count()} CPUs, load average "
                  f"{' '.join(load_avg)}", flush=True)
            self.load = soak_load.Load(self.server.port, self.keys, self.tally, args.rate)
            self.load.start()
            self.run_minutes()
            return self.finish()
        finally:
            self.server.stop(timeout_s=5)  # only when finish() did not run
            soak_server.remove_tree(self.tmp)

    def finish(self):
        died = not self.server.alive()
        stuck = self.load.stop()
        hostile = procs = None
        if not died:
            _, server_5xx = self.metrics()
            self.server_5xx = server_5xx if server_5xx is not None else self.server_5xx
            hostile = self.hostile_outcomes()
            procs = soak_server.descendants(self.server.pid)
        self.read_log()
        clean, stop_s, code = self.server.stop()
        removed = soak_server.remove_tree(self.tmp)
        print()
        failures = []
        if died:
            failures.append(f"the server died (exit status {self.server.process.returncode})")
            print("server log, last lines:\n   " + "\n   ".join(self.server.log_tail()))
        if stuck:
            failures.append(f"clients still waiting at the end: {', '.join(stuck)}")
        self.print_summary(hostile, procs)
        total = self.tally.total
        failed = sum(total["failed"].values())
        if failed:
            failures.append(f"{failed} requests failed (5xx, hang, conn or bad)")
        if self.server_5xx:
            failures.append(f"the server counted {sum(self.server_5xx.values())} answers >= 500")
        if self.load.script_errors:
            failures.append(f"{self.load.script_errors} errors of this script (see above)")
        if not died:
            print(f"stop: SIGTERM; the server exited with status {code} after {stop_s:.1f} s"
                  f"{'' if clean else ' (NOT clean)'}")
            if not clean:
                failures.append("the server did not stop cleanly on SIGTERM")
        print(f"temporary directory {'removed' if removed else 'NOT removed'}: {self.tmp}")
        return self.verdict(failures)

    def print_summary(self, hostile, procs):
        rows, total = self.rows, self.tally.total
        print(f"== summary: {len(rows)} minutes of {self.args.minutes}")
        if rows:
            for field, label, fmt in (("rss", "RSS MB", "{:.1f}"), ("fds", "descriptors", "{:d}"),
                                      ("threads", "threads", "{:d}")):
                peak = fmt.format(max(s[field] for s in self.samples))
                print(f"   {label:<12} {soak_report.series(rows, field, fmt)} (max of "
                      f"{len(self.samples)} samples every {SAMPLE_EVERY_S} s: {peak})")
            print(f"   {'processes':<12} below the server: "
                  f"{soak_report.series(rows, 'procs', '{:d}')}, after the load {procs}")
            print(f"   {'disk MB':<12} data directory {soak_report.series(rows, 'data_mb')}; "
                  f"database {soak_report.series(rows, 'db_mb')}")
            print("\n".join(soak_report.latency_drift(rows)))
        done = sum(total["done"].values())
        print(f"   requests: {done} ({', '.join(f'{k} {n}' for k, n in sorted(total['done'].items()))})")
        for label, counts, n in (
                ("refused (4xx, expected)", total["refused"], sum(total["refused"].values())),
                ("failed", total["failed"], sum(total["failed"].values())),
                ("server-side answers >= 500 (/metrics)", self.server_5xx,
                 sum(self.server_5xx.values()))):
            print(f"   {label}: {n}" + "".join(
                f", {' '.join(map(str, k)) if isinstance(k, tuple) else k} x{c}"
                for k, c in sorted(counts.items())))
        print(f"   server log: {self.log_counts['E']} errors, {self.log_counts['W']} warnings" +
              "".join(f"\n      {line[:160]}" for line in self.log_errors))
        print("   exec outcomes: " + ", ".join(
            f"{n}: {s} x{c}" for (n, s), c in sorted(self.load.exec_outcomes.items())))
        if hostile is not None:
            print("   hostile jobs (state, summary with digits as #):")
            for (name, state, summary), n in sorted(hostile.items()):
                print(f"      {name:<20} x{n:<3} {state:<10} {summary}")

    def verdict(self, failures):
        status = 0
        if len(self.rows) >= 1:
            verdict, rule, lines = soak_report.judge(self.rows)
            print("== verdict: the server's resources, baseline and final minutes")
            print("\n".join(lines))
            short = len(self.rows) < soak_report.MIN_MINUTES_JUDGED
            print(f"verdict: {verdict}{' (indicative only: under 10 minutes)' if short else ''}"
                  f" ({rule})")
            if verdict == "growing" and not short:
                failures.append("resources grew")
        if self.stop.is_set():
            failures.append("interrupted")
        if failures:
            print("result: FAILED: " + "; ".join(failures))
            status = 1
        else:
            print("result: OK: no 5xx, no hang, no connection error, no wrong answer")
        return status


def main():
    args = parse_args()
    soak = Soak(args)

    def interrupt(signum, frame):
        soak.stop.set()

    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)
    sys.exit(soak.run())


if __name__ == "__main__":
    main()
