"""Template filters for text received from other servers.

``{% load vox_activity %}``, then:

``{{ value|activity_html }}``
    ``value`` sanitised (:func:`vox_activity.protocol.html.sanitize_html`)
    and marked safe: for ``content`` and ``summary``, which are HTML.
``{{ value|activity_text }}``
    ``value`` as plain text (:func:`vox_activity.protocol.html.plain_text`),
    escaped by Django as usual: for ``name`` and other plain-text fields.

``value`` is the field's value, or the whole object (a dict): then the
filter reads the field named by its argument, honouring ``contentMap`` and
the like: ``{{ activity.data.object|activity_html:"summary" }}``.  Without
an argument, ``activity_html`` reads ``content`` and ``activity_text``
reads ``name``.
"""

from __future__ import annotations

from collections.abc import Mapping

from django import template
from django.utils.safestring import SafeString, mark_safe

from vox_activity.protocol.html import localized_value, plain_text, sanitize_html

__all__ = ["activity_html", "activity_text", "register"]

register = template.Library()


def _value(value: object, field: str) -> str | None:
    if isinstance(value, Mapping):
        return localized_value(value, field)
    return value if isinstance(value, str) else None


@register.filter
def activity_html(value: object, field: str = "content") -> SafeString:
    """Received HTML with only the allowed markup, safe to insert as is."""
    return mark_safe(sanitize_html(_value(value, field)))  # noqa: S308 (sanitised)


@register.filter
def activity_text(value: object, field: str = "name") -> str:
    """Received plain text: never HTML; the template escapes it."""
    return plain_text(_value(value, field))
