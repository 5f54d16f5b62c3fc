"""A linear-time replacement for django-vox's ``Notification.issue_now``.

django-vox finds each recipient's contacts in
``ChannelContactSet.get_address_items``, which skips duplicates by testing
membership in a list: quadratic in the number of recipients (about 50 million
``Model.__eq__`` calls, nearly a minute, for 10,000).  django-vox lets a site
replace the issue path with the ``DJANGO_VOX_ISSUE_METHOD`` setting::

    DJANGO_VOX_ISSUE_METHOD = "vox_activity.issue.issue_now"

:func:`issue_now` does exactly what django-vox's method does, for every
backend, but de-duplicates contactables with a set (the same equality that
``Model.__eq__`` uses: concrete model and primary key), so its cost is linear.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

from django_vox import registry
from django_vox import settings as vox_settings

__all__ = ["address_items", "issue_now"]


def _identity(contactable: Any) -> Any:
    """A hashable key equal exactly when django's ``Model.__eq__`` says so."""
    meta = getattr(contactable, "_meta", None)
    pk = getattr(contactable, "pk", None)
    if meta is None or pk is None:
        return ("object", id(contactable))
    return (meta.concrete_model, pk)


def address_items(
    notification: Any, channels: dict, protocol: str, recipients: list[str]
) -> Iterator[tuple[str, Any]]:
    """(address, contactable) for every contact of ``protocol``, each once."""
    seen: set = set()
    for recipient in recipients:
        channel = channels.get(recipient)
        if channel is None:
            continue
        for contactable in channel.contactables():
            key = _identity(contactable)
            if key in seen:
                continue
            seen.add(key)
            if hasattr(contactable, "get_contacts_for_notification"):
                for contact in contactable.get_contacts_for_notification(notification):
                    if contact.protocol == protocol:
                        yield contact.address, contactable
            else:
                registration = registry.objects[type(contactable)].registration
                for contact in registration.get_contacts(
                    contactable, protocol, notification
                ):
                    yield contact.address, contactable


def issue_now(notification: Any, obj: Any, *, actor: Any = None, target: Any = None):
    """Issue ``notification`` about ``obj`` now, through every enabled template."""
    if not isinstance(obj, notification.get_object_model()):
        raise TypeError(
            f"{notification} is about {notification.get_object_model().__name__} "
            f"objects, not {type(obj).__name__}."
        )
    parameters = {"content": obj, "object": obj, "notification": notification}
    if target is not None:
        parameters["target"] = target
    if actor is not None:
        parameters["actor"] = actor
        parameters["source"] = actor  # django-vox's backwards-compatible name

    registration = registry.objects[type(obj)].registration
    parameters["activity_object"] = registration.get_activity_object(
        obj, codename=notification.codename, actor=actor, target=target
    )
    parameters["activity_type"] = notification.get_activity_type()
    templates = list(notification.template_set.filter(enabled=True))
    channels = notification.get_recipient_channels(obj, target, actor)
    backends = {
        backend_id: registry.backends.by_id(backend_id)()
        for backend_id in {template.backend for template in templates}
    }

    exceptions = []
    sent = False
    for template in templates:
        backend = backends[template.backend]
        recipients = template.recipients.split(",")
        pairs = address_items(notification, channels, backend.PROTOCOL, recipients)
        if template.bulk:
            batches = [([address for address, _ in pairs], None)]
        else:
            batches = [([address], contactable) for address, contactable in pairs]
        for addresses, contactable in batches:
            local = parameters
            if contactable is not None:
                local = {**parameters, "recipient": contactable}
            exception = notification.send_message(addresses, local, template, backend)
            if exception is None:
                sent = True
            elif vox_settings.THROW_EXCEPTIONS:
                exceptions.append(exception)
            else:
                warnings.warn(RuntimeWarning(exception), stacklevel=2)
    if exceptions:
        raise exceptions[0]
    if not sent and notification.required:
        raise RuntimeError("Notification required, but no message sent")
