"""Received text where it is read: contentMap, template filters, accessors, pages.

The language a ``contentMap`` is read in, the ``activity_html`` and
``activity_text`` filters, the accessors of Activity, InboxItem and
StoredObject (safe HTML, the raw JSON kept as received), and the demo
site's inbox page showing a hostile payload inert.
"""

from __future__ import annotations

import pytest
from django.template import Context, Template
from django.test import Client, override_settings
from django.utils import translation
from django.utils.safestring import SafeString

from vox_activity.models import Activity, InboxItem, StoredObject
from vox_activity.protocol.html import activity_field, localized_value

from .support.parsed_html import MENTION, Parsed, scheme

# --- contentMap and embedded objects -----------------------------------------


def test_the_plain_field_wins_over_the_map():
    obj = {"content": "<p>plain</p>", "contentMap": {"en": "<p>mapped</p>"}}
    assert localized_value(obj, "content", "en") == "<p>plain</p>"


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("de", "Hallo"),
        ("DE", "Hallo"),
        ("en-us", "Hello (US)"),  # exact tag, case-insensitive
        ("en-gb", "Hello"),  # primary subtag
        ("pt_BR", "Olá"),  # Django's underscore form
        ("ja", "Hallo"),  # none matches: the first string value
    ],
)
def test_the_map_is_read_in_the_wanted_language(language, expected):
    obj = {
        "contentMap": {
            "de": "Hallo",
            "en": "Hello",
            "en-US": "Hello (US)",
            "pt-BR": "Olá",
            "fr": None,
        }
    }
    assert localized_value(obj, "content", language) == expected


def test_the_map_defaults_to_the_site_language_or_the_active_one():
    obj = {"summaryMap": {"de": "deutsch", "fr": "français"}}
    with override_settings(LANGUAGE_CODE="fr"), translation.override(None):
        assert localized_value(obj, "summary") == "français"
    with translation.override("de"):
        assert localized_value(obj, "summary") == "deutsch"


@pytest.mark.parametrize(
    "obj",
    [None, "text", {"content": 3}, {"contentMap": "x"}, {"contentMap": {"en": 1}}, {}],
)
def test_no_string_no_value(obj):
    assert localized_value(obj, "content", "en") is None


def test_activity_field_reads_the_embedded_object_first():
    create = {
        "type": "Create",
        "name": "activity name",
        "summary": "activity summary",
        "object": {"type": "Note", "contentMap": {"en": "<p>note</p>"}},
    }
    assert activity_field(create, "content", "en") == "<p>note</p>"
    assert activity_field(create, "name", "en") == "activity name"
    like = {"type": "Like", "object": "https://x.example/notes/1", "name": "liked"}
    assert activity_field(like, "name") == "liked"
    assert activity_field(like, "content") is None
    assert activity_field("not an activity", "content") is None


# --- template filters ----------------------------------------------------------


def render(source: str, **context) -> str:
    return Template("{% load vox_activity %}" + source).render(Context(context))


def test_activity_html_filter_sanitises_and_marks_safe():
    value = '<p onclick="x()">hi</p><script>alert(1)</script>'
    assert render("{{ value|activity_html }}", value=value) == "<p>hi</p>"


def test_activity_html_filter_reads_a_field_of_an_object():
    note = {"summaryMap": {"en": "<b>cw</b>"}, "content": "<p>body</p>"}
    assert render("{{ note|activity_html }}", note=note) == "<p>body</p>"
    with translation.override("en"):
        out = render('{{ note|activity_html:"summary" }}', note=note)
    assert out == "<b>cw</b>"


def test_activity_text_filter_is_escaped_by_the_template():
    out = render("{{ value|activity_text }}", value="<b>Bob</b>\x00 & co")
    assert out == "&lt;b&gt;Bob&lt;/b&gt; &amp; co"
    out = render("{{ obj|activity_text }}", obj={"name": "<i>n</i>"})
    assert out == "&lt;i&gt;n&lt;/i&gt;"


def test_filters_on_nothing_render_nothing():
    assert render("[{{ x|activity_html }}|{{ x|activity_text }}]", x=None) == "[|]"


# --- model accessors -----------------------------------------------------------

RECEIVED_CREATE = {
    "id": "https://remote.example/users/eve/statuses/1/activity",
    "type": "Create",
    "actor": "https://remote.example/users/eve",
    "name": "<script>alert('name')</script>Eve\u202e posted",
    "object": {
        "id": "https://remote.example/users/eve/statuses/1",
        "type": "Note",
        "summary": "<p onmouseover=\"alert('cw')\">cw</p>",
        "content": '<p>hi</p><img src=x onerror="alert(1)"><script>alert(2)</script>',
    },
}


def test_activity_accessors_read_the_object_and_stay_safe():
    activity = Activity(type="Create", data=RECEIVED_CREATE)
    assert activity.safe_content == "<p>hi</p>"
    assert isinstance(activity.safe_content, SafeString)
    assert activity.safe_summary == "<p>cw</p>"
    assert activity.plain_name == "<script>alert('name')</script>Eve posted"
    assert not isinstance(activity.plain_name, SafeString)


def test_inbox_item_accessors_are_its_activitys():
    item = InboxItem(activity=Activity(type="Create", data=RECEIVED_CREATE))
    assert (item.safe_content, item.safe_summary, item.plain_name) == (
        "<p>hi</p>",
        "<p>cw</p>",
        "<script>alert('name')</script>Eve posted",
    )


def test_stored_object_accessors():
    note = StoredObject(data={**RECEIVED_CREATE["object"], "nameMap": {"en": "T\x00"}})
    assert note.safe_content == "<p>hi</p>"
    assert note.safe_summary == "<p>cw</p>"
    assert note.plain_name == "T"
    assert StoredObject(data={}).safe_content == ""


def test_accessors_on_data_that_is_not_an_object():
    activity = Activity(type="Create", data=["not", "an", "object"])
    assert (activity.safe_content, activity.plain_name) == ("", "")


@pytest.mark.django_db
def test_the_raw_json_stays_as_received():
    activity = Activity.objects.create(
        iri=RECEIVED_CREATE["id"], type="Create", local=False, data=RECEIVED_CREATE
    )
    activity.refresh_from_db()
    assert activity.data == RECEIVED_CREATE
    assert activity.safe_content == "<p>hi</p>"


# --- the demo site shows received text inert -------------------------------------


@pytest.mark.django_db
def test_inbox_page_renders_a_received_payload_inert(make_user):
    bob = make_user("bob")
    payload = {
        **RECEIVED_CREATE,
        "name": '<script>alert("pwned-name")</script>',
        "summary": "<b onmouseover=\"alert('pwned-summary')\">heads up</b>",
        "object": {
            "id": "https://remote.example/users/eve/statuses/1",
            "type": "Note",
            "url": "javascript:alert('pwned-url')",
            "content": (
                f"<p>{MENTION} hello</p>"
                '<script>alert("pwned-script")</script>'
                "<img src=x onerror=\"alert('pwned-img')\">"
                "<a href=\"javascript:alert('pwned-link')\">click</a>"
            ),
        },
    }
    activity = Activity.objects.create(
        iri=payload["id"], type="Create", actor_iri=payload["actor"],
        local=False, data=payload,
    )  # fmt: skip
    InboxItem.objects.create(owner=bob, activity=activity)
    client = Client()
    client.force_login(bob)

    page = client.get("/inbox/").content.decode()

    for marker in ("script", "img", "summary", "link", "url"):
        assert f"pwned-{marker}" not in page
    # The name is plain text: shown, escaped, never a script.
    assert "&lt;script&gt;alert(&quot;pwned-name&quot;)&lt;/script&gt;" in page
    parsed = Parsed(page)
    assert parsed.tags.count("script") == 1  # the page's own "Mark read" script
    assert not [
        (tag, name) for tag, attrs in parsed.elements for name in attrs
        if name.startswith("on")
    ]  # fmt: skip
    hrefs = [attrs.get("href") or "" for tag, attrs in parsed.elements if tag == "a"]
    assert not [href for href in hrefs if scheme(href) not in (None, "http", "https")]
    # The received post still reads as a post: its paragraph, mention and text.
    assert "heads up" in page
    assert 'class="u-url mention"' in page
    assert "@<span>Gargron</span>" in page
