"""Which actor an address names: one of ours, or one on another server.

An address is ``acct:user@host``, ``@user@host`` or ``user@host``
(:func:`~vox_activity.protocol.acct.parse_acct`), an http(s) IRI, a path of
this site (``/~alice/``), or a bare local username (``alice``).  An account
or IRI on this site's domain is a local actor.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from vox_activity.exceptions import VoxActivityError
from vox_activity.protocol.acct import parse_acct
from vox_activity.registry import (
    actor_for_path,
    actor_for_username,
    actor_iri,
    instance_actor_iri,
)
from vox_activity.site import absolute_iri, local_path, site_domain, url_path

__all__ = ["LocalTarget", "RemoteTarget", "TargetError", "resolve", "resolve_local"]

#: A bare username: no host, no path, no scheme.
_BARE_NAME = re.compile(r"@?([^\s@/:?#]+)")


class TargetError(VoxActivityError):
    """The address names no actor this command can check; says why."""


@dataclass(frozen=True)
class LocalTarget:
    """One of this site's actors; ``owner`` is None for the instance actor."""

    iri: str
    owner: Any | None

    @property
    def is_instance(self) -> bool:
        return self.owner is None


@dataclass(frozen=True)
class RemoteTarget:
    """An actor elsewhere, named by account (``acct``) or by its IRI."""

    address: str
    acct: tuple[str, str] | None = None
    iri: str | None = None


def resolve(address: str) -> LocalTarget | RemoteTarget:
    """The actor ``address`` names, or :class:`TargetError`."""
    text = address.strip()
    acct = parse_acct(text)
    if acct is not None:
        if acct[1] != site_domain().lower():
            return RemoteTarget(text, acct=acct)
        return _by_username(acct[0], text)
    if text.startswith(("http://", "https://")) and local_path(text) is None:
        return RemoteTarget(text, iri=text)
    return resolve_local(text)


def resolve_local(address: str) -> LocalTarget:
    """One of this site's actors, by path, IRI, account or bare username."""
    text = address.strip()
    path = local_path(text)
    if path is not None:
        return _by_path(path, text)
    acct = parse_acct(text)
    domain = site_domain().lower()
    if acct is not None and acct[1] == domain:
        return _by_username(acct[0], text)
    if acct is not None or text.startswith(("http://", "https://")):
        raise TargetError(f"{text} is not on this site ({domain}).")
    bare = _BARE_NAME.fullmatch(text)
    if bare is not None:
        return _by_username(bare.group(1), text)
    raise TargetError(
        f"{text!r} is neither acct:user@host, @user@host, an http(s) IRI, a "
        "path of this site nor a local username."
    )


def _instance_target() -> LocalTarget:
    return LocalTarget(instance_actor_iri(), None)


def _by_path(path: str, address: str) -> LocalTarget:
    instance = _instance_target()
    if absolute_iri(url_path(path)).rstrip("/") == instance.iri.rstrip("/"):
        return instance
    owner = actor_for_path(path)
    if owner is None:
        raise TargetError(
            f"{address} is not a local actor: no registered model's regex "
            "matches it, no row has it, or has_activity_endpoint() is false."
        )
    return _local(owner, address)


def _by_username(name: str, address: str) -> LocalTarget:
    """As WebFinger answers ``acct:name@<this site>``: the instance actor's
    name is the site's domain."""
    if name.casefold() == site_domain().casefold():
        return _instance_target()
    owner = actor_for_username(name)
    if owner is None:
        raise TargetError(
            f"{address} is not a local actor: no registered actor has the "
            f"username {name!r} (get_activity_username())."
        )
    return _local(owner, address)


def _local(owner: Any, address: str) -> LocalTarget:
    iri = actor_iri(owner)
    if iri is None:
        raise TargetError(f"{address} has no actor IRI (no URL route reverses).")
    return LocalTarget(iri, owner)
