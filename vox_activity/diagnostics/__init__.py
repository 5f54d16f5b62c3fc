"""Check actors the way Mastodon sees them; each check returns findings.

A site calls these from its own health checks; ``manage.py
vox_activity_check`` prints them.  Every :class:`Finding` has a stable code
and a fixed :class:`Level` (``docs/troubleshooting.rst`` lists them all)::

    from vox_activity.diagnostics import Level, check_actor

    problems = [f for f in check_actor("/~alice/") if f.level is not Level.OK]

Modules by concern: :mod:`.target` (which actor an address names),
:mod:`.channels` (asking over HTTP or through Django), :mod:`.fetch` and
:mod:`.local` (getting the document), :mod:`.document`, :mod:`.keys` and
:mod:`.validation` (checking it), :mod:`.webfinger`, :mod:`.site`,
:mod:`.probe` (the test delivery) and :mod:`.actor` (all of them in order).
"""

from .actor import check_actor, check_local_actor, check_remote_actor, check_target
from .findings import CODES, Finding, Level, has_errors
from .site import check_site
from .target import LocalTarget, RemoteTarget, TargetError, resolve, resolve_local

__all__ = [
    "CODES",
    "Finding",
    "Level",
    "LocalTarget",
    "RemoteTarget",
    "TargetError",
    "check_actor",
    "check_local_actor",
    "check_remote_actor",
    "check_site",
    "check_target",
    "has_errors",
    "resolve",
    "resolve_local",
]
