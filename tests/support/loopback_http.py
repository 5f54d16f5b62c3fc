"""Real HTTP servers on 127.0.0.1 for the tests of the HTTP client itself.

:class:`Server` runs ``http.server`` in a thread and answers each path with a
route, a function of the handler and the :class:`Hit` (by default
:func:`echo`, the request as JSON); routes can answer anything a socket can
send, slowly, in pieces, or not at all.  It is for the ``test_http_*``
modules, where the guarded client in :mod:`vox_activity.net.http` must run for
real (address checks, deadlines, size caps, redirects); the ``make_server``,
``dns``, ``routing`` and ``no_connect`` fixtures (conftest) go with it.
Signed ActivityPub traffic is ``tests/fediverse.py``'s business.
"""

from __future__ import annotations

import http.server
import json
import ssl
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

__all__ = ["FAST", "PUBLIC_IP", "Hit", "Server", "client_settings", "echo", "reply"]

#: A public address that no test really reaches: the ``routing`` fixture sends
#: connections for it to 127.0.0.1.
PUBLIC_IP = "93.184.215.14"

#: Limits of a fraction of a second, so that timeouts are quick.
FAST = {
    "HTTP_CONNECT_TIMEOUT": 0.5,
    "HTTP_READ_TIMEOUT": 0.5,
    "HTTP_TOTAL_TIMEOUT": 2.0,
    "USER_AGENT": "vox-tests",
}


def client_settings(**values: Any) -> dict[str, Any]:
    """VOX_ACTIVITY for these tests: FAST, private addresses allowed unless told."""
    return {
        "INBOX_PROCESSING": "sync",
        **FAST,
        "ALLOW_PRIVATE_ADDRESSES": True,
        **values,
    }


@dataclass
class Hit:
    """One request as the server received it (header names in lower case)."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


def reply(
    handler: Any,
    status: int = 200,
    body: bytes = b"",
    headers: Iterable[tuple[str, str]] = (),
) -> None:
    """Answer with ``status``, ``headers`` and ``body`` (its length declared)."""
    handler.send_response(status)
    for name, value in headers:
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def echo(handler: Any, hit: Hit) -> None:
    """The default route: 200 with the request as JSON."""
    body = json.dumps(
        {"method": hit.method, "path": hit.path, "body": hit.body.decode()}
    ).encode()
    reply(handler, body=body, headers=[("Content-Type", "application/json")])


class Server:
    """An HTTP/1.0 server on 127.0.0.1; ``routes`` maps a path to a function."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.routes: dict[str, Callable[[Any, Hit], object]] = {}
        self.hits: list[Hit] = []
        self.stop = threading.Event()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def handle_any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                hit = Hit(
                    self.command,
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    self.rfile.read(length),
                )
                server.hits.append(hit)
                server.routes.get(self.path, echo)(self, hit)

            do_GET = do_POST = do_PUT = handle_any

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        # Clients that hang up on a slow route are expected here.
        self.httpd.handle_error = lambda *args: None
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.01}
        )
        self.thread.start()

    def url(self, path: str = "/", host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def paths(self) -> list[str]:
        return [hit.path for hit in self.hits]

    def trickle(self, handler: Any, data: bytes, interval: float = 0.05) -> None:
        """Write ``data`` a byte at a time until done, stopped, or hung up on."""
        for byte in data:
            if self.stop.wait(interval):
                return
            try:
                handler.wfile.write(bytes([byte]))
            except OSError:
                return

    def close(self) -> None:
        self.stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()
