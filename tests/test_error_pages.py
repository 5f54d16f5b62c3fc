"""Errors: JSON for ActivityPub clients and scripts, an HTML page for browsers.

Decided by the request's ``Accept`` with its q-values
(:mod:`vox_activity.protocol.accept`): HTML only when ``text/html`` weighs
more than every JSON type; no ``Accept`` or ``*/*`` gets JSON.
"""

from __future__ import annotations

import json
import uuid

import pytest
from django.template import TemplateDoesNotExist

from vox_activity.protocol.accept import parse_accept, prefers_html, quality
from vox_activity.serving import responses

from .support.constants import AP, LD

#: What browsers send for a page (Firefox, Chrome), and for fetch().
FIREFOX = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
CHROME = (
    "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,"
    "image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7"
)


@pytest.mark.parametrize(
    ("accept", "html"),
    [
        (FIREFOX, True),
        (CHROME, True),
        ("text/html", True),
        ("text/*", True),
        ("text/html;q=0.9, application/json;q=0.5", True),
        ("application/json;q=0.1, text/html;q=0.2", True),
        (None, False),
        ("", False),
        ("*/*", False),  # servers, curl, fetch()
        (AP, False),
        (LD, False),
        (f"{AP}, text/html;q=0.9", False),
        ("application/jrd+json, application/json;q=0.9", False),
        ("text/html, application/json", False),  # a tie: JSON
        ("text/html;q=0.5, */*", False),  # */* covers JSON at 1
        ("text/html;q=0", False),  # "not acceptable"
        ("text/*;q=0.9, text/html;q=0, */*;q=0.1", False),  # the specific 0 wins
        ("text/html;q=2", False),  # a bad q-value: the entry is skipped
        ("garbage, , ;q=1, text", False),
        ("TEXT/HTML", True),
    ],
)
def test_prefers_html(accept, html):
    assert prefers_html(accept) is html


def test_quality_takes_the_most_specific_range():
    ranges = parse_accept("text/*;q=0.3, text/html;q=0.7, */*;q=0.1, text/html;a=b;q=1")
    assert quality(ranges, "text/plain") == 0.3
    assert quality(ranges, "image/png") == 0.1
    assert quality(ranges, "text/html") == 1.0  # with parameters: most specific
    assert quality(parse_accept("text/html"), "application/json") == 0.0
    (entry,) = parse_accept('application/ld+json; profile="x y"; q=0.5; ext=1')
    assert (entry.type, entry.subtype, entry.q) == ("application", "ld+json", 0.5)
    assert entry.params == {"profile": "x y"}  # accept-extensions are not params


def missing_activity():
    return f"/activitypub/activities/{uuid.uuid4()}"


@pytest.mark.django_db
def test_a_browser_gets_an_html_error_page(client):
    response = client.get(missing_activity(), HTTP_ACCEPT=FIREFOX)
    assert response.status_code == 404
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert "Accept" in response["Vary"]
    text = response.content.decode()
    assert "404" in text and "Not Found" in text
    assert "No such activity." in text
    assert "vox_activity/error.html" in [t.name for t in response.templates]


@pytest.mark.django_db
@pytest.mark.parametrize("accept", [None, "*/*", AP, LD, "application/json"])
def test_clients_and_servers_get_json(client, accept):
    extra = {"HTTP_ACCEPT": accept} if accept is not None else {}
    response = client.get(missing_activity(), **extra)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert json.loads(response.content) == {"error": "No such activity."}
    assert "Accept" in response["Vary"]


@pytest.mark.django_db
def test_the_page_keeps_the_status_and_headers(client):
    """A browser opening the shared inbox: 405, with its Allow header."""
    response = client.get("/activitypub/inbox", HTTP_ACCEPT=FIREFOX)
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert response["Content-Type"].startswith("text/html")
    assert "Use POST here." in response.content.decode()
    webfinger = client.get("/.well-known/webfinger", HTTP_ACCEPT="text/html")
    assert webfinger.status_code == 400
    assert webfinger["Access-Control-Allow-Origin"] == "*"
    assert "resource" in webfinger.content.decode()


def test_the_reason_is_escaped():
    """Reasons may quote what the client sent: never markup on the page."""
    page = responses.error_page(None, 400, '<script>alert("x")</script>')
    assert b"<script>" not in page.content
    assert b"&lt;script&gt;" in page.content


def test_without_app_templates_a_plain_page(monkeypatch, rf):
    def missing(*args, **kwargs):
        raise TemplateDoesNotExist(responses.ERROR_TEMPLATE)

    monkeypatch.setattr(responses, "render_to_string", missing)
    page = responses.error_page(rf.get("/"), 410, "Gone <for good>")
    assert page.status_code == 410
    assert page["Content-Type"] == "text/html; charset=utf-8"
    assert b"<h1>410 Gone</h1>" in page.content
    assert b"Gone &lt;for good&gt;" in page.content


def test_for_client_leaves_other_responses_alone(rf):
    request = rf.get("/", HTTP_ACCEPT=FIREFOX)
    ok = responses.activity_response({"id": "x"}, request)
    assert responses.for_client(request, ok) is ok
    error = responses.error_response(403, "No.", Retry_After="5")
    for_server = rf.get("/", HTTP_ACCEPT=AP)
    assert responses.for_client(for_server, error) is error
    page = responses.for_client(request, error)
    assert (page.status_code, page["Retry-After"]) == (403, "5")
    assert page["Content-Type"].startswith("text/html")


@pytest.mark.django_db
def test_a_site_overrides_the_template(client, settings, tmp_path):
    (tmp_path / "vox_activity").mkdir()
    (tmp_path / "vox_activity" / "error.html").write_text(
        "<p>Our page: {{ status }} {{ title }}: {{ reason }} ({{ home }})</p>"
    )
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [tmp_path]}]
    response = client.get(missing_activity(), HTTP_ACCEPT="text/html")
    assert response.content == b"<p>Our page: 404 Not Found: No such activity. (/)</p>"
