"""The jobs and /v1/exec snippets that bench/soak.py submits: ordinary ones and hostile ones.

Every hostile program starts with a guard: it reads its own namespaces and exits 97 at once
unless its pid, user and mount namespaces all differ from the soak script's (which are the
host's, or the container's the server runs in). So a program that somehow ran outside a sandbox
does nothing. Each one is also bounded by itself (time, bytes, processes) beyond the sandbox's
limits, writes only below /workspace or /tmp, and never signals anything but its own children.
"""

import json
import os

GUARD_EXIT = 97
NAMESPACES = ("pid", "user", "mnt")


def host_namespaces():
    return {ns: os.readlink(f"/proc/self/ns/{ns}") for ns in NAMESPACES}


def python_guard(host):
    return (
        "import os, sys\n"
        f"_host = {host!r}\n"
        "for _ns, _link in _host.items():\n"
        "    try:\n"
        "        _mine = os.readlink('/proc/self/ns/' + _ns)\n"
        "    except OSError:\n"
        "        _mine = _link\n"
        "    if _mine == _link:\n"
        "        print('soak guard: not in a sandbox (' + _ns + '), doing nothing')\n"
        f"        sys.exit({GUARD_EXIT})\n"
    )


def shell_guard(host):
    checks = " && ".join(
        f"l=$(readlink /proc/self/ns/{ns}) && [ -n \"$l\" ] && [ \"$l\" != '{link}' ]"
        for ns, link in host.items())
    return f"{{ {checks}; }} || {{ echo 'soak guard: not in a sandbox'; exit {GUARD_EXIT}; }}\n"


# Each hostile program ends within 30 s by itself; the sandbox's limits end most sooner.
HOSTILE_OPTIONS = {"action_timeout": "30s", "timeout": "2m"}

FORK_BOMB = """
import errno, time
deadline = time.monotonic() + 10
parent = os.getpid()
forks = refused = 0
while time.monotonic() < deadline:
    try:
        pid = os.fork()
    except OSError as e:
        if e.errno != errno.EAGAIN:
            break
        refused += 1
        time.sleep(0.01)
        continue
    if pid == 0:  # a child forks too, until the same deadline
        forks = refused = 0
        continue
    forks += 1
if os.getpid() != parent:
    os._exit(0)
while True:
    try:
        os.wait()
    except ChildProcessError:
        break
print(f"forks={forks} refused={refused}", flush=True)
"""

MEMORY_BOMB = """
chunks = []
total = 0
while total < (2 << 30):  # 2 GiB at most, far above the sandbox's default 512M
    chunks.append(b"\\xa5" * (32 << 20))
    total += 32 << 20
print(f"allocated {total >> 20} MiB: the memory limit did not stop it")
"""

OUTPUT_FLOOD = """
line = b"flood " * 1000 + b"\\n"
for _ in range((16 << 20) // len(line) + 1):  # 16 MiB at most, over the default 1M output cap
    sys.stdout.buffer.write(line)
"""

BAD_NAME = """
with open(b"/workspace/name-\\xff-\\xfe.txt", "wb") as f:
    f.write(b"a file whose name is not UTF-8\\n")
os.mkdir(b"/workspace/dir-\\xff")
with open(b"/workspace/dir-\\xff/inner", "wb") as f:
    f.write(b"inside\\n")
print("wrote files named with bytes 0xff and 0xfe")
"""


def disk_fill(directory):
    """Files of 64 MiB (each under the file-size limit) until the disk limit or 1 GiB."""
    return f"""
block = b"\\xa5" * (1 << 20)
written = 0
try:
    while written < (1 << 30):  # 1 GiB at most, over the default 256M disk limit
        with open(f"{directory}/fill-{{written >> 26}}.bin", "wb") as f:
            for _ in range(64):
                f.write(block)
                f.flush()
                written += len(block)
except OSError as e:
    print(f"stopped after {{written >> 20}} MiB: {{e}}")
print(f"wrote {{written >> 20}} MiB")
"""


# 1 GiB in one sparse file is over the default file-size limit (SIGXFSZ, as it should be); then
# 1 GiB of apparent size in four sparse files under it, 16 KB of disk.
SPARSE = ("truncate -s 1G /workspace/sparse.bin || echo \"truncate -s 1G: status $?\"\n"
          "for i in 1 2 3 4; do truncate -s 255M /workspace/sparse-$i.bin || exit 1; done\n"
          "ls -ls /workspace\n")
BINARY_OUTPUT = ("printf 'binary \\377\\376 output\\n'; printf '\\377\\376\\375\\374'; "
                 "printf '\\300\\200 and a lone \\355\\240\\200 surrogate\\n' >&2\n")


def hostile_jobs(host):
    """(name, job body) of every hostile job, in the order they are submitted round-robin.
    The workspace disk fill stays on the host's disk until retention removes it, so it comes
    once per round, like the others (at the default rates about 256 MB every 2.5 minutes)."""
    py = python_guard(host)
    sh = shell_guard(host)

    def job(step):
        return json.dumps({"steps": [step], "options": HOSTILE_OPTIONS})

    return [
        ("fork_bomb", job({"python": py + FORK_BOMB})),
        ("memory_bomb", job({"python": py + MEMORY_BOMB})),
        ("output_flood", job({"python": py + OUTPUT_FLOOD})),
        ("sparse_1g", job({"shell": sh + SPARSE})),
        ("binary_output", job({"shell": sh + BINARY_OUTPUT})),
        ("name_0xff", job({"python": py + BAD_NAME})),
        ("disk_fill_tmp", job({"python": py + disk_fill("/tmp")})),
        ("disk_fill_workspace", job({"python": py + disk_fill("/workspace")})),
    ]


def ordinary_jobs():
    """(name, job body): what a well-behaved tenant submits."""
    ticker = ("import time\nfor i in range(20):\n    print('tick', i, flush=True)\n"
              "    time.sleep(0.25)\n")
    return [
        ("echo", json.dumps({"steps": [{"shell": "echo hello $((6 * 7)); uname -s"}]})),
        ("python", json.dumps({"steps": [{"python": (
            "import hashlib\nprint(hashlib.sha256(b'x' * 100000).hexdigest())")}]})),
        ("write_file", json.dumps({"steps": [
            {"write_file": {"path": "out/data.csv", "content": "a,b\n1,2\n3,4\n"}},
            {"shell": "wc -l out/data.csv && cat out/data.csv"}]})),
        ("ticker", json.dumps({"steps": [{"python": ticker}]})),
    ]


# A job that runs until cancelled (it asks for more than the default 60 s per step).
SLEEPER = json.dumps({"steps": [{"shell": "echo sleeping; sleep 300"}],
                      "options": {"action_timeout": "6m", "timeout": "7m"}})


def exec_bodies(host):
    """(name, POST /v1/exec body): mostly small snippets, some that hit a limit."""
    py = python_guard(host)
    return [
        ("python", json.dumps({"language": "python", "code": "print(sum(range(10 ** 6)))",
                               "limits": {"timeout": "20s"}})),
        ("bash", json.dumps({"language": "bash", "code": "for i in 1 2 3; do echo $i; done; id -u",
                             "limits": {"timeout": "20s"}})),
        ("stdin", json.dumps({"language": "python",
                              "code": "import sys\nprint(len(sys.stdin.read()))",
                              "stdin": "x" * 10000, "limits": {"timeout": "20s"}})),
        ("output_limit", json.dumps({"language": "python", "code": py + OUTPUT_FLOOD,
                                     "limits": {"timeout": "20s", "output_limit": "64K"}})),
        ("memory_limit", json.dumps({"language": "python", "code": py + MEMORY_BOMB,
                                     "limits": {"timeout": "20s", "memory": "64M"}})),
    ]


# Runs until the client goes away (or its 10 s limit ends it).
EXEC_SLEEP = json.dumps({"language": "sh", "code": "sleep 8", "limits": {"timeout": "10s"}})
