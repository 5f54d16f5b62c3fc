"""The site's own origin, and conversions between paths and absolute IRIs.

ActivityPub needs absolute IRIs outside any request (a notification may be
issued from a task), so the origin comes from configuration, exactly as
django-vox finds it (object IRIs built by django-vox and actor IRIs built here
must agree): ``django.contrib.sites`` when installed (with ``SITE_ID``),
otherwise the ``SITE_DOMAIN`` setting; the scheme is https unless
``SITE_SSL = False`` (development only).
"""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import urlsplit

from django.apps import apps
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver


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


def absolute_iri(path: str) -> str:
    """Turn a site-relative path (``/~alice/``) into an absolute IRI."""
    if path.startswith(("http://", "https://")):
        return path
    if not path.startswith("/"):
        path = "/" + path
    return site_origin() + path


def local_path(iri: str, domain: str | None = None) -> str | None:
    """The path of ``iri`` if it points at this site, else ``None``.

    Accepts site-relative paths too.  The query and fragment are dropped.
    Pass ``domain`` (``site_domain().lower()``) when converting many IRIs.
    Never raises: IRIs come from strangers, and one that does not parse
    (``http://[broken/note``) is simply not ours.
    """
    if not isinstance(iri, str) or not iri:
        return None
    if iri.startswith("/") and not iri.startswith("//"):
        return urlsplit(iri).path
    domain = domain or site_domain().lower()
    for scheme in ("https://", "http://"):  # the common case, without urlsplit
        prefix = scheme + domain + "/"
        if iri.startswith(prefix):
            return iri[len(prefix) - 1 :].partition("?")[0].partition("#")[0]
    try:
        parts = urlsplit(iri)
    except ValueError:  # e.g. "Invalid IPv6 URL"
        return None
    if parts.scheme not in ("http", "https"):
        return None
    if parts.netloc.lower() != domain:
        return None
    return parts.path or "/"
