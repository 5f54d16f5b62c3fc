"""The admin shows activities and inbox items read-only, JSON pretty-printed."""

import pytest

from vox_activity.models import (
    Activity,
    Delivery,
    Follow,
    InboxItem,
    RemoteActor,
    StoredObject,
)
from vox_activity.outgoing.publish import publish


def test_activity_and_inbox_admin_pages(admin_client, bob):
    activity = publish(
        {"type": "Create", "name": "Hello <b>"}, ["https://testserver/~bob/"]
    )
    item = InboxItem.objects.get()
    listing = admin_client.get("/admin/vox_activity/activity/")
    assert listing.status_code == 200
    assert "Hello &lt;b&gt;" in listing.content.decode()
    detail = admin_client.get(f"/admin/vox_activity/activity/{activity.pk}/change/")
    assert detail.status_code == 200
    html = detail.content.decode()
    assert "<pre" in html
    assert "&quot;type&quot;: &quot;Create&quot;" in html  # pretty JSON, escaped
    assert 'name="_save"' not in html  # read-only
    assert admin_client.get("/admin/vox_activity/activity/add/").status_code == 403
    assert admin_client.get("/admin/vox_activity/inboxitem/").status_code == 200
    item_page = admin_client.get(f"/admin/vox_activity/inboxitem/{item.pk}/change/")
    assert item_page.status_code == 200
    assert (
        admin_client.get(
            "/admin/vox_activity/inboxitem/?read_at__isempty=1"
        ).status_code
        == 200
    )


@pytest.fixture
def remote(db):
    return RemoteActor.objects.create(
        iri="https://remote.example/users/zed",
        domain="remote.example",
        inbox="https://remote.example/users/zed/inbox",
        shared_inbox="https://remote.example/inbox",
        preferred_username="zed",
    )


def test_follow_admin_accepts_and_rejects_requests(
    admin_client, alice, remote, dummy_tasks
):
    pending = Follow.objects.create(
        actor_iri=remote.iri,
        object_iri="https://testserver/~alice/",
        remote_actor=remote,
        activity_iri="https://remote.example/follows/1",
    )
    url = "/admin/vox_activity/follow/"
    assert admin_client.get(url).status_code == 200
    admin_client.post(url, {"action": "accept", "_selected_action": [pending.pk]})
    pending.refresh_from_db()
    assert pending.state == Follow.State.ACCEPTED
    accept = Activity.objects.get(type="Accept")
    assert accept.data["object"]["id"] == "https://remote.example/follows/1"
    assert Delivery.objects.get(activity=accept).inbox == "https://remote.example/inbox"
    admin_client.post(url, {"action": "reject", "_selected_action": [pending.pk]})
    pending.refresh_from_db()
    assert pending.state == Follow.State.REJECTED
    assert Activity.objects.filter(type="Reject").count() == 1


def test_flags_are_listed_as_reports(admin_client, db):
    Activity.objects.create(
        iri="https://remote.example/flags/1",
        type="Flag",
        actor_iri="https://remote.example/users/zed",
        data={
            "type": "Flag",
            "object": ["https://testserver/~alice/"],
            "content": "spam",
        },
        local=False,
    )
    Activity.objects.create(iri="https://remote.example/likes/1", type="Like",
                            data={"type": "Like"}, local=False)  # fmt: skip
    page = admin_client.get("/admin/vox_activity/report/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "spam" in html
    assert "https://testserver/~alice/" in html
    assert "likes/1" not in html


def test_c2s_like_of_a_remote_object_goes_to_its_owner(
    bob, remote, client, dummy_tasks
):
    StoredObject.objects.create(
        iri="https://remote.example/notes/1", owner_iri=remote.iri, type="Note"
    )
    client.force_login(bob)
    response = client.post(
        "/~bob/outbox",
        {"type": "Like", "object": "https://remote.example/notes/1"},
        content_type="application/activity+json",
    )
    assert response.status_code == 201
    like = Activity.objects.get(type="Like")
    assert response["Location"] == like.iri
    assert like.data["actor"] == "https://testserver/~bob/"
    assert like.data["to"] == [remote.iri]
    assert Delivery.objects.get(activity=like).inbox == remote.shared_inbox
    unknown = client.post(
        "/~bob/outbox",
        {"type": "Like", "object": "https://remote.example/notes/unknown"},
        content_type="application/activity+json",
    )
    assert unknown.status_code == 404


def test_given_up_activities_are_listed_and_applied_again(
    admin_client, alice, remote, dummy_tasks
):
    given_up = Activity.objects.store(
        {"id": "https://remote.example/likes/1", "type": "Like",
         "actor": remote.iri, "object": "https://testserver/~alice/"},
        local=False,
        processed=False,
    )  # fmt: skip
    given_up.record_failure(ValueError("a bug"), max_attempts=1)
    url = "/admin/vox_activity/activity/"
    listing = admin_client.get(url + "?processing=given_up").content.decode()
    assert "remote.example/likes/1" in listing
    assert (
        "remote.example/likes/1"
        not in admin_client.get(url + "?processing=waiting").content.decode()
    )
    detail = admin_client.get(f"{url}{given_up.pk}/change/").content.decode()
    assert "ValueError: a bug" in detail
    admin_client.post(url, {"action": "try_again", "_selected_action": [given_up.pk]})
    given_up.refresh_from_db()
    assert given_up.given_up_at is None and given_up.processing_attempts == 0
    queued = dummy_tasks.results
    assert [r.args for r in queued] == [[remote.iri]]
