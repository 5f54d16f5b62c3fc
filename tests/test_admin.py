"""The admin shows activities and inbox items read-only, JSON pretty-printed."""

from vox_activity.models import InboxItem
from vox_activity.publish import publish


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
