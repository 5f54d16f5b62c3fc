"""The one outbound HTTP client of vox_activity: guarded, pinned and bounded.

Every request this package makes to another server goes through
:func:`request`, because the URLs it fetches come from strangers: an actor
document, an inbox address or a ``Location`` header is remote input.  Fetched
naively, such a URL lets anyone on the Fediverse make this server talk to its
own network (server-side request forgery: the cloud metadata service at
169.254.169.254, an admin port on localhost) or tie up a worker indefinitely.
So, with limits modelled on Mastodon's outbound client:

* Only public addresses are contacted.  The host is resolved first, every
  address it resolves to is checked, and the connection is made to the
  address that was checked; a DNS answer that changes between check and
  connect (DNS rebinding) cannot slip a private address in.
* Redirects (a few) are followed here, not by requests, so every hop passes the
  same check, and credentials are dropped when the origin changes.
* Time is bounded per step (connect, each read) and in total, across
  redirects; the body is streamed and abandoned once it exceeds the size cap.

All limits are read from settings at call time (see :mod:`vox_activity.conf`).
Non-2xx answers are returned, not raised: the caller decides what a 410 or a
429 with ``Retry-After`` means.  When there is no answer to return, a subclass
of :class:`HttpError` says why.

Requests are not signed here.  A caller that signs passes ``sign``, which is
called for the first request and again for every redirect hop, so each
signature covers the exact method, URL and headers of its hop.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import heapq
import ipaddress
import itertools
import json
import os
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import (
    ConnectTimeoutError,
    DecodeError,
    ProtocolError,
    ReadTimeoutError,
)
from urllib3.exceptions import SSLError as Urllib3SSLError

from vox_activity import __version__
from vox_activity.conf import get_setting
from vox_activity.exceptions import HttpError
from vox_activity.net.budget import current_budget, fetch_slot, note_timeout
from vox_activity.net.transactions import refuse_inside_transaction
from vox_activity.protocol.iri import ascii_int
from vox_activity.site import site_origin

__all__ = [
    "BlockedAddressError",
    "ConnectError",
    "HttpError",
    "InvalidURLError",
    "RequestTimeoutError",
    "Response",
    "ResponseTooLargeError",
    "Signer",
    "TooManyRedirectsError",
    "get",
    "post",
    "request",
    "resolve",
    "user_agent",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

#: ``sign(method, url, headers, body) -> headers``: returns the complete headers
#: to send for one hop (normally the given ones plus ``Signature``).
Signer = Callable[[str, str, dict[str, str], bytes | None], Mapping[str, str]]

_SCHEMES = {"http": 80, "https": 443}
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
#: Headers that describe the body; dropped when a 303 turns the request into GET.
_BODY_HEADERS = (
    "Content-Type",
    "Content-Length",
    "Content-Encoding",
    "Transfer-Encoding",
    "Digest",
    "Content-Digest",
)
#: Headers that prove who we are; never sent on to another origin.
_CREDENTIAL_HEADERS = (
    "Authorization",
    "Proxy-Authorization",
    "Cookie",
    "Signature",
    "Signature-Input",
)
_CHUNK_SIZE = 64 * 1024
_ALLOW_SETTING = 'VOX_ACTIVITY["ALLOW_PRIVATE_ADDRESSES"]'


# --- errors ------------------------------------------------------------------


class InvalidURLError(HttpError):
    """The URL is malformed, carries credentials, or is not http(s)."""


class BlockedAddressError(HttpError):
    """The host is, or resolves to, an address that is not public."""


class ResponseTooLargeError(HttpError):
    """The body is bigger than ``HTTP_MAX_RESPONSE_SIZE``."""


class TooManyRedirectsError(HttpError):
    """More redirects than ``HTTP_MAX_REDIRECTS``."""


class RequestTimeoutError(HttpError):
    """Connecting, a read, or the whole request took too long."""


class ConnectError(HttpError):
    """The server could not be reached, or the connection broke."""


# --- the response ------------------------------------------------------------


@dataclass(frozen=True)
class Response:
    """A complete answer: the body is already read (and within the cap)."""

    status_code: int
    #: Case-insensitive; repeated headers are joined with ", ".
    headers: Mapping[str, str]
    content: bytes
    #: The URL that answered, after redirects.
    url: str

    def json(self) -> Any:
        """The body parsed as JSON; raises ``ValueError`` if it is not JSON."""
        return json.loads(self.content)


# --- the address guard -------------------------------------------------------


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to, in the resolver's order of preference.

    The guard checks these and the connection goes to one of them, so nothing
    else resolves the name again.  Tests replace this function to stand in
    for DNS.
    """
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [ipaddress.ip_address(info[4][0]) for info in infos]


_NAT64_PREFIX = ipaddress.IPv6Network("64:ff9b::/96")


def _effective_address(address: IPAddress) -> IPAddress:
    """The IPv4 address that an IPv4-in-IPv6 address ends up reaching."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:  # ::ffff:127.0.0.1
            return address.ipv4_mapped
        if address.sixtofour is not None:  # 2002:7f00:1::
            return address.sixtofour
        if address in _NAT64_PREFIX:  # 64:ff9b::7f00:1
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


@functools.lru_cache(maxsize=4096)
def _blocked_kind(address: IPAddress) -> str | None:
    """What kind of non-public address this is, or ``None`` if it is public.

    A pure function of the address, checked for every request: kept.
    """
    address = _effective_address(address)
    kinds = (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
        ("non-global", not address.is_global),
    )
    return next((kind for kind, matches in kinds if matches), None)


def _refusal(host: str, address: IPAddress, kind: str, url: str | None) -> HttpError:
    where = host if host == str(address) else f"{host} (which resolves to {address})"
    return BlockedAddressError(
        f"Refused to connect to {where}: it is a {kind} address.  Outbound "
        "requests only go to public addresses, so that remote input cannot "
        "reach this server's own network.  For local development, set "
        f"{_ALLOW_SETTING} = True.",
        url=url,
    )


def _checked_addresses(host: str, port: int, url: str) -> list[IPAddress]:
    """Resolve ``host``, refusing if ANY of its addresses is not public.

    All of them, not just the first: which one gets used is not ours to
    choose (fallback after a failed connect, resolver order).
    """
    try:
        addresses = list(dict.fromkeys(resolve(host, port)))
    except (OSError, UnicodeError, ValueError) as exc:
        raise ConnectError(f"Could not resolve {host}: {exc}", url=url) from exc
    if not addresses:
        raise ConnectError(f"{host} resolves to no address.", url=url)
    if not get_setting("ALLOW_PRIVATE_ADDRESSES"):
        for address in addresses:
            kind = _blocked_kind(address)
            if kind is not None:
                raise _refusal(host, address, kind, url)
    return addresses


# --- URLs --------------------------------------------------------------------


@dataclass(frozen=True)
class _Target:
    url: str  # normalised as it will be sent
    scheme: str
    host: str  # lower case, IDNA-encoded, no brackets
    port: int
    host_header: str

    @property
    def origin(self) -> tuple[str, str, int]:
        return (self.scheme, self.host, self.port)


@functools.lru_cache(maxsize=1024)
def _target(url: str) -> _Target:
    """Check and normalise ``url`` (requests' own normalisation, IDNA and all).

    A pure function of the URL, so its answers are kept: a delivery worker
    sends to the same few hundred inboxes over and over.
    """
    scheme = urlsplit(url).scheme.lower()
    if scheme not in _SCHEMES:
        raise InvalidURLError(
            f"Only http and https URLs can be fetched, not {url!r}.", url=url
        )
    prepared = requests.PreparedRequest()
    try:
        prepared.prepare_url(url, None)
        prepared_url = str(prepared.url or "")
        parts = urlsplit(prepared_url)
        explicit_port = parts.port
    except (requests.RequestException, ValueError) as exc:
        raise InvalidURLError(f"Not a valid URL: {url!r} ({exc})", url=url) from exc
    if not parts.hostname:
        raise InvalidURLError(f"The URL {url!r} has no host.", url=url)
    if "@" in parts.netloc:
        # requests would turn them into an Authorization header, which a
        # redirect could then carry elsewhere.
        raise InvalidURLError(f"The URL {url!r} contains credentials.", url=url)
    host = parts.hostname
    port = explicit_port or _SCHEMES[scheme]
    host_header = f"[{host}]" if ":" in host else host
    if port != _SCHEMES[scheme]:
        host_header += f":{port}"
    return _Target(prepared_url, scheme, host, port, host_header)


# --- the total deadline ------------------------------------------------------

_current_deadline: contextvars.ContextVar[_Deadline | None] = contextvars.ContextVar(
    "vox_activity_http_deadline", default=None
)


class _Deadline:
    """The time one request may take in all, redirects included.

    Socket timeouts bound each wait, not the sum: a server that trickles a byte
    every few seconds never trips them.  So when the budget is spent the
    :class:`_Watchdog` shuts the socket in use down, which wakes whichever
    read is blocked, headers or body.  (DNS resolution and the TLS handshake
    count against the budget but cannot be interrupted; they are bounded by
    the resolver and by the connect timeout.)
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expired = False
        self.finished = False
        self.ends = time.monotonic() + seconds
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._token: contextvars.Token[_Deadline | None] | None = None

    def __enter__(self) -> _Deadline:
        self._token = _current_deadline.set(self)
        _watchdog().watch(self)
        return self

    def __exit__(self, *exc_info: object) -> None:
        with self._lock:
            self.finished = True
            self._sock = None
        _watchdog().forget()
        if self._token is not None:
            _current_deadline.reset(self._token)

    def remaining(self) -> float:
        return self.ends - time.monotonic()

    @property
    def spent(self) -> bool:
        return self.expired or self.remaining() <= 0

    def error(self, url: str) -> RequestTimeoutError:
        return RequestTimeoutError(
            f"Gave up on {url}: the request took longer than its total deadline "
            f'of {self.seconds:g} s (VOX_ACTIVITY["HTTP_TOTAL_TIMEOUT"]).',
            url=url,
        )

    def check(self, url: str) -> None:
        if self.spent:
            raise self.error(url)

    def watch(self, sock: socket.socket) -> None:
        """Shut ``sock`` down when the time is up: it carries this request."""
        with self._lock:
            self._sock = sock
            if self.expired:
                _shut_down(sock)

    def unwatch(self) -> None:
        with self._lock:
            self._sock = None

    def expire(self) -> None:
        """Called by the watchdog when the time is up (unless finished)."""
        with self._lock:
            if self.finished:
                return
            self.expired = True
            if self._sock is not None:
                _shut_down(self._sock)


class _Watchdog:
    """One thread that expires the deadlines of every request of the process.

    A timer thread per request cost more than many requests themselves (a
    thread start, 0.8-1.5 ms, on every delivery).  Here a deadline is a heap
    entry: :meth:`watch` pushes it, the thread sleeps until the earliest one
    and expires it.  A finished request leaves its entry behind (cheap); the
    heap is compacted when such entries make up most of it.
    """

    #: Compact the heap once this many finished entries have piled up.
    COMPACT_AFTER = 1024

    def __init__(self) -> None:
        self._wake = threading.Condition(threading.Lock())
        self._heap: list[tuple[float, int, _Deadline]] = []
        self._order = itertools.count()
        self._finished = 0
        self._thread: threading.Thread | None = None

    def watch(self, deadline: _Deadline) -> None:
        with self._wake:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="vox-activity-http-watchdog", daemon=True
                )
                self._thread.start()
            heapq.heappush(self._heap, (deadline.ends, next(self._order), deadline))
            if self._heap[0][2] is deadline:
                self._wake.notify()

    def forget(self) -> None:
        """A request finished before its deadline; compact now and then."""
        with self._wake:
            self._finished += 1
            if self._finished > self.COMPACT_AFTER and self._finished * 2 > len(
                self._heap
            ):
                self._heap = [entry for entry in self._heap if not entry[2].finished]
                heapq.heapify(self._heap)
                self._finished = 0

    def pending(self) -> int:
        """Deadlines of requests still running (for tests)."""
        with self._wake:
            return sum(1 for entry in self._heap if not entry[2].finished)

    def _run(self) -> None:
        while True:
            with self._wake:
                while self._heap and self._heap[0][2].finished:
                    heapq.heappop(self._heap)
                    self._finished = max(0, self._finished - 1)
                if not self._heap:
                    self._wake.wait()
                    continue
                delay = self._heap[0][0] - time.monotonic()
                if delay > 0:
                    self._wake.wait(delay)
                    continue
                _, _, deadline = heapq.heappop(self._heap)
            deadline.expire()


@functools.cache
def _watchdog() -> _Watchdog:
    return _Watchdog()


def _shut_down(sock: socket.socket) -> None:
    # The plain socket method, also on an SSLSocket: it only has to make the
    # blocked read return, without touching the TLS state the reader is using.
    # Once the socket is really closed this fails harmlessly (its fd is -1).
    with contextlib.suppress(OSError, TypeError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


# --- connections pinned to checked addresses ---------------------------------


class _GuardedConnectionMixin:
    """A connection that only dials a checked literal address, under a deadline.

    The adapter below builds every pool with the checked address as its host,
    so ``self.host`` is an IP literal here; anything else means the guard was
    bypassed, and the connection refuses rather than resolve the name itself.
    """

    host: str

    def _new_conn(self) -> socket.socket:
        try:
            address = ipaddress.ip_address(self.host.strip("[]"))
        except ValueError:
            raise BlockedAddressError(
                f"Refused to connect to {self.host!r}: vox_activity.net.http only "
                "dials addresses that its guard has checked."
            ) from None
        if not get_setting("ALLOW_PRIVATE_ADDRESSES"):
            kind = _blocked_kind(address)
            if kind is not None:
                raise _refusal(self.host, address, kind, None)
        return super()._new_conn()  # type: ignore[misc]

    def getresponse(self) -> Any:
        # Watch the socket itself, not the connection: once the response is
        # marked "will close", the connection forgets its socket while the
        # body is still being read from it.
        deadline = _current_deadline.get()
        sock = getattr(self, "sock", None)
        if deadline is not None and sock is not None:
            deadline.watch(sock)
        return super().getresponse()  # type: ignore[misc]


class _GuardedHTTPConnection(_GuardedConnectionMixin, HTTPConnection):
    pass


class _GuardedHTTPSConnection(_GuardedConnectionMixin, HTTPSConnection):
    pass


class _GuardedPoolMixin:
    def _put_conn(self, conn: Any) -> None:
        # Back in the pool, the connection may go to another request at once:
        # this request's deadline must no longer be able to shut it down.
        deadline = _current_deadline.get()
        if deadline is not None:
            deadline.unwatch()
        super()._put_conn(conn)  # type: ignore[misc]


class _GuardedHTTPPool(_GuardedPoolMixin, HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSPool(_GuardedPoolMixin, HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


class _PinnedRequest(requests.PreparedRequest):
    """A prepared request that carries the address its guard approved."""

    address: str | None = None


class _PinnedAdapter(HTTPAdapter):
    """Pools connections per checked address; TLS still checks the host name.

    The pool's host is the IP literal, so the socket goes exactly where the
    guard looked; ``server_hostname`` keeps SNI and certificate verification
    on the name from the URL, and :func:`request` sends the ``Host`` header.
    """

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _GuardedHTTPPool,
            "https": _GuardedHTTPSPool,
        }

    def build_connection_pool_key_attributes(
        self, request: requests.PreparedRequest, verify: Any, cert: Any = None
    ) -> tuple[Any, Any]:
        # Plain dicts: the stubs' TypedDicts do not name ``server_hostname``,
        # which urllib3's pools accept (SNI and certificate checks use it).
        parent = super().build_connection_pool_key_attributes(request, verify, cert)
        host_params: dict[str, Any] = dict(parent[0])
        pool_kwargs: dict[str, Any] = dict(parent[1])
        address = getattr(request, "address", None)
        if address is None:
            raise BlockedAddressError(
                "Refused to send a request whose address was not checked; use "
                "vox_activity.net.http.request().",
                url=request.url,
            )
        if host_params["scheme"] == "https":
            pool_kwargs["server_hostname"] = host_params["host"]
        host_params["host"] = address
        return host_params, pool_kwargs


@functools.cache
def _adapter() -> _PinnedAdapter:
    """The connection pools, created on first use.

    A bare adapter rather than a ``requests.Session``: ``Session.send`` reads
    the whole body of a redirect response (uncapped) even when not following
    it, and keeps cookies and environment proxy settings, none of which we
    want.  Adapter and pools are thread-safe.
    """
    return _PinnedAdapter()


if hasattr(os, "register_at_fork"):
    # Pooled sockets must not be shared between a parent and its workers, and
    # the watchdog's thread does not survive a fork (nor may its lock).
    os.register_at_fork(after_in_child=_adapter.cache_clear)
    os.register_at_fork(after_in_child=_watchdog.cache_clear)


# --- sending -----------------------------------------------------------------


def user_agent() -> str:
    """``USER_AGENT`` if set, else ``vox-activity/<version> (+<site>/)``."""
    configured = get_setting("USER_AGENT")
    if configured:
        return str(configured)
    return f"vox-activity/{__version__} (+{site_origin()}/)"


def _describe(exc: BaseException) -> str:
    """The innermost cause of a requests/urllib3 error, which says the most."""
    for _ in range(10):
        inner = getattr(exc, "reason", None)
        if not isinstance(inner, BaseException):
            inner = next((a for a in exc.args if isinstance(a, BaseException)), None)
        inner = inner or exc.__cause__
        if inner is None or inner is exc:
            break
        exc = inner
    return str(exc)


def _never_connected(exc: requests.RequestException) -> bool:
    """True if ``exc`` happened before anything was sent (safe to try again)."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, ConnectTimeoutError)  # includes NewConnectionError


@dataclass(frozen=True)
class _Limits:
    connect: float
    read: float
    total: float
    max_size: int
    max_redirects: int

    @classmethod
    def from_settings(cls) -> _Limits:
        """The configured limits, the total cut to the request budget if any."""
        total = float(get_setting("HTTP_TOTAL_TIMEOUT"))
        budget = current_budget()
        if budget is not None:
            total = max(0.001, min(total, budget.remaining()))
        return cls(
            connect=float(get_setting("HTTP_CONNECT_TIMEOUT")),
            read=float(get_setting("HTTP_READ_TIMEOUT")),
            total=total,
            max_size=int(get_setting("HTTP_MAX_RESPONSE_SIZE")),
            max_redirects=int(get_setting("HTTP_MAX_REDIRECTS")),
        )


def _translate(
    exc: requests.RequestException,
    target: _Target,
    deadline: _Deadline,
    timeouts: tuple[float, float],
) -> HttpError:
    url, host = target.url, target.host
    if deadline.spent:
        return deadline.error(url)
    if isinstance(exc, requests.ConnectTimeout):
        return RequestTimeoutError(
            f"Could not connect to {host} within {timeouts[0]:g} s "
            '(VOX_ACTIVITY["HTTP_CONNECT_TIMEOUT"]).',
            url=url,
        )
    if isinstance(exc, requests.ReadTimeout):
        return RequestTimeoutError(
            f"{host} sent nothing for {timeouts[1]:g} s "
            '(VOX_ACTIVITY["HTTP_READ_TIMEOUT"]).',
            url=url,
        )
    if isinstance(exc, requests.exceptions.SSLError):
        return ConnectError(f"TLS with {host} failed: {_describe(exc)}", url=url)
    if isinstance(exc, requests.ConnectionError):
        return ConnectError(f"Could not talk to {host}: {_describe(exc)}", url=url)
    return HttpError(f"Request to {url} failed: {_describe(exc)}", url=url)


def _send(
    prepared: _PinnedRequest,
    target: _Target,
    addresses: list[IPAddress],
    deadline: _Deadline,
    limits: _Limits,
) -> requests.Response:
    """Send one hop, trying the next checked address if one cannot be reached."""
    failure: requests.RequestException | None = None
    timeouts = (limits.connect, limits.read)
    for address in addresses:
        deadline.check(target.url)
        remaining = deadline.remaining()
        timeouts = (min(limits.connect, remaining), min(limits.read, remaining))
        prepared.address = str(address)
        try:
            return _adapter().send(
                prepared, stream=True, timeout=timeouts, verify=True, proxies={}
            )
        except requests.RequestException as exc:
            if not _never_connected(exc) or deadline.spent:
                raise _translate(exc, target, deadline, timeouts) from exc
            failure = exc
    assert failure is not None
    raise _translate(failure, target, deadline, timeouts) from failure


def _read_body(
    response: requests.Response, target: _Target, deadline: _Deadline, limit: int
) -> bytes:
    """The whole body, or an error as soon as it is known to exceed ``limit``."""
    too_large = ResponseTooLargeError(
        f"The response from {target.url} is larger than {limit} bytes "
        '(VOX_ACTIVITY["HTTP_MAX_RESPONSE_SIZE"]); it was abandoned.',
        url=target.url,
    )
    declared = ascii_int(response.headers.get("Content-Length", "").strip())
    if declared is not None and declared > limit:
        raise too_large
    raw = response.raw
    chunks: list[bytes] = []
    received = 0
    try:
        # Decoded bytes are counted, so a small compressed body cannot expand
        # past the limit; raw.tell() bounds what came over the wire as well.
        for chunk in raw.stream(_CHUNK_SIZE, decode_content=True):
            received += len(chunk)
            if received > limit or raw.tell() > limit:
                raise too_large
            chunks.append(chunk)
    except ReadTimeoutError as exc:
        if deadline.spent:
            raise deadline.error(target.url) from exc
        raise RequestTimeoutError(
            f"{target.host} stopped sending its response "
            '(VOX_ACTIVITY["HTTP_READ_TIMEOUT"]).',
            url=target.url,
        ) from exc
    except (ProtocolError, Urllib3SSLError, OSError) as exc:
        if deadline.spent:
            raise deadline.error(target.url) from exc
        raise ConnectError(
            f"The connection to {target.host} broke during the response: "
            f"{_describe(exc)}",
            url=target.url,
        ) from exc
    except DecodeError as exc:
        raise HttpError(
            f"Could not decode the response from {target.url}: {exc}",
            url=target.url,
        ) from exc
    if deadline.expired:
        # Shut down mid-body: what was read may look complete but is not.
        raise deadline.error(target.url)
    return b"".join(chunks)


def _redirected(
    status: int,
    location: str,
    method: str,
    target: _Target,
    headers: CaseInsensitiveDict[str],
    data: bytes | None,
) -> tuple[str, _Target, CaseInsensitiveDict[str], bytes | None]:
    """The next hop's method, target, headers and body after a redirect.

    303 becomes GET (HEAD stays HEAD) without the body; 301, 302, 307 and 308
    keep method and body (turning a POST into a GET, as browsers do on
    301/302, would make a failed delivery look like a success).  Credentials
    stay behind when the origin (scheme, host, port) changes.
    """
    with contextlib.suppress(UnicodeError):
        # http.client decodes headers as Latin-1; servers send UTF-8 URLs.
        location = location.encode("latin-1").decode("utf-8")
    next_target = _target(urljoin(target.url, location))
    headers = CaseInsensitiveDict(headers)
    if status == 303 and method != "HEAD":
        method, data = "GET", None
        for name in _BODY_HEADERS:
            headers.pop(name, None)
    if next_target.origin != target.origin:
        for name in _CREDENTIAL_HEADERS:
            headers.pop(name, None)
    return method, next_target, headers, data


def _send_hop(
    method: str,
    target: _Target,
    headers: CaseInsensitiveDict[str],
    data: bytes | None,
    sign: Signer | None,
    deadline: _Deadline,
    limits: _Limits,
) -> requests.Response:
    """Check the target's addresses, sign if asked, send; headers not yet read."""
    deadline.check(target.url)
    addresses = _checked_addresses(target.host, target.port, target.url)
    to_send = CaseInsensitiveDict(headers)
    to_send["Host"] = target.host_header
    if sign is not None:
        to_send = CaseInsensitiveDict(sign(method, target.url, dict(to_send), data))
    prepared = _PinnedRequest()
    prepared.prepare(method=method, url=target.url, headers=to_send, data=data)
    return _send(prepared, target, addresses, deadline, limits)


def request(
    method: str,
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    data: bytes | None = None,
    sign: Signer | None = None,
) -> Response:
    """Send ``method url`` and return the complete response, redirects followed.

    ``headers`` are sent on every hop to the same origin (``Host`` is always
    ours; ``User-Agent`` defaults to :func:`user_agent`).  ``sign``, if given,
    is called for every hop with its method, URL, headers and body, and
    returns the headers to send.  Non-2xx responses are returned; an
    :class:`HttpError` means there was no response to return.
    """
    refuse_inside_transaction(f"{method} {url}")
    method = method.upper()
    target = _target(url)
    with fetch_slot(target.host, target.url):
        try:
            return _request(method, target, headers, data, sign)
        except RequestTimeoutError:
            note_timeout(target.host)
            raise


def _request(
    method: str,
    target: _Target,
    headers: Mapping[str, str] | None,
    data: bytes | None,
    sign: Signer | None,
) -> Response:
    limits = _Limits.from_settings()
    hop_headers = CaseInsensitiveDict(headers or {})
    hop_headers.setdefault("User-Agent", user_agent())
    redirects = 0
    with _Deadline(limits.total) as deadline:
        while True:
            response = _send_hop(
                method, target, hop_headers, data, sign, deadline, limits
            )
            try:
                location = response.headers.get("Location")
                if response.status_code not in _REDIRECT_STATUSES or not location:
                    content = _read_body(response, target, deadline, limits.max_size)
                    return Response(
                        status_code=response.status_code,
                        headers=CaseInsensitiveDict(response.headers),
                        content=content,
                        url=target.url,
                    )
                if redirects >= limits.max_redirects:
                    raise TooManyRedirectsError(
                        f"Gave up after {redirects} redirect(s) "
                        '(VOX_ACTIVITY["HTTP_MAX_REDIRECTS"] = '
                        f"{limits.max_redirects}): {target.url} redirects "
                        f"again, to {location}.",
                        url=target.url,
                    )
                redirects += 1
                # The redirect's own body is not wanted: close() drops it.
                method, target, hop_headers, data = _redirected(
                    response.status_code, location, method, target, hop_headers, data
                )
            finally:
                deadline.unwatch()
                response.close()


def get(
    url: str,
    headers: Mapping[str, str] | None = None,
    *,
    sign: Signer | None = None,
) -> Response:
    """``GET url``; see :func:`request`."""
    return request("GET", url, headers=headers, sign=sign)


def post(
    url: str,
    data: bytes,
    headers: Mapping[str, str] | None = None,
    *,
    sign: Signer | None = None,
) -> Response:
    """``POST data`` to ``url``; see :func:`request`."""
    return request("POST", url, headers=headers, data=data, sign=sign)
