"""The site's own set-up, as other servers meet it: its scheme and its host."""

from __future__ import annotations

from django.conf import settings
from django.http.request import split_domain_port, validate_host

from vox_activity.site import site_domain, site_origin, site_scheme

from .findings import Checks, Finding, found

__all__ = ["check_site"]


def check_site() -> Checks:
    """https on, and the site's domain in ``ALLOWED_HOSTS``."""
    yield _https()
    yield _allowed_hosts()


def _https() -> Finding:
    origin = site_origin()
    if site_scheme() == "https":
        return found("site.https.ok", f"the site's origin is {origin}.")
    return found(
        "site.https.off",
        f"the site's origin is {origin} (SITE_SSL = False).",
        "Mastodon federates over https only: set SITE_SSL = True (the default) "
        "in production; fine for development.",
    )


def _allowed_hosts() -> Finding:
    """As Django decides it (``HttpRequest.get_host``), DEBUG's defaults included."""
    host, _port = split_domain_port(site_domain())
    allowed = list(settings.ALLOWED_HOSTS)
    if settings.DEBUG and not allowed:
        allowed = [".localhost", "127.0.0.1", "[::1]"]
    if host and validate_host(host, allowed):
        return found("site.allowed-hosts.ok", f"{host} is allowed.")
    return found(
        "site.allowed-hosts.missing",
        f"{site_domain()} is not in ALLOWED_HOSTS.",
        "Django answers 400 to every request from other servers: add the "
        "site's domain to ALLOWED_HOSTS.",
    )
