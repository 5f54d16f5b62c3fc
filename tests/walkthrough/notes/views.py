"""The site's own pages: a person, a note, and the logged-in person's inbox."""

from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.html import format_html, format_html_join

from vox_activity.models import InboxItem

from .models import Note


def person(request, username):
    user = get_object_or_404(get_user_model(), username=username)
    notes = format_html_join(
        "", '<li><a href="{}">{}</a></li>',
        ((note.get_absolute_url(), note.slug) for note in user.notes.all()),
    )  # fmt: skip
    return HttpResponse(format_html("<h1>{}</h1><ul>{}</ul>", user, notes))


def note(request, slug):
    note = get_object_or_404(Note, slug=slug)
    return HttpResponse(format_html("<p>{}</p><p>— {}</p>", note.text, note.author))


@login_required
def inbox(request):
    """What reached the person: from this site and from other servers."""
    items = InboxItem.objects.for_owner(request.user)
    latest = items.newest_first().select_related("activity")[:50]
    rows = format_html_join(
        "", "<li>{}: {} {}</li>",
        (
            (item.activity.type, item.plain_name or item.activity.actor_iri,
             item.safe_summary)
            for item in latest
        ),
    )  # fmt: skip
    unread = items.unread().count()
    items.unread().mark_read()
    return HttpResponse(format_html("<p>{} new</p><ul>{}</ul>", unread, rows))
