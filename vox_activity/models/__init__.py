"""vox_activity's models, one module per concern, all importable from here."""

from .activity import IRI_MAX_LENGTH, Activity, InboxItem, Report
from .delivery import Delivery, DomainHealth
from .follow import Follow
from .keys import ActorKey
from .objects import Block, StoredObject
from .remote import RemoteActor

__all__ = [
    "IRI_MAX_LENGTH",
    "Activity",
    "ActorKey",
    "Block",
    "Delivery",
    "DomainHealth",
    "Follow",
    "InboxItem",
    "RemoteActor",
    "Report",
    "StoredObject",
]
