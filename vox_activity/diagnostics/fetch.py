"""Fetching a remote actor's document as vox_activity does, and saying why not.

The GET is signed by the instance actor and goes through the guarded client
(:class:`~.channels.HttpChannel`); nothing is read from or written to the
remote actor cache.  As :func:`vox_activity.net.remote_actors.fetch_actor` does, a
document that names another id on the same server (a profile URL answering
with the canonical actor) is followed to that id once.
"""

from __future__ import annotations

from dataclasses import dataclass

from vox_activity.net import http
from vox_activity.protocol.iri import origin_of
from vox_activity.protocol.vocabulary import ACTIVITY_JSON

from .channels import AP_ACCEPT, Answer, Channel, Unreachable
from .findings import Finding, Steps, found

__all__ = ["Fetched", "fetch_remote_actor"]


@dataclass(frozen=True)
class Fetched:
    """An actor document, the URL it was asked at and the one that answered."""

    data: dict
    requested: str
    #: After redirects: what ``validate_actor`` compares the id with.
    url: str


def fetch_remote_actor(
    channel: Channel, url: str, signer_iri: str
) -> Steps[Fetched | None]:
    """The document at ``url`` (or at the canonical id it names), or None."""
    fetched = yield from _fetch(channel, url, signer_iri)
    if fetched is None:
        return None
    claimed = fetched.data.get("id")
    if not _same_server_elsewhere(claimed, fetched.url):
        return fetched
    yield found(
        "fetch.canonical",
        f"{fetched.url} names the id {claimed} on the same server; fetching "
        "that, as deliveries do.",
    )
    return (yield from _fetch(channel, str(claimed), signer_iri))


def _same_server_elsewhere(claimed: object, url: str) -> bool:
    return (
        isinstance(claimed, str)
        and claimed != url
        and claimed.startswith(("http://", "https://"))
        and origin_of(claimed) == origin_of(url)
    )


def _fetch(channel: Channel, url: str, signer_iri: str) -> Steps[Fetched | None]:
    try:
        answer = channel.get(url, AP_ACCEPT)
    except Unreachable as exc:
        yield _no_answer(url, exc)
        return None
    if not 200 <= answer.status < 300:
        yield _refusal(url, answer, signer_iri)
        return None
    data = answer.json_object()
    if data is None:
        yield found(
            "fetch.not-json",
            f"GET {url}: HTTP {answer.status}, but not a JSON object.",
            "the URL did not answer with an actor document: is it the actor's id "
            "(not a profile page)?  An actor's server must answer Accept: "
            f"{ACTIVITY_JSON} with JSON.",
        )
        return None
    yield found(
        "fetch.ok",
        f"GET {url}, signed as the instance actor: HTTP {answer.status}, JSON.",
    )
    return Fetched(data, url, answer.url)


def _no_answer(url: str, exc: Unreachable) -> Finding:
    """What a site owner can do when nothing answered, by the client's error."""
    cause = exc.__cause__
    message = f"GET {url} got no answer: {exc}"
    if isinstance(cause, http.BlockedAddressError):
        return found(
            "fetch.blocked",
            message,
            "the host is (or resolves to) a private, loopback or reserved "
            "address, which vox_activity never contacts unless "
            'VOX_ACTIVITY["ALLOW_PRIVATE_ADDRESSES"] is True (development only).',
        )
    if isinstance(cause, http.InvalidURLError):
        return found("fetch.invalid-url", message, "it is not a valid http(s) URL.")
    if isinstance(cause, (http.RequestTimeoutError, http.ConnectError)):
        return found(
            "fetch.unreachable",
            message,
            "the server could not be reached from here: check the name, that it "
            "is up, and that this machine may make outgoing https connections "
            "(firewall, egress proxy, DNS, TLS certificates).",
        )
    return found(
        "fetch.failed",
        message,
        "the answer was refused on the way (too large, too many redirects, "
        "TLS): the message says which; deliveries fail the same way.",
    )


def _refusal(url: str, answer: Answer, signer_iri: str) -> Finding:
    """An answer that is not 2xx, by its status."""
    detail = answer.excerpt()
    message = f"GET {url} answered HTTP {answer.status}" + (
        f": {detail}" if detail else "."
    )
    if answer.status in (404, 410):
        return found(
            "fetch.gone",
            message,
            "no actor there: a mistyped address, or a deleted account.",
        )
    if answer.status in (401, 403):
        return found(
            "fetch.refused",
            message,
            "the server answers only signed fetches (Mastodon's authorized "
            "fetch) and did not accept ours, or it blocks this site.  Our "
            f"requests are signed as {signer_iri}: that actor must be reachable "
            "from the internet, and this machine's clock right.  Check your "
            "own actor too, and try --deliver for the server's own words.",
        )
    if answer.status >= 500:
        return found(
            "fetch.server-error",
            message,
            "the server has a problem of its own; try again later.",
        )
    return found(
        "fetch.status",
        message,
        "an actor's server answers 200 with the document.",
    )
