"""The django-vox backend: notifications in, ActivityStreams activities out.

django-vox renders a notification's templates for each backend and calls
:meth:`Backend.build_message` (which must return a string: django-vox keeps it
in ``FailedMessage`` rows when sending fails), then
:meth:`Backend.send_message` with the recipients' ``activity`` addresses.
Building is pure; sending hands the activity to
:func:`vox_activity.outgoing.publish.publish`.

This module is imported while django-vox builds its backend registry
(``django_vox.registry`` imports the backends named in settings), so it must
not import ``vox_activity.registry``, ``registration`` or the models at
module level: they import ``django_vox.registry``, which is then only half
initialised.  The functions below import them when they run.
"""

from __future__ import annotations

import json
from typing import Any

from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from django_vox.backends import base

from vox_activity.protocol.vocabulary import (
    activity_type_for,
    as_list,
    build_context,
    iri_of,
    to_json,
)

__all__ = ("Backend",)


def _parameter(parameters: Any, name: str) -> Any:
    """``parameters[name]`` or None; works on dicts and django-vox previews."""
    try:
        return parameters[name] if name in parameters else None  # noqa: SIM401
    except (KeyError, AttributeError, TypeError):
        return None


def reference_to(instance: Any, contexts: list) -> Any:
    """How ``instance`` appears inside an activity.

    A local actor is referenced by its actor IRI; any other model by its
    registration's ``get_activity_object`` (``__activity__()``, or an Object
    with the ``get_absolute_url`` IRI); aspy objects, dicts and strings as
    they are.
    """
    from vox_activity.registry import actor_iri as iri_of_actor
    from vox_activity.registry import is_actor, registration_for

    if instance is None or instance == {}:
        return None
    if isinstance(instance, (str, dict)) or hasattr(instance, "part_to_dict"):
        return to_json(instance, contexts)
    if is_actor(instance):
        return iri_of_actor(instance)
    registration = registration_for(instance)
    if registration is not None:
        return to_json(registration.get_activity_object(instance), contexts)
    if hasattr(instance, "__activity__"):
        return to_json(instance.__activity__(), contexts)
    if hasattr(instance, "get_absolute_url"):
        from vox_activity.site import absolute_iri

        return absolute_iri(instance.get_absolute_url())
    return None


def tombstone_for(obj: Any) -> Any:
    """A deleted object is sent as a Tombstone (Mastodon's form), not in full."""
    if isinstance(obj, dict) and obj.get("id"):
        former = obj.get("type", "Object")
        return {"id": obj["id"], "type": "Tombstone", "formerType": former}
    return obj


def object_hook(instance: Any, name: str, notification: Any) -> Any:
    """Call an object hook of ``instance``'s registration (None if unregistered)."""
    from vox_activity.registration import hook
    from vox_activity.registry import registration_for

    if instance is None or not hasattr(instance, "_meta") or notification is None:
        return None
    registration = registration_for(instance)
    if registration is None:
        return None
    return hook(registration, name)(instance, notification)


def dress_object(
    obj: dict[str, Any], instance: Any, notification: Any, contexts: list
) -> dict[str, Any]:
    """The object with what its registration's hooks add: tags, reply, warning."""
    dressed = dict(obj)
    tags = object_hook(instance, "get_activity_tags", notification) or []
    if tags:
        dressed["tag"] = [*as_list(dressed.get("tag")), *map(hashtag, tags)]
    parent = object_hook(instance, "get_activity_in_reply_to", notification)
    if parent is not None:
        dressed["inReplyTo"] = reference_id(parent, contexts)
    warning = object_hook(instance, "get_activity_content_warning", notification)
    if warning:
        dressed["summary"] = str(warning)
        dressed["sensitive"] = True
    return dressed


def reference_id(instance: Any, contexts: list) -> Any:
    """The IRI of what ``instance`` refers to (an IRI string stays as it is)."""
    reference = reference_to(instance, contexts)
    return iri_of(reference) or reference


def hashtag(tag: Any) -> Any:
    """``"django"`` or ``"#django"`` → a ``Hashtag`` object (dicts stay as they are)."""
    if isinstance(tag, dict):
        return tag
    name = str(tag).lstrip("#")
    return {"type": "Hashtag", "name": f"#{name}"}


class Backend(base.Backend):
    """ActivityPub backend for django-vox (``DJANGO_VOX_BACKENDS`` entry)."""

    ID = "activity"
    PROTOCOL = "activity"
    VERBOSE_NAME = _("ActivityPub")
    USE_SUBJECT = True
    EDITOR_TYPE = "html-light"
    ALLOW_MANUAL_SENDING = False

    @classmethod
    def render(cls, subject: str, body: str, parameters: Any) -> tuple[str, str]:
        """The rendered subject (becomes ``name``) and body (``summary``)."""
        values = dict(_as_dict(parameters))
        # ``name`` is plain text in ActivityStreams: no HTML escaping; the
        # ``summary`` is HTML, so values are escaped into it.
        text = base.Context(values, autoescape=False)
        html = base.Context(values, autoescape=True)
        name = base.template_from_string(subject).render(text) if subject else ""
        summary = base.template_from_string(body).render(html) if body else ""
        return name.strip(), mark_safe(summary.strip())  # noqa: S308 (escaped above)

    @classmethod
    def build_activity(cls, subject: str, body: str, parameters: Any) -> dict[str, Any]:
        """The activity for one notification, without id or addressing yet."""
        name, summary = cls.render(subject, body, parameters)
        contexts: list[dict] = []
        notification = _parameter(parameters, "notification")
        activity_object = _parameter(parameters, "activity_object")
        if activity_object is None:
            activity_object = reference_to(_parameter(parameters, "object"), contexts)
        else:
            activity_object = to_json(activity_object, contexts)
        activity: dict[str, Any] = {
            "type": activity_type_for(notification),
        }
        subject_of = _parameter(parameters, "object")
        actor_instance = _parameter(parameters, "actor") or object_hook(
            subject_of, "get_activity_actor", notification
        )
        actor = reference_to(actor_instance, contexts)
        if actor is not None:
            activity["actor"] = actor
        if activity_object is not None:
            if activity["type"] == "Delete":
                activity_object = tombstone_for(activity_object)
            elif isinstance(activity_object, dict):
                activity_object = dress_object(
                    activity_object, subject_of, notification, contexts
                )
            activity["object"] = activity_object
        target = reference_to(_parameter(parameters, "target"), contexts)
        if target is not None:
            activity["target"] = target
        if name:
            activity["name"] = name
        if summary:
            activity["summary"] = summary
        addressing = object_hook(subject_of, "get_activity_addressing", notification)
        for field in ("to", "cc"):
            addresses = (addressing or {}).get(field)
            if addresses:
                activity[field] = list(addresses)
        return {"@context": build_context(contexts), **activity}

    @classmethod
    def build_message(
        cls, subject: str, body: str, parameters: dict, attachments: list
    ) -> str:
        return json.dumps(cls.build_activity(subject, body, parameters))

    @classmethod
    def preview_message(cls, subject: str, body: str, parameters: Any) -> str:
        """HTML for django-vox's admin preview: the type, name and summary."""
        name, summary = cls.render(subject, body, parameters)
        notification = _parameter(parameters, "notification")
        return format_html(
            '<div class="vox-activity-preview"><div><em>{}</em></div>'
            "<div><strong>{}</strong></div><div>{}</div></div>",
            activity_type_for(notification) if notification else _("Activity"),
            name,
            summary,
        )

    def send_message(
        self, from_address: str, to_addresses: list[str], message: str
    ) -> None:
        from vox_activity.outgoing.publish import publish

        publish(json.loads(message), to_addresses)


def _as_dict(parameters: Any) -> dict:
    """django-vox passes a dict when issuing and a PreviewParameters in admin."""
    if isinstance(parameters, dict):
        return parameters
    names = ("object", "content", "actor", "source", "target", "notification")
    return {name: parameters[name] for name in names if name in parameters}
