"""A hostile server on loopback that never finishes answering.

:class:`TrickleServer` accepts every connection, reads the request, then
sends its answer one byte every few seconds (the slowloris of answers); its
:class:`Gauge` counts the connections it holds.  It is for the tests of
bounded network use (``test_trust_bounded_network.py``), where real sockets
and real timeouts are the point; the in-process ``remote_web`` cannot trickle.
"""

from __future__ import annotations

import select
import socket
import threading
import time

__all__ = ["TRICKLED", "Gauge", "TrickleServer"]

#: What the trickle server sends, a byte at a time: headers that promise a
#: body longer than anyone will wait for.
TRICKLED = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/activity+json\r\n"
    b"Content-Length: 100000\r\n\r\n{" + b" " * 99_999
)


class Gauge:
    """Connections held at once, now and at most (shared by several servers)."""

    def __init__(self) -> None:
        self.connections = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()

    def opened(self) -> None:
        with self._lock:
            self.connections += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def closed(self) -> None:
        with self._lock:
            self.in_flight -= 1


class TrickleServer:
    """Accepts every connection, reads the request, then sends one byte per
    ``interval`` seconds (the slowloris of answers).

    Its :class:`Gauge` (``gauges``: its own, and a shared one if given)
    counts the connections accepted, those still held and the most held at
    once.  A client that gives up is noticed at once (its end of the socket
    becomes readable), so the counts follow what the client does, not the
    trickle's pace.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        interval: float = 2.0,
        shared: Gauge | None = None,
    ) -> None:
        self.interval = interval
        self.gauge = Gauge()
        self._gauges = [self.gauge, *([shared] if shared else [])]
        self._stopping = threading.Event()
        self._sock = socket.create_server((host, 0), backlog=128)
        self._sock.settimeout(0.05)
        self.host, self.port = self._sock.getsockname()[:2]
        self._threads: list[threading.Thread] = []
        self._acceptor = threading.Thread(target=self._accept, daemon=True)
        self._acceptor.start()

    @property
    def origin(self) -> str:
        return f"http://{self.host}:{self.port}"

    def url(self, path: str, host: str | None = None) -> str:
        """A URL of this server, optionally under another name for its host."""
        return f"http://{host or self.host}:{self.port}{path}"

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        for gauge in self._gauges:
            gauge.opened()
        try:
            conn.settimeout(5)
            request = b""
            while b"\r\n\r\n" not in request:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                request += chunk
            for index in range(len(TRICKLED)):
                if not self._pause(conn):
                    return  # stopped, or the client hung up
                conn.sendall(TRICKLED[index : index + 1])
        except OSError:
            return
        finally:
            for gauge in self._gauges:
                gauge.closed()
            conn.close()

    def _pause(self, conn: socket.socket) -> bool:
        """Wait one interval; False as soon as stopping or the client hangs up."""
        ends = time.monotonic() + self.interval
        while (left := ends - time.monotonic()) > 0:
            readable, _, _ = select.select([conn], [], [], min(left, 0.05))
            if self._stopping.is_set() or (readable and not conn.recv(1)):
                return False
        return True

    def close(self) -> None:
        self._stopping.set()
        self._sock.close()
        self._acceptor.join(5)
        for thread in self._threads:
            thread.join(5)
