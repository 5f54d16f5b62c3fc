"""``vox_activity.backend.Backend``: the stable dotted path sites put in settings.

The code lives in :mod:`vox_activity.outgoing.backend`; this module keeps the
path short and stable.
"""

from vox_activity.outgoing.backend import Backend

__all__ = ["Backend"]
