"""Received text, safe to show: the accessors shared by the models that hold JSON.

Remote servers send HTML in ``content`` and ``summary`` and plain text in
``name``; a site shows them.  These accessors give the sanitised form
(:mod:`vox_activity.protocol.html`), so templates never render what a
stranger wrote as raw HTML.  ``data`` keeps the JSON exactly as received.
"""

from __future__ import annotations

from django.utils.safestring import SafeString, mark_safe

from vox_activity.protocol import html

__all__ = ["ReceivedText"]


class ReceivedText:
    """``safe_content``, ``safe_summary`` and ``plain_name`` from :meth:`text_field`."""

    def text_field(self, field: str) -> str | None:
        """The raw value of ``field`` (or its ``…Map`` form) to show."""
        raise NotImplementedError(f"{type(self).__name__} must define text_field()")

    @property
    def safe_content(self) -> SafeString:
        """``content`` (or ``contentMap``) sanitised, marked safe for templates."""
        return mark_safe(html.sanitize_html(self.text_field("content")))  # noqa: S308

    @property
    def safe_summary(self) -> SafeString:
        """``summary`` (or ``summaryMap``) sanitised, marked safe for templates."""
        return mark_safe(html.sanitize_html(self.text_field("summary")))  # noqa: S308

    @property
    def plain_name(self) -> str:
        """``name`` (or ``nameMap``) as plain text, for templates to escape."""
        return html.plain_text(self.text_field("name"))
