"""``vox_activity.issue.issue_now``: the stable dotted path sites put in settings.

The code lives in :mod:`vox_activity.outgoing.issue`; this module keeps the
path short and stable.
"""

from vox_activity.outgoing.issue import issue_now

__all__ = ["issue_now"]
