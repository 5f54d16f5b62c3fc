"""Activity handlers: one class per activity type, and the registry that finds them.

:func:`handler_for` gives the handler of a type: the site's own from the
``INBOX_HANDLERS`` setting if it names one, else the package's, else
:class:`~vox_activity.incoming.handlers.base.ActivityHandler` (store, fill
inboxes, signal: what happens to unknown types).  A site adds a type, or
replaces one, with a dotted path::

    VOX_ACTIVITY = {
        "INBOX_HANDLERS": {"EmojiReact": "myapp.federation.EmojiReactHandler"},
    }

and ``None`` as the value turns the package's handler of a type off (it is
then treated as unknown).  See ``docs/receiving.rst`` for a worked example.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from vox_activity.conf import get_setting
from vox_activity.incoming.handlers.base import ActivityHandler
from vox_activity.incoming.handlers.follows import (
    AcceptHandler,
    FollowHandler,
    RejectHandler,
    UndoHandler,
)
from vox_activity.incoming.handlers.moderation import (
    BlockHandler,
    FlagHandler,
    MoveHandler,
)
from vox_activity.incoming.handlers.objects import (
    AddRemoveHandler,
    CreateHandler,
    DeleteHandler,
    UpdateHandler,
)
from vox_activity.incoming.handlers.reactions import AnnounceHandler, LikeHandler

__all__ = [
    "DEFAULT_HANDLERS",
    "AcceptHandler",
    "ActivityHandler",
    "AddRemoveHandler",
    "AnnounceHandler",
    "BlockHandler",
    "CreateHandler",
    "DeleteHandler",
    "FlagHandler",
    "FollowHandler",
    "LikeHandler",
    "MoveHandler",
    "RejectHandler",
    "UndoHandler",
    "UpdateHandler",
    "handler_for",
]

#: The package's handlers, by activity type.
DEFAULT_HANDLERS: dict[str, type[ActivityHandler]] = {
    name: handler
    for handler in (
        AcceptHandler,
        AddRemoveHandler,
        AnnounceHandler,
        BlockHandler,
        CreateHandler,
        DeleteHandler,
        FlagHandler,
        FollowHandler,
        LikeHandler,
        MoveHandler,
        RejectHandler,
        UndoHandler,
        UpdateHandler,
    )
    for name in handler.types
}


def handler_for(activity_type: str) -> ActivityHandler:
    """The handler for ``activity_type`` (the default handler for unknown ones)."""
    overrides = get_setting("INBOX_HANDLERS") or {}
    return _handlers(tuple(sorted(overrides.items(), key=lambda kv: kv[0]))).get(
        activity_type, _DEFAULT
    )


_DEFAULT = ActivityHandler()


@lru_cache(maxsize=8)
def _handlers(overrides: tuple[tuple[str, Any], ...]) -> dict[str, ActivityHandler]:
    handlers = {name: cls() for name, cls in DEFAULT_HANDLERS.items()}
    for name, value in overrides:
        if value is None:
            handlers.pop(name, None)
            continue
        handlers[name] = _load(name, value)
    return handlers


def _load(name: str, value: Any) -> ActivityHandler:
    try:
        cls = import_string(value) if isinstance(value, str) else value
    except ImportError as exc:
        raise ImproperlyConfigured(
            f'VOX_ACTIVITY["INBOX_HANDLERS"]["{name}"] = {value!r} cannot be '
            f"imported: {exc}"
        ) from exc
    if not (isinstance(cls, type) and issubclass(cls, ActivityHandler)):
        raise ImproperlyConfigured(
            f'VOX_ACTIVITY["INBOX_HANDLERS"]["{name}"] must name a subclass of '
            "vox_activity.incoming.handlers.ActivityHandler."
        )
    return cls()
