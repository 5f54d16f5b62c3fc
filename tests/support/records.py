"""What a test observes: rows written, signals sent, what handlers were given.

* :func:`row_counts`: rows in the tables an incoming activity writes to;
  :func:`table_counts`: rows in *every* table of vox_activity, to show that a
  refused request wrote nothing anywhere; :func:`stored_counts`: the same
  without the remote-actor cache, which a refused request may fill;
* :class:`SignalLog`: every vox_activity signal sent during a test (the
  ``received`` fixture holds one);
* :class:`HandlerSpy`: what each activity handler hook was given, so a test
  can show that forged content never reaches a handler.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from django.apps import apps

from vox_activity import signals
from vox_activity.incoming import pipeline
from vox_activity.models import (
    Activity,
    Block,
    Delivery,
    Follow,
    InboxItem,
    StoredObject,
)

__all__ = [
    "WRITTEN",
    "HandlerSpy",
    "SignalLog",
    "row_counts",
    "stored_counts",
    "table_counts",
]

#: Every table an incoming activity may write to.
WRITTEN = (Activity, InboxItem, Follow, StoredObject, Block, Delivery)


def row_counts() -> dict[str, int]:
    """Rows per table that incoming activities write; compare before and after."""
    return {model.__name__: model.objects.count() for model in WRITTEN}


def table_counts() -> dict[str, int]:
    """Rows per model of the vox_activity app (every table it has)."""
    return {
        model._meta.label: model._default_manager.count()
        for model in apps.get_app_config("vox_activity").get_models()
        if not model._meta.proxy
    }


#: The cache of remote actors and their keys, and what their servers are known
#: to accept (DomainHealth.signature_scheme, learnt by the double knock):
#: filled when a sender is fetched (before, and outside, the transaction that
#: stores an activity), so a refused activity may leave its sender cached.
CACHE_TABLES = frozenset(
    {"vox_activity.RemoteActor", "vox_activity.RemoteKey", "vox_activity.DomainHealth"}
)


def stored_counts() -> dict[str, int]:
    """:func:`table_counts` without the remote-actor cache."""
    return {k: v for k, v in table_counts().items() if k not in CACHE_TABLES}


# --- signals -------------------------------------------------------------------


class SignalLog:
    """Every vox_activity signal sent while it is connected: (name, kwargs)."""

    NAMES = (
        "activity_received",
        "follow_requested",
        "follow_accepted",
        "follow_rejected",
        "follow_removed",
    )

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []
        self._receivers = {}
        for name in self.NAMES:

            def receiver(sender: Any, name: str = name, **kwargs: Any) -> None:
                kwargs.pop("signal", None)
                self.events.append((name, {"sender": sender, **kwargs}))

            self._receivers[name] = receiver
            getattr(signals, name).connect(receiver, weak=False)

    def of(self, name: str) -> list[dict[str, Any]]:
        return [kwargs for event, kwargs in self.events if event == name]

    def names(self) -> list[str]:
        return [event for event, _ in self.events]

    def disconnect(self) -> None:
        for name, receiver in self._receivers.items():
            getattr(signals, name).disconnect(receiver)

    def __enter__(self) -> SignalLog:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.disconnect()


# --- handlers ------------------------------------------------------------------


class HandlerSpy:
    """Wraps whatever handler the pipeline picks and records each hook's input.

    ``seen`` holds ``(hook, type, deep copy of incoming.data)`` for
    ``validate``, ``prefetch``, ``recipients`` and ``apply``.
    """

    HOOKS = ("validate", "prefetch", "recipients", "apply")

    def __init__(self, monkeypatch: Any) -> None:
        self.seen: list[tuple[str, str, dict[str, Any]]] = []
        real = pipeline.handler_for
        monkeypatch.setattr(
            pipeline, "handler_for", lambda kind: _Recording(real(kind), self)
        )

    def data_seen_by(self, hook: str) -> list[dict[str, Any]]:
        return [data for name, _kind, data in self.seen if name == hook]

    def everything_seen(self) -> str:
        """All that the hooks were given, as one JSON text (to search in)."""
        return json.dumps([data for _, _, data in self.seen], sort_keys=True)


class _Recording:
    def __init__(self, inner: Any, spy: HandlerSpy) -> None:
        self._inner = inner
        self._spy = spy

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._inner, name)
        if name not in HandlerSpy.HOOKS:
            return attribute

        def hook(incoming: Any) -> Any:
            self._spy.seen.append((name, incoming.type, copy.deepcopy(incoming.data)))
            return attribute(incoming)

        return hook
