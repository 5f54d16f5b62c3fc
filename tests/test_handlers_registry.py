"""The handler registry: sites add, replace and remove activity types.

``VOX_ACTIVITY["INBOX_HANDLERS"]`` maps a type to a dotted path (or ``None``
to turn the package's handler of a type off).  The worked example of
``docs/receiving.rst``, emoji reactions (``tests/emoji_reactions.py``), is run
here end to end: a signed POST, the hooks, the received, the inbox.
"""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from testsite.blog.models import Article
from vox_activity.incoming.handlers import (
    DEFAULT_HANDLERS,
    ActivityHandler,
    FollowHandler,
    LikeHandler,
    handler_for,
)
from vox_activity.models import Activity, Follow, InboxItem, RemoteActor
from vox_activity.outgoing.publish import publish

from .emoji_reactions import (
    EmojiReactHandler,
    emoji_reaction_received,
    is_one_emoji,
    reaction_counts,
)
from .settings import SUITE_VOX_ACTIVITY
from .support.constants import SITE
from .support.records import HandlerSpy, table_counts
from .support.remote_actors import make_remote, post_signed

ALICE = f"{SITE}/~alice/"
ARTICLE = f"{SITE}/articles/hello/"
SHARED = "/activitypub/inbox"
EMOJI_REACT = "tests.emoji_reactions.EmojiReactHandler"


def handlers(settings, **overrides) -> None:
    settings.VOX_ACTIVITY = {
        **SUITE_VOX_ACTIVITY,
        "INBOX_RATE_LIMIT": None,
        "INBOX_HANDLERS": overrides,
    }


@pytest.fixture
def carol(db):
    return make_remote("carol", "pleroma.example")


@pytest.fixture
def published(article):
    """alice's article, published here: alice is known as its author."""
    article_object = {"id": ARTICLE, "type": "Article", "attributedTo": ALICE}
    publish({"type": "Create", "actor": ALICE, "object": article_object})
    return article


@pytest.fixture
def reactions():
    received: list[dict] = []

    def receiver(sender, **kwargs):
        kwargs.pop("signal", None)
        received.append({"sender": sender, **kwargs})

    emoji_reaction_received.connect(receiver, weak=False)
    yield received
    emoji_reaction_received.disconnect(receiver)


@pytest.fixture
def object_method(monkeypatch):
    """Article.activity_emojireact, recording its calls (the django-vox way)."""
    calls: list = []
    monkeypatch.setattr(
        Article,
        "activity_emojireact",
        lambda self, data, actor: calls.append((self, data, actor)),
        raising=False,
    )
    return calls


def react(carol, content, **extra) -> dict:
    return carol.activity("EmojiReact", ARTICLE, content=content, **extra)


# --- the worked example, end to end ------------------------------------------------


def test_an_emoji_reaction_runs_the_sites_handler_end_to_end(
    client, alice, published, carol, settings, monkeypatch, received, reactions,
    object_method,
):  # fmt: skip
    handlers(settings, EmojiReact=EMOJI_REACT)
    spy = HandlerSpy(monkeypatch)
    data = react(carol, "🔥")

    response = post_signed(client, SHARED, data, carol)

    assert response.status_code == 202, response.content
    activity = Activity.objects.get(iri=data["id"])
    assert (activity.type, activity.object_iri) == ("EmojiReact", ARTICLE)
    # The hooks ran in order, each with the activity.
    assert [hook for hook, _, _ in spy.seen] == [
        "validate", "prefetch", "recipients", "apply"
    ]  # fmt: skip
    assert {kind for _, kind, _ in spy.seen} == {"EmojiReact"}
    # The site's signal, then the django-vox method, then activity_received.
    (reaction,) = reactions
    assert reaction["sender"] is EmojiReactHandler
    assert (reaction["emoji"], reaction["object_iri"]) == ("🔥", ARTICLE)
    assert reaction["activity"] == activity
    assert reaction["actor"] == RemoteActor.objects.get(iri=carol.iri)
    ((target, method_data, actor),) = object_method
    assert (target, method_data, actor.iri) == (published, data, carol.iri)
    assert received.names() == ["activity_received"]
    # The author of the reacted-to article has it in her inbox.
    assert InboxItem.objects.for_owner(alice).get().activity == activity
    assert reaction_counts(ARTICLE) == {"🔥": 1}


def test_an_undone_reaction_no_longer_counts(client, alice, published, carol, settings):
    handlers(settings, EmojiReact=EMOJI_REACT)
    fire, heart = react(carol, "🔥"), react(carol, "❤️")
    for data in (fire, heart):
        assert post_signed(client, SHARED, data, carol).status_code == 202
    assert reaction_counts(ARTICLE) == {"🔥": 1, "❤️": 1}
    undo = carol.activity("Undo", fire["id"])
    assert post_signed(client, SHARED, undo, carol).status_code == 202
    assert reaction_counts(ARTICLE) == {"❤️": 1}


def test_a_custom_emoji_described_in_tag_is_accepted(
    client, alice, published, carol, settings, reactions
):
    handlers(settings, EmojiReact=EMOJI_REACT)
    emoji = {
        "id": f"{carol.origin}/emojis/blobcat",
        "type": "Emoji",
        "name": ":blobcat:",
        "icon": {"type": "Image", "url": f"{carol.origin}/files/blobcat.png"},
    }
    data = react(carol, ":blobcat:", tag=[emoji])
    assert post_signed(client, SHARED, data, carol).status_code == 202
    assert [r["emoji"] for r in reactions] == [":blobcat:"]


@pytest.mark.parametrize(
    ("content", "tag", "reason"),
    [
        ("lol", None, '"content" must be one emoji'),
        ("🔥🔥", None, '"content" must be one emoji'),
        ("", None, '"content" must be one emoji'),
        (None, None, '"content" must be the emoji'),
        (["🔥"], None, '"content" must be the emoji'),
        (":blobcat:", None, "not described in"),
        # An Emoji from another server is not the actor's to describe: the
        # trusted view keeps only its IRI, so it describes nothing.
        (":blobcat:", [{"id": "https://elsewhere.example/emojis/blobcat",
                        "type": "Emoji", "name": ":blobcat:"}], "not described in"),
    ],
)  # fmt: skip
def test_a_reaction_that_is_no_emoji_is_400(
    client, alice, published, carol, settings, reactions, content, tag, reason
):
    handlers(settings, EmojiReact=EMOJI_REACT)
    data = carol.activity("EmojiReact", ARTICLE)
    if content is not None:
        data["content"] = content
    if tag is not None:
        data["tag"] = tag
    before = table_counts()
    response = post_signed(client, SHARED, data, carol)
    assert response.status_code == 400
    assert reason in response.json()["error"]
    assert table_counts() == before
    assert reactions == []


def test_a_reaction_without_an_object_is_400_as_a_like_would_be(
    client, alice, carol, settings
):
    handlers(settings, EmojiReact=EMOJI_REACT)
    response = post_signed(client, SHARED, carol.activity("EmojiReact"), carol)
    assert response.status_code == 400
    assert '"object" is required for EmojiReact' in response.json()["error"]


SCOTLAND = "🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f"


@pytest.mark.parametrize(
    "text", ["🔥", "❤️", "👍🏽", "👩‍💻", "🏳️‍🌈", "🇫🇷", "1️⃣", SCOTLAND]
)
def test_one_emoji_is_one_emoji(text):
    assert is_one_emoji(text)


@pytest.mark.parametrize("text", ["", "a", "🔥🔥", "🔥 ", "‍🔥", "🔥‍", "1", "🇫", "::"])
def test_anything_else_is_not(text):
    assert not is_one_emoji(text)


# --- without the site's handler -------------------------------------------------


def test_without_a_handler_an_unknown_type_is_stored_and_signalled(
    client, alice, published, carol, settings, received, reactions, object_method
):
    handlers(settings)
    data = react(carol, "not checked")
    assert post_signed(client, SHARED, data, carol).status_code == 202
    assert handler_for("EmojiReact").__class__ is ActivityHandler
    assert Activity.objects.filter(iri=data["id"]).exists()
    assert received.names() == ["activity_received"]
    assert reactions == []
    assert len(object_method) == 1  # the convention holds for unknown types too


# --- None, replacements, mistakes --------------------------------------------------


def test_none_turns_a_types_handler_off(client, alice, carol, settings, received):
    """With ``"Follow": None`` a Follow is an unknown type: stored and
    signalled, and no follow is recorded or answered."""
    handlers(settings, Follow=None)
    assert type(handler_for("Follow")) is ActivityHandler
    data = carol.activity("Follow", ALICE)
    assert post_signed(client, SHARED, data, carol).status_code == 202
    assert Activity.objects.filter(iri=data["id"], type="Follow").exists()
    assert not Follow.objects.exists()
    assert not Activity.objects.filter(local=True, type="Accept").exists()
    assert received.names() == ["activity_received"]
    assert InboxItem.objects.for_owner(alice).count() == 1  # she is its object
    handlers(settings)
    assert type(handler_for("Follow")) is FollowHandler


class ReviewedFollowHandler(FollowHandler):
    """A replacement: follows from one server need a moderator."""

    def validate(self, incoming):
        super().validate(incoming)
        if incoming.actor.domain == "pleroma.example":
            from vox_activity.exceptions import Refused

            raise Refused(403, "Follows from pleroma.example are reviewed first.")


def test_a_package_handler_can_be_replaced(client, alice, carol, settings):
    handlers(settings, Follow=f"{__name__}.ReviewedFollowHandler")
    assert type(handler_for("Follow")) is ReviewedFollowHandler
    response = post_signed(client, SHARED, carol.activity("Follow", ALICE), carol)
    assert response.status_code == 403
    assert "reviewed first" in response.json()["error"]
    assert not Follow.objects.exists()
    dave = make_remote("dave", "mastodon.example", key=1)
    assert (
        post_signed(client, SHARED, dave.activity("Follow", ALICE), dave).status_code
        == 202
    )
    assert Follow.objects.filter(actor_iri=dave.iri).exists()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("tests.no_such_module.Handler", "cannot be imported"),
        ("tests.emoji_reactions.NoSuchHandler", "cannot be imported"),
        ("not a dotted path", "cannot be imported"),
        ("tests.emoji_reactions.reaction_counts", "must name a subclass"),
        ("vox_activity.models.Activity", "must name a subclass"),
    ],
)
def test_a_bad_dotted_path_is_improperly_configured(settings, value, message):
    handlers(settings, EmojiReact=value)
    with pytest.raises(ImproperlyConfigured) as error:
        handler_for("Like")
    assert 'VOX_ACTIVITY["INBOX_HANDLERS"]["EmojiReact"]' in str(error.value)
    assert message in str(error.value)


def test_the_registry_serves_each_type_from_its_class(settings):
    handlers(settings)
    for name, cls in DEFAULT_HANDLERS.items():
        assert type(handler_for(name)) is cls
        assert name in cls.types
    assert type(handler_for("Dislike")) is LikeHandler
    assert type(handler_for("NoSuchType")) is ActivityHandler


# --- the django-vox convention with a package handler -------------------------------


def test_activity_like_and_activity_received_still_work(
    client, alice, published, carol, settings, received, monkeypatch
):
    handlers(settings, EmojiReact=EMOJI_REACT)
    calls = []
    monkeypatch.setattr(
        Article, "activity_like",
        lambda self, data, actor: calls.append((self, actor.iri)), raising=False,
    )  # fmt: skip
    like = carol.activity("Like", ARTICLE)
    assert post_signed(client, SHARED, like, carol).status_code == 202
    assert calls == [(published, carol.iri)]
    (event,) = received.of("activity_received")
    assert event["activity"].iri == like["id"]
    assert event["data"] == like
