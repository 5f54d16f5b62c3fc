"""Delivery of activities to remote servers.

:func:`schedule_remote_delivery` receives, inside the publishing transaction,
every address of a new activity that is not a local actor: remote actor
IRIs, ``followers`` collections and the Public collection.  Signed delivery
to remote inboxes is the next step of the roadmap (keys, HTTP Signatures,
Delivery rows with retries); until it lands the addresses stay in the
activity's addressing and are logged here, never an error.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from .activities import PUBLIC
from .models import Activity

logger = logging.getLogger(__name__)


def schedule_remote_delivery(activity: Activity, addresses: Sequence[str]) -> None:
    """Arrange delivery of ``activity`` to non-local ``addresses``."""
    remote = [address for address in addresses if address != PUBLIC]
    if remote:
        logger.info(
            "Activity %s is addressed to %d non-local address(es) (%s); remote "
            "delivery is not enabled in this version, so they are kept in its "
            "addressing only.",
            activity.iri,
            len(remote),
            ", ".join(remote[:5]) + (" …" if len(remote) > 5 else ""),
        )
