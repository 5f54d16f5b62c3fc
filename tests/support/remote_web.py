"""The web of other servers, in process: what the ``remote_web`` fixture holds.

Every request vox_activity makes to another server goes through one function,
:func:`vox_activity.net.http.request`; the ``remote_web`` fixture (conftest)
puts a :class:`RemoteWeb` in its place.  It answers the way the real client
does, with a complete :class:`~vox_activity.net.http.Response` or one of its
:class:`~vox_activity.exceptions.HttpError`\\ s, and keeps what the real client
checks first: no request from inside a database transaction
(:func:`~vox_activity.net.transactions.refuse_inside_transaction`), and a
``sign`` callback called with the method, URL, headers and body, whose headers
are the ones "sent".

* ``serve(url, document)`` answers ``url`` with a JSON document (or bytes,
  or only a status); ``once=True`` answers the next request only, then the
  URL falls back to what it answered before; ``serve(ANY_URL, ...)`` answers
  every URL that has no answer of its own (``status=202``: every inbox
  accepts; ``status=503, once=True``: the next request fails, wherever it
  goes);
* every other URL answers 404, or, after ``offline()``, fails the test (a test
  that must not touch the network), or, after ``unreachable()``, raises
  :class:`~vox_activity.net.http.ConnectError` (the network is down);
* ``requests`` records each request as a :class:`SentRequest`; ``urls``
  lists their URLs; ``on_request(callback)`` sees each one as it is made
  (to look at the database at that moment, or to fail at a precise point).

Redirects are the real client's business (``tests/test_http_redirects.py``),
so a redirect status cannot be served: serve the final document at its URL.
For behaviour that needs real sockets (signatures checked by an independent
library, slow or trickling answers, DNS), use the servers of
``tests/fediverse.py`` instead.
"""

from __future__ import annotations

import json
from collections import defaultdict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest
from requests.structures import CaseInsensitiveDict

from vox_activity.net import http
from vox_activity.net.transactions import refuse_inside_transaction

from .constants import AP

__all__ = ["ANY_URL", "RemoteWeb", "SentRequest"]

#: ``serve(ANY_URL, ...)``: the answer for every URL that has none of its own.
ANY_URL = "*"

_REDIRECTS = frozenset({301, 302, 303, 307, 308})


@dataclass(frozen=True)
class SentRequest:
    """One request as the remote server would have received it."""

    method: str
    url: str
    #: Case-insensitive: the caller's headers, as returned by ``sign`` if given.
    headers: Mapping[str, str] = field(repr=False)
    body: bytes | None = field(repr=False)
    #: A ``sign`` callback was given (and its headers are in ``headers``).
    signed: bool = False

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body or b"")


@dataclass(frozen=True)
class _Answer:
    status: int
    headers: Mapping[str, str]
    content: bytes


_NOT_FOUND = _Answer(404, {}, b"")


class RemoteWeb:
    """A callable with the signature of :func:`vox_activity.net.http.request`."""

    def __init__(self) -> None:
        self.requests: list[SentRequest] = []
        #: Requests that ``offline()`` refused (the fixture fails on them too).
        self.unexpected: list[SentRequest] = []
        self._standing: dict[str, _Answer] = {}
        self._once: defaultdict[str, deque[_Answer]] = defaultdict(deque)
        self._otherwise = "not found"
        self._observers: list[Callable[[SentRequest], object]] = []

    # --- what the test sets up -------------------------------------------------

    def serve(
        self,
        url: str,
        document: Any = None,
        *,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        once: bool = False,
    ) -> None:
        """Answer requests for ``url`` with ``status`` and ``document``.

        A ``dict`` or ``list`` is sent as JSON with the ActivityPub media type
        (unless ``headers`` give a ``Content-Type``), ``bytes`` or ``str`` as
        they are, ``None`` as an empty body.  The URL must match exactly, as
        the real client sends it, or be :data:`ANY_URL`.
        """
        if status in _REDIRECTS:
            raise ValueError(
                "the real client follows redirects (tests/test_http_redirects.py); "
                "serve the document at its final URL instead"
            )
        answer_headers: dict[str, str] = dict(headers or {})
        if isinstance(document, dict | list):
            content = json.dumps(document).encode()
            if not any(name.lower() == "content-type" for name in answer_headers):
                answer_headers["Content-Type"] = AP
        elif isinstance(document, str):
            content = document.encode()
        else:
            content = document or b""
        answer = _Answer(status, answer_headers, content)
        if once:
            self._once[url].append(answer)
        else:
            self._standing[url] = answer

    def offline(self) -> None:
        """A request for any URL not served fails the test."""
        self._otherwise = "offline"

    def unreachable(self) -> None:
        """A request for any URL not served raises ``ConnectError``."""
        self._otherwise = "unreachable"

    def on_request(self, callback: Callable[[SentRequest], object]) -> None:
        """Call ``callback(request)`` for every request, before it is answered.

        An exception it raises is what the caller gets instead of an answer.
        """
        self._observers.append(callback)

    # --- what the test asserts on ----------------------------------------------

    @property
    def urls(self) -> list[str]:
        """The URL of every request, in order."""
        return [sent.url for sent in self.requests]

    # --- the stand-in for http.request -----------------------------------------

    def __call__(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        data: bytes | None = None,
        sign: http.Signer | None = None,
    ) -> http.Response:
        refuse_inside_transaction(f"{method} {url}")
        method = method.upper()
        sent_headers: Mapping[str, str] = dict(headers or {})
        if sign is not None:
            sent_headers = sign(method, url, dict(sent_headers), data)
        sent = SentRequest(
            method, url, CaseInsensitiveDict(sent_headers), data, sign is not None
        )
        self.requests.append(sent)
        for observer in self._observers:
            observer(sent)
        answer = self._answer_for(sent)
        return http.Response(
            status_code=answer.status,
            headers=CaseInsensitiveDict(answer.headers),
            content=answer.content,
            url=url,
        )

    def _answer_for(self, sent: SentRequest) -> _Answer:
        for url in (sent.url, ANY_URL):
            queued = self._once.get(url)
            if queued:
                return queued.popleft()
            if url in self._standing:
                return self._standing[url]
        if self._otherwise == "offline":
            self.unexpected.append(sent)
            pytest.fail(
                f"a test tried to reach the network: {sent.method} {sent.url}",
                pytrace=False,
            )
        if self._otherwise == "unreachable":
            raise http.ConnectError(f"{sent.url}: offline in this test", url=sent.url)
        return _NOT_FOUND
