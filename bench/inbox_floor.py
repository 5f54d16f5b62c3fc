"""The ``inbox`` phase of ``bench/throughput.py``: signed inbox POSTs against the floor.

Runs in a fresh process on a fresh database (``throughput.py _inbox``):

* the testsite served by waitress in a process of its own
  (``bench/inbox_server.py``: 4 threads, a free port on 127.0.0.1,
  ``TESTSITE_DEBUG=0``, the testsite's persistent connections, or
  PostgreSQL's pool), with ``bench/inbox_settings.py``: the package's default
  ``INBOX_PROCESSING = "task"`` and the database task backend
  (``django_tasks_db``; no worker runs, tasks are only enqueued);
* alice, and a remote sender whose actor and key are cached (fresh
  ``fetched_at``), so the server fetches nothing;
* before each run, N distinct ``Create``/``Note`` activities of ~2 KB, signed
  as Mastodon signs a POST (draft-cavage, rsa-sha256 over
  ``(request-target) host date digest content-type``);
* **timed**: the N POSTs from 1 and from 4 client threads, each with its own
  keep-alive connection (``http.client``), to the real inbox
  (``/~alice/inbox``) and, right after or right before on the same server,
  to the floor (``/_bench/floor/alice``, :mod:`bench.floor_views`): a
  minimal view that verifies the signature in-process and makes issue 10's
  three INSERTs;
* checks after every run: every answer 202; the real inbox stored exactly N
  unprocessed incoming activities and enqueued exactly N tasks; the floor
  stored N activities, N inbox items and N objects.  Before timing, a POST
  with a tampered body must be refused (401) by both.

The SQL statements per POST of each path come from the server's own count
(:mod:`bench.sql_counter`) over each run.  Timings are reported, never
enforced; a failed check raises :class:`bench.throughput.BenchError`.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from email.utils import formatdate
from pathlib import Path
from typing import Any

from bench.federation import Sender, create_sender  # the cached sender
from bench.throughput import (
    AP,
    BENCH,
    HOST,
    ROOT,
    BenchError,
    cpu_seconds,
    loadavg,
    median,
    migrate,
    progress,
    require,
    setup_django,
)

__all__ = ["phase_inbox", "report_inbox"]

#: The server's threads, and the untimed POSTs to each path before the runs.
SERVER_THREADS = 4
WARMUP_POSTS = 20
#: Size of each activity's JSON body, in bytes (about).
BODY_BYTES = 2048
TARGET_VS_FLOOR = 0.7
SIGNED = ["(request-target)", "host", "date", "digest", "content-type"]
PATHS = {"real": "/~alice/inbox", "floor": "/_bench/floor/alice"}
INBOX_TASK = "vox_activity.incoming.tasks.process_inbox"


# --- the sender and its requests -----------------------------------------------------


@dataclass(frozen=True)
class Post:
    path: str
    body: bytes
    headers: dict[str, str]


def sign(sender: Sender, host: str, path: str, body: bytes) -> dict[str, str]:
    """Headers of a POST signed as Mastodon signs one, with the loaded key."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    from vox_activity.protocol.cavage import digest_header, signing_string

    headers = {
        "Host": host,
        "Date": formatdate(usegmt=True),
        "Digest": digest_header(body),
        "Content-Type": AP,
    }
    text = signing_string(
        SIGNED,
        method="POST",
        path_with_query=path,
        headers={name.lower(): value for name, value in headers.items()},
    )
    signature = sender.private_key.sign(
        text.encode(), padding.PKCS1v15(), hashes.SHA256()
    )
    headers["Signature"] = (
        f'keyId="{sender.key_id}",algorithm="rsa-sha256",'
        f'headers="{" ".join(SIGNED)}",'
        f'signature="{base64.b64encode(signature).decode("ascii")}"'
    )
    return headers


def activity_body(sender: Sender, alice_iri: str, label: str) -> bytes:
    """A distinct ``Create`` of a ``Note`` addressed to alice, ~BODY_BYTES long."""
    status = f"{sender.iri}/statuses/{label}"
    activity: dict[str, Any] = {
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
            "content": "",
            "published": "2025-01-01T00:00:00Z",
        },
    }
    room = BODY_BYTES - len(json.dumps(activity)) - len("<p></p>")
    sentence = "A note from far away, long enough to weigh what a real one does. "
    text = (sentence * (room // len(sentence) + 1))[: max(room, 0)]
    activity["object"]["content"] = f"<p>{text}</p>"
    return json.dumps(activity).encode()


def prepare(
    sender: Sender, host: str, alice_iri: str, path: str, label: str, count: int
) -> list[Post]:
    posts = []
    for number in range(count):
        body = activity_body(sender, alice_iri, f"{label}-{number}")
        posts.append(Post(path, body, sign(sender, host, path, body)))
    return posts


# --- the server --------------------------------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def start_server(
    port: int, workdir: Path, log_name: str, profile: str
) -> subprocess.Popen:
    """``bench/inbox_server.py`` on ``port``; returns once it answers."""
    from testsite.processes import spawn, stop_process

    env = {**os.environ, "TESTSITE_DEBUG": "0", "PYTHONPATH": str(ROOT)}
    command = [sys.executable, str(BENCH / "inbox_server.py"), "--port", str(port),
               "--threads", str(SERVER_THREADS)]  # fmt: skip
    if profile:
        command += ["--profile", profile]
    log = workdir / log_name
    with open(log, "wb") as out:
        process = spawn(
            command,
            label="inbox benchmark server",
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 60
    while "serving" not in log.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            stop_process(process)
            raise BenchError(
                f"the inbox server did not start:\n{log.read_text(errors='replace')}"
            )
        time.sleep(0.1)
    return process


def get_json(port: int, path: str, accept: str = "application/json") -> Any:
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        conn.request("GET", path, headers={"Accept": accept})
        response = conn.getresponse()
        body = response.read()
        require(response.status == 200, f"GET {path}: {response.status} {body[:300]!r}")
        return json.loads(body)
    finally:
        conn.close()


# --- the clients ------------------------------------------------------------------


@dataclass
class Outcome:
    seconds: float
    statuses: Counter[int]
    problems: list[str]


def post_all(port: int, posts: list[Post], clients: int) -> Outcome:
    """POST every request from ``clients`` threads, each on a keep-alive connection."""
    work: queue.SimpleQueue[Post] = queue.SimpleQueue()
    for post in posts:
        work.put(post)
    statuses: Counter[int] = Counter()
    problems: list[str] = []
    lock = threading.Lock()
    ready = threading.Barrier(clients + 1)

    def client() -> None:
        local: Counter[int] = Counter()
        conn = http.client.HTTPConnection(HOST, port, timeout=60)
        ready.wait()
        try:
            while True:
                try:
                    post = work.get_nowait()
                except queue.Empty:
                    break
                try:
                    conn.request(
                        "POST", post.path, body=post.body, headers=post.headers
                    )
                    response = conn.getresponse()
                    answer = response.read()
                except (OSError, http.client.HTTPException) as exc:
                    with lock:
                        problems.append(repr(exc))
                    conn.close()
                    continue
                local[response.status] += 1
                if response.status != 202 and len(problems) < 5:
                    with lock:
                        problems.append(f"{response.status}: {answer[:300]!r}")
        finally:
            conn.close()
            with lock:
                statuses.update(local)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    ready.wait()
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    return Outcome(time.perf_counter() - start, statuses, problems)


# --- checks -----------------------------------------------------------------------


def db_counts(sender: Sender) -> Counter[str]:
    """What the two paths write, counted in the database."""
    from django_tasks_db.models import DBTaskResult

    from vox_activity.models import Activity, InboxItem, StoredObject

    received = Activity.objects.filter(local=False, actor_iri=sender.iri)
    return Counter(
        {
            "activities": received.count(),
            "unprocessed": received.filter(processed_at__isnull=True).count(),
            "inbox items": InboxItem.objects.filter(
                activity__actor_iri=sender.iri
            ).count(),
            "objects": StoredObject.objects.filter(owner_iri=sender.iri).count(),
            "tasks": DBTaskResult.objects.filter(task_path=INBOX_TASK).count(),
        }
    )


def expected_writes(path: str, posts: int) -> Counter[str]:
    if path == "real":  # stored unprocessed, one task each; the rest is the task's
        return Counter({"activities": posts, "unprocessed": posts, "tasks": posts})
    written = ("activities", "unprocessed", "inbox items", "objects")
    return Counter(dict.fromkeys(written, posts))


def check_refuses_tampering(
    port: int, sender: Sender, host: str, alice_iri: str
) -> None:
    """Both paths must refuse a body that is not the one signed (401)."""
    for name, path in PATHS.items():
        body = activity_body(sender, alice_iri, f"tampered-{name}")
        headers = sign(sender, host, path, body)
        forged = body.replace(b"far away", b"near here")
        outcome = post_all(port, [Post(path, forged, headers)], 1)
        require(
            outcome.statuses == Counter({401: 1}),
            f"{name}: a tampered body was answered {dict(outcome.statuses)}, not 401",
        )


# --- the phase --------------------------------------------------------------------


def _per_path() -> dict[str, list[float]]:
    return {path: [] for path in PATHS}


@dataclass
class InboxRun:
    """One client count: paired runs of the real inbox and of the floor."""

    clients: int
    posts: int = 0
    seconds: dict[str, list[float]] = field(default_factory=_per_path)
    #: Server CPU seconds per run (its threads together).
    cpu: dict[str, list[float]] = field(default_factory=_per_path)
    #: SQL statements per POST by verb, over the last run of each path.
    sql: dict[str, dict[str, float]] = field(default_factory=dict)


def timed_run(
    port: int,
    server: subprocess.Popen,
    sender: Sender,
    posts: list[Post],
    path: str,
    clients: int,
) -> tuple[float, float, dict[str, float]]:
    """POST ``posts`` and check what was written: (seconds, server CPU, SQL/POST)."""
    before = db_counts(sender)
    sql_before = Counter(get_json(port, "/_bench/sql"))
    cpu_before = cpu_seconds(server.pid)
    outcome = post_all(port, posts, clients)
    cpu = cpu_seconds(server.pid) - cpu_before
    sql = Counter(get_json(port, "/_bench/sql"))
    sql.subtract(sql_before)
    label = f"{path} inbox, {clients} client(s)"
    require(
        outcome.statuses == Counter({202: len(posts)}),
        f"{label}: answers {dict(outcome.statuses)}: {outcome.problems}",
    )
    gained = db_counts(sender)
    gained.subtract(before)
    gained = +gained  # drop zeros
    require(
        gained == expected_writes(path, len(posts)),
        f"{label}: the database gained {dict(gained)}, not "
        f"{dict(expected_writes(path, len(posts)))}",
    )
    per_post = {verb: count / len(posts) for verb, count in sql.items() if count}
    return outcome.seconds, cpu, per_post


def phase_inbox(options: argparse.Namespace) -> dict[str, Any]:
    """(In a subprocess) the real inbox and its floor on one server and database."""
    from django.contrib.auth import get_user_model
    from django.db import connections

    from testsite.processes import stop_process

    port = free_port()
    host = f"{HOST}:{port}"
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.inbox_settings"
    os.environ["VOX_BENCH_SITE_DOMAIN"] = host
    setup_django()
    migrate()
    from vox_activity.registry import actor_iri_of

    workdir = Path(options.workdir)
    alice = get_user_model().objects.create_user("alice", password=None)
    alice_iri = actor_iri_of(alice)
    sender = create_sender()
    connections.close_all()
    progress(f"inbox: waitress with {SERVER_THREADS} threads on {host}")
    profile = ""
    if options.profile_server:
        profile = str(Path(options.profile_server) / f"inbox-{options.label}.prof")
    server = start_server(port, workdir, f"inbox-server-{options.label}.log", profile)
    runs = {clients: InboxRun(clients) for clients in options.clients}
    try:
        actor = get_json(port, "/~alice/", accept=AP)  # warm-up; makes alice's key
        require(actor.get("id") == alice_iri, f"alice's actor is {actor.get('id')}")
        check_refuses_tampering(port, sender, host, alice_iri)
        for path, route in PATHS.items():
            warm = prepare(sender, host, alice_iri, route, f"warm-{path}", WARMUP_POSTS)
            require(
                post_all(port, warm, 2).statuses == Counter({202: WARMUP_POSTS}),
                f"{path}: the warm-up POSTs were not all accepted",
            )
        for repeat in range(options.repeats):
            for clients, run in runs.items():
                # Take turns, which goes first too: load that comes and goes
                # on a shared machine hits both paths alike.
                order = ("real", "floor") if repeat % 2 == 0 else ("floor", "real")
                for path in order:
                    posts = prepare(
                        sender, host, alice_iri, PATHS[path],
                        f"{path}-{clients}-{repeat}", options.posts,
                    )  # fmt: skip
                    seconds, cpu, sql = timed_run(
                        port, server, sender, posts, path, clients
                    )
                    run.posts = options.posts
                    run.seconds[path].append(seconds)
                    run.cpu[path].append(cpu)
                    run.sql[path] = sql
                    progress(
                        f"inbox {path}, {clients} client(s) #{repeat + 1}: "
                        f"{options.posts / seconds:,.0f} POSTs/s, "
                        f"{sum(sql.values()):.1f} statements each, server CPU "
                        f"{cpu / options.posts * 1000:.2f} ms each (load {loadavg()})"
                    )
        body_bytes = len(activity_body(sender, alice_iri, "size-probe"))
    finally:
        connections.close_all()
        stop_process(server)
    return {
        "runs": [asdict(run) for run in runs.values()],
        "server_threads": SERVER_THREADS,
        "body_bytes": body_bytes,
        "profile": profile,
    }


# --- the report ---------------------------------------------------------------------


def _sql_text(sql: dict[str, float]) -> str:
    parts = sorted(sql.items(), key=lambda item: (-item[1], item[0]))
    return ", ".join(f"{verb} {round(count, 2):g}" for verb, count in parts) or "none"


def _ratio(run: dict[str, Any]) -> float:
    """Median of the paired ratios real/s / floor/s (= floor time / real time)."""
    pairs = zip(run["seconds"]["real"], run["seconds"]["floor"], strict=True)
    return median([floor / real for real, floor in pairs])


def report_inbox(db: str, result: dict[str, Any], lines: list[str]) -> None:
    runs = result["runs"]
    repeats = len(runs[0]["seconds"]["real"]) if runs else 0
    lines.append(
        f'\nSigned inbox POSTs on {db}: the real inbox (INBOX_PROCESSING="task", '
        "database task backend, no worker running) against the floor"
    )
    lines.append(
        f"(one waitress process, {result['server_threads']} threads, serving both; "
        f"{runs[0]['posts'] if runs else 0:,} POSTs of {result['body_bytes']:,} "
        f"bytes per run; medians of {repeats}; ratio: median of the paired ratios)"
    )
    lines.append(
        f"{'clients':>7} {'real/s':>7} {'floor/s':>8} {'ratio':>6} "
        f"{'SQL/POST real':>14} {'floor':>6} {'CPU ms real':>12} {'floor':>6}"
    )
    for run in runs:
        posts = run["posts"]
        rate = {path: median([posts / s for s in run["seconds"][path]])
                for path in ("real", "floor")}  # fmt: skip
        cpu = {path: median([c / posts * 1000 for c in run["cpu"][path]])
               for path in ("real", "floor")}  # fmt: skip
        sql = {path: sum(run["sql"][path].values()) for path in ("real", "floor")}
        lines.append(
            f"{run['clients']:>7} {rate['real']:>7,.0f} {rate['floor']:>8,.0f} "
            f"{_ratio(run):>6.2f} {sql['real']:>14.1f} {sql['floor']:>6.1f} "
            f"{cpu['real']:>12.2f} {cpu['floor']:>6.2f}"
        )
    for run in runs:
        ratio = _ratio(run)
        verdict = "MET" if ratio >= TARGET_VS_FLOOR else "MISS"
        lines.append(
            f"  target: >= {TARGET_VS_FLOOR}x floor, {run['clients']} client(s): "
            f"{ratio:.2f}x {verdict}"
        )
    if runs:
        last = runs[-1]["sql"]
        lines.append(f"  SQL per POST, real: {_sql_text(last['real'])}")
        lines.append(f"  SQL per POST, floor: {_sql_text(last['floor'])}")
    if result.get("profile"):
        lines.append(f"  (server profiled: {result['profile']}; timings inflated)")
