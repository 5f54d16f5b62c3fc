"""Shared fixtures: users who are actors, templates that route notifications."""

import pytest
from django.contrib.auth import get_user_model
from django_vox.models import Notification, Template

from testsite.blog.models import Article


@pytest.fixture
def make_user(db):
    def make(username, **extra):
        return get_user_model().objects.create_user(
            username=username, password="pw", **extra
        )

    return make


@pytest.fixture
def alice(make_user):
    return make_user("alice", first_name="Alice", last_name="Liddell")


@pytest.fixture
def bob(make_user):
    return make_user("bob")


def notification(model, codename):
    from django.contrib.contenttypes.models import ContentType

    return Notification.objects.get(
        codename=codename, object_type=ContentType.objects.get_for_model(model)
    )


@pytest.fixture
def article_templates(db):
    """Activity templates: new articles go to subscribers; edits too."""
    created = notification(Article, "created")
    Template.objects.create(
        notification=created,
        backend="activity",
        recipients="c:subscribers",
        subject="New article: {{ object.title }}",
        content="{{ object.author.username }} wrote {{ object.title }}",
        bulk=True,
    )
    return created


@pytest.fixture
def article(alice):
    return Article.objects.create(author=alice, title="Hello", slug="hello", body="Hi")
