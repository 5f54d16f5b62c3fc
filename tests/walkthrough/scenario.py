"""docs/integrate.rst followed from a new project's first ``migrate`` to its
first note delivered, signed, to a follower on another server.

``tests/test_walkthrough.py`` runs it in a process of its own::

    cd tests/walkthrough
    PYTHONPATH=.:../.. DJANGO_SETTINGS_MODULE=suite_settings python -m scenario

Each step is what the page tells a site to do, done the way the page says
(``call_command`` for ``manage.py``, Django's test client for a browser and
for the other server's POST).  The other server is a fake one from
``tests/fediverse.py``: a real HTTP server on loopback that checks every
signature it receives with independent libraries.  A step that does not
behave as the page says stops the run with an ``AssertionError``; the last
line printed is a JSON summary that the test reads.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import sys
import types
from typing import Any

AP = "application/activity+json"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


def say(message: str) -> None:
    print(f"walkthrough: {message}", flush=True)


def import_httpsig() -> Any:
    """The independent ``httpsig`` package the fake servers check cavage with.

    httpsig 1.3.0 imports ``pkg_resources`` only for its own version, which
    current setuptools no longer ships; a stand-in is put in place if needed
    (as ``tests/conftest.py`` does for the suite).
    """
    if importlib.util.find_spec("pkg_resources") is None:
        from importlib.metadata import PackageNotFoundError, version

        shim = types.ModuleType("pkg_resources")
        shim.DistributionNotFound = PackageNotFoundError  # type: ignore[attr-defined]
        shim.get_distribution = lambda name: types.SimpleNamespace(  # type: ignore[attr-defined]
            version=version(name)
        )
        sys.modules["pkg_resources"] = shim
    return importlib.import_module("httpsig")


def signed_post(client: Any, path: str, data: dict, key_id: str, key_pem: str) -> Any:
    """POST ``data`` to ``path`` as another server does: signed (draft-cavage)."""
    from django.conf import settings

    from vox_activity.protocol.cavage import sign_request

    body = json.dumps(data).encode()
    headers = sign_request(
        "POST",
        f"https://{settings.SITE_DOMAIN}{path}",
        {"Content-Type": AP},
        body,
        key_id=key_id,
        private_key_pem=key_pem,
    )
    extras = {
        f"HTTP_{name.upper().replace('-', '_')}": value
        for name, value in headers.items()
        if name.lower() != "content-type"
    }
    return client.generic("POST", path, body, content_type=AP, **extras)


def received(server: Any, activity_type: str) -> Any:
    """The one POST of ``activity_type`` the fake server received."""
    hits = [hit for hit in server.posts() if hit.json().get("type") == activity_type]
    assert len(hits) == 1, f"expected one {activity_type}, got {len(hits)}"
    return hits[0]


def main() -> dict[str, Any]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "suite_settings")
    import django

    django.setup()

    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client
    from django_vox.models import Notification

    from tests.fediverse import Fediverse
    from vox_activity import follows
    from vox_activity.models import Follow, InboxItem
    from vox_activity.protocol.cavage import generate_private_key_pem, public_key_pem
    from vox_activity.registry import actor_iri

    say("manage.py check, makemigrations --check, migrate")
    call_command("check", fail_level="WARNING")
    call_command("makemigrations", "notes", check=True, dry_run=True, verbosity=0)
    call_command("migrate", verbosity=0)

    from notes.models import Note
    from notes.notification_templates import create_activity_templates
    from notes.publishing import publish_note

    users = get_user_model().objects
    alice = users.create_user("alice", password="pw", first_name="Alice")
    bob = users.create_user("bob", password="pw")

    say("issuing before make_notifications fails, as the page warns")
    try:
        publish_note(alice, "too-early", "Nobody will see this.")
    except Notification.DoesNotExist as exc:
        early_error = str(exc)
    else:
        raise AssertionError("issue() worked without make_notifications")
    Note.objects.filter(slug="too-early").delete()

    say("manage.py make_notifications; the activity template, made in code")
    call_command("make_notifications", verbosity=0)
    create_activity_templates()

    client = Client(HTTP_HOST=settings.SITE_DOMAIN)
    fediverse = Fediverse(import_httpsig())
    try:
        server = fediverse.server()
        zoe_key = generate_private_key_pem()
        zoe = server.iri("zoe")
        server.add_actor(
            "zoe",
            publicKey={
                "id": f"{zoe}#main-key",
                "owner": zoe,
                "publicKeyPem": public_key_pem(zoe_key),
            },
        )

        say("the other server learns alice's key from her actor document")
        document = client.get("/~alice/", HTTP_ACCEPT=AP)
        assert document.status_code == 200, document.content
        alice_key = fediverse.trust(document.json())
        instance = client.get("/activitypub/actor", HTTP_ACCEPT=AP).json()
        fediverse.trust(instance)

        say("zoe, on the other server, follows alice (a signed POST)")
        alice_iri = actor_iri(alice)
        answer = signed_post(
            client,
            "/~alice/inbox",
            {
                "@context": "https://www.w3.org/ns/activitystreams",
                "id": f"{zoe}/follows/1",
                "type": "Follow",
                "actor": zoe,
                "object": alice_iri,
            },
            f"{zoe}#main-key",
            zoe_key,
        )
        assert answer.status_code == 202, answer.content
        follow = Follow.objects.get(actor_iri=zoe, object_iri=alice_iri)
        assert follow.state == Follow.State.ACCEPTED, follow.state
        accept = received(server, "Accept")
        assert accept.key_id == alice_key and accept.verified, accept.problem

        say("bob follows alice on this site; alice follows zoe back")
        # [integrate: follows]
        follows.follow(bob, f"acct:alice@{settings.SITE_DOMAIN}")  # accepted at once
        follows.follow(alice, zoe)  # an actor IRI (or "acct:zoe@host"): a Follow
        # [end: follows]
        follow_back = received(server, "Follow")
        assert follow_back.key_id == alice_key and follow_back.verified

        say("alice publishes a note: the notification is issued in code")
        note = publish_note(alice, "hello", "Hello, #fediverse!")
        create = received(server, "Create")
        assert create.key_id == alice_key, create.key_id
        assert create.verified, create.problem
        activity = create.json()

        say("reading inboxes: bob's page, alice's queryset")
        client.force_login(bob)
        bob_page = client.get("/inbox/").content.decode()
        assert "alice wrote a note" in bob_page, bob_page
        alice_inbox = sorted(
            (item.activity.type, item.activity.actor_iri)
            for item in InboxItem.objects.for_owner(alice).select_related("activity")
        )
        assert alice_inbox == [("Follow", zoe), ("Follow", actor_iri(bob))], alice_inbox

        say("the note's own IRI: JSON for servers, the site's page for people")
        client.logout()
        served = client.get(note.get_absolute_url(), HTTP_ACCEPT=AP)
        assert served.status_code == 200, served.content
        page = client.get(note.get_absolute_url(), HTTP_ACCEPT="text/html")
        assert "Hello, #fediverse!" in page.content.decode()
    finally:
        fediverse.close()

    return {
        "early_error": early_error,
        "follow_state": follow.state,
        "accept": {"key_id": accept.key_id, "verified": accept.verified},
        "follow_back": follow_back.json(),
        "create": {
            "key_id": create.key_id,
            "verified": create.verified,
            "rfc9421": "signature-input" in create.headers,
            "path": create.path,
            "activity": activity,
        },
        "alice_key": alice_key,
        "zoe": zoe,
        "bob_inbox_page": bob_page,
        "alice_inbox": alice_inbox,
        "served_note": served.json(),
        "served_type": served["Content-Type"],
    }


if __name__ == "__main__":
    summary = main()
    say("done: the first note reached the other server, signed")
    print(json.dumps(summary))
