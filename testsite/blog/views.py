"""The blog's own pages.

``/~<username>/`` is both an author's page and their actor IRI: a browser gets
the page below, an ActivityPub client (``Accept: application/activity+json``)
gets the actor document from vox_activity's middleware.  The same goes for
the actor's endpoints: ``/~alice/followers`` and ``/~alice/following`` are
pages listing people here, JSON collections for servers; ``/~alice/outbox``
and ``/~alice/inbox`` lead a browser to the author's page and to the inbox
page.  A person following a link on the site never lands on raw JSON.

Articles and comments are ActivityStreams objects too, and their IRIs are the
pages' URLs: asked for ActivityPub JSON, vox_activity's middleware answers with
the object (``__activity__()``, addressed as published; the models are
registered with URL regexes in ``vox.py``), and a deleted comment's IRI with
410 Gone and a Tombstone, before this module is reached.

Whatever a page shows of what other servers sent is received text: it goes
through vox_activity's sanitiser (``safe_content``, ``plain_name``, the
``activity_html`` and ``activity_text`` template filters), never into the
page raw.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import linebreaks_filter
from django.views.decorators.http import require_POST, require_safe
from django.views.decorators.vary import vary_on_headers

from vox_activity import follows
from vox_activity.exceptions import FollowError
from vox_activity.models import Activity, InboxItem, StoredObject
from vox_activity.registry import actor_iri, actor_path, endpoint_iri
from vox_activity.site import absolute_iri, site_domain

from . import inbox_rows, reader, social
from .models import Article, Comment
from .people import local_person, people

INBOX_PAGE_SIZE = 50
#: People shown on an author's page; the rest on /~name/followers.
PEOPLE_ON_PAGE = 12


def home(request):
    articles = Article.objects.select_related("author").order_by("-published")[:20]
    users = get_user_model().objects.filter(is_active=True, is_superuser=False)
    authors = (
        users.annotate(article_count=Count("articles"))
        .filter(article_count__gt=0)
        .order_by("username")
    )
    # An actor to show the ActivityPub side with: an author, else any reader.
    example = authors.first() or users.order_by("username").first()
    context = {
        "articles": articles,
        "authors": authors,
        "readers": users.filter(articles=None).order_by("username"),
        "example": example,
        "example_iri": actor_iri(example) if example else "",
        "follow_hint": _follow_hint(),
    }
    return render(request, "blog/home.html", context)


def _follow_hint() -> str:
    """An address to follow from here (the demo sets it: alice on alpha)."""
    return getattr(settings, "DEMO_FOLLOW_HINT", "")


def _author_or_404(username):
    return get_object_or_404(get_user_model(), username=username, is_active=True)


def author(request, username):
    person = _author_or_404(username)
    iri = actor_iri(person)
    followers = social.followers(person)
    following = social.following(person)
    context = {
        "person": person,
        "me": local_person(person, iri),
        "articles": person.articles.order_by("-published"),
        "followers": followers[:PEOPLE_ON_PAGE],
        "follower_count": len(followers),
        "following": following[:PEOPLE_ON_PAGE],
        "following_count": len(following),
        "address": f"{person.get_username()}@{site_domain()}",
        "actor_iri": iri,
        "outbox_iri": endpoint_iri(iri, "outbox"),
    }
    return render(request, "blog/author.html", context)


@require_safe
def followers(request, username):
    """``/~alice/followers`` for a browser (servers get the collection)."""
    person = _author_or_404(username)
    return _people_page(request, person, "followers", social.followers(person))


@require_safe
def following(request, username):
    """``/~alice/following`` for a browser (servers get the collection)."""
    person = _author_or_404(username)
    return _people_page(request, person, "following", social.following(person))


def _people_page(request, person, which, connections):
    context = {
        "person": person,
        "which": which,
        "connections": connections,
        "collection_iri": endpoint_iri(actor_iri(person), which),
    }
    return render(request, "blog/people.html", context)


@require_safe
def outbox(request, username):
    """``/~alice/outbox`` for a browser: what she published is on her page."""
    return redirect("author", _author_or_404(username).get_username())


@require_safe
def actor_inbox(request, username):
    """``/~bob/inbox`` (or ``?page=true``) for a browser: the inbox page."""
    _author_or_404(username)
    return redirect("inbox")


@vary_on_headers("Accept")
def article(request, slug):
    item = get_object_or_404(Article.objects.select_related("author"), slug=slug)
    iri = absolute_iri(item.get_absolute_url())
    # Likes: the blog's own (Like rows), and those from other servers.
    remote_likes = Activity.objects.reactions_to(iri, "Like").filter(local=False)
    boosts = Activity.objects.reactions_to(iri, "Announce")
    likers = people(
        [
            *(actor_iri(like.user) for like in item.likes.select_related("user")),
            *remote_likes.values_list("actor_iri", flat=True),
        ]
    )
    context = {
        "article": item,
        "responses": _responses(item, iri),
        "like_count": len(likers),
        "likers": list(likers.values()),
        "boost_count": boosts.count(),
    }
    return render(request, "blog/article.html", context)


def _responses(item, iri):
    """Comments here and replies from other servers, oldest first.

    A reply from elsewhere is a stored remote object whose ``inReplyTo`` is
    the article; only its sanitised ``safe_content`` is shown.
    """
    rows = []
    for comment in item.comments.select_related("author").order_by("created"):
        rows.append(
            {
                "id": f"comment-{comment.pk}",
                "author": local_person(comment.author, actor_iri(comment.author)),
                "when": comment.created,
                "html": linebreaks_filter(comment.body, autoescape=True),
                "remote": False,
            }
        )
    replies = list(
        StoredObject.objects.alive().filter(local=False, in_reply_to=iri).order_by("pk")
    )
    authors = people(reply.owner_iri for reply in replies)
    for reply in replies:
        rows.append(
            {
                "id": reader.anchor(reply.iri),
                "author": authors[reply.owner_iri],
                "when": reply.updated,
                "html": reply.safe_content,
                "remote": True,
            }
        )
    rows.sort(key=lambda row: row["when"])
    return rows


@vary_on_headers("Accept")
def comment(request, pk):
    """A comment's IRI: its place on the article's page, for browsers."""
    item = get_object_or_404(Comment.objects.select_related("article"), pk=pk)
    return redirect(f"{item.article.get_absolute_url()}#comment-{item.pk}")


def _me(request):
    """The logged-in user as a plain instance (not the lazy request.user)."""
    return get_user_model().objects.get(pk=request.user.pk)


@login_required
def inbox(request):
    """The logged-in user's inbox; "mark read" posts a Read to their outbox."""
    me = _me(request)
    items = InboxItem.objects.for_owner(me)
    unread_only = request.GET.get("show") == "unread"
    shown = items.unread() if unread_only else items
    shown = shown.select_related("activity").newest_first()[:INBOX_PAGE_SIZE]
    path = actor_path(me)
    context = {
        "rows": inbox_rows.rows(shown, me),
        "unread_only": unread_only,
        "total_count": items.count(),
        # Same-origin paths, so fetch() works whatever host the browser used.
        "outbox_path": endpoint_iri(path, "outbox") if path else "",
        "inbox_path": endpoint_iri(path, "inbox") if path else "",
    }
    return render(request, "blog/inbox.html", context)


@login_required
def inbox_item(request, pk):
    """One item of the inbox, with its activity's JSON as text."""
    item = get_object_or_404(
        InboxItem.objects.for_owner(_me(request)).select_related("activity"), pk=pk
    )
    (row,) = inbox_rows.rows([item], _me(request))
    return render(request, "blog/inbox_item.html", {"row": row})


@login_required
@require_POST
def mark_all_read(request):
    marked = InboxItem.objects.for_owner(_me(request)).unread().mark_read()
    messages.success(request, f"Marked {marked} item{'s' * (marked != 1)} read.")
    return redirect("inbox")


@login_required
def reader_page(request):
    """What the people the user follows published, readable here."""
    me = _me(request)
    context = {
        "entries": reader.timeline(me),
        "following": social.following(me),
        "follow_hint": _follow_hint(),
    }
    return render(request, "blog/reader.html", context)


@login_required
@require_POST
def follow(request):
    """Follow someone on another server by address (``alice@host``) or IRI."""
    address = request.POST.get("address", "").strip()
    if not address:
        messages.error(request, "Give an address such as alice@example.org.")
        return redirect("reader")
    try:
        row = follows.follow(_me(request), address)
    except FollowError as exc:
        messages.error(request, f"Could not follow {address}: {exc}")
    else:
        state = "" if row.state == row.State.ACCEPTED else " (waiting for an answer)"
        messages.success(request, f"You follow {address} now{state}.")
    return redirect("reader")
