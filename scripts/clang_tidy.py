#!/usr/bin/python3
"""Runs clang-tidy with the repository's .clang-tidy over the build's translation units.

  scripts/clang_tidy.py [--all] [--analyzer] [--jobs N] [--budget SECONDS] [--build-dir DIR] [PATH_REGEX...]

Which files: the sources of src/ that are not tests (their headers under src/ are checked through
them); --all adds the tests of src/, tests/ and bench/; PATH_REGEX keeps only matching paths.

A finding counts when it is located in the repository (or is a compile error). The analyzer follows
paths into Boost and reports what it believes happens there, which HeaderFilterRegex means to
leave out. Each file that passes is remembered under a digest of clang-tidy's version,
.clang-tidy, the file's compile command (with the checkout's and the build's paths taken out) and
the content of every file it includes (ninja's record of the last build), so that a run checks
only what changed since: in DIR/clang-tidy-cache, and in .ci/clang-tidy-passed, which is
committed. A clean checkout (CI) thus checks exactly the files whose digest no passing run has
recorded: every file a change touched, directly or through a header. Commit the updated
.ci/clang-tidy-passed with a change; a run rewrites it with the digests of the files now known
to pass.

With --budget, no file is started after that many seconds: the files not checked are listed, and
the next run (remembering what passed) starts with them. Files the branch changed go first.
Exit status: 0 when no file checked has a finding, 1 otherwise, 2 on a usage error.
"""

import argparse
import concurrent.futures
import hashlib
import json
import os
import pathlib
import re
import shlex
import subprocess
import sys
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent


def selected_files(database, everything, patterns):
    """{absolute path: compile command} of the files to check."""
    out = {}
    for entry in database:
        path = pathlib.Path(entry["file"])
        try:
            relative = str(path.relative_to(ROOT))
        except ValueError:
            continue  # generated under the build directory
        if not re.match(r"(src|tests|bench)/", relative):
            continue
        if not everything and (not relative.startswith("src/") or relative.endswith("_test.cc")):
            continue
        if all(re.search(pattern, relative) for pattern in patterns):
            out[str(path)] = entry["command"]
    return out


def ninja_deps(build_dir):
    """{object path relative to the build directory: [its dependencies]} as ninja recorded them."""
    result = subprocess.run(["ninja", "-C", str(build_dir), "-t", "deps"], capture_output=True,
                            text=True, check=False)
    deps, current = {}, None
    for line in result.stdout.splitlines():
        if line and not line.startswith(" "):
            name, _, rest = line.partition(": #deps")
            current = name if rest.rstrip().endswith("(VALID)") else None
            if current is not None:
                deps[current] = []
        elif line.strip() and current is not None:
            deps[current].append(line.strip())
    return deps


class Digests:
    """The digest of each file's content, each file read once. A header of the system (outside the
    checkout and the build) stands for itself by its path: the packages that install it are the
    same wherever the record is read, and a Debian point release must not make CI check every
    file again."""

    def __init__(self, build_dir):
        self.build_dir = build_dir
        self.known = {}

    def of(self, name):
        path = (self.build_dir / name).resolve()
        if path not in self.known:
            if not (path.is_relative_to(ROOT) or path.is_relative_to(self.build_dir)):
                self.known[path] = str(path)
                return self.known[path]
            try:
                self.known[path] = hashlib.sha256(path.read_bytes()).hexdigest()
            except OSError:
                self.known[path] = "missing"
        return self.known[path]


def cache_keys(files, build_dir, analyzer):
    """{file: the digest under which its passing is remembered}; files ninja has no record of
    (never built) get none, and are always checked."""
    version = subprocess.run(["clang-tidy", "--version"], capture_output=True, text=True,
                             check=False).stdout
    config = (ROOT / ".clang-tidy").read_bytes()
    deps = ninja_deps(build_dir)
    digests = Digests(build_dir)
    keys = {}
    for path, command in files.items():
        words = shlex.split(command)
        output = words[words.index("-o") + 1] if "-o" in words else None
        if output not in deps:
            continue
        digest = hashlib.sha256()
        portable = command.replace(str(build_dir), "<build>").replace(str(ROOT), "<root>")
        for part in [version, portable, "analyzer" if analyzer else ""] + \
                [digests.of(d) for d in deps[output]]:
            digest.update(part.encode() + b"\0")
        digest.update(config)
        keys[path] = digest.hexdigest()
    return keys


def changed_by_branch():
    """The files that differ from main (committed or not), to check first."""
    result = subprocess.run(["git", "-C", str(ROOT), "diff", "--name-only", "main"],
                            capture_output=True, text=True, check=False)
    return {str(ROOT / name) for name in result.stdout.split()}


PASSED = ROOT / ".ci" / "clang-tidy-passed"


def read_passed():
    """The digests recorded in .ci/clang-tidy-passed ("digest path" lines)."""
    try:
        return {line.split()[0] for line in PASSED.read_text().splitlines() if line.strip()}
    except OSError:
        return set()


def write_passed(files, keys, cache):
    """Rewrites .ci/clang-tidy-passed: the digest of each selected file known to pass now. The
    digests of other files (outside this run's selection) stay."""
    selected = {str(pathlib.Path(f).relative_to(ROOT)) for f in files}
    lines = []
    try:
        for line in PASSED.read_text().splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[1] not in selected:
                lines.append(line)
    except OSError:
        pass
    passed = read_passed()
    for path in files:
        key = keys.get(path)
        if key is not None and (key in passed or (cache / key).exists()):
            lines.append(f"{key} {pathlib.Path(path).relative_to(ROOT)}")
    PASSED.write_text("".join(f"{line}\n" for line in sorted(set(lines), key=lambda l: l[65:])))


FINDING = re.compile(r"^(\S+?):\d+:\d+: (?:warning|error): .*\[([^\]]+)\]$")


def findings_of(output):
    """The lines of clang-tidy's output that count (see the module's comment)."""
    counted = []
    for line in output.splitlines():
        match = FINDING.match(line)
        if match and (match.group(1).startswith(str(ROOT) + "/")
                      or "clang-diagnostic-error" in match.group(2)):
            counted.append(line)
    return counted


def run(path, build_dir, analyzer):
    # The static analyzer (clang-analyzer-*) follows paths through Asio and Beast for a quarter of
    # an hour on one file: it runs only with --analyzer, never in CI.
    checks = [] if analyzer else ["--checks=-clang-analyzer-*"]
    result = subprocess.run(
        ["clang-tidy", "-p", str(build_dir), "--quiet",
         # The database holds GCC's flags, some of which clang does not know.
         "--extra-arg=-Wno-unknown-warning-option",
         # libseccomp's SCMP_A0..SCMP_A5 are C compound literals with a field left out: g++
         # accepts them from a system header, clang warns.
         "--extra-arg=-Wno-c99-extensions", "--extra-arg=-Wno-missing-field-initializers",
         *checks, path],
        capture_output=True, text=True, check=False)
    return findings_of(result.stdout + result.stderr)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--all", action="store_true")
    parser.add_argument("--analyzer", action="store_true",
                        help="also clang-analyzer-* (hours on two cores)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--budget", type=float, default=0, help="seconds; 0: no limit")
    parser.add_argument("--build-dir", default=str(ROOT / "build" / "release"))
    parser.add_argument("patterns", nargs="*")
    args = parser.parse_args()
    build_dir = pathlib.Path(args.build_dir).resolve()
    database_path = build_dir / "compile_commands.json"
    if not database_path.exists():
        print(f"clang_tidy.py: no {database_path}: build first (scripts/build.sh)")
        return 2
    files = selected_files(json.loads(database_path.read_text()), args.all, args.patterns)
    if not files:
        print("clang_tidy.py: no file to check")
        return 2
    cache = build_dir / "clang-tidy-cache"
    cache.mkdir(exist_ok=True)
    keys = cache_keys(files, build_dir, args.analyzer)
    passed = read_passed()
    todo = [f for f in files
            if f not in keys or (keys[f] not in passed and not (cache / keys[f]).exists())]
    changed = changed_by_branch()
    todo.sort(key=lambda f: (f not in changed, f))
    print(f"clang_tidy.py: {len(files)} files, {len(files) - len(todo)} unchanged since they "
          f"passed; checking {len(todo)}, {args.jobs} at a time", flush=True)

    start = time.monotonic()
    lock = threading.Lock()
    findings, skipped = set(), []

    def check(path):
        if args.budget and time.monotonic() - start > args.budget:
            with lock:
                skipped.append(path)
            return
        found = run(path, build_dir, args.analyzer)
        with lock:
            findings.update(found)
        if not found and path in keys:
            (cache / keys[path]).touch()

    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        list(pool.map(check, todo))
    elapsed = time.monotonic() - start
    if not args.analyzer:  # the record is of what CI runs
        write_passed(files, keys, cache)
    for line in sorted(findings):
        print(line)
    if skipped:
        print(f"clang_tidy.py: the budget of {args.budget:.0f} s ran out; not checked this time "
              f"(the next run starts with them): {' '.join(sorted(skipped))}")
    checked = len(todo) - len(skipped)
    if findings:
        print(f"clang_tidy.py: {len(findings)} finding(s) in {checked} files checked in "
              f"{elapsed:.0f} s; fix them, or suppress one with // NOLINT(check): reason")
        return 1
    print(f"clang_tidy.py: nothing found in {checked} files checked in {elapsed:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
