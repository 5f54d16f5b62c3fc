"""Every vox_activity setting, its default, and one accessor.

Sites configure the package with one dict in their settings::

    VOX_ACTIVITY = {"PAGE_SIZE": 50}

Values are read through :func:`get_setting` on every use (cached, and the
cache is cleared on Django's ``setting_changed`` signal), so
``override_settings`` works in tests and nothing is read at import time.
``SITE_DOMAIN`` and ``SITE_SSL`` stay top-level settings because django-vox
reads them too; see :mod:`vox_activity.site`.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver

__all__ = [
    "CHOICES",
    "DEFAULTS",
    "SETTINGS_NAME",
    "get_setting",
]

SETTINGS_NAME = "VOX_ACTIVITY"

DEFAULTS: dict[str, Any] = {
    # Items per page of inbox, outbox, followers and following collections.
    "PAGE_SIZE": 20,
    # Largest page a client may ask for with ?limit=.
    "MAX_PAGE_SIZE": 200,
    # Largest JSON body accepted on the outbox (client-to-server) endpoint.
    "MAX_BODY_SIZE": 1024 * 1024,
    # --- outbound HTTP (vox_activity.net.http) ---
    # Seconds to establish a connection, to wait for each read, and in all.
    "HTTP_CONNECT_TIMEOUT": 5.0,
    "HTTP_READ_TIMEOUT": 10.0,
    "HTTP_TOTAL_TIMEOUT": 30.0,
    # Largest response body read from a remote server, in bytes.
    "HTTP_MAX_RESPONSE_SIZE": 1024 * 1024,
    # Redirects followed per request (each target is checked again).
    "HTTP_MAX_REDIRECTS": 3,
    # Allow requests to private, loopback, link-local, multicast and reserved
    # addresses.  Off in production; tests and the local demo turn it on.
    "ALLOW_PRIVATE_ADDRESSES": False,
    # User-Agent of outbound requests; None builds "vox-activity/<version>
    # (+https://<site domain>/)".
    "USER_AGENT": None,
    # --- keys and remote actors ---
    # Bits of the RSA keys made for local actors and the instance actor.
    "KEY_SIZE": 2048,
    # Seconds a fetched remote actor is trusted before it is fetched again.
    "REMOTE_ACTOR_TTL": 24 * 3600,
    # --- fetches made while answering a request (vox_activity.net.budget) ---
    # Seconds all fetches for one inbox POST may take together (its sender's
    # key, mostly); a POST whose key cannot be had in time gets 401.
    "FETCH_DEADLINE": 3.0,
    # Fetches in flight at once per process, and per remote host, while
    # answering requests; beyond that a fetch fails at once (401, retried).
    "FETCH_CONCURRENCY": 2,
    "FETCH_CONCURRENCY_PER_HOST": 1,
    # Seconds a host that timed out is not asked again while answering.
    "FETCH_HOST_BACKOFF": 60,
    # --- incoming activities (vox_activity.incoming) ---
    # Inbox POSTs accepted per remote server (keyId host and client address)
    # per INBOX_RATE_WINDOW seconds; more get 429 with Retry-After.  None: no
    # limit.
    "INBOX_RATE_LIMIT": 300,
    "INBOX_RATE_WINDOW": 60,
    # Serve actor documents, objects, activities and collections only to
    # signed requests (Mastodon's "secure mode"); the instance actor and
    # discovery stay open.
    "AUTHORIZED_FETCH": False,
    # "task": an inbox POST is checked, stored with one INSERT and answered
    # 202; a task applies it (needs a task worker, or the immediate backend).
    # "sync": everything in the request, with precise errors for every step.
    "INBOX_PROCESSING": "task",
    # Times the inbox task tries to apply one received activity whose
    # handler or signal receiver raises (not a refusal) before it gives the
    # activity up, so that the sender's later activities are not held
    # behind it for ever.
    "INBOX_MAX_ATTEMPTS": 5,
    # Extra or replacement handlers, {"Type": "dotted.path.Handler"}; None as
    # the value removes a type's handler (vox_activity.incoming.handlers).
    "INBOX_HANDLERS": {},
    # --- delivery (vox_activity.outgoing.delivery) ---
    # Attempts per delivery before it is given up (Mastodon: 16, ~2-3 days).
    "DELIVERY_MAX_ATTEMPTS": 16,
    # Days with failures (and no success since) after which a server is
    # marked unavailable and skipped (Mastodon: 7).
    "DOMAIN_FAILURE_DAYS": 7,
    # Seconds of each retry's wait, attempt by attempt (the last one repeats),
    # e.g. [60, 300, 3600]; None: Mastodon's curve with jitter (~2.5 days for
    # 16 attempts).  A Retry-After that asks for longer is honoured.
    "DELIVERY_RETRY_DELAYS": None,
    # Deliveries a worker claims and attempts per statement (one batch).
    "DELIVERY_BATCH_SIZE": 50,
    # Seconds a claim holds a delivery (a queued task's rows, or an attempt
    # in progress).  When it runs out, the rows are due again: a killed
    # worker's deliveries are taken over this long after the claim.  At
    # least twice HTTP_TOTAL_TIMEOUT (smaller values are raised to that).
    "DELIVERY_CLAIM_TIMEOUT": 300,
    # Seconds between two runs of the self-rescheduling sweep task, which
    # runs while deliveries are pending: it queues retries that have come due
    # and deliveries whose claim ran out.  Needs a task backend that can
    # defer; otherwise run `manage.py vox_activity_deliver --loop 30`.
    "DELIVERY_SWEEP_INTERVAL": 30,
    # Name of the Django task backend (TASKS setting) deliveries are queued on,
    # and the queue (of that backend) their tasks go to.
    "TASK_BACKEND": "default",
    "TASK_QUEUE": "default",
    # --- HTTP Signatures (vox_activity.net.signing) ---
    # How outbound requests are signed: "double-knock" (RFC 9421 first, then
    # draft-cavage on 400/401, remembered per server, as Fedify does),
    # "rfc9421" or "cavage" only.
    "HTTP_SIGNATURES": "double-knock",
    # Attach an Object Integrity Proof (FEP-8b32, eddsa-jcs-2022) signed with
    # the actor's Ed25519 key to every activity we publish.
    "OBJECT_PROOFS": True,
    # How far a signed request's Date may be from our clock, in seconds.
    "SIGNATURE_MAX_SKEW": 3600,
}

#: Settings with a fixed set of values: anything else (a typo such as
#: ``"tasks"``) is an ImproperlyConfigured error, not a silent default.
CHOICES: dict[str, tuple[str, ...]] = {
    "HTTP_SIGNATURES": ("double-knock", "rfc9421", "cavage"),
    "INBOX_PROCESSING": ("task", "sync"),
}


@lru_cache(maxsize=1)
def _user_settings() -> dict[str, Any]:
    value = getattr(settings, SETTINGS_NAME, {})
    if not isinstance(value, dict):
        raise ImproperlyConfigured(
            f"settings.{SETTINGS_NAME} must be a dict, e.g. "
            f'{SETTINGS_NAME} = {{"PAGE_SIZE": 50}}; got {type(value).__name__}.'
        )
    for name, allowed in CHOICES.items():
        chosen = value.get(name, DEFAULTS[name])
        if chosen not in allowed:
            listed = ", ".join(f'"{choice}"' for choice in allowed)
            raise ImproperlyConfigured(
                f'{SETTINGS_NAME}["{name}"] must be one of {listed}, not {chosen!r}.'
            )
    unknown = set(value) - set(DEFAULTS)
    if unknown:
        raise ImproperlyConfigured(
            f"Unknown key(s) in settings.{SETTINGS_NAME}: "
            f"{', '.join(sorted(unknown))}. "
            f"Known keys: {', '.join(sorted(DEFAULTS))} (see docs/settings.rst)."
        )
    return value


def get_setting(name: str) -> Any:
    """The value of ``VOX_ACTIVITY[name]``, or its documented default."""
    if name not in DEFAULTS:
        raise KeyError(f"{name!r} is not a vox_activity setting")
    return _user_settings().get(name, DEFAULTS[name])


@receiver(setting_changed)
def _clear_cache(*, setting: str, **_kwargs: Any) -> None:
    if setting == SETTINGS_NAME:
        _user_settings.cache_clear()
