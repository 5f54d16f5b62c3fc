"""The site's own origin, and conversions between paths and absolute IRIs.

ActivityPub needs absolute IRIs outside any request (a notification may be
issued from a task), so the origin comes from configuration, exactly as
django-vox finds it (object IRIs built by django-vox and actor IRIs built here
must agree): ``django.contrib.sites`` when installed (with ``SITE_ID``),
otherwise the ``SITE_DOMAIN`` setting; the scheme is https unless
``SITE_SSL = False`` (development only).

A site served under a path prefix (``FORCE_SCRIPT_NAME = "/blog"``) has IRIs
under that prefix (``https://example.org/blog/~alice/``), exactly as
``reverse()`` builds its URLs.  Two kinds of path meet here: the *URL path*
a browser or another server sees (``/blog/~alice/``, what ``reverse()`` and
``get_absolute_url()`` return, and what :func:`absolute_iri` takes), and the
*routed path* Django resolves below the prefix (``/~alice/``,
``request.path_info``, what the registry's regexes match and what
:func:`local_path` returns).
"""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import urlsplit

from django.apps import apps
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.urls import get_script_prefix

__all__ = [
    "absolute_iri",
    "local_path",
    "script_prefix",
    "site_domain",
    "site_origin",
    "site_scheme",
    "url_path",
]


@lru_cache(maxsize=1)
def _sites_installed() -> bool:
    return apps.is_installed("django.contrib.sites")


@receiver(setting_changed)
def _forget_sites_installed(*, setting: str, **_kwargs) -> None:
    if setting == "INSTALLED_APPS":
        _sites_installed.cache_clear()


def site_domain() -> str:
    """The host (and port, if any) remote servers use to reach this site.

    The same answer as django-vox's ``get_current_site().domain``, computed
    cheaply: it runs once per recipient when a notification fans out.
    """
    if _sites_installed():
        from django.contrib.sites.models import Site

        return Site.objects.get_current().domain  # cached by Django
    return getattr(settings, "SITE_DOMAIN", "127.0.0.1:8000")


def site_scheme() -> str:
    return "https" if getattr(settings, "SITE_SSL", True) else "http"


def site_origin() -> str:
    """``scheme://domain``, without a trailing slash."""
    return f"{site_scheme()}://{site_domain()}"


def script_prefix() -> str:
    """The path the site is served under: ``/``, or ``/blog/`` (ends with ``/``).

    The very prefix ``reverse()`` puts in front of every URL (Django sets it
    from ``FORCE_SCRIPT_NAME`` when a process starts and for each request),
    so that actor IRIs and the object IRIs a site builds with ``reverse()``
    always agree.
    """
    return get_script_prefix()


def url_path(routed_path: str) -> str:
    """A routed path (``/~alice/``) as a URL path (``/blog/~alice/``).

    For paths that do not come from ``reverse()``: django-vox's registry
    reverses its regexes to paths from the site's root.
    """
    return script_prefix() + routed_path.lstrip("/")


def absolute_iri(path: str) -> str:
    """Turn a URL path (``/~alice/``, ``/blog/~alice/``) into an absolute IRI.

    ``path`` is a path as ``reverse()`` returns it: with the script prefix.
    """
    if path.startswith(("http://", "https://")):
        return path
    if not path.startswith("/"):
        path = "/" + path
    return site_origin() + path


def local_path(
    iri: str, domain: str | None = None, prefix: str | None = None
) -> str | None:
    """The routed path of ``iri`` if it points into this site, else ``None``.

    The routed path is what Django resolves, below the script prefix
    (``https://example.org/blog/~alice/`` → ``/~alice/`` when the site runs
    under ``/blog``): what the registry's regexes match.  An IRI on this
    domain but outside the prefix is not the site's (``None``).  Accepts URL
    paths too (``/blog/~alice/``).  The query and fragment are dropped.  Pass
    ``domain`` (``site_domain().lower()``) and ``prefix`` (``script_prefix()``,
    a thread-local look-up) when converting many IRIs.  Never
    raises: IRIs come from strangers, and one that does not parse
    (``http://[broken/note``) is simply not ours.
    """
    if not isinstance(iri, str) or not iri:
        return None
    prefix = prefix or script_prefix()
    if iri.startswith("/") and not iri.startswith("//"):
        return _below_prefix(urlsplit(iri).path, prefix)
    domain = domain or site_domain().lower()
    for scheme in ("https://", "http://"):  # the common case, without urlsplit
        origin = scheme + domain + "/"
        if iri.startswith(origin):
            path = iri[len(origin) - 1 :].partition("?")[0].partition("#")[0]
            return _below_prefix(path, prefix)
    try:
        parts = urlsplit(iri)
    except ValueError:  # e.g. "Invalid IPv6 URL"
        return None
    if parts.scheme not in ("http", "https"):
        return None
    if parts.netloc.lower() != domain:
        return None
    return _below_prefix(parts.path or "/", prefix)


def _below_prefix(path: str, prefix: str) -> str | None:
    """``/blog/~alice/`` → ``/~alice/`` under ``/blog/``; None outside it."""
    if prefix == "/":
        return path
    if path.startswith(prefix):
        return path[len(prefix) - 1 :]
    if path == prefix[:-1]:  # "/blog": the site's root without its slash
        return "/"
    return None
