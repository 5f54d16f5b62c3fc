"""Fixtures shared by the whole suite (helpers are in ``tests/support/``).

* process state: caches emptied around every test (autouse);
* the test site: users who are actors (``alice``, ``bob``), an ``article``,
  notification templates, ``ap_client``;
* remote actors: ``carol`` and ``dave`` on remote.example, ``erin`` on
  other.example, cached with keys the test holds (a module may define its
  own ``carol`` where she needs more, as pytest lets a closer fixture win);
* the network: ``remote_web``, the in-process fake of other servers, and
  its modes as fixtures, ``offline``, ``unreachable`` and
  ``every_inbox_accepts``;
* tasks: ``dummy_tasks``, a backend that records and runs nothing;
* keys and signatures: ``real_key_size``, ``other_private_key``, ``httpsig``
  (the independent verifier);
* observers: ``received`` (every vox_activity signal);
* services: ``redis_server`` for the RQ tests;
* outbound over the wire, for the modules that deliver to the servers of
  ``tests/fediverse.py`` (``test_outbound_keys``, ``test_remote_actor_fetching``,
  ``test_delivery_sending``, ``test_delivery_retries``,
  ``test_server_health_and_admin``): ``configure`` (fast limits, draft-cavage),
  ``fediverse``, ``server`` with its actor ``zed``, ``trust``, ``alice_doc`` and
  ``instance_doc``, ``send`` and ``deliver``.  Other modules that need a
  ``server`` or a ``configure`` of another kind define their own, which wins;
* the HTTP client against loopback servers (``test_http_*``): ``make_server``,
  ``dns``, ``routing`` and ``no_connect``.
"""

from __future__ import annotations

import importlib
import importlib.util
import ipaddress
import os
import socket
import sys
import types
from collections.abc import Callable, Iterator

import pytest
import urllib3.util.connection
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django_vox.models import Template
from django_vox.registry import objects as vox_registry

from testsite.blog.models import Article
from testsite.redis_server import RedisError, RedisServer
from vox_activity.compat import tasks_module
from vox_activity.models import Delivery
from vox_activity.models.remote import forget_blocked_domains, forget_recent_keys
from vox_activity.net import http
from vox_activity.net.signing import forget_signing_keys
from vox_activity.outgoing.publish import publish
from vox_activity.protocol.cavage import generate_private_key_pem

from .fediverse import Fediverse, RemoteServer
from .support.constants import AP
from .support.local_site import APClient, notification
from .support.loopback_http import PUBLIC_IP, Server, client_settings
from .support.outbound import FAST, note
from .support.records import SignalLog
from .support.remote_actors import Remote, make_remote
from .support.remote_web import ANY_URL, RemoteWeb
from .support.services import unavailable


@pytest.fixture(autouse=True)
def _fresh_process_state():
    """Per-process memories (the cache, parsed signing keys) start empty.

    The database is rolled back after each test, but the local-memory cache
    (key failures, slow hosts, rate counters), the signing-key cache and the
    remembered remote keys are not, and a key made in one test must not sign
    (or verify) in the next.
    """
    cache.clear()
    forget_signing_keys()
    forget_blocked_domains()
    forget_recent_keys()
    yield
    cache.clear()
    forget_signing_keys()
    forget_blocked_domains()
    forget_recent_keys()


# --- the test site -------------------------------------------------------------


@pytest.fixture
def make_user(db):
    def make(username, **extra):
        return get_user_model().objects.create_user(
            username=username, password="pw", **extra
        )

    return make


@pytest.fixture
def alice(make_user):
    return make_user("alice", first_name="Alice", last_name="Liddell")


@pytest.fixture
def bob(make_user):
    return make_user("bob")


@pytest.fixture
def article_templates(db):
    """Activity templates: new articles go to subscribers; edits too."""
    created = notification(Article, "created")
    Template.objects.create(
        notification=created,
        backend="activity",
        recipients="c:subscribers",
        subject="New article: {{ object.title }}",
        content="{{ object.author.username }} wrote {{ object.title }}",
        bulk=True,
    )
    return created


@pytest.fixture
def article(alice):
    return Article.objects.create(author=alice, title="Hello", slug="hello", body="Hi")


@pytest.fixture
def make_template(db):
    """make_template(Model, codename, recipients, subject=..., content=...)."""

    def make(model, codename, recipients, subject="", content="", bulk=True):
        return Template.objects.create(
            notification=notification(model, codename),
            backend="activity",
            recipients=recipients,
            subject=subject,
            content=content,
            bulk=bulk,
        )

    return make


@pytest.fixture
def ap_client(client) -> APClient:
    """The test client, asking for ActivityPub JSON by default."""
    return APClient(client)


# --- remote actors ---------------------------------------------------------------


@pytest.fixture
def carol(db) -> Remote:
    """carol@remote.example, cached, signing with test key 0."""
    return make_remote("carol")


@pytest.fixture
def dave(db) -> Remote:
    """Another actor on carol's server (test key 1)."""
    return make_remote("dave", key=1)


@pytest.fixture
def erin(db) -> Remote:
    """An actor on another server, other.example (test key 2)."""
    return make_remote("erin", "other.example", key=2)


# --- the network and tasks -------------------------------------------------------


@pytest.fixture
def remote_web(monkeypatch) -> Iterator[RemoteWeb]:
    """Other servers, in process, in place of ``vox_activity.net.http.request``.

    Serves what the test puts in it and records every request
    (``tests/support/remote_web.py``).  After ``remote_web.offline()``, any
    request for what was not served fails the test, here as well as where it
    was made (in case the code under test swallowed the failure).
    """
    web = RemoteWeb()
    monkeypatch.setattr(http, "request", web)
    yield web
    if web.unexpected:
        pytest.fail(
            "the network was used: "
            + ", ".join(f"{sent.method} {sent.url}" for sent in web.unexpected),
            pytrace=False,
        )


@pytest.fixture
def every_inbox_accepts(remote_web) -> RemoteWeb:
    """Every URL answers 202, unless a test serves another answer (``once``) first."""
    remote_web.serve(ANY_URL, status=202)
    return remote_web


@pytest.fixture
def offline(remote_web) -> RemoteWeb:
    """No request may reach another server: any request not served fails the test.

    For modules where everything is local or cached:
    ``pytestmark = pytest.mark.usefixtures("offline")``.
    """
    remote_web.offline()
    return remote_web


@pytest.fixture
def unreachable(remote_web) -> RemoteWeb:
    """The network is down: any request not served raises ``ConnectError``."""
    remote_web.unreachable()
    return remote_web


@pytest.fixture
def dummy_tasks(settings):
    """A task backend that runs nothing and records what is enqueued.

    Deliveries are then asserted on their rows and on ``dummy_tasks.results``.
    """
    module = tasks_module()
    settings.TASKS = {
        "default": {"BACKEND": f"{module.__name__}.backends.dummy.DummyBackend"}
    }
    backend = module.task_backends["default"]
    backend.clear()
    return backend


# --- observers -------------------------------------------------------------------


@pytest.fixture
def received() -> Iterator[SignalLog]:
    """Every vox_activity signal sent during the test, in order."""
    log = SignalLog()
    yield log
    log.disconnect()


@pytest.fixture
def real_key_size(settings):
    """Our actors get 2048-bit keys, not the suite's 1024 (tests/settings.py).

    For the tests that judge key sizes (the diagnostics warn below 2048).
    """
    settings.VOX_ACTIVITY = {**settings.VOX_ACTIVITY, "KEY_SIZE": 2048}


@pytest.fixture(scope="session")
def other_private_key() -> str:
    """An RSA private key no actor has: what it signs must not verify."""
    return generate_private_key_pem()


@pytest.fixture
def httpsig(monkeypatch):
    """The independent ``httpsig`` package.

    httpsig 1.3.0 imports ``pkg_resources`` only to read its own version, and
    current setuptools no longer ships that module; a stand-in built on
    importlib.metadata is put in place for the import when it is missing.
    """
    if (
        "httpsig" not in sys.modules
        and importlib.util.find_spec("pkg_resources") is None
    ):
        from importlib.metadata import PackageNotFoundError, version

        shim = types.ModuleType("pkg_resources")
        shim.DistributionNotFound = PackageNotFoundError
        shim.get_distribution = lambda name: types.SimpleNamespace(
            version=version(name)
        )
        monkeypatch.setitem(sys.modules, "pkg_resources", shim)
    module = importlib.import_module("httpsig")
    assert module.__version__ == "1.3.0"
    return module


# --- services --------------------------------------------------------------------


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A Redis server for the tests that run RQ workers.

    * with ``REDIS_URL`` set (``.ci/run`` starts a private server and sets it),
      that server; it must answer.  The tests empty the Redis databases they
      use (see ``testsite.redis_server.DATABASES``): point ``REDIS_URL`` at a
      throwaway server, never at one holding data you want to keep;
    * otherwise a private ``redis-server`` started on a free loopback port
      with a temporary directory, and stopped (by the pid it started) at the
      end;
    * when neither is possible the tests that need Redis are skipped, with
      the reason, except in CI (``CI=true``), where they fail: CI must run
      them.
    """
    url = os.environ.get("REDIS_URL")
    if url:
        try:
            server = RedisServer.from_url(url)
        except RedisError as exc:
            pytest.fail(f"REDIS_URL: {exc}", pytrace=False)
        if not server.ping():
            pytest.fail(f"nothing answers at REDIS_URL={url}", pytrace=False)
        yield server
        return
    try:
        server = RedisServer.start()
    except RedisError as exc:
        unavailable(
            f"no Redis for the RQ tests: REDIS_URL is not set, and {exc} "
            "(apt-get install redis-server)"
        )
    try:
        yield server
    finally:
        server.stop()


# --- outbound over the wire (tests/fediverse.py) ---------------------------------


@pytest.fixture
def configure(settings):
    """configure(**values): VOX_ACTIVITY = FAST plus ``values``.

    FAST (``tests/support/outbound.py``): limits of a fraction of a second,
    private addresses allowed (the servers are on 127.0.0.1), 1024-bit keys,
    draft-cavage signatures only.
    """

    def configure(**values):
        settings.VOX_ACTIVITY = {"INBOX_PROCESSING": "sync", **FAST, **values}

    configure()
    return configure


@pytest.fixture
def fediverse(httpsig, configure) -> Iterator[Fediverse]:
    """Remote servers on 127.0.0.1 that check every signature with ``httpsig``."""
    net = Fediverse(httpsig)
    yield net
    net.close()


@pytest.fixture
def server(fediverse) -> RemoteServer:
    """Remote server A; its actors use the shared inbox /inbox by default."""
    return fediverse.server()


@pytest.fixture
def zed(server) -> str:
    """The IRI of zed, an actor on server A."""
    return server.add_actor("zed")


@pytest.fixture
def trust(fediverse, client):
    """trust(path): make the fake servers trust the key of our actor at ``path``.

    The key is read from our actor document, fetched with the test client,
    exactly as a remote server learns it.
    """

    def trust(path):
        response = client.get(path, HTTP_ACCEPT=AP)
        assert response.status_code == 200
        document = response.json()
        fediverse.trust(document)
        return document

    return trust


@pytest.fixture
def alice_doc(alice, trust):
    """alice's actor document, whose key the fake servers now trust."""
    return trust("/~alice/")


@pytest.fixture
def instance_doc(db, trust):
    """The instance actor's document, whose key the fake servers now trust."""
    return trust("/activitypub/actor")


@pytest.fixture
def send(django_capture_on_commit_callbacks):
    """send(data, addresses): publish, then run what waits for the commit."""

    def send(data, addresses=()):
        with django_capture_on_commit_callbacks(execute=True):
            activity = publish(data, list(addresses))
        return activity

    return send


@pytest.fixture
def delivery_settings(settings):
    """delivery_settings(**values): VOX_ACTIVITY = small keys plus ``values``.

    For the delivery tests on ``remote_web``: the default limits and the
    double knock, unlike :func:`configure`'s over-the-wire ones.
    """

    def configure(**values):
        settings.VOX_ACTIVITY = {"KEY_SIZE": 1024, **values}

    configure()
    return configure


@pytest.fixture
def send_note(django_capture_on_commit_callbacks):
    """send_note(actors): publish a note to them, run what waits for the commit."""

    def send(actors, text="Hello"):
        with django_capture_on_commit_callbacks(execute=True):
            return publish(note(text), [a.iri for a in actors], fetch=False)

    return send


@pytest.fixture
def deliver(server, zed, alice_doc, send):
    """deliver(*replies, to=zed): a note by alice, answered with ``replies``.

    Returns the activity's only Delivery row after its first attempt.
    """

    def deliver(*replies, to=None):
        server.reply_with(*replies)
        activity = send(note(), [to or zed])
        return Delivery.objects.get(activity=activity)

    return deliver


# --- the HTTP client against loopback servers (tests/support/loopback_http.py) ---


@pytest.fixture
def make_server() -> Iterator[Callable[..., Server]]:
    """make_server(tls=None): a real HTTP server on 127.0.0.1, closed at the end."""
    servers = []

    def make(tls=None):
        servers.append(Server(tls))
        return servers[-1]

    yield make
    for server in servers:
        server.close()


@pytest.fixture
def http_server(make_server) -> Server:
    """One real HTTP server on 127.0.0.1 (``tests/support/loopback_http.py``)."""
    return make_server()


@pytest.fixture
def http_settings(settings):
    """http_settings(**values): VOX_ACTIVITY for the HTTP client's own tests.

    Fast limits; private addresses allowed unless told (``client_settings``).
    """

    def configure(**values):
        settings.VOX_ACTIVITY = client_settings(**values)

    configure()
    return configure


@pytest.fixture
def dns(monkeypatch):
    """``dns[name] = [address, ...]`` makes ``name`` resolve to those addresses."""
    table = {}
    real = http.resolve

    def resolve(host, port):
        if host in table:
            return [ipaddress.ip_address(address) for address in table[host]]
        return real(host, port)

    monkeypatch.setattr(http, "resolve", resolve)
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


@pytest.fixture
def register(db):
    """register(Model, Registration, regex): django-vox's registry, for one test."""
    saved = dict(vox_registry)

    def add(model, registration, regex):
        vox_registry.add(model, registration, regex=regex)

    yield add
    vox_registry.clear()
    vox_registry.update(saved)
