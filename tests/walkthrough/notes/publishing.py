"""Publishing a note: save it, then issue its notification once it is committed."""

from functools import partial

from django.db import transaction

from .models import Note
from .vox import NoteVox


def publish_note(author, slug, text):
    note = Note.objects.create(author=author, slug=slug, text=text)
    # Issuing fetches the followers' servers it does not know yet: never
    # inside a transaction, so after the commit (at once without one).
    transaction.on_commit(partial(NoteVox.created.issue, note))
    return note
