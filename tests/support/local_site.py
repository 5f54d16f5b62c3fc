"""The test site's side: its django-vox notifications, and a client that asks
for ActivityPub JSON."""

from __future__ import annotations

import json
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db.models import Model
from django.test import Client
from django_vox.models import Notification

from .constants import AP

__all__ = ["APClient", "notification"]


def notification(model: type[Model], codename: str) -> Notification:
    """The django-vox notification ``codename`` of ``model`` (Article, "created")."""
    return Notification.objects.get(
        codename=codename, object_type=ContentType.objects.get_for_model(model)
    )


class APClient:
    """The test client, asking for ActivityPub JSON by default (``ap_client``)."""

    def __init__(self, client: Client) -> None:
        self.raw = client

    def get(self, path: str, accept: str = AP, **extra: Any) -> Any:
        return self.raw.get(path, HTTP_ACCEPT=accept, **extra)

    def post(self, path: str, data: Any, content_type: str = AP, **extra: Any) -> Any:
        body = data if isinstance(data, bytes | str) else json.dumps(data)
        return self.raw.post(path, body, content_type=content_type, **extra)
