"""Remote actors we have fetched, and the keys that verify them.

A :class:`RemoteKey` belongs to exactly one actor: its ``key_id`` is unique,
and :meth:`RemoteActorManager.store` refuses a document that would move a key
to another actor.  That is what stops one server from "silencing" an actor on
another by claiming its key (see :mod:`vox_activity.protocol.actor_documents`).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.db import models, transaction
from django.db.models.signals import post_delete, post_save
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from vox_activity.exceptions import RemoteActorError
from vox_activity.models.fields import IriField
from vox_activity.protocol.actor_documents import ActorFields, KeyFields
from vox_activity.protocol.iri import origin_of

__all__ = [
    "BLOCKS_CACHE_SECONDS",
    "KEYS_CACHE_SECONDS",
    "DomainBlock",
    "DomainBlockQuerySet",
    "RemoteActor",
    "RemoteActorManager",
    "RemoteKey",
    "blocked_domains",
    "domain_of",
    "forget_blocked_domains",
    "forget_recent_keys",
]


class RemoteActorManager(models.Manager["RemoteActor"]):
    def store(self, fields: ActorFields, data: dict[str, Any]) -> RemoteActor:
        """Save a validated actor document and the keys it proves, at once.

        Keys the document no longer proves are dropped (rotation); keys
        proven on separate key documents (:meth:`add_key`) are kept while the
        document still lists them.  Raises
        :class:`~vox_activity.exceptions.RemoteActorError` if a key already
        belongs to another actor: one key id never maps to two actors.
        """
        with transaction.atomic():
            actor, _ = self.update_or_create(
                iri=fields.iri,
                defaults={
                    "domain": domain_of(fields.iri),
                    "inbox": fields.inbox,
                    "shared_inbox": fields.shared_inbox,
                    "preferred_username": fields.preferred_username,
                    "data": data,
                    "fetched_at": timezone.now(),
                    "gone_at": None,
                },
            )
            actor.keys.exclude(key_id__in=fields.listed_key_ids).delete()
            for key in fields.keys:
                actor.add_key(key)
        return actor

    def mark_gone(self, iris: Iterable[str]) -> int:
        """The servers answered 404/410 for these actors: stop delivering."""
        gone = self.filter(iri__in=list(iris), gone_at__isnull=True).update(
            gone_at=timezone.now()
        )
        forget_recent_keys()  # a gone actor's keys verify nothing from now on
        return gone


def domain_of(iri: str) -> str:
    """The server part of an IRI, port included (two servers may share a host)."""
    return origin_of(iri).partition("://")[2]


class RemoteActor(models.Model):
    """A cached copy of a remote actor document (refetched after a TTL)."""

    iri = IriField(_("IRI"), unique=True)
    domain = models.CharField(_("domain"), max_length=255, db_index=True)
    inbox = IriField(_("inbox"))
    shared_inbox = IriField(_("shared inbox"), blank=True)
    preferred_username = models.CharField(
        _("preferred username"), max_length=255, blank=True
    )
    data = models.JSONField(_("actor document"), default=dict)
    fetched_at = models.DateTimeField(_("fetched at"), default=timezone.now)
    gone_at = models.DateTimeField(
        _("gone at"),
        null=True,
        blank=True,
        help_text=_("Set when the actor's server answered 404 or 410 Gone."),
    )

    objects = RemoteActorManager()

    class Meta:
        verbose_name = _("remote actor")
        verbose_name_plural = _("remote actors")

    def __str__(self) -> str:
        if self.preferred_username:
            return f"@{self.preferred_username}@{self.domain}"
        return self.iri

    @property
    def handle(self) -> str:
        """``@user@host`` when the actor has a username, else its IRI."""
        return str(self)

    @property
    def delivery_inbox(self) -> str:
        """The shared inbox when the server offers one: one POST per server."""
        return self.shared_inbox or self.inbox

    @property
    def followers_iri(self) -> str:
        followers = self.data.get("followers") if isinstance(self.data, dict) else None
        return followers if isinstance(followers, str) else ""

    def is_stale(self, ttl_seconds: int) -> bool:
        return self.fetched_at < timezone.now() - timedelta(seconds=ttl_seconds)

    def add_key(self, key: KeyFields) -> RemoteKey:
        """Record that ``key`` is this actor's (its ownership already proven)."""
        held = RemoteKey.objects.filter(key_id=key.key_id).exclude(actor=self).first()
        if held is not None:
            raise RemoteActorError(
                f"{self.iri} claims the key {key.key_id}, which belongs to "
                f"{held.actor.iri}; one key has one owner.",
                url=self.iri,
                code="actor.key.taken",
            )
        row, _ = RemoteKey.objects.update_or_create(
            key_id=key.key_id,
            defaults={
                "actor": self,
                "kind": key.kind,
                "purpose": key.purpose,
                "public_key_pem": key.public_key_pem,
            },
        )
        return row

    def main_key(self) -> RemoteKey | None:
        """The HTTP-signature key to show (the first, as Mastodon has one)."""
        return self.keys.filter(purpose="publicKey").order_by("id").first()


class RemoteKeyQuerySet(models.QuerySet["RemoteKey"]):
    def usable(self, key_id: str) -> RemoteKey | None:
        """The stored key ``key_id`` of an actor not gone, with that actor.

        Every inbox POST asks for its sender's key, and a busy sender posts
        many times a second: the answer is kept per process for
        :data:`KEYS_CACHE_SECONDS`.  A key or actor saved or deleted in this
        process, or an actor marked gone, clears it at once; another process
        may use what it read for that long (the same bound as
        :data:`BLOCKS_CACHE_SECONDS`).  A refetch (rotation) goes around it.
        """
        now = time.monotonic()
        with _recent_lock:
            remembered = _recent_keys.get(key_id)
            if remembered is not None and remembered[0] > now:
                return remembered[1]
            generation = _recent_generation
        # key_id is unique: no ORDER BY (cheaper to compile than .first()).
        found = self.select_related("actor").filter(
            key_id=key_id, actor__gone_at__isnull=True
        )[:1]
        key = next(iter(found), None)
        with _recent_lock:
            # Not if a change was forgotten while we read: the row may predate it.
            if key is not None and generation == _recent_generation:
                _recent_keys[key_id] = (now + KEYS_CACHE_SECONDS, key)
                _recent_keys.move_to_end(key_id)
                while len(_recent_keys) > _RECENT_KEYS_MAX:
                    _recent_keys.popitem(last=False)
        return key


#: How long a process may go on using a key it read (see ``usable()``).
KEYS_CACHE_SECONDS = 10.0
_RECENT_KEYS_MAX = 1024
_recent_keys: OrderedDict[str, tuple[float, RemoteKey]] = OrderedDict()
_recent_lock = threading.Lock()
_recent_generation = 0  # counts forgettings, so a read racing one is not kept


def forget_recent_keys(**_kwargs: Any) -> None:
    """Clear this process's memory of keys (on any change to keys or actors).

    A thread that reads the row again before the change commits may still
    remember the old one, within the same bound as another process.
    """
    global _recent_generation
    with _recent_lock:
        _recent_keys.clear()
        _recent_generation += 1


class RemoteKey(models.Model):
    """A public key of a remote actor, proven to be that actor's.

    ``key_id`` is unique: a key verifies requests of one actor only.
    """

    key_id = IriField(_("key id"), unique=True)
    actor = models.ForeignKey(
        RemoteActor,
        on_delete=models.CASCADE,
        related_name="keys",
        verbose_name=_("actor"),
    )
    kind = models.CharField(
        _("kind"),
        max_length=16,
        choices=[("rsa", "RSA"), ("ed25519", "Ed25519")],
        default="rsa",
    )
    purpose = models.CharField(
        _("purpose"),
        max_length=32,
        default="publicKey",
        help_text=_(
            "publicKey: HTTP signatures; assertionMethod: object integrity proofs."
        ),
    )
    public_key_pem = models.TextField(_("public key (PEM)"))
    fetched_at = models.DateTimeField(_("fetched at"), default=timezone.now)

    objects = RemoteKeyQuerySet.as_manager()

    class Meta:
        verbose_name = _("remote key")
        verbose_name_plural = _("remote keys")

    def __str__(self) -> str:
        return self.key_id


class DomainBlockQuerySet(models.QuerySet["DomainBlock"]):
    def blocks(self, iri: str) -> bool:
        """Is the server of ``iri`` blocked?  (See :func:`blocked_domains`.)"""
        domain = domain_of(iri)
        return bool(domain) and domain in blocked_domains()

    def origins(self) -> list[str]:
        """``http(s)://domain/`` of every blocked server, to filter IRIs with."""
        return [
            f"{scheme}://{domain}/"
            for domain in sorted(blocked_domains())
            for scheme in ("https", "http")
        ]


#: How long another process may go on using a stale list of blocked servers.
BLOCKS_CACHE_SECONDS = 30.0
_blocked: tuple[float, frozenset[str]] | None = None


def blocked_domains() -> frozenset[str]:
    """The blocked servers, read at most every :data:`BLOCKS_CACHE_SECONDS`.

    Every inbox POST and fetch asks, so the answer is kept per process; a
    block or unblock made in this process clears it at once
    (:func:`forget_blocked_domains`, connected to the model's signals).
    """
    global _blocked
    now = time.monotonic()
    if _blocked is None or _blocked[0] < now:
        domains = frozenset(DomainBlock.objects.values_list("domain", flat=True))
        _blocked = (now + BLOCKS_CACHE_SECONDS, domains)
    return _blocked[1]


def forget_blocked_domains(**_kwargs: Any) -> None:
    global _blocked
    _blocked = None


class DomainBlock(models.Model):
    """A whole remote server, blocked by the site's admin.

    Nothing is accepted from it (its requests get 403 before any key is
    fetched), nothing is delivered to it, nothing is fetched from it, its
    actors' activities are hidden from inboxes, and follows with it end when
    the block is made (:func:`vox_activity.moderation.block_server`).
    """

    domain = models.CharField(
        _("domain"),
        max_length=255,
        unique=True,
        help_text=_("The server's host, with its port if not the default."),
    )
    reason = models.TextField(_("reason"), blank=True)
    created = models.DateTimeField(_("created"), default=timezone.now)

    objects = DomainBlockQuerySet.as_manager()

    class Meta:
        verbose_name = _("blocked server")
        verbose_name_plural = _("blocked servers")

    def __str__(self) -> str:
        return self.domain


post_save.connect(forget_blocked_domains, sender=DomainBlock)
post_delete.connect(forget_blocked_domains, sender=DomainBlock)
for _model in (RemoteKey, RemoteActor):
    post_save.connect(forget_recent_keys, sender=_model)
    post_delete.connect(forget_recent_keys, sender=_model)
