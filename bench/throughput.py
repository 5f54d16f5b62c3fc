#!/usr/bin/env python3
"""Throughput benchmarks: each hot path next to its floor, in the same run.

One command, everything on 127.0.0.1, databases in a temporary directory
(deleted at the end)::

    python3 bench/throughput.py                  # every phase, SQLite
    DATABASE_URL=postgres://... python3 bench/throughput.py   # PostgreSQL too
    python3 bench/throughput.py deliver          # deliveries only
    python3 bench/throughput.py fanout publish   # the publishing phases only
    python3 bench/throughput.py inbox            # signed inbox POSTs only
    python3 bench/throughput.py --quick          # smaller, fewer repeats

Run with a Python lacking Django, it re-runs itself with the project's
``.venvs/django52`` interpreter (made by ``python3 dev.py test``).

deliver
    Deliveries through the real task workers, from the first enqueue to the
    last 2xx: N rows are published in one transaction (so their tasks are
    enqueued together when it commits) to remote inboxes on loopback servers
    (``bench/fake_inboxes.py``, a process of their own); 1, 2 and 4 worker
    processes (``manage.py db_worker``, and ``manage.py rqworker`` with a
    private ``redis-server``) attempt them.  The floor, in the same run on
    the same rows and servers: one thread that signs with a loaded key
    (RFC 9421, the scheme the real path ends up using), POSTs over a
    keep-alive connection and runs one ``UPDATE`` per delivery.
fanout
    ``publish()`` of one activity to 100,000 and 1,000,000 local recipients
    (users of the testsite), each size in a fresh process: time, SQL
    statements, and the growth of the process's peak resident memory.
publish
    ``publish()`` of one activity to the followers of a local actor: 10,000
    remote followers on 100 servers with shared inboxes (100 delivery rows).
inbox
    Signed inbox POSTs (``bench/inbox_floor.py``): the testsite under waitress
    (``bench/inbox_server.py``, 4 threads) with the package's default
    ``INBOX_PROCESSING = "task"`` and the database task backend; N distinct
    ~2 KB ``Create``/``Note`` activities signed as Mastodon signs them, from
    1 and 4 keep-alive clients, to alice's inbox.  The floor, in the same run
    on the same server and database: a minimal view
    (``bench/floor_views.py``) that verifies the signature in-process and
    makes the three INSERTs (activity, inbox item, object).  SQL statements
    per POST of both, counted in the server.

Timings are only reported, with the targets of issue 10; the exit status is
non-zero only when a correctness check fails.  See bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PROJECT_ENV = ROOT / ".venvs" / "django52"
HOST = "127.0.0.1"
AP = "application/activity+json"

PHASES = ("deliver", "fanout", "publish", "inbox")
WORKER_NAMES = {
    "db": "db_worker",
    "rq": "rqworker",
    "rqsimple": "rqworker, SimpleWorker",
}
#: deliver: remote inbox servers, deliveries per run, worker processes.
INBOX_SERVERS = 10
DELIVERIES = 2000
WORKERS = (1, 2, 4)
REPEATS = 3
FANOUT_SIZES = (100_000, 1_000_000)
FOLLOWERS, FOLLOWER_SERVERS = 10_000, 100

#: Targets (reported, never enforced).
TARGET_ONE_WORKER_VS_FLOOR = 0.6
TARGET_TWO_VS_ONE = 1.5
TARGET_FANOUT_100K_SECONDS = 1.5
TARGET_FANOUT_GROWTH_MB = 50.0
TARGET_PUBLISH_SECONDS = 0.5
#: inbox: POSTs per run (--quick: fewer), client threads (bench/inbox_floor.py).
INBOX_POSTS, INBOX_QUICK_POSTS = 1000, 300
INBOX_CLIENTS = (1, 4)


# --- bootstrapping ------------------------------------------------------------


def ensure_project_python() -> None:
    """Re-run this script with the project's venv if Django is missing here."""
    import importlib.util

    needed = ("django", "django_vox", "django_tasks_db", "requests")
    if all(importlib.util.find_spec(name) is not None for name in needed):
        return
    python = PROJECT_ENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    if os.environ.get("VOX_BENCH_REEXEC") or not python.exists():
        sys.exit(
            "bench: Django is not importable with this Python and "
            f"{python.relative_to(ROOT)} does not exist.\nCreate the project "
            "environment first with `python3 dev.py test`, then run "
            "`python3 bench/throughput.py`."
        )
    env = {**os.environ, "VOX_BENCH_REEXEC": "1"}
    command = [str(python), str(Path(__file__).resolve()), *sys.argv[1:]]
    sys.exit(subprocess.call(command, env=env))


def bench_env(database_url: str, tasks: str, redis_url: str = "") -> dict[str, str]:
    """The environment of every process of one phase (workers included)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "REDIS_URL")
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "bench.throughput_settings",
            "VOX_BENCH_DATABASE_URL": database_url,
            "TESTSITE_TASKS": "rq" if tasks.startswith("rq") else "db",
            "VOX_BENCH_TASKS": tasks,
            "PYTHONPATH": str(ROOT),
            "PYTHONUNBUFFERED": "1",
        }
    )
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env


def setup_django() -> None:
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCH]
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()


class BenchError(Exception):
    """A correctness check failed: the numbers would be meaningless."""


def require(condition: bool, message: str) -> None:
    if not condition:
        raise BenchError(message)


def progress(message: str) -> None:
    print(f"  .. {message}", file=sys.stderr, flush=True)


def loadavg() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def migrate() -> None:
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


# --- measuring helpers ----------------------------------------------------------


class Statements:
    """Counts SQL statements (an execute wrapper; no SQL kept)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


@contextlib.contextmanager
def counting() -> Iterator[Statements]:
    from django.db import connection

    counter = Statements()
    with connection.execute_wrapper(counter):
        yield counter


def rss_kb() -> int:
    """Resident memory of this process now (Linux), in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def cpu_seconds(pid: int) -> float:
    """CPU seconds of process ``pid`` and of its children it waited for (Linux)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    utime, stime, cutime, cstime = (int(x) for x in fields[11:15])
    return (utime + stime + cutime + cstime) / os.sysconf("SC_CLK_TCK")


def peak_rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def reset_peak_rss() -> bool:
    """Start a new peak (``VmHWM``) from the current RSS; False if impossible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


# --- the fake inboxes -------------------------------------------------------------


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


def start_inbox_servers(workdir: Path, count: int) -> InboxServers:
    from testsite.processes import spawn, stop_process

    with open(workdir / "fake_inboxes.log", "wb") as log:
        process = spawn(
            [sys.executable, str(BENCH / "fake_inboxes.py"), str(count)],
            label="fake inboxes",
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            cwd=ROOT,
        )
    line = process.stdout.readline()
    try:
        ports = json.loads(line)["ports"]
    except (ValueError, KeyError, TypeError):
        stop_process(process)
        raise BenchError(f"the fake inboxes did not start: {line!r}") from None
    return InboxServers(process, ports)


# --- deliver ----------------------------------------------------------------------


@dataclass
class DeliverRun:
    """One worker count's runs, each paired with a floor run right after it."""

    label: str  # "db_worker x2", ...
    workers: int
    deliveries: int = 0
    seconds: list[float] = field(default_factory=list)
    floor_seconds: list[float] = field(default_factory=list)
    #: CPU seconds the worker processes (their forks included) and the
    #: floor's thread used per run.
    cpu: list[float] = field(default_factory=list)
    floor_cpu: list[float] = field(default_factory=list)


def make_world(servers: InboxServers) -> tuple[str, list[str]]:
    """alice (her key made now) and one remote actor per inbox server."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from vox_activity.models import ActorKey, RemoteActor
    from vox_activity.registry import actor_iri

    alice = get_user_model().objects.create_user("alice", password=None)
    ActorKey.objects.for_actor(alice)
    remote = []
    for number, port in enumerate(servers.ports):
        iri = f"http://{HOST}:{port}/users/r{number}"
        RemoteActor.objects.create(
            iri=iri,
            domain=f"{HOST}:{port}",
            inbox=f"{iri}/inbox",
            preferred_username=f"r{number}",
            data={"id": iri, "type": "Person", "inbox": f"{iri}/inbox"},
            fetched_at=timezone.now(),  # fresh: publishing fetches nothing
        )
        remote.append(iri)
    return actor_iri(alice), remote


def publish_round(alice: str, remote: list[str], deliveries: int, label: str) -> float:
    """Publish ``deliveries`` rows in one transaction; when its tasks were woken.

    Tasks are enqueued when the transaction commits; the returned wall-clock
    time (``time.time()``) is taken by the first of the commit's callbacks,
    right before the first enqueue.
    """
    from django.db import transaction

    from vox_activity.outgoing.publish import publish

    text = "<p>" + ("Throughput benchmark note. " * 24) + "</p>"  # ~1 KB of JSON
    activities = deliveries // len(remote)
    started: list[float] = []
    with transaction.atomic():
        transaction.on_commit(lambda: started.append(time.time()))
        for number in range(activities):
            publish(
                {
                    "type": "Create",
                    "actor": alice,
                    "object": {
                        "type": "Note",
                        "id": f"{alice}notes/{label}-{number}",
                        "attributedTo": alice,
                        "content": text,
                    },
                },
                remote,
                fetch=False,
            )
    return started[0]


def wait_delivered(expected: int, since_pk: int, timeout: float) -> float:
    """Wait until ``expected`` rows after ``since_pk`` are delivered; the time
    (``delivered_at``) of the last one."""
    from django.db.models import Max

    from vox_activity.models import Delivery

    deadline = time.monotonic() + timeout
    rows = Delivery.objects.filter(pk__gt=since_pk)
    while True:
        done = rows.filter(state=Delivery.State.DELIVERED).count()
        if done >= expected:
            break
        if time.monotonic() > deadline:
            states = Counter(rows.values_list("state", flat=True))
            raise BenchError(
                f"only {done} of {expected} deliveries arrived in {timeout:.0f} s "
                f"(states: {states})"
            )
        time.sleep(0.05)
    last = rows.aggregate(last=Max("delivered_at"))["last"]
    return last.timestamp()


def check_round(
    servers: InboxServers, since_pk: int, expected: int, label: str
) -> dict:
    from vox_activity.models import Delivery

    rows = Delivery.objects.filter(pk__gt=since_pk)
    once = rows.filter(state="delivered", attempts=1, last_status=202).count()
    require(once == expected, f"{label}: {expected - once} rows not delivered once")
    stats = servers.stats()
    require(
        stats["posts"] == expected and stats["distinct"] == expected,
        f"{label}: the inboxes received {stats['posts']} POSTs "
        f"({stats['distinct']} distinct), not exactly {expected}",
    )
    require(not stats["errors"], f"{label}: {stats['errors']} bad requests")
    return stats


def floor_round(alice: str, since_pk: int) -> tuple[float, int]:
    """The floor over the rows after ``since_pk``: (seconds, deliveries).

    One thread: sign (RFC 9421, the key loaded once) + POST on a keep-alive
    ``http.client`` connection per server + one ``UPDATE`` per delivery.
    """
    import http.client
    from urllib.parse import urlsplit

    from django.db import connection
    from django.utils import timezone

    from vox_activity.models import Activity, Delivery
    from vox_activity.net.signing import signing_key_for
    from vox_activity.protocol import rfc9421

    key = signing_key_for(alice)
    rows = list(
        Delivery.objects.filter(pk__gt=since_pk)
        .order_by("pk")
        .values_list("pk", "inbox", "activity_id")
    )
    bodies = {
        a.pk: json.dumps(a.to_ap()).encode()
        for a in Activity.objects.filter(pk__in={r[2] for r in rows})
    }
    table = connection.ops.quote_name(Delivery._meta.db_table)
    sql = (
        f"UPDATE {table} SET state = %s, last_status = %s, "  # noqa: S608
        "delivered_at = %s WHERE id = %s"
    )
    connections: dict[str, http.client.HTTPConnection] = {}
    prep = Delivery._meta.get_field("delivered_at").get_db_prep_value
    start = time.perf_counter()
    with connection.cursor() as cursor:
        for pk, inbox, activity_id in rows:
            parts = urlsplit(inbox)
            body = bodies[activity_id]
            headers = rfc9421.sign_request(
                "POST",
                inbox,
                {"Host": parts.netloc, "Content-Type": AP},
                body,
                key_id=key.key_id,
                private_key_pem=key.private_key_pem,
            )
            conn = connections.get(parts.netloc)
            if conn is None:
                conn = connections[parts.netloc] = http.client.HTTPConnection(
                    parts.hostname, parts.port, timeout=10
                )
            conn.request("POST", parts.path, body=body, headers=dict(headers))
            response = conn.getresponse()
            response.read()
            require(response.status == 202, f"the floor got {response.status}")
            cursor.execute(
                sql, ["delivered", 202, prep(timezone.now(), connection), pk]
            )
    seconds = time.perf_counter() - start
    for conn in connections.values():
        conn.close()
    return seconds, len(rows)


def reset_rows(since_pk: int) -> None:
    """Rows the floor writes again (not pending: no worker may take them)."""
    from vox_activity.models import Delivery

    Delivery.objects.filter(pk__gt=since_pk).update(
        state="failed", delivered_at=None, last_status=None
    )


def start_workers(
    tasks: str, count: int, env: dict[str, str], workdir: Path
) -> list[subprocess.Popen]:
    """``count`` worker processes; returns once each says it is listening."""
    from testsite.processes import spawn

    if tasks == "db":
        command = [
            "db_worker",
            "--interval",
            "0.05",
            "--no-reload",
            "--no-startup-delay",
        ]
        ready = "Starting worker"
    else:
        command = [
            "rqworker",
            "default",
            "--with-scheduler",
            "--job-class",
            "django_tasks_rq.Job",
        ]
        if tasks == "rqsimple":  # jobs in the worker itself, no fork per job
            command += ["--worker-class", "rq.worker.SimpleWorker"]
        ready = "Listening on"
    processes, logs = [], []
    profile = os.environ.get("VOX_BENCH_PROFILE_WORKERS")
    for number in range(count):
        log = workdir / f"{tasks}-worker-{count}-{number}.log"
        logs.append(log)
        python = [sys.executable]
        if profile:  # --profile-workers: each worker under cProfile
            out_file = Path(profile) / f"{tasks}-worker-{count}-{number}.prof"
            python += ["-m", "cProfile", "-o", str(out_file)]
        with open(log, "wb") as out:
            processes.append(
                spawn(
                    [*python, "-m", "django", *command, "-v", "1"],
                    label=f"{tasks} worker {number}",
                    cwd=ROOT,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            )
    deadline = time.monotonic() + 60
    for process, log in zip(processes, logs, strict=True):
        while ready not in log.read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                raise BenchError(
                    f"a {tasks} worker did not start:\n"
                    f"{log.read_text(errors='replace')[-2000:]}"
                )
            time.sleep(0.1)
    return processes


def last_pk() -> int:
    from vox_activity.models import Delivery

    return Delivery.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def phase_deliver(options: argparse.Namespace) -> dict:
    """(In a subprocess) the floor and the real workers of one task backend."""
    from testsite.processes import stop_processes

    setup_django()
    migrate()
    workdir = Path(options.workdir)
    env = dict(os.environ)
    servers = start_inbox_servers(workdir, INBOX_SERVERS)
    runs = {
        workers: DeliverRun(f"{WORKER_NAMES[options.tasks]} x{workers}", workers)
        for workers in options.workers
    }
    deliveries = options.deliveries
    try:
        alice, remote = make_world(servers)
        # Worker counts take turns, and every run is followed by the floor on
        # its rows: load that comes and goes on a shared machine hits a run
        # and its floor alike.
        for repeat in range(options.repeats):
            for workers, run in runs.items():
                processes = start_workers(options.tasks, workers, env, workdir)
                try:
                    since = last_pk()
                    servers.reset()
                    label = f"{options.tasks}-{workers}-{repeat}"
                    cpu_before = sum(cpu_seconds(p.pid) for p in processes)
                    started = publish_round(alice, remote, deliveries, label)
                    last = wait_delivered(deliveries, since, timeout=600)
                    cpu = sum(cpu_seconds(p.pid) for p in processes) - cpu_before
                    check_round(servers, since, deliveries, label)
                finally:
                    stop_processes(processes)
                reset_rows(since)
                servers.reset()
                floor_cpu_before = time.process_time()
                seconds, count = floor_round(alice, since)
                floor_cpu = time.process_time() - floor_cpu_before
                require(servers.stats()["posts"] == count, "floor: posts missing")
                run.deliveries = deliveries
                run.seconds.append(last - started)
                run.floor_seconds.append(seconds)
                run.cpu.append(cpu)
                run.floor_cpu.append(floor_cpu)
                progress(
                    f"{label}: {deliveries / (last - started):,.0f} deliveries/s "
                    f"({cpu / deliveries * 1000:.2f} ms CPU each), floor "
                    f"{count / seconds:,.0f}/s ({floor_cpu / count * 1000:.2f} ms) "
                    f"(load {loadavg()})"
                )
    finally:
        from testsite.processes import stop_process

        stop_process(servers.process)
    return {"runs": [asdict(run) for run in runs.values()]}


# --- fan-out ----------------------------------------------------------------------


def create_users(count: int) -> None:
    """``count`` testsite users, inserted directly (setup, not measured)."""
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction
    from django.utils import timezone

    user = get_user_model()
    meta = user._meta
    table = connection.ops.quote_name(meta.db_table)
    now = meta.get_field("date_joined").get_db_prep_value(timezone.now(), connection)
    columns = ["username", "password", "first_name", "last_name", "email",
               "is_staff", "is_active", "is_superuser", "date_joined"]  # fmt: skip
    sql = (
        f"INSERT INTO {table} ({', '.join(columns)}) "  # noqa: S608
        f"VALUES ({', '.join(['%s'] * len(columns))})"
    )
    chunk = 20_000
    with transaction.atomic(), connection.cursor() as cursor:
        for start in range(0, count, chunk):
            cursor.executemany(
                sql,
                [
                    (f"u{i}", "!", "", "", "", False, True, False, now)
                    for i in range(start, min(count, start + chunk))
                ],
            )


def phase_fanout(options: argparse.Namespace) -> dict:
    """(In a subprocess) publish to ``options.size`` local recipients."""
    import gc

    setup_django()
    migrate()
    from vox_activity.models import InboxItem
    from vox_activity.outgoing.publish import publish

    size = options.size
    progress(f"fan-out: create {size:,} users")
    create_users(size)
    from django.conf import settings

    iris = [f"https://{settings.SITE_DOMAIN}/~u{i}/" for i in range(size)]
    data = {
        "type": "Create",
        "actor": f"https://{settings.SITE_DOMAIN}/~u0/",
        "object": {"type": "Note", "content": "To everyone."},
    }
    publish(data, iris[:10])  # warm-up: content types, the registry
    runs = []
    for repeat in range(options.repeats):
        gc.collect()
        before = rss_kb()
        exact = reset_peak_rss()
        with counting() as statements:
            start = time.perf_counter()
            activity = publish(data, iris)
            seconds = time.perf_counter() - start
        peak = peak_rss_kb()
        count = InboxItem.objects.filter(activity=activity).count()
        require(count == size, f"fan-out {size}: {count} inbox items, not {size}")
        runs.append(
            {
                "seconds": seconds,
                "statements": statements.count,
                "growth_mb": (peak - before) / 1024,
                "exact_peak": exact,
                "baseline_mb": before / 1024,
            }
        )
        progress(
            f"fan-out {size:,} #{repeat + 1}: {seconds:.2f} s, "
            f"+{(peak - before) / 1024:.1f} MB, {statements.count} statements "
            f"(load {loadavg()})"
        )
    return {"size": size, "runs": runs}


# --- publish to remote followers ------------------------------------------------


def phase_publish(options: argparse.Namespace) -> dict:
    """(In a subprocess) publish to 10,000 remote followers on 100 servers."""
    setup_django()
    migrate()
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from vox_activity.compat import tasks_module
    from vox_activity.models import Delivery, DeliverySweep, Follow, RemoteActor
    from vox_activity.outgoing.publish import publish
    from vox_activity.registry import actor_iri

    alice = actor_iri(get_user_model().objects.create_user("alice", password=None))
    per_server = FOLLOWERS // FOLLOWER_SERVERS
    now = timezone.now()
    actors = []
    for server in range(FOLLOWER_SERVERS):
        host = f"s{server}.example"
        for number in range(per_server):
            iri = f"https://{host}/users/f{number}"
            actors.append(
                RemoteActor(
                    iri=iri,
                    domain=host,
                    inbox=f"{iri}/inbox",
                    shared_inbox=f"https://{host}/inbox",
                    data={"id": iri},
                    fetched_at=now,
                )
            )
    RemoteActor.objects.bulk_create(actors, batch_size=2000)
    Follow.objects.bulk_create(
        (
            Follow(actor_iri=a.iri, object_iri=alice, remote_actor=a, state="accepted")
            for a in RemoteActor.objects.all()
        ),
        batch_size=2000,
    )
    backend = tasks_module().task_backends["default"]
    data = {
        "type": "Create",
        "actor": alice,
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "cc": [f"{alice}followers"],
        "object": {"type": "Note", "content": "To my followers."},
    }
    publish(data)  # warm-up
    runs = []
    for repeat in range(options.repeats):
        backend.clear()
        # The dummy backend runs nothing: the warm-up's wake-up task is still
        # "waiting"; forget it, so that this publication wakes one itself.
        DeliverySweep.objects.lower_wakeup()
        with counting() as statements:
            start = time.perf_counter()
            activity = publish(data)
            seconds = time.perf_counter() - start
        rows = Delivery.objects.filter(activity=activity).count()
        require(
            rows == FOLLOWER_SERVERS, f"publish: {rows} rows, not {FOLLOWER_SERVERS}"
        )
        tasks = len(backend.results)
        runs.append({"seconds": seconds, "statements": statements.count,
                     "rows": rows, "tasks": tasks})  # fmt: skip
        progress(
            f"publish to {FOLLOWERS:,} followers #{repeat + 1}: "
            f"{seconds * 1000:.0f} ms, {rows} rows, {tasks} tasks, "
            f"{statements.count} statements"
        )
    return {"runs": runs}


# --- orchestration ----------------------------------------------------------------


def run_phase(args: list[str], env: dict[str, str], workdir: Path) -> dict:
    """Run ``throughput.py _<phase> ...`` in a fresh process; its JSON answer."""
    out = workdir / f"result-{time.monotonic_ns()}.json"
    command = [sys.executable, str(Path(__file__).resolve()), *args, "--out", str(out)]
    code = subprocess.call(command, env=env, cwd=ROOT)
    if code:
        raise BenchError(f"{' '.join(args)} failed (exit status {code})")
    return json.loads(out.read_text())


@dataclass
class Database:
    label: str
    url: str
    drop: Callable[[], Any] = lambda: None


def database_labels() -> list[str]:
    return ["SQLite", *(["PostgreSQL"] if os.environ.get("DATABASE_URL") else [])]


def fresh_database(workdir: Path, name: str, label: str) -> Database:
    """A new SQLite file, or a new PostgreSQL database on DATABASE_URL's server."""
    from testsite.cluster import Databases

    if label == "SQLite":
        return Database(label, f"sqlite:///{workdir / f'{name}.sqlite3'}")
    dbs = Databases(
        [name], workdir, base_url=os.environ["DATABASE_URL"], suffix="bench"
    )
    dbs.create(fresh=True)
    return Database(label, dbs.urls[name], dbs.drop)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def report_deliver(db: str, results: dict[str, dict], lines: list[str]) -> None:
    lines.append(f"\nDeliveries on {db}: first enqueue to last 2xx recorded")
    lines.append(
        "(each run paired with a floor run on its rows right after it; ratios "
        "are medians of the per-repeat ratios)"
    )
    lines.append(
        f"{'path':<34} {'min/s':>7} {'median/s':>9} {'floor/s':>8} "
        f"{'vs floor':>9} {'vs x1':>6} {'CPU ms each':>12} {'floor CPU':>10}"
    )
    for tasks, result in results.items():
        runs = {run["workers"]: run for run in result["runs"] if run["seconds"]}
        one = runs.get(1)
        for workers, run in runs.items():
            rates = [run["deliveries"] / s for s in run["seconds"]]
            floors = [run["deliveries"] / s for s in run["floor_seconds"]]
            vs_floor = median([r / f for r, f in zip(rates, floors, strict=True)])
            scale = ""
            if one is not None and workers > 1:
                ones = [one["deliveries"] / s for s in one["seconds"]]
                scale = (
                    f"{median([r / o for r, o in zip(rates, ones, strict=False)]):.2f}"
                )
            cpu = median([c / run["deliveries"] * 1000 for c in run["cpu"]])
            floor_cpu = median([c / run["deliveries"] * 1000 for c in run["floor_cpu"]])
            lines.append(
                f"{run['label']:<34} {min(rates):>7,.0f} {median(rates):>9,.0f} "
                f"{median(floors):>8,.0f} {vs_floor:>9.2f} {scale:>6} "
                f"{cpu:>12.2f} {floor_cpu:>10.2f}"
            )
        if one is not None:
            rates = [one["deliveries"] / s for s in one["seconds"]]
            floors = [one["deliveries"] / s for s in one["floor_seconds"]]
            ratio = median([r / f for r, f in zip(rates, floors, strict=True)])
            verdict = "MET" if ratio >= TARGET_ONE_WORKER_VS_FLOOR else "MISS"
            lines.append(
                f"  target {tasks}: 1 worker >= {TARGET_ONE_WORKER_VS_FLOOR}x floor: "
                f"{ratio:.2f}x {verdict}"
            )
        if one is not None and 2 in runs:
            ones = [one["deliveries"] / s for s in one["seconds"]]
            twos = [runs[2]["deliveries"] / s for s in runs[2]["seconds"]]
            ratio = median([t / o for t, o in zip(twos, ones, strict=False)])
            verdict = "MET" if ratio >= TARGET_TWO_VS_ONE else "MISS"
            lines.append(
                f"  target {tasks}: 2 workers >= {TARGET_TWO_VS_ONE}x 1 worker: "
                f"{ratio:.2f}x {verdict}"
            )


def report_fanout(db: str, results: list[dict], lines: list[str]) -> None:
    lines.append(f"\nFan-out to local recipients on {db}: publish() of one activity")
    lines.append(
        f"{'recipients':>12} {'runs':>5} {'min s':>8} {'median s':>9} "
        f"{'statements':>11} {'peak RSS growth MB':>19}"
    )
    for result in results:
        runs = result["runs"]
        seconds = [r["seconds"] for r in runs]
        growth = max(r["growth_mb"] for r in runs)
        lines.append(
            f"{result['size']:>12,} {len(runs):>5} {min(seconds):>8.2f} "
            f"{median(seconds):>9.2f} {runs[0]['statements']:>11} {growth:>19.1f}"
        )
        if result["size"] == 100_000:
            fast = median(seconds) <= TARGET_FANOUT_100K_SECONDS
            lines.append(
                f"  target: 100,000 in <= {TARGET_FANOUT_100K_SECONDS} s: "
                f"{median(seconds):.2f} s {'MET' if fast else 'MISS'}"
            )
        flat = growth <= TARGET_FANOUT_GROWTH_MB
        lines.append(
            f"  target: growth <= {TARGET_FANOUT_GROWTH_MB:.0f} MB at "
            f"{result['size']:,}: {growth:.1f} MB {'MET' if flat else 'MISS'}"
        )


def report_publish(db: str, result: dict, lines: list[str]) -> None:
    runs = result["runs"]
    seconds = [r["seconds"] for r in runs]
    lines.append(
        f"\nPublish to {FOLLOWERS:,} remote followers on {FOLLOWER_SERVERS} servers "
        f"on {db}"
    )
    lines.append(
        f"  min {min(seconds) * 1000:.0f} ms, median {median(seconds) * 1000:.0f} ms, "
        f"{runs[0]['rows']} delivery rows, {runs[0]['tasks']} tasks, "
        f"{runs[0]['statements']} statements"
    )
    met = median(seconds) <= TARGET_PUBLISH_SECONDS and runs[0]["rows"] == 100
    lines.append(
        f"  target: <= {TARGET_PUBLISH_SECONDS} s and 100 rows: "
        f"{'MET' if met else 'MISS'}"
    )


def machine_lines() -> list[str]:
    import django

    cpus = os.cpu_count()
    return [
        f"machine: {platform.platform()}, {cpus} CPUs, Python "
        f"{platform.python_version()}, Django {django.get_version()}",
        f"load average at start: {loadavg()} (1, 5, 15 min)",
    ]


def orchestrate(options: argparse.Namespace) -> int:
    from testsite.redis_server import RedisError, RedisServer

    workdir = Path(tempfile.mkdtemp(prefix="vox-throughput-"))
    lines = machine_lines()
    lines.append("command: python3 bench/throughput.py " + " ".join(sys.argv[1:]))
    redis = None

    def phase(args: list[str], name: str, label: str, tasks: str, redis_url=""):
        db = fresh_database(workdir, name, label)
        try:
            return run_phase(args, bench_env(db.url, tasks, redis_url), workdir)
        finally:
            db.drop()

    try:
        for label in database_labels():
            if "deliver" in options.phases:
                results = {}
                for tasks in options.tasks:
                    redis_url = ""
                    if tasks.startswith("rq"):
                        if redis is None:
                            try:
                                redis = RedisServer.start()
                            except RedisError as exc:
                                lines.append(f"(RQ skipped: {exc})")
                                continue
                        redis.flush(0)
                        redis_url = redis.url(0)
                    progress(f"deliver on {label} with {tasks} workers")
                    args = [
                        "_deliver",
                        "--tasks", tasks,
                        "--workers", ",".join(map(str, options.workers)),
                        "--repeats", str(options.repeats),
                        "--deliveries", str(options.deliveries),
                        "--workdir", str(workdir),
                    ]  # fmt: skip
                    results[tasks] = phase(
                        args, f"deliver_{tasks}", label, tasks, redis_url
                    )
                report_deliver(label, results, lines)
            if "fanout" in options.phases:
                found = []
                for size in options.sizes:
                    repeats = options.repeats if size <= 100_000 else 1
                    progress(f"fan-out to {size:,} on {label}")
                    args = ["_fanout", "--size", str(size), "--repeats", str(repeats)]
                    found.append(phase(args, f"fanout_{size}", label, "dummy"))
                report_fanout(label, found, lines)
            if "publish" in options.phases:
                progress(f"publish to followers on {label}")
                args = ["_publish", "--repeats", str(options.repeats)]
                report_publish(label, phase(args, "publish", label, "dummy"), lines)
            if "inbox" in options.phases:
                from bench.inbox_floor import report_inbox

                progress(f"signed inbox POSTs on {label}")
                args = [
                    "_inbox",
                    "--repeats", str(options.repeats),
                    "--posts", str(options.posts),
                    "--clients", ",".join(map(str, options.clients)),
                    "--label", label.lower(),
                    "--workdir", str(workdir),
                ]  # fmt: skip
                if options.profile_server:
                    args += ["--profile-server", options.profile_server]
                report_inbox(label, phase(args, "inbox", label, "db"), lines)
    except BenchError as exc:
        print(f"\nbench: correctness check failed: {exc}", file=sys.stderr)
        return 1
    finally:
        if redis is not None:
            redis.stop()
        if options.keep:
            print(f"(kept {workdir})", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    lines.append(f"load average at end: {loadavg()}")
    print("\n".join(lines))
    return 0


def _phase_inbox(options: argparse.Namespace) -> dict:
    """(In a subprocess) signed inbox POSTs against the floor: bench/inbox_floor.py."""
    from bench.inbox_floor import phase_inbox

    return phase_inbox(options)


def parse_counts(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split(",") if x.strip())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("phases", nargs="*", default=list(PHASES))
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the temp directory")
    parser.add_argument(
        "--tasks",
        default="db,rq,rqsimple",
        help="task workers: db (db_worker), rq (rqworker, a fork per job), "
        "rqsimple (rqworker --worker-class rq.worker.SimpleWorker)",
    )
    parser.add_argument("--workers", type=parse_counts, default=WORKERS)
    parser.add_argument("--repeats", type=int, default=REPEATS)
    parser.add_argument("--deliveries", type=int, default=DELIVERIES)
    parser.add_argument("--sizes", type=parse_counts, default=FANOUT_SIZES)
    parser.add_argument(
        "--posts", type=int, default=INBOX_POSTS, help="inbox: POSTs per run"
    )
    parser.add_argument(
        "--clients",
        type=parse_counts,
        default=INBOX_CLIENTS,
        help="inbox: client threads, e.g. 1,4",
    )
    parser.add_argument(
        "--profile-workers",
        metavar="DIR",
        help="run each worker under cProfile, writing DIR/<worker>.prof",
    )
    parser.add_argument(
        "--profile-server",
        metavar="DIR",
        help="inbox: run the server's requests under cProfile, writing "
        "DIR/inbox-<database>.prof",
    )
    # Internal: one phase in this (fresh) process.
    parser.add_argument("--label", default="", help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--workdir", default="", help=argparse.SUPPRESS)
    parser.add_argument("--out", default="", help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    options.tasks = [t for t in options.tasks.split(",") if t]
    internal = {"_deliver": phase_deliver, "_fanout": phase_fanout,
                "_publish": phase_publish, "_inbox": _phase_inbox}  # fmt: skip
    if options.phases and options.phases[0] in internal:
        options.tasks = options.tasks[0]
        result = internal[options.phases[0]](options)
        Path(options.out).write_text(json.dumps(result))
        return 0
    unknown = set(options.phases) - set(PHASES)
    if unknown:
        parser.error(f"unknown phase(s): {', '.join(sorted(unknown))}")
    if options.quick:
        options.repeats = 1
        options.deliveries = min(options.deliveries, 1000)
        options.sizes = (100_000,)
        options.workers = (1, 2)
        options.posts = min(options.posts, INBOX_QUICK_POSTS)
    if options.profile_server:
        options.profile_server = str(Path(options.profile_server).resolve())
        Path(options.profile_server).mkdir(parents=True, exist_ok=True)
    if options.profile_workers:
        Path(options.profile_workers).mkdir(parents=True, exist_ok=True)
        os.environ["VOX_BENCH_PROFILE_WORKERS"] = str(
            Path(options.profile_workers).resolve()
        )
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.throughput_settings")
    return orchestrate(options)


if __name__ == "__main__":
    ensure_project_python()
    sys.exit(main())
