"""What bench/soak.py prints: one row a minute, then the summary and the verdict.

The verdict compares two windows of minutes: the baseline (after a warm-up) and the final one.
With N minutes: warm-up w = min(4, N // 4) minutes, baseline = the next min(6, max(1, (N - w) // 3))
minutes, final = the last min(10, max(1, (N - w) // 3)) minutes; for an hour, the baseline is
minutes 5-10 and the final window minutes 51-60. Each judged figure is the median of its
per-minute values in a window. "flat" when, for RSS, open descriptors and threads, the final
median is at most the baseline median plus the larger of 20% and a small absolute slack (8 MB of
RSS, 10 descriptors, 10 threads); "growing" otherwise. Runs under 10 minutes are too short to
tell: their verdict is printed as indicative and does not change the exit status.
"""

import statistics

JUDGED = (("rss", "RSS MB", 8.0), ("fds", "descriptors", 10), ("threads", "threads", 10))
MIN_MINUTES_JUDGED = 10
STATES = ("queued", "running", "succeeded", "failed", "cancelled")


def percentile(values, fraction):
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def ms(seconds):
    return "-" if seconds is None else f"{seconds * 1000:.1f}"


def windows(minutes):
    warmup = min(4, minutes // 4)
    size = max(1, (minutes - warmup) // 3)
    base = (warmup + 1, warmup + min(6, size))
    final = (minutes - min(10, size) + 1, minutes)
    return base, final


HEADER = (f"{'min':>3} {'load':>5} {'CPU%':>5} {'RSS MB':>7} {'fds':>5} {'thr':>4} {'procs':>5} "
          f"{'data MB':>8} "
          f"{'db MB':>6} | {'healthz p50/p99 ms':>18} | {'job p50/p99 ms':>15} | {'reqs':>5} "
          f"{'refused':>7} {'5xx':>4} {'hang':>4} {'conn':>4} {'bad':>4} | jobs q/r/s/f/c | log E/W")


def row(r):
    failed = r["tally"]["failed"]

    def count(category):
        return sum(n for (_, c), n in failed.items() if c == category)

    probe = r["tally"]["probe"]
    hz = f"{ms(percentile(probe['healthz'], 0.5))}/{ms(percentile(probe['healthz'], 0.99))}"
    job = f"{ms(percentile(probe['job'], 0.5))}/{ms(percentile(probe['job'], 0.99))}"
    states = "/".join(str(r["states"].get(s, "-")) for s in STATES) if r["states"] else "-"
    lines = [f"{r['minute']:>3} {r['load']:>5.1f} {r['cpu']:>5.1f} {r['rss']:>7.1f} {r['fds']:>5} "
             f"{r['threads']:>4} {r['procs']:>5} {r['data_mb']:>8.1f} {r['db_mb']:>6.1f} | {hz:>18} | {job:>15} | "
             f"{sum(r['tally']['done'].values()):>5} {sum(r['tally']['refused'].values()):>7} "
             f"{count('5xx'):>4} {count('hang'):>4} {count('conn'):>4} {count('bad'):>4} | "
             f"{states} | {r['log_e']}/{r['log_w']}"]
    lines.append("      done: " + ", ".join(f"{k} {n}" for k, n in sorted(r["tally"]["done"].items())))
    if r["tally"]["refused"]:
        lines.append("      refused: " + ", ".join(
            f"{k} {status} x{n}" for (k, status), n in sorted(r["tally"]["refused"].items())))
    if failed:
        lines.append("      FAILED: " + ", ".join(
            f"{k} {c} x{n}" for (k, c), n in sorted(failed.items())))
    return "\n".join(lines)


def judge(rows):
    """(verdict, lines): 'flat' or 'growing', with one line per judged figure."""
    minutes = len(rows)
    (b0, b1), (f0, f1) = windows(minutes)
    lines, growing = [], []
    for field, label, slack in JUDGED:
        base = statistics.median(r[field] for r in rows[b0 - 1:b1])
        final = statistics.median(r[field] for r in rows[f0 - 1:f1])
        allowed = base + max(0.2 * base, slack)
        change = (final - base) / base * 100 if base else 0.0
        ok = final <= allowed
        if not ok:
            growing.append(label)
        lines.append(f"   {label:<12} baseline median {base:8.1f}, final median {final:8.1f} "
                     f"({change:+.1f}%), allowed <= {allowed:.1f}: {'flat' if ok else 'GROWING'}")
    rule = (f"rule: median of minutes {f0}-{f1} at most the median of minutes {b0}-{b1} plus "
            "max(20%, 8 MB RSS / 10 descriptors / 10 threads)")
    return ("growing" if growing else "flat"), rule, lines


def series(rows, field, fmt="{:.1f}"):
    values = [r[field] for r in rows]
    return (f"first {fmt.format(values[0])}, last {fmt.format(values[-1])}, "
            f"max {fmt.format(max(values))}")


def latency_drift(rows):
    (b0, b1), (f0, f1) = windows(len(rows))
    lines = []
    for name in ("healthz", "job"):
        for label, fraction in (("p50", 0.5), ("p99", 0.99)):
            def median_of(first, last):
                values = [percentile(r["tally"]["probe"][name], fraction)
                          for r in rows[first - 1:last]]
                values = [v for v in values if v is not None]
                return statistics.median(values) if values else None

            base, final = median_of(b0, b1), median_of(f0, f1)
            change = f"{(final - base) / base * 100:+.0f}%" if base and final else "-"
            lines.append(f"   GET {'/healthz' if name == 'healthz' else '/v1/jobs/{id}':<14} "
                         f"{label}: minutes {b0}-{b1} {ms(base)} ms, minutes {f0}-{f1} "
                         f"{ms(final)} ms ({change})")
    return lines
