"""Signals for sites: react to what arrives from other servers.

All are sent after the incoming activity and its side effects are stored,
inside the same transaction (a receiver that raises makes the inbox answer
an error and nothing is kept).  Use ``transaction.on_commit`` in a receiver
for work that must only happen once the data is saved (e-mails, tasks).

``activity_received``
    ``sender``: the :class:`~vox_activity.models.Activity` class;
    ``activity`` (the stored row), ``actor`` (the
    :class:`~vox_activity.models.RemoteActor` that sent it), ``data`` (the
    JSON).  Sent for every accepted incoming activity, whatever its type
    (Create, Like, Announce, Undo, Flag, Add, unknown types...).

``follow_requested`` / ``follow_accepted`` / ``follow_rejected`` / ``follow_removed``
    ``sender``: the :class:`~vox_activity.models.Follow` class; ``follow``
    (the row).  Sent when a remote actor asks to follow a local one, when a
    follow (either way) is accepted or rejected, and when one ends (Undo,
    unfollow, Block, account deletion).
"""

from django.dispatch import Signal

__all__ = [
    "activity_received",
    "follow_accepted",
    "follow_rejected",
    "follow_removed",
    "follow_requested",
]

activity_received = Signal()
follow_requested = Signal()
follow_accepted = Signal()
follow_rejected = Signal()
follow_removed = Signal()
