"""vox_activity.net.http against real HTTP servers on 127.0.0.1.

The servers run in threads inside the tests.  To test the address guard with a
host it allows, DNS is faked (``vox_activity.net.http.resolve``) so that a test
name resolves to a public address, and urllib3's socket dialling is faked so
that this public address is routed to 127.0.0.1; the faked dialler also
records every address actually dialled.
"""

import datetime
import http.server
import ipaddress
import json
import socket
import ssl
import threading
import time
from dataclasses import dataclass

import pytest
import requests
import requests.adapters
import urllib3.util.connection
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from vox_activity import __version__
from vox_activity.net import http as vox_http
from vox_activity.net.http import (
    BlockedAddressError,
    ConnectError,
    HttpError,
    InvalidURLError,
    RequestTimeoutError,
    ResponseTooLargeError,
    TooManyRedirectsError,
)

#: A public address that no test really reaches: the `routing` fixture sends
#: connections for it to 127.0.0.1.
PUBLIC_IP = "93.184.215.14"

FAST = {
    "HTTP_CONNECT_TIMEOUT": 0.5,
    "HTTP_READ_TIMEOUT": 0.5,
    "HTTP_TOTAL_TIMEOUT": 2.0,
    "USER_AGENT": "vox-tests",
}


# --- a real server -----------------------------------------------------------


@dataclass
class Hit:
    method: str
    path: str
    headers: dict
    body: bytes


def reply(handler, status=200, body=b"", headers=()):
    handler.send_response(status)
    for name, value in headers:
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def echo(handler, hit):
    """The default route: 200 with the request as JSON."""
    body = json.dumps(
        {"method": hit.method, "path": hit.path, "body": hit.body.decode()}
    ).encode()
    reply(handler, body=body, headers=[("Content-Type", "application/json")])


class Server:
    """An HTTP/1.0 server on 127.0.0.1; ``routes`` maps a path to a function."""

    def __init__(self, tls=None):
        self.routes = {}
        self.hits = []
        self.stop = threading.Event()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def handle_any(self):
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

            def log_message(self, *args):
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

    def url(self, path="/", host="127.0.0.1"):
        return f"http://{host}:{self.port}{path}"

    def paths(self):
        return [hit.path for hit in self.hits]

    def trickle(self, handler, data, interval=0.05):
        """Write ``data`` a byte at a time until done, stopped, or hung up on."""
        for byte in data:
            if self.stop.wait(interval):
                return
            try:
                handler.wfile.write(bytes([byte]))
            except OSError:
                return

    def close(self):
        self.stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


@pytest.fixture
def make_server():
    servers = []

    def make(tls=None):
        servers.append(Server(tls))
        return servers[-1]

    yield make
    for server in servers:
        server.close()


@pytest.fixture
def server(make_server):
    return make_server()


@pytest.fixture
def configure(settings):
    """Set VOX_ACTIVITY (fast limits; private addresses allowed unless told)."""

    def configure(**values):
        settings.VOX_ACTIVITY = {
            "INBOX_PROCESSING": "sync",
            **FAST,
            "ALLOW_PRIVATE_ADDRESSES": True,
            **values,
        }

    configure()
    return configure


# --- faked DNS and routing ---------------------------------------------------


@pytest.fixture
def dns(monkeypatch):
    """``dns[name] = [address, ...]`` makes ``name`` resolve to those addresses."""
    table = {}
    real = vox_http.resolve

    def resolve(host, port):
        if host in table:
            return [ipaddress.ip_address(address) for address in table[host]]
        return real(host, port)

    monkeypatch.setattr(vox_http, "resolve", resolve)
    return table


@pytest.fixture
def routing(monkeypatch):
    """Route PUBLIC_IP to 127.0.0.1; returns the list of (address, port) dialled."""
    dialled = []
    real = urllib3.util.connection.create_connection

    def create_connection(address, *args, **kwargs):
        host, port = address
        dialled.append((host, port))
        if host == PUBLIC_IP:
            host = "127.0.0.1"
        return real((host, port), *args, **kwargs)

    monkeypatch.setattr(urllib3.util.connection, "create_connection", create_connection)
    return dialled


@pytest.fixture
def no_connect(monkeypatch):
    """Fail the test if any socket connects; returns the attempts."""
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise AssertionError(f"a connection was attempted: {args}")

    monkeypatch.setattr(urllib3.util.connection, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    return attempts


# --- ordinary requests -------------------------------------------------------


def test_get_returns_the_complete_response(configure, server):
    def actor(handler, hit):
        body = b'{"type": "Person"}'
        reply(handler, body=body, headers=[("Content-Type", "application/json")])

    server.routes["/actor"] = actor
    response = vox_http.get(server.url("/actor"), {"Accept": "application/json"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["CONTENT-TYPE"] == "application/json"
    assert response.json() == {"type": "Person"}
    assert response.url == server.url("/actor")
    (hit,) = server.hits
    assert hit.method == "GET"
    assert hit.headers["accept"] == "application/json"
    assert hit.headers["host"] == f"127.0.0.1:{server.port}"


def test_post_sends_the_body(configure, server):
    response = vox_http.post(
        server.url("/inbox"), b'{"type": "Follow"}', {"Content-Type": "x/y"}
    )
    assert response.json() == {
        "method": "POST",
        "path": "/inbox",
        "body": '{"type": "Follow"}',
    }
    assert server.hits[0].headers["content-type"] == "x/y"
    assert server.hits[0].headers["content-length"] == "18"


def test_error_statuses_are_returned_not_raised(configure, server):
    server.routes["/busy"] = lambda handler, hit: reply(
        handler, 429, b"slow down", [("Retry-After", "7")]
    )
    response = vox_http.request("GET", server.url("/busy"))
    assert response.status_code == 429
    assert response.headers["retry-after"] == "7"
    assert response.content == b"slow down"


def test_user_agent_names_the_package_and_the_site(configure, server):
    configure(USER_AGENT=None)
    vox_http.get(server.url())
    expected = f"vox-activity/{__version__} (+https://testserver/)"
    assert server.hits[-1].headers["user-agent"] == expected
    assert vox_http.user_agent() == expected

    configure(USER_AGENT="my-bot/2")
    vox_http.get(server.url())
    assert server.hits[-1].headers["user-agent"] == "my-bot/2"

    vox_http.get(server.url(), {"user-agent": "explicit/1"})
    assert server.hits[-1].headers["user-agent"] == "explicit/1"


def test_connection_refused_is_a_connect_error(configure):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ConnectError, match=r"127\.0\.0\.1"):
        vox_http.get(f"http://127.0.0.1:{port}/")


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/file",
        "file:///etc/passwd",
        "gopher://example.com/",
        "http://user:secret@example.com/",
        "http:///no-host",
        "http://example.com:99999/",
        "not a url",
    ],
)
def test_only_plain_http_and_https_urls(configure, no_connect, url):
    with pytest.raises(InvalidURLError):
        vox_http.get(url)
    assert no_connect == []


# --- the address guard -------------------------------------------------------


def _resolves(host):
    try:
        socket.getaddrinfo(host, 80, type=socket.SOCK_STREAM)
    except OSError:
        return False
    return True


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "127.1.2.3",
        "localhost",
        "10.0.0.1",
        "172.16.0.1",
        "192.168.1.1",
        "100.64.0.1",
        "169.254.169.254",
        "0.0.0.0",  # noqa: S104
        "224.0.0.1",
        "240.0.0.1",
        "[::1]",
        "[::]",
        "[::ffff:127.0.0.1]",
        "[::ffff:a9fe:a9fe]",
        "[64:ff9b::a00:1]",
        "[fe80::1]",
        "[fc00::1]",
        "[ff02::1]",
        "0x7f000001",
        "2130706433",
        "0177.0.0.1",
    ],
)
def test_guard_refuses_non_public_addresses_without_connecting(
    configure, server, no_connect, host
):
    configure(ALLOW_PRIVATE_ADDRESSES=False)
    url = f"http://{host}:{server.port}/"
    # Numeric spellings (hex, one integer, octal) are refused once the
    # resolver turns them into 127.0.0.1, or fail to resolve at all.
    expected = BlockedAddressError if _resolves(host.strip("[]")) else ConnectError
    with pytest.raises(expected) as caught:
        vox_http.get(url)
    assert no_connect == []
    assert server.hits == []
    if expected is BlockedAddressError:
        assert 'VOX_ACTIVITY["ALLOW_PRIVATE_ADDRESSES"]' in str(caught.value)
        assert caught.value.url == url


def test_guard_refuses_a_name_if_any_of_its_addresses_is_private(
    configure, dns, no_connect
):
    configure(ALLOW_PRIVATE_ADDRESSES=False)
    dns["intranet.test"] = ["192.168.1.10"]
    dns["mixed.test"] = [PUBLIC_IP, "10.1.2.3"]
    with pytest.raises(BlockedAddressError, match=r"intranet\.test.*192\.168\.1\.10"):
        vox_http.get("https://intranet.test/")
    with pytest.raises(BlockedAddressError, match=r"mixed\.test.*10\.1\.2\.3"):
        vox_http.get("https://mixed.test/")
    assert no_connect == []


def test_guard_allows_public_names_and_pins_the_connection(
    configure, server, dns, routing
):
    configure(ALLOW_PRIVATE_ADDRESSES=False)
    dns["social.test"] = [PUBLIC_IP]
    response = vox_http.get(server.url("/actor", host="social.test"))
    assert response.status_code == 200
    assert response.url == f"http://social.test:{server.port}/actor"
    # Connected to the checked address, but spoke to the host by name.
    assert routing == [(PUBLIC_IP, server.port)]
    assert server.hits[0].headers["host"] == f"social.test:{server.port}"


def test_redirect_to_a_private_address_is_refused(configure, server, dns, routing):
    configure(ALLOW_PRIVATE_ADDRESSES=False)
    dns["social.test"] = [PUBLIC_IP]
    dns["intranet.test"] = ["10.0.0.7"]
    server.routes["/to-loopback"] = lambda handler, hit: reply(
        handler, 302, headers=[("Location", server.url("/secret"))]
    )
    server.routes["/to-intranet"] = lambda handler, hit: reply(
        handler, 307, headers=[("Location", "http://intranet.test/secret")]
    )
    with pytest.raises(BlockedAddressError, match=r"127\.0\.0\.1"):
        vox_http.get(server.url("/to-loopback", host="social.test"))
    with pytest.raises(BlockedAddressError, match=r"intranet\.test"):
        vox_http.get(server.url("/to-intranet", host="social.test"))
    assert server.paths() == ["/to-loopback", "/to-intranet"]
    assert routing == [(PUBLIC_IP, server.port)] * 2


def test_dns_rebinding_cannot_redirect_the_connection(
    configure, server, routing, monkeypatch
):
    """The name is resolved once per request; the socket goes where it said."""
    configure(ALLOW_PRIVATE_ADDRESSES=False)
    answers = iter([PUBLIC_IP, "127.0.0.1", "127.0.0.1"])
    lookups = []
    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host != "rebind.test":
            return real_getaddrinfo(host, port, *args, **kwargs)
        lookups.append(host)
        address = (next(answers), port)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", address)]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    url = server.url("/", host="rebind.test")

    # First answer public: checked, and the connection goes to that address
    # (a second lookup by the HTTP library would have returned 127.0.0.1).
    assert vox_http.get(url).status_code == 200
    assert lookups == ["rebind.test"]
    assert routing == [(PUBLIC_IP, server.port)]

    # The next request looks again, sees the private answer, and refuses.
    with pytest.raises(BlockedAddressError):
        vox_http.get(url)
    assert routing == [(PUBLIC_IP, server.port)]
    assert len(server.hits) == 1


def test_next_checked_address_is_tried_when_one_is_unreachable(configure, server, dns):
    # Nothing listens on 127.0.0.2 (the server is bound to 127.0.0.1 only).
    dns["dual.test"] = ["127.0.0.2", "127.0.0.1"]
    assert vox_http.get(server.url("/", host="dual.test")).status_code == 200


def make_certificate(name, issuer_key=None, issuer=None):
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer or subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
    )
    if issuer is None:
        builder = builder.add_extension(
            x509.BasicConstraints(ca=True, path_length=None), critical=True
        )
    else:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False
        )
    return key, builder.sign(issuer_key or key, hashes.SHA256())


def test_https_goes_to_the_checked_address_but_verifies_the_name(
    configure, make_server, dns, routing, monkeypatch, tmp_path
):
    configure(ALLOW_PRIVATE_ADDRESSES=False)
    ca_key, ca = make_certificate("Test CA")
    key, certificate = make_certificate("social.test", ca_key, ca.subject)
    pem = serialization.Encoding.PEM
    (tmp_path / "ca.pem").write_bytes(ca.public_bytes(pem))
    (tmp_path / "server.pem").write_bytes(
        certificate.public_bytes(pem)
        + key.private_bytes(
            pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    monkeypatch.setattr(
        requests.adapters, "DEFAULT_CA_BUNDLE_PATH", str(tmp_path / "ca.pem")
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "server.pem")
    server_names = []
    context.sni_callback = lambda sock, name, context: server_names.append(name)
    server = make_server(tls=context)
    dns["social.test"] = dns["impostor.test"] = [PUBLIC_IP]

    response = vox_http.get(f"https://social.test:{server.port}/")
    assert response.status_code == 200
    assert routing == [(PUBLIC_IP, server.port)]
    assert server_names == ["social.test"]
    assert server.hits[0].headers["host"] == f"social.test:{server.port}"

    # Same address, but the certificate is not for this name.
    with pytest.raises(ConnectError, match=r"impostor\.test"):
        vox_http.get(f"https://impostor.test:{server.port}/")
    assert len(server.hits) == 1


def test_connections_refuse_addresses_the_guard_did_not_check(configure, server):
    """Defence in depth: the connection layer never dials a name by itself."""
    with pytest.raises(BlockedAddressError):
        vox_http._adapter().send(requests.Request("GET", server.url()).prepare())
    with pytest.raises(BlockedAddressError):
        vox_http._GuardedHTTPConnection("localhost", server.port).connect()
    configure(ALLOW_PRIVATE_ADDRESSES=False)
    with pytest.raises(BlockedAddressError):
        vox_http._GuardedHTTPConnection("127.0.0.1", server.port).connect()
    assert server.hits == []


# --- size cap ----------------------------------------------------------------


def chunked(handler, pieces):
    # This server hangs up after each answer, so it says so: a client that
    # pooled the connection could send its next request into the hang-up.
    handler.wfile.write(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )
    for piece in pieces:
        handler.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
    handler.wfile.write(b"0\r\n\r\n")


def unframed(handler, body):
    """No Content-Length, not chunked: the body ends when the server hangs up."""
    handler.wfile.write(b"HTTP/1.0 200 OK\r\n\r\n" + body)


def test_body_at_the_cap_is_accepted(configure, server):
    configure(HTTP_MAX_RESPONSE_SIZE=1000)
    server.routes["/exact"] = lambda handler, hit: reply(handler, body=b"a" * 1000)
    server.routes["/chunked"] = lambda handler, hit: chunked(handler, [b"b" * 500] * 2)
    server.routes["/unframed"] = lambda handler, hit: unframed(handler, b"c" * 1000)
    assert vox_http.get(server.url("/exact")).content == b"a" * 1000
    assert vox_http.get(server.url("/chunked")).content == b"b" * 1000
    assert vox_http.get(server.url("/unframed")).content == b"c" * 1000


def test_declared_length_over_the_cap_is_refused_before_reading(configure, server):
    configure(HTTP_MAX_RESPONSE_SIZE=1000)

    def huge(handler, hit):
        handler.wfile.write(b"HTTP/1.0 200 OK\r\nContent-Length: 50000000\r\n\r\n")
        handler.wfile.write(b"x" * 10)
        server.stop.wait(5)  # reading the body would end in a timeout instead

    server.routes["/huge"] = huge
    with pytest.raises(ResponseTooLargeError, match="1000 bytes"):
        vox_http.get(server.url("/huge"))


def test_chunked_body_over_the_cap_is_abandoned(configure, server):
    configure(HTTP_MAX_RESPONSE_SIZE=1000)
    server.routes["/big"] = lambda handler, hit: chunked(handler, [b"x" * 300] * 50)
    with pytest.raises(ResponseTooLargeError):
        vox_http.get(server.url("/big"))


def test_unframed_body_over_the_cap_is_abandoned(configure, server):
    configure(HTTP_MAX_RESPONSE_SIZE=1000)
    server.routes["/big"] = lambda handler, hit: unframed(handler, b"x" * 5000)
    with pytest.raises(ResponseTooLargeError):
        vox_http.get(server.url("/big"))


def test_lying_content_length_is_still_capped(configure, server):
    configure(HTTP_MAX_RESPONSE_SIZE=1000)

    def liar(handler, hit):
        handler.wfile.write(b"HTTP/1.0 200 OK\r\nContent-Length: 10\r\n\r\n")
        handler.wfile.write(b"x" * 5000)

    server.routes["/liar"] = liar
    # http.client stops at the declared length: only 10 bytes are read.
    assert vox_http.get(server.url("/liar")).content == b"x" * 10


# --- time limits -------------------------------------------------------------


def test_silent_server_hits_the_read_timeout(configure, server):
    configure(HTTP_READ_TIMEOUT=0.2)
    server.routes["/silent"] = lambda handler, hit: server.stop.wait(5)
    started = time.monotonic()
    with pytest.raises(RequestTimeoutError, match="HTTP_READ_TIMEOUT"):
        vox_http.get(server.url("/silent"))
    assert time.monotonic() - started < 1.5


def test_body_that_stalls_hits_the_read_timeout(configure, server):
    configure(HTTP_READ_TIMEOUT=0.2)

    def stall(handler, hit):
        handler.wfile.write(b"HTTP/1.0 200 OK\r\nContent-Length: 100\r\n\r\nabc")
        server.stop.wait(5)

    server.routes["/stall"] = stall
    with pytest.raises(RequestTimeoutError, match="HTTP_READ_TIMEOUT"):
        vox_http.get(server.url("/stall"))


def test_trickled_body_hits_the_total_deadline(configure, server):
    # Every byte arrives well within the read timeout; only the total stops it.
    configure(HTTP_READ_TIMEOUT=0.5, HTTP_TOTAL_TIMEOUT=0.4)

    def trickle(handler, hit):
        handler.wfile.write(b"HTTP/1.0 200 OK\r\nContent-Length: 200\r\n\r\n")
        server.trickle(handler, b"x" * 200)

    server.routes["/trickle"] = trickle
    started = time.monotonic()
    with pytest.raises(RequestTimeoutError, match="HTTP_TOTAL_TIMEOUT"):
        vox_http.get(server.url("/trickle"))
    assert time.monotonic() - started < 1.5


def test_trickled_unframed_body_is_not_mistaken_for_a_complete_one(configure, server):
    configure(HTTP_READ_TIMEOUT=0.5, HTTP_TOTAL_TIMEOUT=0.4)

    def trickle(handler, hit):
        handler.wfile.write(b"HTTP/1.0 200 OK\r\n\r\n")
        server.trickle(handler, b"x" * 200)

    server.routes["/trickle"] = trickle
    with pytest.raises(RequestTimeoutError, match="HTTP_TOTAL_TIMEOUT"):
        vox_http.get(server.url("/trickle"))


def test_trickled_headers_hit_the_total_deadline(configure, server):
    configure(HTTP_READ_TIMEOUT=0.5, HTTP_TOTAL_TIMEOUT=0.4)

    def trickle(handler, hit):
        handler.wfile.write(b"HTTP/1.0 200 OK\r\nX-Slow: ")
        server.trickle(handler, b"y" * 200)

    server.routes["/trickle"] = trickle
    started = time.monotonic()
    with pytest.raises(RequestTimeoutError, match="HTTP_TOTAL_TIMEOUT"):
        vox_http.get(server.url("/trickle"))
    assert time.monotonic() - started < 1.5


def test_total_deadline_spans_redirects(configure, server):
    configure(HTTP_READ_TIMEOUT=0.5, HTTP_TOTAL_TIMEOUT=0.4, HTTP_MAX_REDIRECTS=20)

    def slow_redirect(handler, hit):
        server.stop.wait(0.15)
        reply(handler, 302, headers=[("Location", "/again")])

    server.routes["/again"] = slow_redirect
    with pytest.raises(RequestTimeoutError, match="HTTP_TOTAL_TIMEOUT"):
        vox_http.get(server.url("/again"))
    assert 2 <= len(server.hits) <= 4


# --- redirects ---------------------------------------------------------------


def redirect(status, location):
    return lambda handler, hit: reply(handler, status, headers=[("Location", location)])


def test_redirects_are_followed_up_to_the_limit(configure, server):
    configure(HTTP_MAX_REDIRECTS=2)
    server.routes["/a"] = redirect(301, "/b")
    server.routes["/b"] = redirect(302, server.url("/c"))
    response = vox_http.get(server.url("/a"))
    assert response.status_code == 200
    assert response.url == server.url("/c")
    assert server.paths() == ["/a", "/b", "/c"]


def test_too_many_redirects(configure, server):
    configure(HTTP_MAX_REDIRECTS=2)
    server.routes["/loop"] = redirect(302, "/loop")
    with pytest.raises(TooManyRedirectsError, match="HTTP_MAX_REDIRECTS"):
        vox_http.get(server.url("/loop"))
    assert server.paths() == ["/loop"] * 3


def test_redirect_without_location_is_returned(configure, server):
    server.routes["/odd"] = lambda handler, hit: reply(handler, 302, b"nowhere")
    response = vox_http.get(server.url("/odd"))
    assert (response.status_code, response.content) == (302, b"nowhere")


def test_see_other_turns_post_into_get(configure, server):
    server.routes["/inbox"] = redirect(303, "/done")
    response = vox_http.post(
        server.url("/inbox"), b"payload", {"Content-Type": "application/json"}
    )
    assert response.json() == {"method": "GET", "path": "/done", "body": ""}
    landing = server.hits[1]
    assert "content-type" not in landing.headers
    assert landing.headers.get("content-length") in (None, "0")


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_other_redirects_keep_method_and_body(configure, server, status):
    server.routes["/old-inbox"] = redirect(status, "/new-inbox")
    response = vox_http.post(
        server.url("/old-inbox"), b"payload", {"Content-Type": "application/json"}
    )
    assert response.json() == {
        "method": "POST",
        "path": "/new-inbox",
        "body": "payload",
    }
    assert server.hits[1].headers["content-type"] == "application/json"


def test_redirect_to_another_scheme_is_refused(configure, server):
    server.routes["/file"] = redirect(302, "file:///etc/passwd")
    with pytest.raises(InvalidURLError, match="file:///etc/passwd"):
        vox_http.get(server.url("/file"))


def test_credentials_stay_with_their_origin(configure, make_server, dns):
    first, second = make_server(), make_server()
    dns["one.test"] = dns["two.test"] = ["127.0.0.1"]
    first.routes["/same"] = redirect(302, "/landing")
    first.routes["/away"] = redirect(307, second.url("/landing", host="two.test"))
    credentials = {
        "Authorization": "Bearer secret",
        "Signature": 'keyId="k",signature="s"',
        "Accept": "application/activity+json",
    }

    vox_http.get(first.url("/same", host="one.test"), credentials)
    same = first.hits[-1].headers
    assert same["authorization"] == "Bearer secret"
    assert same["signature"] == 'keyId="k",signature="s"'

    vox_http.get(first.url("/away", host="one.test"), credentials)
    (away,) = [hit.headers for hit in second.hits]
    assert "authorization" not in away
    assert "signature" not in away
    assert away["accept"] == "application/activity+json"
    assert away["host"] == f"two.test:{second.port}"


def test_sign_is_called_for_every_hop(configure, make_server, dns):
    first, second = make_server(), make_server()
    dns["one.test"] = dns["two.test"] = ["127.0.0.1"]
    first.routes["/inbox"] = redirect(303, second.url("/done", host="two.test"))
    calls = []

    def sign(method, url, headers, body):
        calls.append((method, url, headers["Host"], body))
        return {**headers, "Signature": f"{method} {url}"}

    vox_http.post(first.url("/inbox", host="one.test"), b"{}", sign=sign)
    assert calls == [
        ("POST", first.url("/inbox", host="one.test"), f"one.test:{first.port}", b"{}"),
        ("GET", second.url("/done", host="two.test"), f"two.test:{second.port}", None),
    ]
    assert first.hits[0].headers["signature"] == calls[0][0] + " " + calls[0][1]
    assert second.hits[0].headers["signature"] == calls[1][0] + " " + calls[1][1]


def test_every_error_is_an_http_error():
    for error in (
        BlockedAddressError,
        ConnectError,
        InvalidURLError,
        RequestTimeoutError,
        ResponseTooLargeError,
        TooManyRedirectsError,
    ):
        assert issubclass(error, HttpError)


def test_one_watchdog_thread_serves_every_request(configure, server, monkeypatch):
    """No thread is started per request: one shared thread keeps the deadlines."""
    vox_http.get(server.url("/"))  # the watchdog thread exists from now on
    caller = threading.current_thread()
    started_here = []
    real_start = threading.Thread.start

    def start(thread):
        if threading.current_thread() is caller:
            started_here.append(thread.name)
        return real_start(thread)

    monkeypatch.setattr(threading.Thread, "start", start)
    for _ in range(20):
        assert vox_http.get(server.url("/")).status_code == 200
    assert started_here == []
    assert vox_http._watchdog().pending() == 0
    names = [t.name for t in threading.enumerate()]
    assert names.count("vox-activity-http-watchdog") == 1


def test_the_watchdog_wakes_for_a_deadline_earlier_than_the_one_it_waits_for():
    watchdog = vox_http._Watchdog()
    later = vox_http._Deadline(60)
    watchdog.watch(later)
    time.sleep(0.05)  # the thread is asleep until the later deadline
    sooner = vox_http._Deadline(0.01)
    watchdog.watch(sooner)
    limit = time.monotonic() + 10  # liveness bound, far below the 60 s
    while not sooner.expired and time.monotonic() < limit:
        time.sleep(0.01)
    assert sooner.expired
    assert not later.expired
    later.finished = True
    watchdog.forget()
    assert watchdog.pending() == 0


def test_a_finished_request_is_never_expired():
    watchdog = vox_http._Watchdog()
    deadline = vox_http._Deadline(0.01)
    deadline.finished = True
    watchdog.watch(deadline)
    marker = vox_http._Deadline(0.02)
    watchdog.watch(marker)
    limit = time.monotonic() + 10
    while not marker.expired and time.monotonic() < limit:
        time.sleep(0.01)
    assert marker.expired
    assert not deadline.expired
