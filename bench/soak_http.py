"""HTTP/1.1 over a plain socket for bench/soak.py, and the tally of what each request got.

One connection per request (`Connection: close`), every wait bounded by a deadline, bodies read
with Content-Length, chunked framing or until close, and handed to a callback as they arrive (an
SSE stream, an archive) or kept. A request that misses its deadline raises Hang; one whose
connection fails raises ConnectionFailed. Standard library only.
"""

import socket
import threading
import time
from collections import Counter

HOST = "127.0.0.1"


class Hang(Exception):
    """The server did not answer (or finish a body) within the deadline."""


class ConnectionFailed(Exception):
    """Connecting, sending or reading failed (refused, reset, closed mid-answer)."""


class Response:
    def __init__(self, status, headers, body, seconds):
        self.status = status
        self.headers = headers  # lower-case names
        self.body = body  # bytes, or b"" when a callback took the body
        self.seconds = seconds


class _Reader:
    """Buffered reads from a socket, each bounded by the request's deadline."""

    def __init__(self, sock, deadline):
        self.sock = sock
        self.deadline = deadline
        self.buffer = b""

    def _fill(self):
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise Hang("deadline passed")
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(65536)
        except socket.timeout as e:
            raise Hang("deadline passed") from e
        except OSError as e:
            raise ConnectionFailed(f"{type(e).__name__}: {e}") from e
        if not data:
            return False
        self.buffer += data
        return True

    def until(self, marker, limit=1 << 20):
        while marker not in self.buffer:
            if len(self.buffer) > limit or not self._fill():
                raise ConnectionFailed(f"closed before {marker!r}")
        head, _, self.buffer = self.buffer.partition(marker)
        return head

    def exactly(self, count):
        while len(self.buffer) < count:
            if not self._fill():
                raise ConnectionFailed("closed mid-body")
        data, self.buffer = self.buffer[:count], self.buffer[count:]
        return data

    def some(self):
        """Whatever is buffered or arrives next; b"" at the end of the stream."""
        if not self.buffer and not self._fill():
            return b""
        data, self.buffer = self.buffer, b""
        return data


def _body_chunks(reader, headers):
    if headers.get("transfer-encoding", "").lower() == "chunked":
        while True:
            size = int(reader.until(b"\r\n").split(b";")[0], 16)
            if size == 0:
                reader.until(b"\r\n")  # no trailers are sent
                return
            yield reader.exactly(size)
            reader.exactly(2)
    elif "content-length" in headers:
        left = int(headers["content-length"])
        while left > 0:
            data = reader.exactly(min(left, 65536))
            left -= len(data)
            yield data
    else:
        while data := reader.some():
            yield data


def request(port, method, path, key=None, body=b"", headers=None, timeout_s=30.0, on_body=None):
    """Sends one request and reads the whole answer. on_body(chunk) -> False stops reading early
    (the connection is then closed mid-body, as a client that goes away)."""
    start = time.monotonic()
    deadline = start + timeout_s
    lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}:{port}", "Connection: close"]
    if key:
        lines.append(f"Authorization: Bearer {key}")
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    if body or method == "POST":
        lines.append(f"Content-Length: {len(body)}")
        if body and not any(n.lower() == "content-type" for n in (headers or {})):
            lines.append("Content-Type: application/json")
    raw = ("\r\n".join(lines) + "\r\n\r\n").encode() + body
    try:
        sock = socket.create_connection((HOST, port), timeout=timeout_s)
    except socket.timeout as e:
        raise Hang("connect timed out") from e
    except OSError as e:
        raise ConnectionFailed(f"connect: {e}") from e
    with sock:
        try:
            sock.sendall(raw)
        except socket.timeout as e:
            raise Hang("send timed out") from e
        except OSError as e:
            raise ConnectionFailed(f"send: {e}") from e
        reader = _Reader(sock, deadline)
        head = reader.until(b"\r\n\r\n").decode("latin-1").split("\r\n")
        try:
            status = int(head[0].split(" ")[1])
        except (IndexError, ValueError) as e:
            raise ConnectionFailed(f"not an HTTP answer: {head[0]!r}") from e
        fields = {}
        for line in head[1:]:
            name, _, value = line.partition(":")
            fields[name.strip().lower()] = value.strip()
        kept = []
        if method != "HEAD":
            for chunk in _body_chunks(reader, fields):
                if on_body is None:
                    kept.append(chunk)
                elif on_body(chunk) is False:
                    break
    return Response(status, fields, b"".join(kept), time.monotonic() - start)


def send_and_drop(port, raw, wait_s=0.0, read_bytes=0, timeout_s=10.0):
    """Sends raw bytes, waits wait_s, reads up to read_bytes of the answer (whatever came within
    2 s), then closes: a client that goes away mid-request. Returns the bytes read."""
    try:
        sock = socket.create_connection((HOST, port), timeout=timeout_s)
    except socket.timeout as e:
        raise Hang("connect timed out") from e
    except OSError as e:
        raise ConnectionFailed(f"connect: {e}") from e
    got = b""
    with sock:
        try:
            sock.sendall(raw)
        except socket.timeout as e:
            raise Hang("send timed out") from e
        except OSError as e:
            raise ConnectionFailed(f"send: {e}") from e
        time.sleep(wait_s)
        sock.settimeout(2.0)
        try:
            while len(got) < read_bytes:
                data = sock.recv(65536)
                if not data:
                    break
                got += data
        except OSError:
            pass  # slow or closed: this client leaves either way
    return got


class Tally:
    """What the requests of each kind got, per minute and in total. Thread-safe.

    Outcomes: ok (2xx/3xx, or what the load expected), refused (a 4xx: the server said no, as
    it may), and the failures: 5xx, hang (no answer within the deadline), conn (connection
    refused, reset or cut), bad (an answer that is wrong, e.g. an archive that is not a ZIP)."""

    FAILURES = ("5xx", "hang", "conn", "bad")
    MAX_SHOWN = 40  # failure lines printed as they happen

    def __init__(self, clock):
        self.lock = threading.Lock()
        self.clock = clock  # returns the current minute number
        self.minute = self._empty()
        self.total = self._empty()
        self.shown = 0

    @staticmethod
    def _empty():
        return {"done": Counter(), "refused": Counter(), "failed": Counter(),
                "probe": {"healthz": [], "job": []}}

    def ok(self, kind):
        with self.lock:
            for bucket in (self.minute, self.total):
                bucket["done"][kind] += 1

    def refused(self, kind, status):
        with self.lock:
            for bucket in (self.minute, self.total):
                bucket["done"][kind] += 1
                bucket["refused"][(kind, status)] += 1

    def failed(self, kind, category, what):
        with self.lock:
            for bucket in (self.minute, self.total):
                bucket["done"][kind] += 1
                bucket["failed"][(kind, category)] += 1
            self.shown += 1
            shown = self.shown
        if shown <= self.MAX_SHOWN:
            print(f"   ! minute {self.clock()}: {kind} {category}: {what[:300]}", flush=True)
        elif shown == self.MAX_SHOWN + 1:
            print("   ! (further failures are counted, not shown)", flush=True)

    def probe(self, name, seconds):
        with self.lock:
            self.minute["probe"][name].append(seconds)
            self.total["probe"][name].append(seconds)

    def rotate(self):
        """The minute that just ended; a new one starts."""
        with self.lock:
            ended, self.minute = self.minute, self._empty()
        return ended


def classify(tally, kind, call, what, expect=None):
    """Runs call() (an HTTP request returning a Response), books its outcome under kind and
    returns the Response when it was 2xx/3xx, else None. expect(response) -> error text or ""
    checks a 2xx answer's content."""
    try:
        response = call()
    except Hang as e:
        tally.failed(kind, "hang", f"{what}: {e}")
        return None
    except ConnectionFailed as e:
        tally.failed(kind, "conn", f"{what}: {e}")
        return None
    if response.status >= 500:
        tally.failed(kind, "5xx", f"{what} -> {response.status} {response.body[:200]!r}")
        return None
    if response.status >= 400:
        tally.refused(kind, response.status)
        return None
    problem = expect(response) if expect else ""
    if problem:
        tally.failed(kind, "bad", f"{what}: {problem}")
        return None
    tally.ok(kind)
    return response
