"""vox_activity's models, one module per concern, all importable from here."""

from vox_activity.models.activity import IRI_MAX_LENGTH, Activity, InboxItem, Report
from vox_activity.models.delivery import Delivery, DomainHealth
from vox_activity.models.follow import Follow
from vox_activity.models.keys import ActorKey
from vox_activity.models.objects import Block, StoredObject
from vox_activity.models.remote import RemoteActor

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
