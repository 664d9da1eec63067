#!/usr/bin/python3
"""SSE followers for bench/run_api.sh: many idle `GET /v1/jobs/{id}/events` streams held open.

  sse_followers.py create PORT COUNT BODY   POSTs COUNT jobs (one keep-alive connection), prints
                                            their ids, one a line
  sse_followers.py follow PORT IDS_FILE N   opens N streams, round-robin over the ids in IDS_FILE,
                                            checks each, prints one READY line, holds them until
                                            SIGTERM or SIGINT, then prints one HELD line

A stream counts as ok once it answered 200 with Content-Type text/event-stream and its history
began with an `event: state`. Standard library only; run with Debian's /usr/bin/python3.
"""

import asyncio
import http.client
import json
import signal
import sys
import time

CONNECT_AT_ONCE = 100  # connections being opened at the same time
CHECK_TIMEOUT_S = 30


def create(port, count, body):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for _ in range(count):
        conn.request("POST", "/v1/jobs", body, {"Content-Type": "application/json"})
        response = conn.getresponse()
        response_body = response.read()
        if response.status != 201:
            sys.exit(f"sse_followers: POST /v1/jobs answered {response.status}: {response_body!r}")
        print(json.loads(response_body)["id"])
    conn.close()


class Follower:
    def __init__(self, port, job_id):
        self.port = port
        self.job_id = job_id
        self.error = ""  # why the check failed
        self.ok = False
        self.closed_early = False  # the server ended an ok stream while we held it
        self.bytes = 0
        self.writer = None

    async def open(self, gate):
        async with gate:
            try:
                await asyncio.wait_for(self._open_and_check(), CHECK_TIMEOUT_S)
                self.ok = True
            except asyncio.TimeoutError:
                self.error = "no `event: state` within %d s" % CHECK_TIMEOUT_S
            except OSError as e:
                self.error = f"{type(e).__name__}: {e}"

    async def _open_and_check(self):
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.writer.write(
            (f"GET /v1/jobs/{self.job_id}/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
             "Accept: text/event-stream\r\n\r\n").encode())
        await self.writer.drain()
        head = await self.reader.readuntil(b"\r\n\r\n")
        self.bytes += len(head)
        status_line, _, fields = head.decode("latin-1").partition("\r\n")
        if not status_line.startswith("HTTP/1.1 200"):
            raise OSError(f"answered {status_line!r}")
        if "content-type: text/event-stream" not in fields.lower():
            raise OSError("not text/event-stream")
        seen = b""
        while b"event: state" not in seen:
            chunk = await self.reader.read(65536)
            if not chunk:
                raise OSError("closed before the first `event: state`")
            self.bytes += len(chunk)
            seen = seen[-64:] + chunk

    async def hold(self):
        """Reads (the keep-alive pings) until the server closes the stream or we are cancelled."""
        while True:
            chunk = await self.reader.read(65536)
            if not chunk:
                self.closed_early = True
                return
            self.bytes += len(chunk)


async def follow(port, ids, count):
    followers = [Follower(port, ids[i % len(ids)]) for i in range(count)]
    gate = asyncio.Semaphore(CONNECT_AT_ONCE)
    start = time.monotonic()
    await asyncio.gather(*(f.open(gate) for f in followers))
    elapsed = time.monotonic() - start
    ok = [f for f in followers if f.ok]
    errors = {}
    for f in followers:
        if not f.ok:
            errors[f.error] = errors.get(f.error, 0) + 1
    first_error = max(errors, key=errors.get) if errors else ""
    jobs = len(set(f.job_id for f in followers))
    print(f"READY ok={len(ok)} failed={count - len(ok)} jobs={jobs} open_s={elapsed:.2f} "
          f"first_error={first_error!r}", flush=True)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    holders = [asyncio.create_task(f.hold()) for f in ok]
    await stop.wait()
    for task in holders:
        task.cancel()
    await asyncio.gather(*holders, return_exceptions=True)
    still_open = sum(1 for f in ok if not f.closed_early)
    print(f"HELD still_open={still_open} closed_early={len(ok) - still_open} "
          f"bytes={sum(f.bytes for f in followers)}", flush=True)
    for f in followers:
        if f.writer is not None:
            f.writer.close()


def main(argv):
    if len(argv) == 5 and argv[1] == "create":
        create(int(argv[2]), int(argv[3]), argv[4])
    elif len(argv) == 5 and argv[1] == "follow":
        with open(argv[3]) as f:
            ids = [line.strip() for line in f if line.strip()]
        if not ids:
            sys.exit("sse_followers: no job ids in " + argv[3])
        asyncio.run(follow(int(argv[2]), ids, int(argv[4])))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
