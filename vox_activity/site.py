"""The site's own origin, and conversions between paths and absolute IRIs.

ActivityPub needs absolute IRIs outside any request (a notification may be
issued from a task), so the origin comes from configuration, exactly as
django-vox finds it (object IRIs built by django-vox and actor IRIs built here
must agree): ``django.contrib.sites`` when installed (with ``SITE_ID``),
otherwise the ``SITE_DOMAIN`` setting; the scheme is https unless
``SITE_SSL = False`` (development only).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings


def site_domain() -> str:
    """The host (and port, if any) remote servers use to reach this site."""
    from django_vox.base import get_current_site

    return get_current_site().domain


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


def local_path(iri: str) -> str | None:
    """The path of ``iri`` if it points at this site, else ``None``.

    Accepts site-relative paths too.  The query and fragment are dropped.
    """
    if not isinstance(iri, str) or not iri:
        return None
    if iri.startswith("/") and not iri.startswith("//"):
        return urlsplit(iri).path
    parts = urlsplit(iri)
    if parts.scheme not in ("http", "https"):
        return None
    if parts.netloc.lower() != site_domain().lower():
        return None
    return parts.path or "/"
