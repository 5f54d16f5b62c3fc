"""``vox_activity.middleware.ActivityPubMiddleware``, the path named in settings.

The code lives in :mod:`vox_activity.serving.middleware`; this module keeps the
path short and stable.
"""

from vox_activity.serving.middleware import ActivityPubMiddleware

__all__ = ["ActivityPubMiddleware"]
