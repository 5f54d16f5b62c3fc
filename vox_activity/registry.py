"""Which models are actors and objects, and how to find them: paths ↔ instances.

A local actor is an instance of a model registered with django-vox's
``registry.objects.add(Model, Registration, regex=...)`` whose registration's
``has_activity_endpoint(instance)`` is True.  Its IRI is the registry's
reverse of that regex made absolute; its endpoints hang below it
(``/~alice/`` → ``/~alice/inbox``).

Recipient lists are resolved with :func:`resolve_local_actors` (or, for a
fan-out, :func:`local_actor_keys`), which costs one query per registered
model, however many IRIs it is given.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from django.core.exceptions import FieldDoesNotExist, FieldError, ValidationError
from django.db.models import CharField, F, Model, Q, TextField
from django.urls import reverse
from django_vox import registry as vox_registry
from django_vox.registry import Registration

from vox_activity.lookups import AnyOf
from vox_activity.protocol.usernames import is_federatable_username
from vox_activity.registration import Actor, ActorAddress, ActorRegistration, hook
from vox_activity.site import (
    absolute_iri,
    local_path,
    script_prefix,
    site_domain,
    url_path,
)

ENDPOINTS = ("inbox", "outbox", "followers", "following")
#: Most values in one ``IN (...)`` lookup (below SQLite's and PostgreSQL's
#: bound-parameter limits), and most ``OR``-ed multi-field lookups per query.
_IN_CHUNK = 20_000
_QUERY_CHUNK = 500


# Instances are looked up by ``instance.__class__``, not ``type(instance)``:
# ``request.user`` is a lazy wrapper whose ``__class__`` is the real model.


def _registry():
    return vox_registry.objects


@dataclass(frozen=True)
class RouteMatch:
    """A path matched by a registered model's regex."""

    model: type[Model]
    kwargs: dict[str, str]


def match_path(path: str) -> list[RouteMatch]:
    """Every registered model whose regex matches ``path`` (a site path)."""
    relative = path[1:] if path.startswith("/") else path
    matches = []
    for model, item in _registry().items():
        if not item.has_url:
            continue
        found = item.match(relative)
        if found:
            kwargs = found[2] if isinstance(found, tuple) else found.kwargs
            matches.append(RouteMatch(model, {k: str(v) for k, v in kwargs.items()}))
    return matches


def declares_actors(registration: Any) -> bool:
    """Does this registration make actors (overrides ``has_activity_endpoint``)?

    django-vox's base ``Registration`` answers False for every instance; any
    registration that overrides it may have actors, row by row.
    """
    method = getattr(type(registration), "has_activity_endpoint", None)
    return method is not Registration.has_activity_endpoint


def registered_models() -> list[tuple[type[Model], Any]]:
    """(model, registration) of every model in django-vox's registry now."""
    return [(model, item.registration) for model, item in _registry().items()]


def actor_models() -> list[tuple[type[Model], Any]]:
    """(model, registry item) of every model registered with a URL as actors."""
    return [
        (model, item)
        for model, item in _registry().items()
        if item.has_url and declares_actors(item.registration)
    ]


def first_row(route: RouteMatch) -> Model | None:
    """The row a route's captured values name, or None (also for bad values).

    Where a captured field is unique (a username, a slug, the pk) there is
    one row at most and no ordering is asked for: on every request to an
    actor's URL, compiling ``.first()``'s ``ORDER BY`` costs more than the
    query.  Otherwise the first by primary key, as ``.first()`` gives.
    """
    try:
        rows = route.model._default_manager.filter(**route.kwargs)
        if _unique_lookup(route.model, tuple(route.kwargs)):
            return next(iter(rows[:1]), None)
        return rows.first()
    except (ValueError, TypeError):  # e.g. "abc" for an integer pk
        return None


@functools.cache
def _unique_lookup(model: type[Model], names: tuple[str, ...]) -> bool:
    """Does a filter on ``names`` (all of them) match one row at most?"""
    # A lookup across a relation ("user__name") has no field here: not unique.
    return any(getattr(_model_field(model, name), "unique", False) for name in names)


def registration_for(instance_or_model: Any) -> Any:
    model = (
        instance_or_model
        if isinstance(instance_or_model, type)
        else instance_or_model.__class__
    )
    registry = _registry()
    return registry[model].registration if model in registry else None


def is_actor(instance: Actor) -> bool:
    """Is ``instance`` a local actor (registered with a URL, endpoint enabled)?"""
    if instance is None or getattr(instance, "pk", None) is None:
        return False
    registry = _registry()
    item = registry.get(instance.__class__)
    if item is None or not item.has_url:
        return False
    return bool(item.registration.has_activity_endpoint(instance))


def route_kwargs(instance: Actor) -> dict[str, Any]:
    item = _registry().get(instance.__class__)
    if item is None or not item.has_url:
        return {}
    return {name: getattr(instance, name, None) for name in item.reverse_params}


def actor_path(instance: Actor) -> str | None:
    """The URL path of a registered instance, script prefix included.

    django-vox's registry reverses its regex to a path from the site's root
    (``/~alice/``); under ``FORCE_SCRIPT_NAME = "/blog"`` the instance lives
    at ``/blog/~alice/``, as ``reverse()`` would say.
    """
    item = _registry().get(instance.__class__)
    if item is None or not item.has_url:
        return None
    return url_path(item.reverse(instance))


def actor_iri(instance: Actor) -> str | None:
    """The absolute IRI of a registered instance (its actor id if it is one)."""
    path = actor_path(instance)
    return absolute_iri(path) if path is not None else None


def endpoint_iri(actor: str, endpoint: str) -> str:
    """``https://site/~alice/`` + ``inbox`` → ``https://site/~alice/inbox``."""
    return actor.rstrip("/") + "/" + endpoint


def actor_iri_of(actor: Actor) -> str:
    """The IRI of ``actor``, known to be a local actor (else ValueError).

    :func:`actor_iri` answers None for an instance that has none; code that
    holds an actor (a view dispatched for one, a registered sender) uses
    this, so its type is a plain ``str``.
    """
    iri = actor_iri(actor)
    if iri is None:
        raise ValueError(f"{actor!r} is not registered with a URL: no actor IRI.")
    return iri


def followers_iri(instance: Actor) -> str | None:
    """The IRI of a local actor's followers collection (an address)."""
    iri = actor_iri(instance)
    return endpoint_iri(iri, "followers") if iri else None


def split_endpoint(path: str) -> tuple[str, str | None]:
    """``/~alice/inbox`` → (``/~alice``, ``inbox``); other paths → (path, None)."""
    head, _, last = path.rstrip("/").rpartition("/")
    if last in ENDPOINTS and head:
        return head, last
    return path, None


def actor_for_path(path: str) -> Actor | None:
    """The local actor whose IRI has this path (with or without trailing /)."""
    candidates = [path] if path.endswith("/") else [path, path + "/"]
    for candidate in candidates:
        for route in match_path(candidate):
            instance = first_row(route)
            if instance is not None and is_actor(instance):
                return instance
    return None


def actor_for_iri(iri: str) -> Actor | None:
    path = local_path(iri)
    return actor_for_path(path) if path is not None else None


def actor_for_username(name: str) -> Actor | None:
    """The local actor whose ``get_activity_username()`` is ``name``, or None.

    Names compare case-insensitively, as Mastodon's do; among case variants
    an exact match wins, and two inexact ones are ambiguous (None).  Models
    are tried in registration order, those registered with a regex and an
    activity endpoint only.  Candidates come from the registration's
    ``get_activity_actor_by_username(name)`` hook if it has one; else from
    the model's ``USERNAME_FIELD`` (Django users); else from the regex's only
    named group; else from the primary key: the same order as the default
    ``get_activity_username()``.  A candidate counts only if it is an actor
    and its ``get_activity_username()`` is ``name``.
    """
    if not isinstance(name, str) or not is_federatable_username(name):
        return None  # never a name another server could look up or show
    for model, item in actor_models():
        registration = item.registration
        finder = getattr(registration, "get_activity_actor_by_username", None)
        if callable(finder):
            candidates = [finder(name)]
        else:
            params = list(item.reverse_params)
            field_name = getattr(model, "USERNAME_FIELD", None) or (
                params[0] if len(params) == 1 else "pk"
            )
            field: Any
            try:
                field = model._meta.get_field(field_name)
            except FieldDoesNotExist:
                field = model._meta.pk if field_name == "pk" else None
            if field is None:
                continue
            lookup = "iexact" if isinstance(field, (CharField, TextField)) else "exact"
            query = {f"{field_name}__{lookup}": name}
            try:
                candidates = list(model._default_manager.filter(**query)[:100])
            except (FieldError, ValidationError, ValueError, TypeError):
                continue  # e.g. "abc" for an integer pk
        username = hook(registration, "get_activity_username")
        found = [
            (str(username(candidate)), candidate)
            for candidate in candidates
            if is_actor(candidate)
        ]
        found = [(u, c) for u, c in found if u.casefold() == name.casefold()]
        exact = [c for u, c in found if u == name]
        if len(exact) == 1:
            return exact[0]
        if len(found) == 1:
            return found[0][1]
    return None


def federated_username(instance: Actor) -> str | None:
    """The actor's ``preferredUsername`` if other servers can use it, else None.

    Mastodon refuses remote accounts whose names break its rules
    (:mod:`vox_activity.protocol.usernames`); a name with ``@`` would even be
    read as someone on another server.  Such an actor is not federated: no
    WebFinger answer, no actor document, no deliveries; its local inbox
    works as before.  A site maps names it wants federated in its
    registration's ``get_activity_username`` (and finds them back with
    ``get_activity_actor_by_username``).
    """
    name = str(hook(registration_for(instance), "get_activity_username")(instance))
    return name if is_federatable_username(name) else None


class ActorRef(NamedTuple):
    """A local actor known by model and primary key, its row not loaded.

    A named tuple rather than a frozen dataclass: a fan-out makes one per
    recipient, and a tuple is made in a third of the time.
    """

    model: type[Model]
    pk: Any


def _always_actor(registration: Any) -> bool:
    """Does the registration keep ActorRegistration's "every row is an actor"?"""
    method = getattr(type(registration), "has_activity_endpoint", None)
    return method is ActorRegistration.has_activity_endpoint


def resolve_local_actors(iris: Iterable[str]) -> dict[str, Model | ActorRef]:
    """Map the IRIs that name local actors to them, in bulk.

    IRIs that are not on this site, match no registered actor regex, name no
    row, or name an instance whose registration says it is not an actor are
    left out.  One query per registered actor model that any IRI matched
    (per :data:`_IN_CHUNK` values).  Where every row of a model is an actor
    (ActorRegistration's default), only keys are read and :class:`ActorRef`
    stands for the row: a notification to 10,000 users must not build
    10,000 user objects a second time.  (A fan-out needs only the keys:
    :func:`local_actor_keys`.)
    """
    resolved: dict[str, Model | ActorRef] = {}
    for found in _found_actors(list(dict.fromkeys(iris))):
        model, keys_only, iris_of = found.model, found.keys_only, found.iris
        for actor, value in found.rows:
            if keys_only:
                actor = ActorRef(model, actor)
            for iri in iris_of.get(value, ()):
                resolved.setdefault(iri, actor)
    return resolved


def local_actor_keys(
    iris: Iterable[str],
) -> tuple[dict[type[Model], list[Any]], list[str]]:
    """The primary keys of the local actors ``iris`` name, and the other IRIs.

    The same actors as :func:`resolve_local_actors` (an IRI names at most
    one), as ``{model: [primary key, ...]}``, with the IRIs that name none
    in their given order: what a fan-out needs, without an
    :class:`ActorRef` or a dictionary entry per recipient (100,000
    recipients: about 0.3 s less, measured).
    """
    wanted = list(dict.fromkeys(iris))
    keys: dict[type[Model], list[Any]] = {}
    resolved: set[str] = set()
    for found in _found_actors(wanted):
        iris_of = found.iris
        pks = keys.setdefault(found.model, []) if found.keys_only else None
        for actor, value in found.rows:
            fresh = False
            for iri in iris_of.get(value, ()):
                if iri not in resolved:
                    resolved.add(iri)
                    fresh = True
            if not fresh:  # its IRIs went to an actor found before
                continue
            if pks is not None:
                pks.append(actor)
            else:
                keys.setdefault(actor.__class__, []).append(actor.pk)
    return keys, [iri for iri in wanted if iri not in resolved]


@dataclass(slots=True)
class _Found:
    """The rows one query found, each with the value its IRIs captured.

    ``rows`` are ``(primary key, value)`` pairs where ``keys_only`` (every
    row of ``model`` is an actor), else ``(instance, value)`` pairs of the
    rows :func:`is_actor` accepts.  ``iris`` maps each value to its IRIs.
    """

    model: type[Model]
    keys_only: bool
    iris: dict[Any, list[str]]
    rows: list[tuple[Any, Any]]


def _found_actors(iris: list[str]) -> Iterator[_Found]:
    """The local actors the distinct ``iris`` name, a query's worth at a time.

    This is the fan-out's hot loop (one pass per recipient IRI), so the
    common shapes take short paths: an IRI that starts with the site's
    origin and script prefix and has no query or fragment is cut with one
    slice instead of :func:`~vox_activity.site.local_path`; a route with one
    named group keys its IRIs by that value alone; and the values go to the
    database as one parameter (:class:`~vox_activity.lookups.AnyOf`).
    """
    addresses = []
    for iri in iris:
        if isinstance(iri, ActorAddress):  # the actor comes with it
            actor, key = iri.actor, str(iri)
            yield _Found(actor.__class__, False, {key: [key]}, [(actor, key)])
        elif isinstance(iri, str):
            addresses.append(iri)
    for model, match in _match_routes(addresses).items():
        keys_only = _always_actor(_registry()[model].registration)
        if match.group is not None:
            yield from _found_by_field(model, match.group, match.iris, keys_only)
        else:
            yield from _found_by_keys(model, match.iris, keys_only)


@dataclass
class _Matched:
    """The IRIs one actor model's route matched, keyed by what they capture.

    ``group`` is the route's one named group: ``iris`` maps each captured
    value to its IRIs.  Without it (several groups), ``iris`` maps
    ``((name, value), ...)`` tuples.
    """

    group: str | None
    iris: dict[Any, list[str]] = field(default_factory=dict)


def _actor_routes() -> list[tuple[type[Model], re.Pattern[str], str | None]]:
    """(model, compiled regex, its one named group or None) per actor route.

    Models whose registration cannot make actors are not routes to actors:
    their rows would all be refused by :func:`is_actor` after a query.
    """
    routes = []
    for model, item in actor_models():
        regex = item.matcher.regex  # django's RegexPattern, compiled
        names = list(regex.groupindex)
        single = names[0] if regex.groups == 1 and len(names) == 1 else None
        routes.append((model, regex, single))
    return routes


def _match_routes(iris: Iterable[str]) -> dict[type[Model], _Matched]:
    """Each actor model's matched IRIs (the per-IRI part of the hot loop)."""
    domain, prefix = site_domain().lower(), script_prefix()
    secure, plain = f"https://{domain}{prefix}", f"http://{domain}{prefix}"
    routes = _actor_routes()
    wanted: dict[type[Model], _Matched] = {
        model: _Matched(single) for model, _, single in routes
    }
    # Bound methods and target dicts looked up once, not once per IRI.
    matchers = [
        (regex.search, single, wanted[model].iris) for model, regex, single in routes
    ]
    for iri in iris:
        # The cut equals local_path()'s answer with its leading "/" removed.
        if iri.startswith(secure):
            relative: str | None = iri[len(secure) :]
        elif iri.startswith(plain):
            relative = iri[len(plain) :]
        else:
            relative = None
        if relative is None or "?" in relative or "#" in relative:
            path = local_path(iri, domain, prefix)
            if path is None:
                continue
            relative = path[1:] if path.startswith("/") else path
        for search, single, matched in matchers:
            found = search(relative)
            if not found:
                continue
            if single is not None:
                value = found.group(single)
                if value is not None:  # an optional group that took nothing
                    matched.setdefault(value, []).append(iri)
            else:
                key = _lookup_key(found.groupdict())
                if key:
                    matched.setdefault(key, []).append(iri)
    return {model: match for model, match in wanted.items() if match.iris}


def _found_by_field(
    model: type[Model], name: str, by_value: dict[Any, list[str]], keys_only: bool
) -> Iterator[_Found]:
    """Rows of ``model`` whose field ``name`` holds a captured value."""
    model_field = _model_field(model, name)
    if model_field is None:  # a lookup across a relation ("user__name"): the ORM's way
        by_key = {((name, value),): iris for value, iris in by_value.items()}
        yield from _found_by_keys(model, by_key, keys_only)
        return
    if not isinstance(model_field, (CharField, TextField)):
        by_value = _to_field_values(model_field, by_value)
    manager = model._default_manager
    values = list(by_value)
    for start in range(0, len(values), _IN_CHUNK):
        rows = manager.filter(AnyOf(F(name), values[start : start + _IN_CHUNK]))
        if keys_only:
            found = list(rows.values_list("pk", name))
        else:
            found = [(row, getattr(row, name)) for row in rows if is_actor(row)]
        yield _Found(model, keys_only, by_value, found)


def _model_field(model: type[Model], name: str) -> Any:
    """The concrete field ``name`` names (``pk`` too), or None."""
    if name == "pk":
        return model._meta.pk
    try:
        return model._meta.get_field(name)
    except FieldDoesNotExist:
        return None


def _to_field_values(
    field: Any, by_value: dict[Any, list[str]]
) -> dict[Any, list[str]]:
    """Captured strings as the field's values; those it cannot hold left out.

    ``"abc"`` for an integer key names no row, and must not make the query
    fail for every other recipient in it.
    """
    converted: dict[Any, list[str]] = {}
    for value, iris in by_value.items():
        try:
            python = field.to_python(value)
        except (ValidationError, ValueError, TypeError):
            continue
        if python is not None:
            converted.setdefault(python, []).extend(iris)
    return converted


def _found_by_keys(
    model: type[Model], by_key: dict[Any, list[str]], keys_only: bool
) -> Iterator[_Found]:
    """Rows matching several captured fields each (``OR``-ed)."""
    keys = list(by_key)
    fields = [name for name, _ in keys[0]]
    found: list[tuple[Any, Any]] = []
    for row in _fetch(model, keys, fields if keys_only else None):
        if keys_only:
            pk, *values = row
            found.append((pk, tuple(zip(fields, map(str, values), strict=True))))
        elif is_actor(row):
            found.append((row, tuple((f, str(getattr(row, f))) for f in fields)))
    yield _Found(model, keys_only, by_key, found)


def _lookup_key(kwargs: dict[str, str | None]) -> tuple[tuple[str, str], ...]:
    """A regex match's named groups as a hashable, ordered lookup key."""
    if len(kwargs) == 1:  # most routes capture one group
        ((name, value),) = kwargs.items()
        return ((name, value),) if value is not None else ()
    return tuple(sorted((k, v) for k, v in kwargs.items() if v is not None))


def _fetch(
    model: type[Model], keys: list[tuple], values_of: list[str] | None
) -> Iterable[Any]:
    """Rows of ``model`` matching any of ``keys`` (tuples of (field, value)).

    With ``values_of``, (pk, *those fields) tuples instead of instances.
    """
    manager = model._default_manager

    def rows(queryset):
        if values_of is not None:
            return queryset.values_list("pk", *values_of)
        return queryset

    fields = {name for key in keys for name, _ in key}
    found: list[Any] = []
    if len(fields) == 1:
        (field,) = fields
        values = [value for key in keys for _, value in key]
        for start in range(0, len(values), _IN_CHUNK):
            chunk = values[start : start + _IN_CHUNK]
            try:
                found.extend(rows(manager.filter(**{f"{field}__in": chunk})))
            except (ValueError, TypeError):  # a value the field cannot hold
                continue
        return found
    for start in range(0, len(keys), _QUERY_CHUNK):
        condition = Q()
        for key in keys[start : start + _QUERY_CHUNK]:
            condition |= Q(**dict(key))
        try:
            found.extend(rows(manager.filter(condition)))
        except (ValueError, TypeError):
            continue
    return found


# --- site-wide endpoints and local objects --------------------------------


def shared_inbox_iri() -> str:
    return absolute_iri(reverse("vox_activity:shared-inbox"))


def instance_actor_iri() -> str:
    """The site's own actor (an ``Application``): it signs fetches."""
    return absolute_iri(reverse("vox_activity:instance-actor"))


def key_id(actor_iri: str) -> str:
    """The ``publicKey.id`` of a local actor: ``<actor IRI>#main-key`` (as Mastodon)."""
    return f"{actor_iri}#main-key"


def local_object(iri: str, *, create: bool = False) -> Any | None:
    """The registered local object with this IRI (a new unsaved one if ``create``)."""
    path = local_path(iri)
    if path is None:
        return None
    for route in match_path(path):
        if create:
            return route.model(**route.kwargs)
        found = first_row(route)
        if found is not None:
            return found
    return None


__all__ = [
    "ENDPOINTS",
    "ActorRef",
    "actor_for_iri",
    "actor_for_path",
    "actor_for_username",
    "actor_iri",
    "actor_iri_of",
    "endpoint_iri",
    "federated_username",
    "followers_iri",
    "instance_actor_iri",
    "is_actor",
    "key_id",
    "local_actor_keys",
    "local_object",
    "match_path",
    "registration_for",
    "resolve_local_actors",
    "shared_inbox_iri",
    "split_endpoint",
]
