#!/usr/bin/env python3
"""Federation benchmarks: outgoing deliveries and incoming signed inbox POSTs.

One command, everything on 127.0.0.1, one SQLite file in a temporary
directory (deleted at the end)::

    python3 bench/federation.py            # both (deliver, then inbox)
    python3 bench/federation.py deliver    # 1,000 deliveries to 10 loopback inboxes
    python3 bench/federation.py inbox      # signed POSTs to a real testsite server

Run with a Python lacking Django, it re-runs itself with the project's
``.venvs/django52`` interpreter (made by ``python3 dev.py test`` or ``demo``).

deliver
    100 activities published by a local actor
    (``vox_activity.outgoing.publish.publish``)
    to 10 remote actors, each with its own inbox on its own loopback HTTP
    server (``bench/fake_inboxes.py``, a separate process): 1,000
    ``Delivery`` rows.  Tasks are only recorded (dummy task backend); the
    benchmark times ``vox_activity.outgoing.delivery.attempt_delivery`` over all of
    them, in one thread and with worker threads taking ids from a queue.

inbox
    The testsite served by waitress in a subprocess, on the same SQLite file;
    a fake remote sender whose actor (and key) is already cached, so the
    server fetches nothing; N distinct signed ``Create``/``Note`` POSTs to
    alice's inbox from 1 and 4 client threads (``requests`` keep-alive
    sessions).

Each phase also measures this machine's raw RSA-2048 rate (``cryptography``:
PKCS#1 v1.5 with SHA-256, signing for deliver, verifying for inbox) and
prints throughput / crypto rate: the fraction of the pure-crypto ceiling the
pipeline reaches.  Timings are only reported; the exit status is non-zero
only when a correctness check fails.  See bench/README.md.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import platform
import queue
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import formatdate
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PROJECT_ENV = ROOT / ".venvs" / "django52"
HOST = "127.0.0.1"
AP = "application/activity+json"

#: deliver: activities x remote actors (one inbox server each) = deliveries.
ACTIVITIES = 100
INBOX_SERVERS = 10
DELIVER_THREADS = (1, 4, 8)
#: How many deliveries' signatures are checked with verify_request.
SIGNATURE_SAMPLES = 20
#: inbox: POSTs per run, client threads of each run, untimed warm-up POSTs.
POSTS = 500
CLIENT_THREADS = (1, 4)
WARMUP_POSTS = 8
#: Seconds each raw crypto rate is measured for.
CRYPTO_SECONDS = 2.0
#: Length of the signing string of the raw rates (a POST's is ~300 bytes).
SIGNING_STRING_BYTES = 1024


# --- bootstrapping ------------------------------------------------------------


def ensure_project_python() -> None:
    """Re-run this script with the project's venv if Django is missing here."""
    import importlib.util

    needed = ("django", "django_vox", "requests", "cryptography", "waitress")
    if all(importlib.util.find_spec(name) is not None for name in needed):
        return
    python = PROJECT_ENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    if os.environ.get("VOX_BENCH_REEXEC") or not python.exists():
        sys.exit(
            "bench: Django, requests, cryptography or waitress is not importable "
            f"with this Python and {python.relative_to(ROOT)} does not exist (or "
            "lacks them).\nCreate the project environment first with "
            "`python3 dev.py test`, then run `python3 bench/federation.py`."
        )
    env = {**os.environ, "VOX_BENCH_REEXEC": "1"}
    command = [str(python), str(Path(__file__).resolve()), *sys.argv[1:]]
    sys.exit(subprocess.call(command, env=env))


def setup_django(db_path: Path) -> None:
    # Run as a script, sys.path[0] is bench/; the project root is needed.
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCH]
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    os.environ["VOX_BENCH_DB"] = str(db_path)
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.federation_settings"
    # The benchmark's database is its own file: testsite.settings must describe
    # its default SQLite database (whose options federation_settings copies).
    os.environ.pop("DATABASE_URL", None)
    import django

    django.setup()


class BenchError(Exception):
    """A correctness check failed: the numbers would be meaningless."""


def require(condition: bool, message: str) -> None:
    if not condition:
        raise BenchError(message)


def progress(message: str) -> None:
    print(f"  .. {message}", file=sys.stderr, flush=True)


# --- measuring helpers ----------------------------------------------------------


@dataclass
class Run:
    threads: int
    count: int
    seconds: float
    client_cpu: float  # CPU seconds of this (the benchmark's) process
    server_cpu: float | None  # CPU seconds of the server process(es)

    @property
    def rate(self) -> float:
        return self.count / self.seconds


def rate_for(seconds: float, call: Callable[[], Any]) -> tuple[float, int]:
    """(calls per second, calls) of ``call`` repeated for about ``seconds``."""
    call()  # warm-up
    calls = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        call()
        calls += 1
        now = time.perf_counter()
        if now >= deadline:
            return calls / (now - start), calls


def signing_text() -> bytes:
    """A ~1 KB signing string shaped like a real one (header lines)."""
    lines = [
        "(request-target): post /users/someone/inbox",
        "host: remote.example",
        f"date: {formatdate(usegmt=True)}",
        "digest: SHA-256=" + "A" * 44,
        f"content-type: {AP}",
    ]
    text = "\n".join(lines)
    pad = SIGNING_STRING_BYTES - len(text) - len("\nx-padding: ")
    return (text + "\nx-padding: " + "p" * max(pad, 0)).encode()


def raw_sign_rate(private_key) -> tuple[float, int]:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    text = signing_text()
    return rate_for(
        CRYPTO_SECONDS,
        lambda: private_key.sign(text, padding.PKCS1v15(), hashes.SHA256()),
    )


def raw_verify_rate(private_key) -> tuple[float, int]:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    text = signing_text()
    signature = private_key.sign(text, padding.PKCS1v15(), hashes.SHA256())
    public = private_key.public_key()
    return rate_for(
        CRYPTO_SECONDS,
        lambda: public.verify(signature, text, padding.PKCS1v15(), hashes.SHA256()),
    )


def new_rsa_key():
    from cryptography.hazmat.primitives.asymmetric import rsa

    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem_of(private_key) -> tuple[str, str]:
    """(private PKCS#8 PEM, public SubjectPublicKeyInfo PEM)."""
    from cryptography.hazmat.primitives import serialization

    private = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    public = (
        private_key.public_key()
        .public_bytes(
            serialization.Encoding.PEM,
            serialization.PublicFormat.SubjectPublicKeyInfo,
        )
        .decode("ascii")
    )
    return private, public


def proc_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of process ``pid`` (Linux /proc), else None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        return None
    return (int(fields[11]) + int(fields[12])) / ticks  # utime, stime


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with socket.create_connection((HOST, port), timeout=1):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def stop_process(process: subprocess.Popen | None) -> None:
    """Stop a process this benchmark started (by its own handle, nothing else)."""
    if process is None or process.poll() is not None:
        return
    if process.stdin is not None:
        with contextlib.suppress(OSError):
            process.stdin.close()  # fake_inboxes.py ends when its stdin closes
        try:
            process.wait(timeout=3)
            return
        except subprocess.TimeoutExpired:
            pass
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def fmt_rate(value: float) -> str:
    return f"{value:,.1f}" if value < 100 else f"{value:,.0f}"


def fmt_pct(part: float | None, whole: float) -> str:
    if part is None:
        return "n/a"
    return f"{100 * part / whole:.0f}%"


def tail(path: Path, chars: int = 3000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return ""


# --- local actor ------------------------------------------------------------------


def local_alice():
    from django.contrib.auth import get_user_model

    user_model = get_user_model()
    alice = user_model.objects.filter(username="alice").first()
    if alice is None:
        alice = user_model.objects.create_user("alice", password=None)
    return alice


# --- deliver ----------------------------------------------------------------------


@dataclass
class InboxServers:
    process: subprocess.Popen
    ports: list[int]

    def url(self, path: str) -> str:
        return f"http://{HOST}:{self.ports[0]}{path}"

    def stats(self) -> dict:
        import requests

        response = requests.get(self.url("/_bench/stats"), timeout=10)
        response.raise_for_status()
        return response.json()

    def reset(self) -> None:
        import requests

        requests.post(self.url("/_bench/reset"), timeout=10).raise_for_status()


def start_inbox_servers(workdir: Path) -> InboxServers:
    log = open(workdir / "fake_inboxes.log", "wb")  # noqa: SIM115 - kept open
    process = subprocess.Popen(
        [sys.executable, str(BENCH / "fake_inboxes.py"), str(INBOX_SERVERS)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=log,
        cwd=ROOT,
    )
    log.close()
    line = process.stdout.readline()
    try:
        ports = json.loads(line)["ports"]
    except (ValueError, KeyError, TypeError):
        stop_process(process)
        raise BenchError(
            f"the fake inboxes did not start: {line!r}\n"
            f"{tail(workdir / 'fake_inboxes.log')}"
        ) from None
    require(len(ports) == INBOX_SERVERS, f"fake inboxes listen on {ports}")
    return InboxServers(process, ports)


@dataclass
class DeliverWorld:
    alice: Any
    alice_iri: str
    alice_key_id: str
    alice_public_pem: str
    remote_iris: list[str]


def build_deliver_world(servers: InboxServers) -> DeliverWorld:
    from django.utils import timezone

    from vox_activity.models import ActorKey, RemoteActor
    from vox_activity.registry import actor_iri, key_id

    alice = local_alice()
    iri = actor_iri(alice)
    key = ActorKey.objects.for_actor(alice)  # made now, not during a delivery
    now = timezone.now()
    remote = []
    for number, port in enumerate(servers.ports):
        actor = f"http://{HOST}:{port}/users/r{number}"
        RemoteActor.objects.create(
            iri=actor,
            domain=f"{HOST}:{port}",
            inbox=f"{actor}/inbox",
            preferred_username=f"r{number}",
            data={"id": actor, "type": "Person", "inbox": f"{actor}/inbox"},
            fetched_at=now,  # fresh: publishing fetches nothing
        )
        remote.append(actor)
    return DeliverWorld(alice, iri, key_id(iri), key.public_key_pem, remote)


def publish_activities(world: DeliverWorld) -> list[int]:
    """Publish the activities; the pending Delivery ids, checked."""
    from vox_activity.compat import tasks_module
    from vox_activity.models import Delivery
    from vox_activity.outgoing.publish import publish

    backend = tasks_module().task_backends["default"]
    backend.clear()
    # ~1 KB of JSON per delivery, like a short post.
    text = "<p>" + ("Federation benchmark note. " * 24) + "</p>"
    for number in range(ACTIVITIES):
        publish(
            {
                "type": "Create",
                "actor": world.alice_iri,
                "object": {
                    "type": "Note",
                    "id": f"{world.alice_iri}notes/{number}",
                    "attributedTo": world.alice_iri,
                    "content": text,
                },
            },
            world.remote_iris,
        )
    expected = ACTIVITIES * INBOX_SERVERS
    ids = list(
        Delivery.objects.filter(state=Delivery.State.PENDING)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    require(len(ids) == expected, f"{len(ids)} pending deliveries, not {expected}")
    inboxes = Delivery.objects.values("inbox").distinct().count()
    require(inboxes == INBOX_SERVERS, f"deliveries go to {inboxes} inboxes")
    enqueued = len(backend.results)
    require(enqueued == expected, f"{enqueued} delivery tasks enqueued, not {expected}")
    backend.clear()
    return ids


def reset_deliveries() -> None:
    from django.utils import timezone

    from vox_activity.models import Delivery

    Delivery.objects.update(
        state=Delivery.State.PENDING,
        attempts=0,
        next_attempt_at=timezone.now(),
        last_attempt_at=None,
        last_status=None,
        last_error="",
        delivered_at=None,
    )


def attempt_all(ids: list[int], threads: int) -> tuple[Counter, list[str]]:
    """Attempt every delivery; (returned states, exceptions raised)."""
    from django.db import connections

    from vox_activity.outgoing.delivery import attempt_delivery

    states: Counter = Counter()
    errors: list[str] = []
    if threads == 1:
        for pk in ids:
            try:
                states[attempt_delivery(pk)] += 1
            except Exception as exc:
                errors.append(f"{pk}: {exc!r}")
        return states, errors

    work: queue.SimpleQueue[int] = queue.SimpleQueue()
    for pk in ids:
        work.put(pk)
    lock = threading.Lock()

    def worker() -> None:
        local: Counter = Counter()
        try:
            while True:
                try:
                    pk = work.get_nowait()
                except queue.Empty:
                    break
                try:
                    local[attempt_delivery(pk)] += 1
                except Exception as exc:
                    with lock:
                        errors.append(f"{pk}: {exc!r}")
        finally:
            with lock:
                states.update(local)
            connections.close_all()  # this thread's SQLite connection

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return states, errors


def check_delivery_run(
    world: DeliverWorld,
    servers: InboxServers,
    ids: list[int],
    states: Counter,
    errors: list[str],
    threads: int,
) -> dict:
    from vox_activity.models import Delivery

    total = len(ids)
    label = f"deliver with {threads} thread(s)"
    require(not errors, f"{label}: {len(errors)} attempts raised: {errors[:3]}")
    require(
        states == Counter({"delivered": total}),
        f"{label}: attempt_delivery returned {dict(states)}",
    )
    rows = Counter(Delivery.objects.values_list("state", flat=True))
    require(rows == Counter({"delivered": total}), f"{label}: rows are {dict(rows)}")
    once = Delivery.objects.filter(attempts=1, last_status=202).count()
    require(once == total, f"{label}: {total - once} rows not attempted once with 202")
    stats = servers.stats()
    require(
        stats["posts"] == total and stats["distinct"] == total,
        f"{label}: the inboxes received {stats['posts']} POSTs "
        f"({stats['distinct']} distinct), not exactly {total}",
    )
    require(not stats["errors"], f"{label}: {stats['errors']} bad requests")
    return stats


def check_signatures(world: DeliverWorld, samples: list[dict]) -> int:
    """Verify sampled deliveries with verify_request against alice's key."""
    from vox_activity.protocol.cavage import SignatureError, verify_request

    require(
        len(samples) >= SIGNATURE_SAMPLES,
        f"only {len(samples)} sampled deliveries, not {SIGNATURE_SAMPLES}",
    )
    for sample in samples[:SIGNATURE_SAMPLES]:
        body = base64.b64decode(sample["body"])
        headers = dict(sample["headers"])
        try:
            params = verify_request(
                sample["method"],
                sample["path"],
                headers,
                body,
                world.alice_public_pem,
            )
        except SignatureError as exc:
            raise BenchError(
                f"a delivery to {sample['path']} does not verify: {exc.reason}"
            ) from exc
        require(
            params.key_id == world.alice_key_id,
            f"signed with {params.key_id}, not {world.alice_key_id}",
        )
        require(
            json.loads(body).get("actor") == world.alice_iri,
            f"a delivered activity's actor is not {world.alice_iri}",
        )
    return SIGNATURE_SAMPLES


@dataclass
class DeliverResult:
    runs: list[Run]
    sign_rate: float
    sign_calls: int
    package_sign_rate: float
    package_sign_calls: int
    verified: int
    body_bytes: int


def bench_deliver(workdir: Path, threads: tuple[int, ...]) -> DeliverResult:
    progress(f"start {INBOX_SERVERS} fake inboxes (bench/fake_inboxes.py, 1 process)")
    servers = start_inbox_servers(workdir)
    try:
        progress(
            f"create alice (RSA-2048 key), {INBOX_SERVERS} remote actors, publish "
            f"{ACTIVITIES} activities"
        )
        world = build_deliver_world(servers)
        ids = publish_activities(world)
        runs = []
        verified = 0
        body_bytes = 0
        for index, count in enumerate(threads):
            if index:
                reset_deliveries()
            servers.reset()
            progress(f"attempt {len(ids):,} deliveries with {count} thread(s)")
            cpu0, server0 = time.process_time(), servers.stats()["cpu_seconds"]
            start = time.perf_counter()
            states, errors = attempt_all(ids, count)
            seconds = time.perf_counter() - start
            cpu = time.process_time() - cpu0
            stats = check_delivery_run(world, servers, ids, states, errors, count)
            runs.append(
                Run(count, len(ids), seconds, cpu, stats["cpu_seconds"] - server0)
            )
            if not verified:
                verified = check_signatures(world, stats["samples"])
                body_bytes = len(base64.b64decode(stats["samples"][0]["body"]))
        progress(f"raw RSA-2048 signing for {CRYPTO_SECONDS:g} s")
        sign_rate, sign_calls = raw_sign_rate(new_rsa_key())
        package_rate, package_calls = package_sign_rate(world)
    finally:
        stop_process(servers.process)
    return DeliverResult(
        runs, sign_rate, sign_calls, package_rate, package_calls, verified, body_bytes
    )


def package_sign_rate(world: DeliverWorld) -> tuple[float, int]:
    """vox_activity's own signer for alice, as attempt_delivery builds and calls it."""
    from vox_activity.net.signing import signer

    sign = signer(world.alice_iri)
    url = f"http://{HOST}:8/users/r0/inbox"
    body = b"{}" * 500
    headers = {"Content-Type": AP, "Accept": AP, "Host": f"{HOST}:8"}
    progress(f"vox_activity.net.signing.signer() + sign for {CRYPTO_SECONDS:g} s")
    return rate_for(CRYPTO_SECONDS, lambda: sign("POST", url, headers, body))


# --- inbox ------------------------------------------------------------------------


@dataclass
class Sender:
    iri: str
    key_id: str
    private_key: Any
    public_pem: str


def create_sender() -> Sender:
    from django.utils import timezone

    from vox_activity.models import RemoteActor, RemoteKey

    key = new_rsa_key()
    _, public = pem_of(key)
    iri = "https://remote.example/users/bob"
    key_id = f"{iri}#main-key"
    actor = RemoteActor.objects.create(
        iri=iri,
        domain="remote.example",
        inbox=f"{iri}/inbox",
        shared_inbox="https://remote.example/inbox",
        preferred_username="bob",
        data={
            "id": iri,
            "type": "Person",
            "inbox": f"{iri}/inbox",
            "followers": f"{iri}/followers",
            "publicKey": {"id": key_id, "owner": iri, "publicKeyPem": public},
        },
        fetched_at=timezone.now(),  # cached and fresh: the server fetches nothing
    )
    RemoteKey.objects.create(key_id=key_id, actor=actor, public_key_pem=public)
    return Sender(iri, key_id, key, public)


def signed_post(sender: Sender, url: str, body: bytes) -> dict[str, str]:
    """The headers of a POST signed as Mastodon signs it, with a loaded key.

    The signing string and Digest come from vox_activity.protocol.cavage; the key
    is the already-loaded object, so preparing hundreds of requests costs
    only the signatures (sign_request would parse the PEM every time).
    """
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    from vox_activity.protocol.cavage import digest_header, signing_string

    parts = urlsplit(url)
    headers = {
        "Host": parts.netloc,
        "Date": formatdate(usegmt=True),
        "Digest": digest_header(body),
        "Content-Type": AP,
    }
    signed = ["(request-target)", "host", "date", "digest", "content-type"]
    text = signing_string(
        signed,
        method="POST",
        path_with_query=parts.path,
        headers={name.lower(): value for name, value in headers.items()},
    )
    signature = sender.private_key.sign(
        text.encode(), padding.PKCS1v15(), hashes.SHA256()
    )
    headers["Signature"] = (
        f'keyId="{sender.key_id}",algorithm="rsa-sha256",'
        f'headers="{" ".join(signed)}",'
        f'signature="{base64.b64encode(signature).decode("ascii")}"'
    )
    return headers


def prepare_posts(
    sender: Sender, inbox: str, alice_iri: str, label: str, count: int
) -> list[tuple[bytes, dict[str, str]]]:
    text = "<p>" + ("A note from far away. " * 14) + "</p>"
    posts = []
    for number in range(count):
        status = f"{sender.iri}/statuses/{label}-{number}"
        activity = {
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": f"{status}/activity",
            "type": "Create",
            "actor": sender.iri,
            "to": [alice_iri],
            "published": "2025-01-01T00:00:00Z",
            "object": {
                "id": status,
                "type": "Note",
                "attributedTo": sender.iri,
                "to": [alice_iri],
                "content": text,
                "published": "2025-01-01T00:00:00Z",
            },
        }
        body = json.dumps(activity).encode()
        posts.append((body, signed_post(sender, inbox, body)))
    return posts


def post_all(
    inbox: str, posts: list[tuple[bytes, dict[str, str]]], threads: int
) -> tuple[Counter, list[str]]:
    """POST every prepared request from ``threads`` keep-alive sessions."""
    import requests

    work: queue.SimpleQueue = queue.SimpleQueue()
    for post in posts:
        work.put(post)
    statuses: Counter = Counter()
    problems: list[str] = []
    lock = threading.Lock()

    def client() -> None:
        local: Counter = Counter()
        with requests.Session() as session:
            while True:
                try:
                    body, headers = work.get_nowait()
                except queue.Empty:
                    break
                try:
                    response = session.post(
                        inbox, data=body, headers=headers, timeout=60
                    )
                except requests.RequestException as exc:
                    with lock:
                        problems.append(repr(exc))
                    continue
                local[response.status_code] += 1
                if response.status_code != 202 and len(problems) < 5:
                    with lock:
                        problems.append(
                            f"{response.status_code}: {response.text[:300]}"
                        )
        with lock:
            statuses.update(local)

    pool = [threading.Thread(target=client) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return statuses, problems


def inbox_counts(sender: Sender, alice) -> tuple[int, int]:
    """(incoming activities from the sender, inbox items of alice from them)."""
    from vox_activity.models import Activity, InboxItem

    activities = Activity.objects.filter(local=False, actor_iri=sender.iri).count()
    items = (
        InboxItem.objects.for_owner(alice)
        .filter(activity__local=False, activity__actor_iri=sender.iri)
        .count()
    )
    return activities, items


@dataclass
class InboxResult:
    runs: list[Run]
    verify_rate: float
    verify_calls: int
    package_verify_rate: float
    package_verify_calls: int
    server_threads: int
    body_bytes: int


def start_site(workdir: Path, db_path: Path, port: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "testsite.settings",
        "TESTSITE_DOMAIN": f"{HOST}:{port}",
        "TESTSITE_SSL": "0",
        "TESTSITE_DEBUG": "0",
        "DATABASE_URL": f"sqlite:///{db_path}",
        "PYTHONPATH": str(ROOT),
    }
    log = open(workdir / "waitress.log", "wb")  # noqa: SIM115
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "waitress",
            f"--listen={HOST}:{port}",
            "testsite.wsgi:application",
        ],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()
    return process


def bench_inbox(
    workdir: Path, db_path: Path, clients: tuple[int, ...], posts: int
) -> InboxResult:
    import requests
    from django.db import connections
    from waitress.adjustments import Adjustments

    from vox_activity.protocol.cavage import verify_request

    alice = local_alice()
    sender = create_sender()
    port = free_port()
    alice_iri = f"http://{HOST}:{port}/~alice/"
    inbox = f"{alice_iri}inbox"
    connections.close_all()  # the server takes over the SQLite file

    progress(f"sign {WARMUP_POSTS + posts * len(clients):,} distinct Create activities")
    warmup = prepare_posts(sender, inbox, alice_iri, "warmup", WARMUP_POSTS)
    batches = [
        prepare_posts(sender, inbox, alice_iri, f"run{n}", posts) for n in clients
    ]
    body, headers = batches[0][0]
    verify_request("POST", urlsplit(inbox).path, headers, body, sender.public_pem)

    progress(f"start the testsite: waitress on {HOST}:{port}, same SQLite file")
    process = start_site(workdir, db_path, port)
    try:
        if not wait_for_port(port, process):
            raise BenchError(
                f"waitress did not start:\n{tail(workdir / 'waitress.log')}"
            )
        probe = requests.get(alice_iri, headers={"Accept": AP}, timeout=30)
        require(
            probe.status_code == 200 and probe.json().get("id") == alice_iri,
            f"GET {alice_iri} answered {probe.status_code}: {probe.text[:300]}",
        )
        statuses, problems = post_all(inbox, warmup, 1)
        require(
            statuses == Counter({202: WARMUP_POSTS}),
            f"warm-up POSTs answered {dict(statuses)}: {problems}",
        )
        runs = []
        for count, batch in zip(clients, batches, strict=True):
            before = inbox_counts(sender, alice)
            progress(f"POST {len(batch):,} signed activities from {count} client(s)")
            server0 = proc_cpu_seconds(process.pid)
            cpu0 = time.process_time()
            start = time.perf_counter()
            statuses, problems = post_all(inbox, batch, count)
            seconds = time.perf_counter() - start
            cpu = time.process_time() - cpu0
            server1 = proc_cpu_seconds(process.pid)
            label = f"inbox with {count} client(s)"
            require(
                statuses == Counter({202: len(batch)}),
                f"{label}: answers {dict(statuses)}; {problems}\n"
                f"{tail(workdir / 'waitress.log')}",
            )
            after = inbox_counts(sender, alice)
            gained = (after[0] - before[0], after[1] - before[1])
            require(
                gained == (len(batch), len(batch)),
                f"{label}: the DB gained {gained[0]} incoming activities and "
                f"{gained[1]} inbox items for alice, not {len(batch)} each",
            )
            server = None if server0 is None or server1 is None else server1 - server0
            runs.append(Run(count, len(batch), seconds, cpu, server))
        connections.close_all()
    finally:
        stop_process(process)

    progress(f"raw RSA-2048 verifying for {CRYPTO_SECONDS:g} s")
    verify_rate, verify_calls = raw_verify_rate(new_rsa_key())
    progress(f"vox_activity.protocol.cavage.verify_request for {CRYPTO_SECONDS:g} s")
    path = urlsplit(inbox).path
    package_rate, package_calls = rate_for(
        CRYPTO_SECONDS,
        lambda: verify_request("POST", path, headers, body, sender.public_pem),
    )
    return InboxResult(
        runs,
        verify_rate,
        verify_calls,
        package_rate,
        package_calls,
        Adjustments.threads,
        len(body),
    )


# --- report -----------------------------------------------------------------------


def fsync_ms(directory: Path, rounds: int = 20) -> float:
    """Mean latency of a small write + fsync in ``directory`` (SQLite commits
    wait for a few of these)."""
    path = directory / "fsync-probe"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        start = time.perf_counter()
        for _ in range(rounds):
            os.write(fd, b"x" * 512)
            os.fsync(fd)
        return 1000 * (time.perf_counter() - start) / rounds
    finally:
        os.close(fd)
        path.unlink()


def sqlite_modes() -> str:
    """The SQLite journal, sync and transaction modes the benchmark runs with."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        journal = cursor.fetchone()[0]
        cursor.execute("PRAGMA synchronous")
        synchronous = cursor.fetchone()[0]
    names = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}
    mode = connection.settings_dict.get("OPTIONS", {}).get("transaction_mode")
    return (
        f"journal_mode={journal}, synchronous={names.get(synchronous, synchronous)}, "
        f"transactions {mode or 'DEFERRED'}"
    )


def machine_lines(workdir: Path) -> list[str]:
    import sqlite3

    import cryptography
    import django
    import requests
    from cryptography.hazmat.backends.openssl import backend as openssl

    try:
        from importlib.metadata import version

        waitress_version = version("waitress")
    except Exception:
        waitress_version = "?"
    cpus = os.cpu_count()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cpus
    return [
        f"Machine: {cpus} CPUs ({usable} usable by this process), "
        f"{platform.system()} {platform.release()} {platform.machine()}",
        f"Python {platform.python_version()}, Django {django.get_version()}, "
        f"SQLite {sqlite3.sqlite_version}, cryptography {cryptography.__version__} "
        f"({openssl.openssl_version_text()}), requests {requests.__version__}, "
        f"waitress {waitress_version}",
        f"SQLite file in {workdir.parent}: {sqlite_modes()} (the testsite's "
        f"options); write+fsync there: {fsync_ms(workdir):.2f} ms",
    ]


def report_deliver(result: DeliverResult) -> None:
    first = result.runs[0]
    print(
        f"DELIVER: {first.count:,} deliveries ({ACTIVITIES} activities x "
        f"{INBOX_SERVERS} remote actors, one inbox each on {INBOX_SERVERS} loopback "
        "servers),\n"
        "  vox_activity.outgoing.delivery.attempt_delivery; POST bodies "
        f"~{result.body_bytes:,} bytes, signed RSA-2048 (alice's key), keep-alive"
    )
    header = (
        f"{'threads':>7} | {'time':>8} {'deliveries/s':>13} {'ms each':>8} | "
        f"{'bench CPU':>9} {'inboxes CPU':>11} | {'/ signs/s':>9}"
    )
    print(header)
    print("-" * len(header))
    for run in result.runs:
        print(
            f"{run.threads:>7} | {run.seconds:>7.2f}s {fmt_rate(run.rate):>13} "
            f"{1000 * run.seconds / run.count:>8.2f} | "
            f"{fmt_pct(run.client_cpu, run.seconds):>9} "
            f"{fmt_pct(run.server_cpu, run.seconds):>11} | "
            f"{100 * run.rate / result.sign_rate:>8.2f}%"
        )
    print(
        f"  raw RSA-2048 PKCS#1 v1.5 SHA-256 signing (cryptography, 1 thread, "
        f"{SIGNING_STRING_BYTES:,}-byte string):\n"
        f"    {fmt_rate(result.sign_rate)} signs/s "
        f"({1000 / result.sign_rate:.3f} ms each; {result.sign_calls:,} in "
        f"{CRYPTO_SECONDS:g} s)"
    )
    print(
        "  vox_activity's signer as attempt_delivery uses it "
        "(keys.signer(actor) then sign(...)):\n"
        f"    {fmt_rate(result.package_sign_rate)} signed requests/s "
        f"({1000 / result.package_sign_rate:.2f} ms each; "
        f"{result.package_sign_calls:,} in ~{CRYPTO_SECONDS:g} s)"
    )
    print(
        f"  checks: all {first.count:,} rows 'delivered' after one attempt each (HTTP "
        f"202) in every run; the inboxes got exactly {first.count:,} distinct POSTs "
        f"per run;\n  {result.verified} sampled signatures verify "
        "(vox_activity.protocol.cavage.verify_request, alice's public key)."
    )


def report_inbox(result: InboxResult, posts: int) -> None:
    print(
        f"INBOX: {posts:,} distinct signed Create(Note) POSTs per run to alice's "
        f"inbox, ~{result.body_bytes:,}-byte bodies;\n"
        f"  testsite on waitress ({result.server_threads} threads, DEBUG off) in a "
        "subprocess, SQLite file; sender's key cached (no fetch)"
    )
    header = (
        f"{'clients':>7} | {'time':>8} {'POSTs/s':>9} {'ms each':>8} | "
        f"{'server CPU':>10} {'bench CPU':>9} | {'/ verifies/s':>12}"
    )
    print(header)
    print("-" * len(header))
    for run in result.runs:
        print(
            f"{run.threads:>7} | {run.seconds:>7.2f}s {fmt_rate(run.rate):>9} "
            f"{1000 * run.seconds / run.count:>8.2f} | "
            f"{fmt_pct(run.server_cpu, run.seconds):>10} "
            f"{fmt_pct(run.client_cpu, run.seconds):>9} | "
            f"{100 * run.rate / result.verify_rate:>11.2f}%"
        )
    print(
        f"  raw RSA-2048 PKCS#1 v1.5 SHA-256 verifying (cryptography, 1 thread, "
        f"{SIGNING_STRING_BYTES:,}-byte string):\n"
        f"    {fmt_rate(result.verify_rate)} verifies/s "
        f"({1000 / result.verify_rate:.3f} ms each; {result.verify_calls:,} in "
        f"{CRYPTO_SECONDS:g} s)"
    )
    print(
        "  vox_activity.protocol.cavage.verify_request on one received POST "
        "(parse, Digest, PEM, verify):\n"
        f"    {fmt_rate(result.package_verify_rate)} verifies/s "
        f"({1000 / result.package_verify_rate:.3f} ms each)"
    )
    print(
        f"  checks: every answer 202; per run the DB gained exactly {posts:,} "
        f"incoming activities and {posts:,} inbox items of alice."
    )


# --- main ---------------------------------------------------------------------


def parse_counts(text: str) -> tuple[int, ...]:
    try:
        counts = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of numbers: {text!r}") from None
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError(f"need positive numbers: {text!r}")
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "phase",
        nargs="?",
        choices=("deliver", "inbox", "all"),
        default="all",
        help="which benchmark (default: both)",
    )
    parser.add_argument(
        "--threads",
        type=parse_counts,
        default=DELIVER_THREADS,
        help="deliver: worker threads of each run, comma-separated "
        f"(default {','.join(map(str, DELIVER_THREADS))})",
    )
    parser.add_argument(
        "--clients",
        type=parse_counts,
        default=CLIENT_THREADS,
        help="inbox: client threads of each run "
        f"(default {','.join(map(str, CLIENT_THREADS))})",
    )
    parser.add_argument(
        "--posts", type=int, default=POSTS, help=f"inbox: POSTs per run ({POSTS})"
    )
    parser.add_argument(
        "--keep-db", action="store_true", help="keep the temporary directory"
    )
    options = parser.parse_args(argv)
    if options.posts < 1:
        parser.error("--posts must be positive")

    workdir = Path(tempfile.mkdtemp(prefix="vox-fedbench-"))
    db_path = workdir / "bench.sqlite3"
    started = time.perf_counter()
    deliver = inbox = None
    try:
        setup_django(db_path)
        from django.core.management import call_command

        progress(f"migrate {db_path}")
        call_command("migrate", verbosity=0)
        if options.phase in ("deliver", "all"):
            deliver = bench_deliver(workdir, options.threads)
        if options.phase in ("inbox", "all"):
            inbox = bench_inbox(workdir, db_path, options.clients, options.posts)
        machine = machine_lines(workdir)
    except BenchError as exc:
        print(f"\nbench: CORRECTNESS CHECK FAILED: {exc}", file=sys.stderr)
        return 1
    finally:
        from django.db import connections

        connections.close_all()
        if options.keep_db:
            progress(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    print()
    for line in machine:
        print(line)
    if deliver is not None:
        print()
        report_deliver(deliver)
    if inbox is not None:
        print()
        report_inbox(inbox, options.posts)
    print()
    total = time.perf_counter() - started
    print(f"All correctness checks passed. Total run {total:.0f} s.")
    return 0


if __name__ == "__main__":
    ensure_project_python()
    sys.exit(main())
