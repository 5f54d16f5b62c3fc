"""The address guard of vox_activity.net.http: no request to a non-public
address, however it is spelt, resolved, redirected to or rebound; the
connection pinned to the address checked, and TLS still checking the name.

The servers are real, in threads (``tests/support/loopback_http.py``: routes
answer anything a socket can send); ``http_server``, ``http_settings``,
``dns``, ``routing`` and ``no_connect`` are conftest fixtures.

To test the address guard with a host it allows, DNS is faked
(``vox_activity.net.http.resolve``, the ``dns`` fixture) so that a test name
resolves to a public address, and urllib3's socket dialling is faked (the
``routing`` fixture) so that this public address is routed to 127.0.0.1; the
faked dialler also records every address actually dialled.
"""

import datetime
import socket
import ssl

import pytest
import requests
import requests.adapters
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from vox_activity.net import http as vox_http
from vox_activity.net.http import BlockedAddressError, ConnectError

from .support.loopback_http import PUBLIC_IP, reply

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
    http_settings, http_server, no_connect, host
):
    http_settings(ALLOW_PRIVATE_ADDRESSES=False)
    url = f"http://{host}:{http_server.port}/"
    # Numeric spellings (hex, one integer, octal) are refused once the
    # resolver turns them into 127.0.0.1, or fail to resolve at all.
    expected = BlockedAddressError if _resolves(host.strip("[]")) else ConnectError
    with pytest.raises(expected) as caught:
        vox_http.get(url)
    assert no_connect == []
    assert http_server.hits == []
    if expected is BlockedAddressError:
        assert 'VOX_ACTIVITY["ALLOW_PRIVATE_ADDRESSES"]' in str(caught.value)
        assert caught.value.url == url


def test_guard_refuses_a_name_if_any_of_its_addresses_is_private(
    http_settings, dns, no_connect
):
    http_settings(ALLOW_PRIVATE_ADDRESSES=False)
    dns["intranet.test"] = ["192.168.1.10"]
    dns["mixed.test"] = [PUBLIC_IP, "10.1.2.3"]
    with pytest.raises(BlockedAddressError, match=r"intranet\.test.*192\.168\.1\.10"):
        vox_http.get("https://intranet.test/")
    with pytest.raises(BlockedAddressError, match=r"mixed\.test.*10\.1\.2\.3"):
        vox_http.get("https://mixed.test/")
    assert no_connect == []


def test_guard_allows_public_names_and_pins_the_connection(
    http_settings, http_server, dns, routing
):
    http_settings(ALLOW_PRIVATE_ADDRESSES=False)
    dns["social.test"] = [PUBLIC_IP]
    response = vox_http.get(http_server.url("/actor", host="social.test"))
    assert response.status_code == 200
    assert response.url == f"http://social.test:{http_server.port}/actor"
    # Connected to the checked address, but spoke to the host by name.
    assert routing == [(PUBLIC_IP, http_server.port)]
    assert http_server.hits[0].headers["host"] == f"social.test:{http_server.port}"


def test_redirect_to_a_private_address_is_refused(
    http_settings, http_server, dns, routing
):
    http_settings(ALLOW_PRIVATE_ADDRESSES=False)
    dns["social.test"] = [PUBLIC_IP]
    dns["intranet.test"] = ["10.0.0.7"]
    http_server.routes["/to-loopback"] = lambda handler, hit: reply(
        handler, 302, headers=[("Location", http_server.url("/secret"))]
    )
    http_server.routes["/to-intranet"] = lambda handler, hit: reply(
        handler, 307, headers=[("Location", "http://intranet.test/secret")]
    )
    with pytest.raises(BlockedAddressError, match=r"127\.0\.0\.1"):
        vox_http.get(http_server.url("/to-loopback", host="social.test"))
    with pytest.raises(BlockedAddressError, match=r"intranet\.test"):
        vox_http.get(http_server.url("/to-intranet", host="social.test"))
    assert http_server.paths() == ["/to-loopback", "/to-intranet"]
    assert routing == [(PUBLIC_IP, http_server.port)] * 2


def test_dns_rebinding_cannot_redirect_the_connection(
    http_settings, http_server, routing, monkeypatch
):
    """The name is resolved once per request; the socket goes where it said."""
    http_settings(ALLOW_PRIVATE_ADDRESSES=False)
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
    url = http_server.url("/", host="rebind.test")

    # First answer public: checked, and the connection goes to that address
    # (a second lookup by the HTTP library would have returned 127.0.0.1).
    assert vox_http.get(url).status_code == 200
    assert lookups == ["rebind.test"]
    assert routing == [(PUBLIC_IP, http_server.port)]

    # The next request looks again, sees the private answer, and refuses.
    with pytest.raises(BlockedAddressError):
        vox_http.get(url)
    assert routing == [(PUBLIC_IP, http_server.port)]
    assert len(http_server.hits) == 1


def test_next_checked_address_is_tried_when_one_is_unreachable(
    http_settings, http_server, dns
):
    # Nothing listens on 127.0.0.2 (the server is bound to 127.0.0.1 only).
    dns["dual.test"] = ["127.0.0.2", "127.0.0.1"]
    assert vox_http.get(http_server.url("/", host="dual.test")).status_code == 200


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
    http_settings, make_server, dns, routing, monkeypatch, tmp_path
):
    http_settings(ALLOW_PRIVATE_ADDRESSES=False)
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
    http_server = make_server(tls=context)
    dns["social.test"] = dns["impostor.test"] = [PUBLIC_IP]

    response = vox_http.get(f"https://social.test:{http_server.port}/")
    assert response.status_code == 200
    assert routing == [(PUBLIC_IP, http_server.port)]
    assert server_names == ["social.test"]
    assert http_server.hits[0].headers["host"] == f"social.test:{http_server.port}"

    # Same address, but the certificate is not for this name.
    with pytest.raises(ConnectError, match=r"impostor\.test"):
        vox_http.get(f"https://impostor.test:{http_server.port}/")
    assert len(http_server.hits) == 1


def test_connections_refuse_addresses_the_guard_did_not_check(
    http_settings, http_server
):
    """Defence in depth: the connection layer never dials a name by itself."""
    with pytest.raises(BlockedAddressError):
        vox_http._adapter().send(requests.Request("GET", http_server.url()).prepare())
    with pytest.raises(BlockedAddressError):
        vox_http._GuardedHTTPConnection("localhost", http_server.port).connect()
    http_settings(ALLOW_PRIVATE_ADDRESSES=False)
    with pytest.raises(BlockedAddressError):
        vox_http._GuardedHTTPConnection("127.0.0.1", http_server.port).connect()
    assert http_server.hits == []
