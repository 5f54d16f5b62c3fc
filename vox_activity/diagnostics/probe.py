"""The test delivery: a harmless signed POST to a remote inbox, and its answer.

What the answer means is worked out by :func:`read_answer`, a pure function
of the answer, so every case can be tested without a server.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

from vox_activity.net import http
from vox_activity.net.signing import signed_request
from vox_activity.protocol.vocabulary import ACTIVITY_JSON, AS_CONTEXT
from vox_activity.registry import key_id
from vox_activity.site import absolute_iri

from .channels import Answer
from .findings import Checks, Finding, found

__all__ = [
    "CLOCK_SKEW_WARNING",
    "clock_skew",
    "deliver",
    "probe_activity",
    "read_answer",
]

#: A clock difference with the remote server worth a warning, in seconds.
CLOCK_SKEW_WARNING = 60

REFUSALS = {
    400: "the server refused the activity as malformed; its answer may say why.",
    403: (
        "the server refuses us: it may block this site or the sending actor, "
        "or federate only with an allow-list."
    ),
    404: "there is no inbox at that URL: the actor document names a wrong inbox.",
    405: "that URL does not accept POST: the actor document names a wrong inbox.",
    410: "the actor is gone (deleted account).",
    413: "the server thinks the activity is too large.",
    422: "the server refused the activity; its answer may say why.",
    501: "that server does not accept activities (yet).",
}


def probe_activity(sender: str) -> dict:
    """A Delete of an object that never existed on this site.

    Servers verify the signature, find nothing to delete and move on.  It is
    addressed to nobody, so it lands in no one's inbox.  (Not an Update or a
    Delete of the sender itself: Mastodon answers 202 to those from actors it
    does not know *without* checking the signature, which would make a broken
    set-up look fine.)
    """
    token = uuid.uuid4()
    return {
        "@context": AS_CONTEXT,
        "id": f"{sender}#vox-activity-check/{token}",
        "type": "Delete",
        "actor": sender,
        "object": absolute_iri(f"/vox-activity-check/{token}"),
    }


def deliver(inbox: str, sender: str) -> Checks:
    """POST :func:`probe_activity` to ``inbox``, signed as ``sender``."""
    body = json.dumps(probe_activity(sender)).encode("utf-8")
    headers = {"Content-Type": ACTIVITY_JSON, "Accept": ACTIVITY_JSON}
    try:
        response = signed_request(
            "POST", inbox, actor_iri=sender, headers=headers, data=body
        )
    except http.HttpError as exc:
        yield found(
            "deliver.unreachable",
            f"POST {inbox} got no answer: {exc}",
            "deliveries to this inbox fail the same way; see the fetch.* codes.",
        )
        return
    answer = Answer(
        response.status_code, response.content, response.url, response.headers
    )
    yield from read_answer(answer, inbox, sender, key_id(sender), datetime.now(UTC))


def read_answer(
    answer: Answer, inbox: str, sender: str, signed_as: str, now: datetime
) -> Checks:
    """What the inbox's answer says, and whether the clocks disagree."""
    said = f": {answer.excerpt()}" if answer.content else ""
    message = f"POST {inbox} (signed as {signed_as}): HTTP {answer.status}"
    yield _by_status(answer.status, message, said, sender)
    skew = clock_skew(answer.headers.get("Date"), now)
    if skew is not None and abs(skew) > CLOCK_SKEW_WARNING:
        yield found(
            "deliver.clock-skew",
            f"this machine's clock is {skew:+.0f} s off the server's.",
            "signatures carry the time; keep the clock synchronised (NTP).",
        )


def _by_status(status: int, message: str, said: str, sender: str) -> Finding:
    if 200 <= status < 300:
        return found(
            "deliver.accepted",
            f"{message}, accepted: the server took our signature (Mastodon "
            "checks it before answering; a few servers acknowledge first and "
            "check later).",
        )
    if status == 401:
        return found(
            "deliver.signature-rejected",
            f"{message}, signature rejected{said}",
            _signature_hint(sender),
        )
    if status == 429:
        return found(
            "deliver.rate-limited",
            message + said,
            "rate-limited: the server asks us to slow down; try again later.",
        )
    if status >= 500 and status not in REFUSALS:
        return found(
            "deliver.server-error",
            message + said,
            "the server has a problem of its own; real deliveries are retried.",
        )
    return found(
        "deliver.refused",
        message + said,
        REFUSALS.get(status, "servers answer 2xx to an activity they accept."),
    )


def _signature_hint(sender: str) -> str:
    return (
        "the server could not verify our signature.  Check: this machine's "
        "clock (NTP; the signed Date must be close to theirs); that "
        f"{sender} is reachable from the internet over https and serves the "
        f"key (manage.py vox_activity_check {urlsplit(sender).path}); that "
        "SITE_DOMAIN and SITE_SSL match the public origin (the key id is built "
        "from them); that no outbound proxy rewrites the Host or the path (both "
        "are signed); after a key rotation, that the server has refetched the "
        "key."
    )


def clock_skew(date_header: str | None, now: datetime) -> float | None:
    """Seconds ``now`` is ahead of the server's ``Date`` (None if unreadable)."""
    if not date_header:
        return None
    try:
        theirs = parsedate_to_datetime(date_header)
    except (TypeError, ValueError, IndexError):
        return None
    if theirs.tzinfo is None:
        theirs = theirs.replace(tzinfo=UTC)
    return (now - theirs).total_seconds()
