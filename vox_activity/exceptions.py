"""The one exception root of vox_activity, and the error that maps to an HTTP answer.

Everything this package raises on purpose derives from :class:`VoxActivityError`,
so a site can catch one class.  Configuration mistakes are the exception:
they raise Django's :class:`~django.core.exceptions.ImproperlyConfigured`,
outside this tree on purpose, so that no ``except VoxActivityError`` can
swallow a broken deployment.

:class:`Refused` is the single "answer the client with this 4xx and this
reason" error shared by the inbox, the outbox, the collections and
discovery: the views turn it into a JSON error (or an HTML page for a
browser) with its status, reason and headers.
"""

from __future__ import annotations

from django.core.exceptions import SuspiciousOperation

__all__ = [
    "Dropped",
    "FollowError",
    "HttpError",
    "KeyMismatch",
    "NetworkInTransactionError",
    "Refused",
    "RemoteActorError",
    "RemoteActorGone",
    "SignatureError",
    "VoxActivityError",
]


class VoxActivityError(Exception):
    """The root of every error vox_activity raises on purpose."""


class Refused(VoxActivityError):
    """Input we will not act on: answer ``status`` (a 4xx) with ``reason``.

    ``headers`` go on the response too (``Retry-After`` on a 429, ``Allow``
    on a 405).  Nothing has been written when this is raised, or the write
    is rolled back with the transaction that raised it.
    """

    status: int = 400

    def __init__(
        self,
        status: int,
        reason: str,
        *,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.headers = dict(headers or {})


class Dropped(VoxActivityError):
    """Acknowledge with 202 and do nothing: a duplicate, or nothing to undo."""


class SignatureError(Refused, SuspiciousOperation):
    """A signature (HTTP or integrity proof) is missing, malformed, stale or wrong.

    It is also a :class:`~django.core.exceptions.SuspiciousOperation`, so a
    view that forgot to catch it still answers 400 rather than 500, and
    Django logs it on ``django.security``.  It answers 401: the sender may
    retry with a fresh signature or key.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(401, reason)


class KeyMismatch(SignatureError):
    """Well formed, but the key does not verify it.

    Only this failure can be cured by fetching the sender's key again (it may
    have been rotated); a bad digest or a stale date cannot.
    """


class HttpError(VoxActivityError):
    """An outbound request got no response to hand back; ``url`` says which hop."""

    def __init__(self, message: str, *, url: str | None = None) -> None:
        super().__init__(message)
        self.url = url


class RemoteActorError(VoxActivityError):
    """A remote document could not be fetched or is not usable; says why.

    ``url`` is what was fetched and ``status`` the HTTP status it answered
    (None when there was no answer, or the answer was unusable for another
    reason than its status); ``code`` names the rule a document broke
    (``actor.inbox``, ``actor.key.origin``...) for the diagnostics.
    """

    def __init__(
        self,
        message: str,
        *,
        url: str | None = None,
        status: int | None = None,
        code: str = "",
    ) -> None:
        super().__init__(message)
        self.url = url
        self.status = status
        self.code = code


class RemoteActorGone(RemoteActorError):
    """The remote server answered 404 or 410: the account or object is gone."""


class FollowError(VoxActivityError):
    """A follow operation that cannot be done; the message says why."""


class NetworkInTransactionError(VoxActivityError, RuntimeError):
    """A network request was attempted inside a database transaction.

    A programming error, never the remote side's fault: a slow server would
    hold the transaction (and on SQLite, the whole database) for as long as
    it likes.  Fetch first, then open the transaction.
    """
