"""vox_activity's models, one module per concern, all importable from here."""

from vox_activity.models.activity import Activity, InboxItem, Report
from vox_activity.models.delivery import Delivery, DeliverySweep, DomainHealth
from vox_activity.models.fields import IRI_MAX_LENGTH, IriField
from vox_activity.models.follow import Block, Follow
from vox_activity.models.keys import ActorKey
from vox_activity.models.objects import StoredObject
from vox_activity.models.remote import DomainBlock, RemoteActor, RemoteKey

__all__ = [
    "IRI_MAX_LENGTH",
    "Activity",
    "ActorKey",
    "Block",
    "Delivery",
    "DeliverySweep",
    "DomainBlock",
    "DomainHealth",
    "Follow",
    "InboxItem",
    "IriField",
    "RemoteActor",
    "RemoteKey",
    "Report",
    "StoredObject",
]
