"""Shared fixtures: users who are actors, templates that route notifications."""

import importlib
import importlib.util
import sys
import types

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django_vox.models import Notification, Template

from testsite.blog.models import Article
from vox_activity.models.remote import forget_blocked_domains
from vox_activity.net.signing import forget_signing_keys


@pytest.fixture(autouse=True)
def _fresh_process_state():
    """Per-process memories (the cache, parsed signing keys) start empty.

    The database is rolled back after each test, but the local-memory cache
    (key failures, slow hosts, rate counters) and the signing-key cache are
    not, and a key made in one test must not sign in the next.
    """
    cache.clear()
    forget_signing_keys()
    forget_blocked_domains()
    yield
    cache.clear()
    forget_signing_keys()
    forget_blocked_domains()


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


def notification(model, codename):
    from django.contrib.contenttypes.models import ContentType

    return Notification.objects.get(
        codename=codename, object_type=ContentType.objects.get_for_model(model)
    )


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


AP = "application/activity+json"
LD = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'


@pytest.fixture
def ap_client(client):
    """The test client, asking for ActivityPub JSON by default."""

    class APClient:
        raw = client

        def get(self, path, accept=AP, **extra):
            return client.get(path, HTTP_ACCEPT=accept, **extra)

        def post(self, path, data, content_type=AP, **extra):
            import json

            body = data if isinstance(data, (bytes, str)) else json.dumps(data)
            return client.post(path, body, content_type=content_type, **extra)

    return APClient()


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
