"""The blog's own pages.

``/~<username>/`` is both an author's page and their actor IRI: a browser gets
the page below, an ActivityPub client (``Accept: application/activity+json``)
gets the actor document from vox_activity's middleware.

Articles and comments are ActivityStreams objects too, and their IRIs are the
pages' URLs: asked for ActivityPub JSON, :func:`article` and :func:`comment`
answer with the object (``__activity__()``).  A deleted comment's IRI answers
410 Gone with a Tombstone: vox_activity's middleware does that before this
module is reached, from the Delete that was published.

Whatever the inbox page shows of an activity is received text: it goes
through vox_activity's sanitiser (``protocol.html``, the ``activity_html``
and ``activity_text`` template filters), never into the page raw.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.vary import vary_on_headers

from vox_activity.models import InboxItem
from vox_activity.protocol.html import localized_value, plain_text
from vox_activity.registry import actor_iri, actor_path, endpoint_iri
from vox_activity.site import local_path

from .models import Article, Comment

INBOX_PAGE_SIZE = 50


def home(request):
    articles = Article.objects.select_related("author").order_by("-published")[:20]
    authors = (
        get_user_model()
        .objects.annotate(article_count=Count("articles"))
        .filter(article_count__gt=0)
        .order_by("username")
    )
    return render(request, "blog/home.html", {"articles": articles, "authors": authors})


def author(request, username):
    person = get_object_or_404(get_user_model(), username=username)
    articles = person.articles.order_by("-published")
    iri = actor_iri(person)
    context = {
        "person": person,
        "articles": articles,
        "subscriber_count": person.subscribers.count(),
        "actor_iri": iri,
        "outbox_iri": endpoint_iri(iri, "outbox"),
    }
    return render(request, "blog/author.html", context)


@vary_on_headers("Accept")
def article(request, slug):
    # ActivityPub clients get the Article from vox_activity's middleware
    # (the object is registered with a URL regex); browsers get this page.
    item = get_object_or_404(Article.objects.select_related("author"), slug=slug)
    context = {
        "article": item,
        "comments": item.comments.select_related("author").order_by("created"),
        "like_count": item.likes.count(),
    }
    return render(request, "blog/article.html", context)


@vary_on_headers("Accept")
def comment(request, pk):
    """A comment's IRI: its place on the page (the Note is served to ActivityPub
    clients by vox_activity's middleware)."""
    item = get_object_or_404(Comment.objects.select_related("article"), pk=pk)
    return redirect(f"{item.article.get_absolute_url()}#comment-{item.pk}")


@login_required
def inbox(request):
    """The logged-in user's inbox; "mark read" posts a Read to their outbox."""
    items = InboxItem.objects.for_owner(request.user)
    unread_only = request.GET.get("show") == "unread"
    shown = items.unread() if unread_only else items
    shown = shown.select_related("activity").newest_first()[:INBOX_PAGE_SIZE]
    # request.user is a lazy wrapper that vox_activity's registry lookups
    # (by type) do not see through: look the actor up as a plain instance.
    path = actor_path(get_user_model().objects.get(pk=request.user.pk))
    context = {
        "items": [_inbox_row(item) for item in shown],
        "unread_only": unread_only,
        "total_count": items.count(),
        "unread_count": items.unread().count(),
        # Same-origin paths, so fetch() works whatever host the browser used.
        "outbox_path": endpoint_iri(path, "outbox") if path else "",
        "inbox_path": endpoint_iri(path, "inbox") if path else "",
    }
    return render(request, "blog/inbox.html", context)


def _inbox_row(item):
    """What the inbox template shows of an item; its HTML is sanitised there."""
    data = item.activity.data if isinstance(item.activity.data, dict) else {}
    actor = data.get("actor")
    if isinstance(actor, dict):
        actor = actor.get("id")
    activity_object = data.get("object")
    if isinstance(activity_object, dict):
        embedded = activity_object
        object_name = plain_text(localized_value(embedded, "name"))
        object_url = activity_object.get("url") or activity_object.get("id")
    else:
        embedded = None
        object_name = plain_text(activity_object)
        object_url = activity_object
    return {
        "item": item,
        "iri": item.activity.iri,
        "type": item.activity.type,
        # The activity's own fields (a notification's subject and body)...
        "data": data,
        "name": plain_text(localized_value(data, "name")),
        # ...and its embedded object's (the Note of a Create, the Article...).
        "object": embedded,
        "object_name": object_name,
        "object_url": _web_link(object_url),
        # A local actor is shown (and linked) by its path, /~bob/: its page.
        "actor": local_path(actor) or _web_link(actor),
    }


def _web_link(value):
    """``value`` if it is an http(s) IRI (safe in an href), else ""."""
    if isinstance(value, str) and value.startswith(("http://", "https://")):
        return value
    return ""
