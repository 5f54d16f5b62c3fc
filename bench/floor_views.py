"""The floor of an inbox POST, and the server's SQL totals (``bench/inbox_floor.py``).

Served only by the inbox benchmark's server (``bench/floor_urls.py``, in
``bench/inbox_settings.py``), never by the package or the testsite.

:func:`floor_inbox` is the least a Django view can do and still accept a
signed ``Create`` honestly, on the same server process, middleware and
database as the real inbox: read the body, parse the JSON, verify the
draft-cavage signature in-process (vox_activity.protocol.cavage's parser and
signing string; the ``Digest`` checked against the body; RSA-SHA256 with the
sender's public key, loaded once per process) and make the three INSERTs of
issue 10's floor in one transaction: the incoming ``Activity``, alice's
``InboxItem`` and the ``StoredObject`` of the Note; then 202.  No key
look-up, no actor matching, no validation, no idempotency check, no
throttle, no task: everything the real path does beyond this is the
distance from the floor.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from functools import cache
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from bench import sql_counter

__all__ = ["floor_inbox", "sql_totals"]


@cache
def _public_key(key_id: str) -> rsa.RSAPublicKey:
    """The sender's key, read and parsed once per process (the floor's cache)."""
    from vox_activity.models import RemoteKey

    pem = RemoteKey.objects.get(key_id=key_id).public_key_pem
    key = serialization.load_pem_public_key(pem.encode("ascii"))
    if not isinstance(key, rsa.RSAPublicKey):
        raise TypeError(f"{key_id} is not an RSA key")
    return key


@cache
def _owner(username: str) -> tuple[Any, str]:
    """(content type, pk) of the inbox's owner, looked up once per process."""
    from django.contrib.auth import get_user_model
    from django.contrib.contenttypes.models import ContentType

    user = get_user_model()
    pk = user.objects.values_list("pk", flat=True).get(username=username)
    return ContentType.objects.get_for_model(user), str(pk)


def _verified(request: HttpRequest, body: bytes) -> bool:
    """Is the request signed (draft-cavage, rsa-sha256) by its keyId's key?"""
    from vox_activity.exceptions import SignatureError
    from vox_activity.protocol import cavage

    headers = {name.lower(): value for name, value in request.headers.items()}
    headers["host"] = request.get_host()
    try:
        params = cavage.parse_signature_header(headers["signature"])
        expected = b"SHA-256=" + base64.b64encode(hashlib.sha256(body).digest())
        if not hmac.compare_digest(headers.get("digest", "").encode(), expected):
            return False
        text = cavage.signing_string(
            params.headers,
            method=request.method or "POST",
            path_with_query=request.get_full_path(),
            headers=headers,
        )
        _public_key(params.key_id).verify(
            params.signature, text.encode(), padding.PKCS1v15(), hashes.SHA256()
        )
    except (KeyError, SignatureError, InvalidSignature):
        return False
    return True


@csrf_exempt
def floor_inbox(request: HttpRequest, username: str) -> HttpResponse:
    """Verify, three INSERTs, 202 (401 when the signature does not verify)."""
    from vox_activity.models import Activity, InboxItem, StoredObject

    body = request.body
    data = json.loads(body)
    if not _verified(request, body):
        return HttpResponse(status=401)
    note = data["object"]
    owner_type, owner_id = _owner(username)
    with transaction.atomic():
        activity = Activity.objects.create(
            iri=data["id"],
            type=data["type"],
            actor_iri=data["actor"],
            object_iri=note["id"],
            data=data,
            local=False,
        )
        InboxItem.objects.create(
            owner_type=owner_type, owner_id=owner_id, activity=activity
        )
        StoredObject.objects.create(
            iri=note["id"], owner_iri=data["actor"], type=note["type"], data=note
        )
    return HttpResponse(status=202)


def sql_totals(request: HttpRequest) -> JsonResponse:
    """The server's SQL statements so far, by verb (:mod:`bench.sql_counter`)."""
    return JsonResponse(sql_counter.snapshot())
