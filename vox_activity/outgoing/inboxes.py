"""Which remote inboxes get an activity, worked out in SQL.

Publishing to a local actor's followers must not load every follower: 10,000
followers on 100 servers are 100 deliveries (shared inboxes), and reading
10,000 actors into Python to find that out cost more than everything else.
So the inboxes are selected, de-duplicated and written by the database::

    INSERT INTO delivery (activity, inbox, domain, …)
    SELECT %s, target, MIN(target_domain), …
    FROM (remote actors addressed directly, or following an addressed
          collection; not gone; not blocking the sender)
    GROUP BY target            -- target = shared inbox, else own inbox

(``INSERT OR IGNORE`` / ``ON CONFLICT DO NOTHING`` where a row for that inbox
exists already).  The query is built with the ORM, so it is the same on
SQLite and PostgreSQL; only the outer ``INSERT`` is spelled here.

The delivery's ``domain`` (the key of :class:`~vox_activity.models.DomainHealth`)
is the inbox's host and port, lower-cased, without the default port of its
scheme, computed in SQL: the same as
:func:`vox_activity.models.remote.domain_of` for every inbox spelled in
ASCII (a host written in Unicode keeps that spelling, consistently, rather
than its IDNA form).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from django.db import connections, router
from django.db.models import (
    Case,
    CharField,
    F,
    Field,
    Min,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.constants import OnConflict
from django.db.models.functions import (
    Coalesce,
    Left,
    Length,
    Lower,
    NullIf,
    StrIndex,
    Substr,
)

from vox_activity.models import Block, Delivery, DomainBlock, Follow, RemoteActor

__all__ = ["candidates", "insert_deliveries", "target_inbox"]


def target_inbox() -> Coalesce:
    """The inbox a remote actor is delivered to: its shared inbox if any."""
    return Coalesce(NullIf(F("shared_inbox"), Value("")), F("inbox"))


def candidates(
    remote_iris: list[str],
    follower_owners: list[str],
    *,
    sender_iri: str = "",
    actor_ids: list[int] | None = None,
) -> QuerySet[Any, Any]:
    """``(target, target_domain)`` rows, one per inbox, for these recipients.

    ``remote_iris``: remote actors addressed directly (``actor_ids``: the
    actors some of them turned out to name when fetched).
    ``follower_owners``: local actors whose (accepted, remote) followers
    are addressed.
    """
    wanted = Q(iri__in=remote_iris) | Q(pk__in=actor_ids or [])
    if follower_owners:
        followers = Follow.objects.filter(
            object_iri__in=follower_owners,
            state=Follow.State.ACCEPTED,
            remote_actor__isnull=False,
        ).values("remote_actor")
        wanted |= Q(pk__in=followers)
    actors = RemoteActor.objects.filter(wanted, gone_at__isnull=True)
    if sender_iri:
        # Those who block the sender, and those the sender blocks.
        blockers = Block.objects.filter(object_iri=sender_iri).values("actor_iri")
        blocked = Block.objects.filter(actor_iri=sender_iri).values("object_iri")
        actors = actors.exclude(iri__in=blockers).exclude(iri__in=blocked)
    actors = actors.annotate(target=target_inbox())
    actors = actors.annotate(
        after_scheme=Substr(F("target"), StrIndex(F("target"), Value("://")) + 3)
    ).annotate(slash=StrIndex(F("after_scheme"), Value("/")))
    actors = actors.annotate(
        netloc=Lower(
            Case(
                When(slash__gt=0, then=Substr(F("after_scheme"), 1, F("slash") - 1)),
                default=F("after_scheme"),
                output_field=CharField(),
            )
        )
    )
    actors = actors.annotate(
        host=Case(
            When(
                Q(target__istartswith="https://", netloc__endswith=":443"),
                then=Left(F("netloc"), Length(F("netloc")) - 4),
            ),
            When(
                Q(target__istartswith="http://", netloc__endswith=":80"),
                then=Left(F("netloc"), Length(F("netloc")) - 3),
            ),
            default=F("netloc"),
            output_field=CharField(),
        )
    )
    # Servers the admin blocked get nothing.
    actors = actors.exclude(host__in=DomainBlock.objects.values("domain"))
    return (
        actors.order_by()
        .values("target")
        .annotate(target_domain=Min("host"))
        .values_list("target", "target_domain")
    )


def insert_deliveries(
    activity_id: int,
    rows: QuerySet[Any, Any],
    *,
    token: str,
    lease_until: datetime,
    now: datetime,
) -> int:
    """``INSERT … SELECT`` one pending Delivery per row of ``rows``; how many.

    The rows are held for the queue under ``token`` until ``lease_until``.
    An inbox that already has a row for this activity is skipped.
    """
    using = router.db_for_write(Delivery)
    connection = connections[using]
    meta = Delivery._meta
    quote = connection.ops.quote_name

    def field(name: str) -> Field[Any, Any]:
        return cast("Field[Any, Any]", meta.get_field(name))

    def column(name: str) -> str:
        return quote(field(name).column)

    def prep(name: str, value: Any) -> Any:
        return field(name).get_db_prep_save(value, connection)

    values = {
        "activity": activity_id,
        "state": Delivery.State.PENDING.value,
        "attempts": 0,
        "next_attempt_at": prep("next_attempt_at", lease_until),
        "last_error": "",
        "created": prep("created", now),
        "claim_token": token,
    }
    select_sql, select_params = rows.query.get_compiler(using).as_sql()
    inserted = ["inbox", "domain", *values]
    fields = [field(name) for name in inserted]
    head = connection.ops.insert_statement(on_conflict=OnConflict.IGNORE)
    tail = connection.ops.on_conflict_suffix_sql(fields, OnConflict.IGNORE, None, None)
    constants = ", ".join(["%s"] * len(values))
    sql = (
        f"{head} {quote(meta.db_table)} "  # noqa: S608 - names from the model
        f"({', '.join(column(name) for name in inserted)}) "
        f"SELECT vox_inboxes.target, vox_inboxes.target_domain, {constants} "
        f"FROM ({select_sql}) vox_inboxes WHERE vox_inboxes.target IS NOT NULL "
        f"{tail}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*values.values(), *select_params])
        return max(cursor.rowcount, 0)
