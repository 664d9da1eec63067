"""The private `warden serve` of bench/soak.py: started, watched through /proc, stopped.

The server gets its own session (so a Ctrl-C reaches only the soak script, which then stops it
with SIGTERM), a private HOME and configuration directory, and a data directory that is removed
afterwards. Standard library only.
"""

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

LISTENING = re.compile(r"^warden serve: listening on http://127\.0\.0\.1:(\d+) ", re.M)


def make_temp_dir():
    """Root's server runs jobs as the sandbox user, who must reach the workspaces (mode 0755)."""
    if os.geteuid() == 0:
        os.makedirs("/var/lib/warden-bench", exist_ok=True)
        os.chmod("/var/lib/warden-bench", 0o755)
        path = tempfile.mkdtemp(prefix="soak.", dir="/var/lib/warden-bench")
    else:
        path = tempfile.mkdtemp(prefix="warden-soak.")
    os.chmod(path, 0o755)
    return path


class Server:
    def __init__(self, warden, tmp, workers, retention, keys):
        self.tmp = tmp
        self.data_dir = os.path.join(tmp, "data")
        self.out_path = os.path.join(tmp, "serve.out")
        self.err_path = os.path.join(tmp, "serve.err")
        home = os.path.join(tmp, "home")
        os.makedirs(os.path.join(home, ".config"))
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": home,
               "XDG_CONFIG_HOME": os.path.join(home, ".config"),
               "WARDEN_API_KEYS": ",".join(f"{name}:{key}" for name, key in keys.items())}
        self.argv = [warden, "serve", "--listen", "127.0.0.1:0", "--data-dir", self.data_dir,
                     "--workers", str(workers), "--retention", retention]
        with open(self.out_path, "wb") as out, open(self.err_path, "wb") as err:
            self.process = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=out,
                                            stderr=err, env=env, start_new_session=True)
        self.pid = self.process.pid
        self.port = None
        self.err_offset = 0

    def wait_listening(self, timeout_s=60):
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with open(self.out_path, errors="replace") as f:
                match = LISTENING.search(f.read())
            if match:
                self.port = int(match.group(1))
                return True
            if self.process.poll() is not None:
                return False
            time.sleep(0.05)
        return False

    def alive(self):
        return self.process.poll() is None

    def stop(self, timeout_s=60):
        """SIGTERM, then SIGKILL after timeout_s. Returns (clean, seconds, exit code)."""
        start = time.monotonic()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                return False, time.monotonic() - start, self.process.returncode
        return self.process.returncode == 0, time.monotonic() - start, self.process.returncode

    def new_log_lines(self):
        """The server's log lines written since the last call."""
        try:
            with open(self.err_path, "rb") as f:
                f.seek(self.err_offset)
                data = f.read()
        except OSError:
            return []
        end = data.rfind(b"\n") + 1
        self.err_offset += end
        return data[:end].decode("utf-8", "replace").splitlines()

    def log_tail(self, lines=20):
        with open(self.err_path, "rb") as f:
            return f.read().decode("utf-8", "replace").splitlines()[-lines:]


def remove_tree(path):
    shutil.rmtree(path, ignore_errors=True)
    return not os.path.exists(path)


def sample(pid):
    """VmRSS (MB), open descriptors, threads and CPU seconds (user + system, all threads, not
    the sandboxes) of one process, with the time of the sample; None once it is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            status = f.read()
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
        fds = len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None
    rss_kb = int(re.search(r"^VmRSS:\s+(\d+)", status, re.M).group(1))
    threads = int(re.search(r"^Threads:\s+(\d+)", status, re.M).group(1))
    fields = stat[stat.rindex(b")") + 2:].split()  # fields[0] is field 3 of proc(5)
    cpu_s = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return {"rss": rss_kb / 1024.0, "fds": fds, "threads": threads, "cpu_s": cpu_s,
            "at": time.monotonic()}


def descendants(pid):
    """How many processes run below pid (sandboxes, their helpers), from /proc's parent links."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        # The command may hold spaces and parentheses: the parent pid follows the last ")".
        parent = int(stat[stat.rindex(b")") + 2:].split()[1])
        children.setdefault(parent, []).append(int(entry))
    count, todo = 0, list(children.get(pid, []))
    while todo:
        child = todo.pop()
        count += 1
        todo.extend(children.get(child, []))
    return count


def disk_mb(path):
    """Disk blocks used below path, in MB (sparse files count what they occupy)."""
    total = 0
    for root, dirs, files in os.walk(path.encode()):
        for name in dirs + files:
            try:
                total += os.lstat(os.path.join(root, name)).st_blocks * 512
            except OSError:
                pass
    return total / 1e6


def db_mb(data_dir):
    total = 0
    for suffix in ("", "-wal", "-shm"):
        try:
            total += os.stat(os.path.join(data_dir, "warden.db" + suffix)).st_size
        except OSError:
            pass
    return total / 1e6


def parse_metrics(text):
    """Jobs by state and HTTP answers >= 500 by route from the Prometheus text."""
    states = {}
    for match in re.finditer(r'^warden_jobs\{state="(\w+)"\} (\S+)$', text, re.M):
        states[match.group(1)] = int(float(match.group(2)))
    server_5xx = {}
    for line in text.splitlines():
        if not line.startswith("warden_http_requests_total{"):
            continue
        labels, _, value = line.rpartition(" ")
        status = re.search(r'status="(\d+)"', labels)
        route = re.search(r'route="([^"]*)"', labels)
        method = re.search(r'method="([^"]*)"', labels)
        if status and int(status.group(1)) >= 500 and float(value) > 0:
            name = f"{method.group(1) if method else '?'} {route.group(1) if route else '?'}"
            server_5xx[f"{name} {status.group(1)}"] = int(float(value))
    return states, server_5xx
