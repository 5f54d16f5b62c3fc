"""manage.py vox_activity_import: django-vox's built-in backend → vox_activity."""

import json
from datetime import UTC, datetime, timedelta
from io import StringIO

import aspy
import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import re_path
from django.views.generic import RedirectView
from django_vox import models as vox_models
from django_vox.backends.activity import Backend as OldBackend

from testsite import urls as site_urls
from testsite.blog.models import Article
from vox_activity.models import Activity, InboxItem

from .support.constants import SITE
from .support.local_site import notification

WHEN = datetime(2021, 3, 4, 5, 6, 7, tzinfo=UTC)

#: The site's URLconf plus the redirect for old activity URLs that
#: docs/upgrading.rst suggests.
urlpatterns = [
    *site_urls.urlpatterns,
    re_path(
        r"^activity/(?P<activity_uuid>[0-9a-f-]+)/$",
        RedirectView.as_view(pattern_name="vox_activity:activity"),
    ),
]


def old_send(article, recipients, *, subject="New: {{ object.title }}", actor=True):
    """Store an activity exactly as django-vox's own activity backend does."""
    params = {
        "notification": notification(Article, "created"),
        "activity_object": article.__activity__(),
        "object": article,
    }
    if actor:
        params["actor"] = aspy.Person(id=f"{SITE}/~alice/", name="Alice")
        params["target"] = aspy.Collection(id=f"{SITE}/articles/", name="Articles")
    message = OldBackend.build_message(
        subject, "{{ object.author.username }} wrote it", params, []
    )
    before = set(vox_models.Activity.objects.values_list("pk", flat=True))
    OldBackend().send_message(
        "", [f"{SITE}/~{u.username}/" for u in recipients], message
    )
    (old,) = vox_models.Activity.objects.exclude(pk__in=before)
    return old


def run(*args):
    out, err = StringIO(), StringIO()
    call_command("vox_activity_import", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def old_data(alice, bob, article):
    """Two old activities; bob has read the first one."""
    first = old_send(article, [alice, bob])
    vox_models.Activity.objects.filter(pk=first.pk).update(timestamp=WHEN)
    read = WHEN + timedelta(hours=1)
    vox_models.InboxItem.objects.filter(activity=first, owner=bob).update(read_at=read)
    second = old_send(article, [bob], subject="", actor=False)
    first.refresh_from_db()
    second.refresh_from_db()
    return first, second, read


def test_the_old_backend_really_stored_rows(old_data):
    first, second, _ = old_data
    assert first.type == second.type == "Create"
    assert first.actor_id == f"{SITE}/~alice/"
    assert json.loads(first.object_json)["type"] == "Article"
    assert vox_models.InboxItem.objects.count() == 3


def test_import_copies_activities_and_inbox_items(old_data, alice, bob):
    first, second, read = old_data

    out, err = run()

    assert "Activities: copied 2, skipped 0 (already imported)." in out
    assert "Inbox items: copied 3, skipped 0 (already imported)." in out
    assert err == ""
    copy = Activity.objects.get(uuid=first.pk)
    iri = f"{SITE}/activity/{first.pk}/"
    assert copy.iri == iri == first.get_full_url()
    assert copy.local is True
    assert copy.public is False
    assert copy.published == WHEN
    assert copy.type == "Create"
    assert copy.actor_iri == f"{SITE}/~alice/"
    assert copy.object_iri == f"{SITE}/articles/hello/"
    data = copy.data
    assert data["@context"] == "https://www.w3.org/ns/activitystreams"
    assert data["id"] == iri
    assert data["type"] == "Create"
    assert data["name"] == "New: Hello"
    assert data["summary"] == "alice wrote it"
    assert data["published"] == "2021-03-04T05:06:07Z"
    assert data["actor"] == {"type": "Person", "id": f"{SITE}/~alice/", "name": "Alice"}
    assert data["object"]["type"] == "Article"
    assert data["object"]["id"] == f"{SITE}/articles/hello/"
    assert data["object"]["name"] == "Hello"
    assert data["target"]["id"] == f"{SITE}/articles/"
    assert "to" not in data

    second_copy = Activity.objects.get(uuid=second.pk)
    assert "actor" not in second_copy.data
    assert "target" not in second_copy.data
    assert "name" not in second_copy.data  # an empty subject is left out
    assert second_copy.actor_iri == ""

    user_type = ContentType.objects.get_for_model(bob)
    items = InboxItem.objects.filter(owner_type=user_type)
    assert items.count() == 3
    bobs_first = InboxItem.objects.for_owner(bob).get(activity=copy)
    assert bobs_first.read_at == read
    assert bobs_first.created == WHEN
    assert bobs_first.owner == bob
    assert InboxItem.objects.for_owner(alice).get().read_at is None
    assert InboxItem.objects.for_owner(bob).unread().get().activity == second_copy


def test_imported_activities_are_served_to_their_recipients(old_data, client, bob):
    first, _, _ = old_data
    run()
    path = f"/activitypub/activities/{first.pk}"
    assert client.get(path).status_code == 404  # not public
    client.force_login(bob)
    response = client.get(path)
    assert response.status_code == 200
    assert response.json()["id"] == f"{SITE}/activity/{first.pk}/"


@pytest.mark.urls(__name__)
def test_old_activity_urls_can_be_redirected(old_data, ap_client, client, bob):
    """The redirect of docs/upgrading.rst leads ActivityPub clients on."""
    first, _, _ = old_data
    run()
    client.force_login(bob)
    response = ap_client.get(f"/activity/{first.pk}/")
    assert response.status_code == 302
    assert response["Location"] == f"/activitypub/activities/{first.pk}"
    assert ap_client.get(response["Location"]).json()["id"] == first.get_full_url()


def test_running_again_copies_nothing(old_data):
    run()
    out, _ = run()
    assert "Activities: copied 0, skipped 2 (already imported)." in out
    assert "Inbox items: copied 0, skipped 3 (already imported)." in out
    assert Activity.objects.count() == 2
    assert InboxItem.objects.count() == 3


def test_a_second_run_adds_what_is_new(old_data, article, alice):
    run()
    third = old_send(article, [alice])
    first = old_data[0]
    vox_models.InboxItem.objects.create(
        activity=first, owner=article.author.__class__.objects.create(username="cy")
    )
    out, _ = run("--batch-size", "1")
    assert "Activities: copied 1, skipped 2 (already imported)." in out
    assert "Inbox items: copied 2, skipped 3 (already imported)." in out
    assert Activity.objects.filter(uuid=third.pk).exists()


def test_dry_run_writes_nothing(old_data):
    out, _ = run("--dry-run")
    assert "Activities: would copy 2, skipped 0 (already imported)." in out
    assert "Inbox items: would copy 3, skipped 0 (already imported)." in out
    assert "Dry run: nothing was written." in out
    assert Activity.objects.count() == 0
    assert InboxItem.objects.count() == 0
    run()
    out, _ = run("--dry-run")
    assert "Activities: would copy 0, skipped 2 (already imported)." in out


def test_small_batches_give_the_same_result(old_data):
    out, _ = run("--batch-size", "1", "-v", "2")
    assert out.count("... up to activity") == 2
    assert "Activities: copied 2" in out
    assert InboxItem.objects.count() == 3


def test_queries_do_not_grow_with_rows(alice, bob, article):
    def queries_for(count):
        Activity.objects.all().delete()
        vox_models.Activity.objects.all().delete()
        for _ in range(count):
            old_send(article, [alice, bob])
        with CaptureQueriesContext(connection) as captured:
            run("--batch-size", "100")
        assert Activity.objects.count() == count
        return len(captured)

    assert queries_for(3) == queries_for(12)


def test_unreadable_json_keeps_the_id(alice):
    old = vox_models.Activity.objects.create(
        type="Like",
        actor_id=f"{SITE}/~alice/",
        object_id=f"{SITE}/articles/x/",
        object_json="{not json",
        target_id="",
    )
    vox_models.InboxItem.objects.create(activity=old, owner=alice)
    out, err = run()
    assert "Activities: copied 1" in out
    assert "object_json is not JSON" in err
    copy = Activity.objects.get(uuid=old.pk)
    assert copy.data["object"] == f"{SITE}/articles/x/"
    assert copy.data["actor"] == f"{SITE}/~alice/"
    assert copy.type == "Like"


def test_nothing_to_import(db):
    out, _ = run()
    assert "Activities: copied 0, skipped 0" in out


def test_bad_batch_size(db):
    with pytest.raises(CommandError, match="at least 1"):
        run("--batch-size", "0")
