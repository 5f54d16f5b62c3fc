"""Routes ActivityPub requests on registered actor paths to vox_activity's views.

Actor IRIs are the site's own URLs (``/~alice/``), which the site serves as
HTML.  This middleware answers the same paths when the request is ActivityPub:
a GET or HEAD whose ``Accept`` asks for ``application/activity+json`` or
``application/ld+json; profile="https://www.w3.org/ns/activitystreams"``, or a
POST with one of those content types.  Everything else goes to the site
untouched; responses for actor and object paths get ``Vary: Accept`` so
caches keep the HTML and the JSON apart.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers

from vox_activity.registry import (
    actor_for_path,
    declares_actors,
    federated_username,
    match_path,
    registration_for,
    split_endpoint,
)
from vox_activity.serving.access import fetch_refusal
from vox_activity.serving.objects import REPLIES, object_response, replies_response
from vox_activity.serving.responses import (
    accepts_activity_json,
    error_response,
    for_client,
    has_activity_content_type,
)
from vox_activity.serving.views import ACTOR_VIEWS

__all__ = ["ActivityPubMiddleware", "is_activitypub_request"]


def is_activitypub_request(request: HttpRequest) -> bool:
    if request.method in ("GET", "HEAD"):
        return accepts_activity_json(request)
    if request.method == "POST":
        return has_activity_content_type(request)
    return False


def _candidates(path: str) -> list[str]:
    return [path] if path.endswith("/") else [path, path + "/"]


def _is_registered_path(path: str) -> bool:
    """Does any registered regex (actor or object) match ``path``?"""
    return any(match_path(candidate) for candidate in _candidates(path))


def _looks_like_actor_path(path: str) -> bool:
    """Does a registered actor regex match ``path`` (row or not)?"""
    return any(
        declares_actors(registration_for(route.model))
        for candidate in _candidates(path)
        for route in match_path(candidate)
    )


class ActivityPubMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        head, endpoint = split_endpoint(path)
        # Every POST to an inbox is for us, whatever its content type: the
        # inbox itself answers 415 with a reason for the wrong ones.
        posts_to_inbox = request.method == "POST" and endpoint == "inbox"
        if posts_to_inbox or is_activitypub_request(request):
            response = self.dispatch(request, path, head, endpoint)
            if response is not None:
                return for_client(request, response)
        response = self.get_response(request)
        if _is_registered_path(head):
            # The same URL answers HTML or JSON by Accept: caches must know.
            patch_vary_headers(response, ("Accept",))
        # vox_activity's errors (here and in its URLs' views) as HTML pages
        # for browsers, JSON for everyone else.
        return for_client(request, response)

    def dispatch(
        self, request: HttpRequest, path: str, head: str, endpoint: str | None
    ) -> HttpResponse | None:
        actor = actor_for_path(head) if endpoint else actor_for_path(path)
        if actor is None:
            if request.method not in ("GET", "HEAD"):
                return None if not _looks_like_actor_path(head) else _no_actor()
            # A deleted actor's or object's Tombstone, an object, its replies.
            served = object_response(request, path) or _replies(request, path)
            if served is not None:
                return fetch_refusal(request) or served
            if served is None and _looks_like_actor_path(head if endpoint else path):
                return _no_actor()
            return served
        if _faces_other_servers(request, endpoint):
            if not federated_username(actor):
                return error_response(
                    404,
                    "This actor is not federated: its username cannot be used by "
                    "other servers.",
                )
            if request.method in ("GET", "HEAD"):
                refused = fetch_refusal(request)
                if refused is not None:
                    return refused
        return ACTOR_VIEWS[endpoint](request, actor)


def _no_actor() -> HttpResponse:
    return error_response(404, "No such actor on this site.")


def _replies(request: HttpRequest, path: str) -> HttpResponse | None:
    head, _, last = path.rstrip("/").rpartition("/")
    if last != REPLIES or not head:
        return None
    return replies_response(request, head + "/") or replies_response(request, head)


def _faces_other_servers(request: HttpRequest, endpoint: str | None) -> bool:
    """Everything but the owner reading its inbox or posting to its outbox."""
    if endpoint == "inbox":
        return request.method == "POST"
    if endpoint == "outbox":
        return request.method != "POST"
    return True
