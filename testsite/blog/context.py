"""Template context for every page: the logged-in user's unread count."""

from vox_activity.models import InboxItem


def inbox(request):
    """``unread_count`` for the header's badge (absent for visitors)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"unread_count": InboxItem.objects.for_owner(user).unread().count()}
