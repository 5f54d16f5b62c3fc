"""Shared pieces of the trust tests (issue 8, "Trust on the open fediverse").

* :func:`table_counts`: rows in *every* table of vox_activity, to show that
  a refused request wrote nothing anywhere (not only in the tables the inbox
  is expected to touch);
* :class:`SignalLog`: every vox_activity signal sent during a test;
* :class:`HandlerSpy`: what each activity handler hook was given, so a test
  can show that forged content never reaches a handler;
* :class:`TrickleServer`: a hostile HTTP server on loopback that answers one
  byte every few seconds (or never), counting the connections it holds;
* :func:`served_actor`: an actor served by a ``tests.fediverse`` server whose
  private key the test holds, so it can sign requests as that actor.
"""

from __future__ import annotations

import copy
import json
import select
import socket
import threading
import time
from typing import Any

from django.apps import apps

from tests.fediverse import AS_CONTEXT, SECURITY_CONTEXT, RemoteServer
from tests.remote_actors import Remote, private_key, public_key
from vox_activity import signals
from vox_activity.incoming import pipeline

__all__ = [
    "Gauge",
    "HandlerSpy",
    "SignalLog",
    "TrickleServer",
    "served_actor",
    "stored_counts",
    "table_counts",
]


def table_counts() -> dict[str, int]:
    """Rows per model of the vox_activity app (every table it has)."""
    return {
        model._meta.label: model._default_manager.count()
        for model in apps.get_app_config("vox_activity").get_models()
        if not model._meta.proxy
    }


#: The cache of remote actors and their keys, and what their servers are known
#: to accept (DomainHealth.signature_scheme, learnt by the double knock):
#: filled when a sender is fetched (before, and outside, the transaction that
#: stores an activity), so a refused activity may leave its sender cached.
CACHE_TABLES = frozenset(
    {"vox_activity.RemoteActor", "vox_activity.RemoteKey", "vox_activity.DomainHealth"}
)


def stored_counts() -> dict[str, int]:
    """:func:`table_counts` without the remote-actor cache."""
    return {k: v for k, v in table_counts().items() if k not in CACHE_TABLES}


# --- signals -------------------------------------------------------------------


class SignalLog:
    """Every vox_activity signal sent while it is connected: (name, kwargs)."""

    NAMES = (
        "activity_received",
        "follow_requested",
        "follow_accepted",
        "follow_rejected",
        "follow_removed",
    )

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []
        self._receivers = {}
        for name in self.NAMES:

            def receiver(sender: Any, name: str = name, **kwargs: Any) -> None:
                kwargs.pop("signal", None)
                self.events.append((name, {"sender": sender, **kwargs}))

            self._receivers[name] = receiver
            getattr(signals, name).connect(receiver, weak=False)

    def of(self, name: str) -> list[dict[str, Any]]:
        return [kwargs for event, kwargs in self.events if event == name]

    def names(self) -> list[str]:
        return [event for event, _ in self.events]

    def disconnect(self) -> None:
        for name, receiver in self._receivers.items():
            getattr(signals, name).disconnect(receiver)

    def __enter__(self) -> SignalLog:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.disconnect()


# --- handlers ------------------------------------------------------------------


class HandlerSpy:
    """Wraps whatever handler the pipeline picks and records each hook's input.

    ``seen`` holds ``(hook, type, deep copy of incoming.data)`` for
    ``validate``, ``prefetch``, ``recipients`` and ``apply``.
    """

    HOOKS = ("validate", "prefetch", "recipients", "apply")

    def __init__(self, monkeypatch: Any) -> None:
        self.seen: list[tuple[str, str, dict[str, Any]]] = []
        real = pipeline.handler_for
        monkeypatch.setattr(
            pipeline, "handler_for", lambda kind: _Recording(real(kind), self)
        )

    def data_seen_by(self, hook: str) -> list[dict[str, Any]]:
        return [data for name, _kind, data in self.seen if name == hook]

    def everything_seen(self) -> str:
        """All that the hooks were given, as one JSON text (to search in)."""
        return json.dumps([data for _, _, data in self.seen], sort_keys=True)


class _Recording:
    def __init__(self, inner: Any, spy: HandlerSpy) -> None:
        self._inner = inner
        self._spy = spy

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._inner, name)
        if name not in HandlerSpy.HOOKS:
            return attribute

        def hook(incoming: Any) -> Any:
            self._spy.seen.append((name, incoming.type, copy.deepcopy(incoming.data)))
            return attribute(incoming)

        return hook


# --- actors served over real HTTP --------------------------------------------


def served_actor(server: RemoteServer, name: str, key: int, **changes: Any) -> Remote:
    """Serve ``name`` on ``server`` with test key ``key``; the test can sign as it.

    ``changes`` replace fields of the document (``publicKey`` included).
    """
    iri = server.iri(name)
    key_id = f"{iri}#main-key"
    document = {
        "@context": [AS_CONTEXT, SECURITY_CONTEXT],
        "id": iri,
        "type": "Person",
        "preferredUsername": name,
        "inbox": f"{iri}/inbox",
        "outbox": f"{iri}/outbox",
        "followers": f"{iri}/followers",
        "endpoints": {"sharedInbox": server.shared_inbox},
        "publicKey": {"id": key_id, "owner": iri, "publicKeyPem": public_key(key)},
        **changes,
    }
    server.actors[name] = document
    return Remote(iri, key_id, private_key(key), None, document)


# --- a server that never finishes answering ----------------------------------

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
