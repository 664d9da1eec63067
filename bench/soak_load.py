"""The mixed load of bench/soak.py: one thread per kind of client, each at a bounded rate.

Kinds: submit (ordinary step jobs), hostile (the jobs of soak_jobs.hostile_jobs, round-robin),
follow (SSE followers of recent jobs), exec (POST /v1/exec), download (a job, its manifest, a
file, its archive, its logs and events, and a read with the other key), cancel (a sleeping job,
cancelled once running), retry, list (paged), disconnect (clients that go away mid-request) and
probe (GET /healthz and GET /v1/jobs/{id}, timed). Every request is booked in the Tally.
"""

import json
import random
import threading
import time
import traceback
import urllib.parse
from collections import Counter, deque

import soak_http
import soak_jobs
from soak_http import classify

ENDED = ("succeeded", "failed", "cancelled")

# Requests per minute of each paced kind at --rate 1 (follow runs FOLLOWERS loops back to back).
RATES = {"submit": 24, "hostile": 4, "exec": 6, "download": 6, "cancel": 3, "retry": 2,
         "list": 4, "disconnect": 6, "probe": 120}
FOLLOWERS = 2
FOLLOW_DEADLINE_S = 90
STREAM_GRACE_S = 30  # an SSE stream must end within this of its job's end
HOSTILE_SHARE = 0.25  # of the jobs followed, downloaded, retried: what hostile ones wrote is read


def _json(response):
    try:
        return json.loads(response.body)
    except ValueError:
        return None


def _quote(path):
    """A manifest path as a URL path; a name the server showed with lone surrogates included."""
    try:
        return urllib.parse.quote(path, errors="surrogateescape")
    except UnicodeEncodeError:
        return urllib.parse.quote(path, errors="backslashreplace")


def _is_job(response):
    body = _json(response)
    return "" if isinstance(body, dict) and "id" in body and "state" in body else "not a job"


class JobBook:
    """Jobs the load made: (id, owner key name, kind, time). Thread-safe."""

    def __init__(self):
        self.lock = threading.Lock()
        self.recent = deque(maxlen=2000)
        self.hostile = []  # (id, owner, name): all of them, looked at once more at the end

    def add(self, job_id, owner, kind):
        with self.lock:
            self.recent.append((job_id, owner, kind, time.monotonic()))
            if kind.startswith("hostile:"):
                self.hostile.append((job_id, owner, kind[len("hostile:"):]))

    def pick(self, newer_than_s=None, older_than_s=None, skip_kind=None):
        """A random job of those that fit; a hostile one at least HOSTILE_SHARE of the time."""
        now = time.monotonic()
        with self.lock:
            jobs = [j for j in self.recent
                    if (newer_than_s is None or now - j[3] < newer_than_s)
                    and (older_than_s is None or now - j[3] > older_than_s)
                    and j[2] != skip_kind]
        hostile = [j for j in jobs if j[2].startswith("hostile:")]
        if hostile and random.random() < HOSTILE_SHARE:
            return random.choice(hostile)
        return random.choice(jobs) if jobs else None


class Load:
    def __init__(self, port, keys, tally, scale):
        self.port = port
        self.keys = keys  # name -> key
        self.tally = tally
        self.scale = scale
        self.book = JobBook()
        self.stopping = threading.Event()
        self.host_ns = soak_jobs.host_namespaces()
        self.ordinary = soak_jobs.ordinary_jobs()
        self.hostile = soak_jobs.hostile_jobs(self.host_ns)
        self.hostile_next = 0
        self.execs = soak_jobs.exec_bodies(self.host_ns)
        self.exec_outcomes = Counter()
        self.probe_job = None  # (id, owner)
        self.probe_born = 0.0  # time.monotonic() when probe_job was made
        self.threads = []
        self.script_errors = 0

    # ---- plumbing -------------------------------------------------------------------------------

    def call(self, kind, method, path, owner, body=b"", expect=None, timeout_s=60.0, **kw):
        what = f"{method} {path}"
        key = self.keys[owner] if owner else None
        return classify(self.tally, kind, lambda: soak_http.request(
            self.port, method, path, key, body, timeout_s=timeout_s, **kw), what, expect)

    def submit(self, kind, body, owner=None):
        owner = owner or random.choice(list(self.keys))
        response = self.call(kind.split(":")[0], "POST", "/v1/jobs", owner, body.encode(),
                             _is_job)
        if response is None:
            return None
        job_id = _json(response)["id"]
        self.book.add(job_id, owner, kind)
        return job_id

    def state(self, kind, job_id, owner):
        response = self.call(kind, "GET", f"/v1/jobs/{job_id}", owner, expect=_is_job)
        return _json(response) if response else None

    def wait_state(self, kind, job_id, owner, states, timeout_s, every_s=0.5):
        deadline = time.monotonic() + timeout_s
        while not self.stopping.is_set():
            job = self.state(kind, job_id, owner)
            if job is None or job["state"] in states or time.monotonic() > deadline:
                return job
            self.stopping.wait(every_s)
        return None

    def _loop(self, kind, action, per_minute):
        interval = 60.0 / (per_minute * self.scale) if per_minute else 1.0
        while not self.stopping.is_set():
            start = time.monotonic()
            try:
                action()
            except Exception:  # a bug of this script, not an answer of the server
                self.script_errors += 1
                if self.script_errors <= 3:
                    print(f"   ! soak script error in {kind}:\n{traceback.format_exc()}", flush=True)
            pause = interval * random.uniform(0.5, 1.5) - (time.monotonic() - start)
            self.stopping.wait(max(pause, 0.05))

    def start(self):
        self.probe_job, self.probe_born = self._make_probe_job(), time.monotonic()
        actions = {"submit": self.do_submit, "hostile": self.do_hostile, "exec": self.do_exec,
                   "download": self.do_download, "cancel": self.do_cancel,
                   "retry": self.do_retry, "list": self.do_list,
                   "disconnect": self.do_disconnect, "probe": self.do_probe}
        for kind, action in actions.items():
            self.threads.append(threading.Thread(target=self._loop, name=kind,
                                                 args=(kind, action, RATES[kind]), daemon=True))
        for i in range(FOLLOWERS):
            self.threads.append(threading.Thread(target=self._loop, name=f"follow{i}",
                                                 args=("follow", self.do_follow, 0), daemon=True))
        for thread in self.threads:
            thread.start()

    def stop(self, timeout_s=150):
        self.stopping.set()
        deadline = time.monotonic() + timeout_s
        for thread in self.threads:
            thread.join(max(0.1, deadline - time.monotonic()))
        return [t.name for t in self.threads if t.is_alive()]

    def _make_probe_job(self):
        owner = sorted(self.keys)[0]
        job_id = self.submit("submit", json.dumps({"steps": [{"shell": "echo probe"}]}), owner)
        if job_id is None:
            raise RuntimeError("the server refused the probe job")
        job = self.wait_state("submit", job_id, owner, ENDED, 120)
        if job is None or job["state"] != "succeeded":
            raise RuntimeError(f"the probe job did not succeed: {job}")
        return job_id, owner

    # ---- the kinds of load ----------------------------------------------------------------------

    def do_submit(self):
        name, body = random.choice(self.ordinary)
        self.submit("submit", body)

    def do_hostile(self):
        name, body = self.hostile[self.hostile_next % len(self.hostile)]
        self.hostile_next += 1
        # The workspace disk fill stays on disk until retention: every other round only.
        if name == "disk_fill_workspace" and (self.hostile_next - 1) // len(self.hostile) % 2:
            return
        self.submit("hostile:" + name, body)

    def do_probe(self):
        # A fresh probe job every minute: retention removes old jobs, and a probe of a removed
        # job would time nothing (a 404) for the rest of the run.
        if time.monotonic() - self.probe_born > 60:
            self.probe_job, self.probe_born = self._make_probe_job(), time.monotonic()
        for name, path, owner in (("healthz", "/healthz", None),
                                  ("job", f"/v1/jobs/{self.probe_job[0]}", self.probe_job[1])):
            response = self.call("probe", "GET", path, owner, timeout_s=30)
            if response is not None:
                self.tally.probe(name, response.seconds)

    def do_exec(self):
        name, body = random.choice(self.execs)

        def ran(response):
            result = _json(response)
            if not isinstance(result, dict) or "status" not in result:
                return "no status in the answer"
            self.exec_outcomes[(name, result["status"])] += 1
            return ""

        self.call("exec", "POST", "/v1/exec", random.choice(list(self.keys)), body.encode(), ran)

    def do_cancel(self):
        owner = random.choice(list(self.keys))
        job_id = self.submit("cancel", soak_jobs.SLEEPER, owner)
        if job_id is None:
            return
        # Mostly once it runs; sometimes while it is still queued.
        if random.random() < 0.8:
            self.wait_state("cancel", job_id, owner, ("running",) + ENDED, 30)
        if self.call("cancel", "POST", f"/v1/jobs/{job_id}/cancel", owner) is None:
            return
        job = self.wait_state("cancel", job_id, owner, ENDED, 30)
        if job is not None and job["state"] != "cancelled":
            self.tally.failed("cancel", "bad", f"job {job_id} is {job['state']} 30 s after "
                              "its cancel was accepted")

    def do_retry(self):
        picked = self.book.pick(older_than_s=30, skip_kind="cancel")
        if picked is None:
            return
        job_id, owner, kind, _ = picked
        response = self.call("retry", "POST", f"/v1/jobs/{job_id}/retry", owner, expect=_is_job)
        if response is not None:
            self.book.add(_json(response)["id"], owner, kind)

    def do_list(self):
        owner = random.choice(list(self.keys))
        cursor = None
        for _ in range(3):
            path = "/v1/jobs?limit=50" + (f"&cursor={urllib.parse.quote(cursor)}" if cursor else "")
            response = self.call("list", "GET", path, owner,
                                 expect=lambda r: "" if isinstance(_json(r), dict) else "not JSON")
            cursor = _json(response).get("next_cursor") if response else None
            if not cursor:
                return

    def do_download(self):
        picked = self.book.pick(older_than_s=20, skip_kind="cancel")
        if picked is None:
            return
        job_id, owner, _, _ = picked
        other = [k for k in self.keys if k != owner]
        if other and random.random() < 0.2:  # another key must not see it
            self.cross_key_read(job_id, other[0])
        job = self.state("download", job_id, owner)
        if job is None or job["state"] not in ENDED:
            return
        base = f"/v1/jobs/{job_id}"
        files = self.call("download", "GET", base + "/files", owner, expect=lambda r: "" if
                          isinstance((_json(r) or {}).get("files"), list) else "no files list")
        if files is not None and _json(files)["files"]:
            path = random.choice(_json(files)["files"]).get("path", "")
            self.call("download", "GET", f"{base}/files/{_quote(path)}", owner,
                      on_body=lambda chunk: None)
        fmt, magic = random.choice((("zip", b"PK"), ("tar.gz", b"\x1f\x8b")))
        first = []

        def keep_first(chunk):
            if not first:
                first.append(chunk[:2])

        self.call("download", "GET", f"{base}/archive?format={fmt}", owner, timeout_s=180,
                  on_body=keep_first,
                  expect=lambda r: "" if first and first[0] == magic else f"not a {fmt}")
        self.call("download", "GET", f"{base}/logs?tail=100", owner)
        self.call("download", "GET", f"{base}/events", owner,
                  expect=lambda r: "" if _json(r) is not None else "events are not JSON")

    def cross_key_read(self, job_id, reader):
        try:
            response = soak_http.request(self.port, "GET", f"/v1/jobs/{job_id}",
                                         self.keys[reader], timeout_s=60)
        except (soak_http.Hang, soak_http.ConnectionFailed) as e:
            self.tally.failed("download", "hang" if isinstance(e, soak_http.Hang) else "conn",
                              f"cross-key GET /v1/jobs/{job_id}: {e}")
            return
        if response.status == 404:
            self.tally.ok("download")
        elif response.status >= 500:
            self.tally.failed("download", "5xx", f"cross-key GET -> {response.status}")
        else:
            self.tally.failed("download", "bad", f"key {reader} read job {job_id} of another "
                              f"key: {response.status}")

    def do_follow(self):
        picked = self.book.pick(newer_than_s=20) or self.book.pick()
        if picked is None:
            self.stopping.wait(1)
            return
        job_id, owner, _, _ = picked
        seen = {"tail": b"", "state": False}

        def watch(chunk):
            text = seen["tail"] + chunk
            seen["state"] = seen["state"] or b"event: state" in text
            seen["tail"] = text[-32:]
            return not self.stopping.is_set()

        path = f"/v1/jobs/{job_id}/events"
        try:
            response = soak_http.request(
                self.port, "GET", path, self.keys[owner], headers={"Accept": "text/event-stream"},
                timeout_s=FOLLOW_DEADLINE_S, on_body=watch)
        except soak_http.Hang:
            self.check_stream_ended(job_id, owner)
            return
        except soak_http.ConnectionFailed as e:
            self.tally.failed("follow", "conn", f"GET {path} (SSE): {e}")
            return
        if response.status >= 500:
            self.tally.failed("follow", "5xx", f"GET {path} (SSE) -> {response.status}")
        elif response.status >= 400:
            self.tally.refused("follow", response.status)
        elif "text/event-stream" not in response.headers.get("content-type", ""):
            self.tally.failed("follow", "bad", f"GET {path}: not text/event-stream")
        elif self.stopping.is_set():
            self.check_stream_ended(job_id, owner)  # cut short by the end of the soak
        elif not seen["state"]:
            self.tally.failed("follow", "bad", f"GET {path}: the stream had no `event: state`")
        else:
            self.tally.ok("follow")

    def check_stream_ended(self, job_id, owner):
        """A stream still open at our deadline: a hang when its job ended long enough ago."""
        job = self.state("follow", job_id, owner)
        if job is None:
            return
        finished_ms = job.get("finished_at_ms")
        late_s = time.time() - finished_ms / 1000 if finished_ms else 0
        if job["state"] in ENDED and late_s > STREAM_GRACE_S:
            self.tally.failed("follow", "hang", f"the SSE stream of {job_id} ({job['state']}) "
                              f"was still open {late_s:.0f} s after the job ended")
        else:
            self.tally.ok("follow")

    def do_disconnect(self):
        picked = self.book.pick(older_than_s=20, skip_kind="cancel")
        job_id, owner = (picked[0], picked[1]) if picked else self.probe_job
        auth = f"Authorization: Bearer {self.keys[owner]}\r\n"
        host = f"Host: 127.0.0.1:{self.port}\r\n"
        variants = [
            ("half a head", b"GET /v1/jobs HTTP/1.1\r\n" + host.encode(), 0.2, 0),
            ("a short body", (f"POST /v1/jobs HTTP/1.1\r\n{host}{auth}Content-Type: "
                              "application/json\r\nContent-Length: 5000\r\n\r\n{\"steps\": [")
             .encode(), 0.2, 0),
            ("an SSE stream", (f"GET /v1/jobs/{job_id}/events HTTP/1.1\r\n{host}{auth}"
                               "Accept: text/event-stream\r\n\r\n").encode(), 0, 256),
            ("an archive", (f"GET /v1/jobs/{job_id}/archive?format=zip HTTP/1.1\r\n{host}{auth}"
                            "\r\n").encode(), 0, 4096),
            ("an exec", (f"POST /v1/exec HTTP/1.1\r\n{host}{auth}Content-Type: application/json"
                         f"\r\nContent-Length: {len(soak_jobs.EXEC_SLEEP)}\r\n\r\n"
                         f"{soak_jobs.EXEC_SLEEP}").encode(), 0.5, 0),
            ("nothing", b"", 1.0, 0),
        ]
        what, raw, wait_s, read_bytes = random.choice(variants)
        try:
            got = soak_http.send_and_drop(self.port, raw, wait_s, read_bytes, timeout_s=60)
        except soak_http.Hang as e:
            self.tally.failed("disconnect", "hang", f"dropping after {what}: {e}")
            return
        except soak_http.ConnectionFailed as e:
            self.tally.failed("disconnect", "conn", f"dropping after {what}: {e}")
            return
        status_line = got.split(b"\r\n", 1)[0]
        if status_line.startswith(b"HTTP/1.1 5"):  # what came before we left
            self.tally.failed("disconnect", "5xx", f"{what}: {status_line!r}")
        else:
            self.tally.ok("disconnect")
