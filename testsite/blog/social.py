"""Who follows whom, on this blog and across servers.

The blog has two kinds of follow: a local :class:`~testsite.blog.models.Subscription`
(a reader of this site subscribes to an author here) and vox_activity's
:class:`~vox_activity.models.Follow` rows (followers on other servers, and the
people a local user follows elsewhere).  An author page shows both, as one
list of :class:`~testsite.blog.people.Person`.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model

from vox_activity.models import Follow
from vox_activity.registry import actor_iri

from .models import Subscription
from .people import Person, people


@dataclass(frozen=True)
class Connection:
    person: Person
    #: A follow request the other side has not answered yet.
    pending: bool = False


def _user_iris(user_ids) -> list[str]:
    users = get_user_model().objects.filter(pk__in=list(user_ids)).order_by("pk")
    return [iri for iri in map(actor_iri, users) if iri]


def followers(user) -> list[Connection]:
    """Local subscribers, then accepted followers (here or elsewhere)."""
    iri = actor_iri(user)
    local = _user_iris(
        Subscription.objects.filter(author=user).values_list("subscriber", flat=True)
    )
    following_here = Follow.objects.followers_of(iri).values_list(
        "actor_iri", flat=True
    )
    found = people([*local, *following_here])
    return [Connection(person) for person in found.values()]


def following(user) -> list[Connection]:
    """Authors subscribed to here, then follows (accepted or pending)."""
    iri = actor_iri(user)
    local = _user_iris(
        Subscription.objects.filter(subscriber=user).values_list("author", flat=True)
    )
    rows = (
        Follow.objects.filter(actor_iri=iri)
        .exclude(state=Follow.State.REJECTED)
        .order_by("pk")
    )
    pending = {row.object_iri for row in rows if row.state == Follow.State.PENDING}
    found = people([*local, *(row.object_iri for row in rows)])
    return [Connection(p, pending=p.iri in pending) for p in found.values()]
