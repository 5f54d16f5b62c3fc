#!/usr/bin/env python3
"""Fake remote inboxes for the delivery benchmarks: standard library only.

Run as a separate process (so that serving does not compete for the
benchmark's GIL)::

    python3 bench/fake_inboxes.py 10

It starts that many ``ThreadingHTTPServer`` on 127.0.0.1 (free ports, one
thread each, a thread per connection, HTTP/1.1 keep-alive), prints one JSON
line ``{"ports": [...]}`` on stdout, then serves until stdin is closed or the
process is terminated.  Every POST is read in full and answered ``202`` with an
empty body; nothing is checked, so the benchmark measures the sender.

Control requests, on any of the ports:

* ``GET /_bench/stats``: ``{"posts", "distinct", "errors", "cpu_seconds",
  "first_post_at", "last_post_at", "samples"}`` — POSTs since the last
  reset, distinct (inbox path, activity id) pairs among them, requests that
  were not a POST of a JSON object, this process's CPU time, the wall-clock
  times (``time.time()``) of the first and the last POST, and the first two
  POSTs each port received (method, path, headers, base64 body) for
  signature checks;
* ``POST /_bench/reset``: zero the counters and samples.
"""

from __future__ import annotations

import base64
import contextlib
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SAMPLES_PER_PORT = 2


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.posts = 0
        self.errors = 0
        self.first_post_at: float | None = None
        self.last_post_at: float | None = None
        self.seen: set[tuple[str, str]] = set()
        self.samples: dict[int, list[dict]] = {}

    def snapshot(self) -> dict:
        with self.lock:
            return {
                "posts": self.posts,
                "distinct": len(self.seen),
                "errors": self.errors,
                "cpu_seconds": time.process_time(),
                "first_post_at": self.first_post_at,
                "last_post_at": self.last_post_at,
                "samples": [
                    s for port in sorted(self.samples) for s in self.samples[port]
                ],
            }


STATS = Stats()


class InboxHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the sender pools connections

    def log_message(self, format, *args):
        pass

    def _answer(self, status: int, body: bytes = b"", kind: str = "") -> None:
        self.send_response(status)
        if kind:
            self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def do_GET(self):
        if self.path == "/_bench/stats":
            body = json.dumps(STATS.snapshot()).encode()
            self._answer(200, body, "application/json")
        else:
            with STATS.lock:
                STATS.errors += 1
            self._answer(404)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.path == "/_bench/reset":
            with STATS.lock:
                STATS.reset()
            self._answer(204)
            return
        try:
            activity_id = json.loads(body)["id"]
        except (ValueError, KeyError, TypeError):
            activity_id = None
        port = self.server.server_address[1]
        with STATS.lock:
            if activity_id is None:
                STATS.errors += 1
            else:
                STATS.posts += 1
                STATS.last_post_at = time.time()
                STATS.first_post_at = STATS.first_post_at or STATS.last_post_at
                STATS.seen.add((self.path, activity_id))
                samples = STATS.samples.setdefault(port, [])
                if len(samples) < SAMPLES_PER_PORT:
                    samples.append(
                        {
                            "method": self.command,
                            "path": self.path,
                            "headers": list(self.headers.items()),
                            "body": base64.b64encode(body).decode("ascii"),
                        }
                    )
        self._answer(202)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128


def main() -> int:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    servers = [Server(("127.0.0.1", 0), InboxHandler) for _ in range(count)]
    for server in servers:
        # A short poll interval: shutdown() below then takes a moment, not 0.5 s
        # per server.
        loop = threading.Thread(target=server.serve_forever, args=(0.05,))
        loop.daemon = True
        loop.start()
    ports = [server.server_address[1] for server in servers]
    print(json.dumps({"ports": ports}), flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        sys.stdin.read()  # until the benchmark closes our stdin (or ends)
    for server in servers:
        server.shutdown()
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
