"""The blog's own HTML pages (ActivityPub requests never reach these)."""

from django.contrib.auth import get_user_model
from django.shortcuts import get_object_or_404, render

from .models import Article


def home(request):
    articles = Article.objects.select_related("author").order_by("-published")[:20]
    return render(request, "blog/home.html", {"articles": articles})


def author(request, username):
    person = get_object_or_404(get_user_model(), username=username)
    articles = person.articles.order_by("-published")
    return render(request, "blog/author.html", {"person": person, "articles": articles})


def article(request, slug):
    item = get_object_or_404(Article.objects.select_related("author"), slug=slug)
    return render(request, "blog/article.html", {"article": item})
