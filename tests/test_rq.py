"""Deliveries on RQ: a real Redis, a real ``rqworker``, fake remote inboxes.

The scale-out path for deliveries is the task framework's RQ backend
(``django-tasks-rq``) with django-rq's workers.  Here one instance of the
demo blog runs as real processes (``testsite/cluster.py``) with
``TESTSITE_TASKS=rq``: its web server, its console, and, instead of
``db_worker``, ``manage.py rqworker default --with-scheduler --job-class
django_tasks_rq.Job`` against its own Redis database.  Its database is a
file (or a PostgreSQL database of its own with ``DATABASE_URL``), since the
worker is another process.  Remote servers are ``tests/fediverse.py``'s, in
this process, checking every signature with ``httpsig`` against alice's key
as her actor document serves it.

This runs on the Django of the environment: on 6.x, with the built-in
``django.tasks`` (``vox_activity.compat.tasks_module()``) enqueueing on a
backend that is built on the ``django-tasks`` backport (see
docs/deployment.rst, "Moving from the database worker to RQ").
"""

from __future__ import annotations

import json
import os
import sys

import django
import pytest

from testsite.cluster import Browser, Cluster, Databases, Instance, free_port, poll
from testsite.redis_server import DATABASES, RedisError, RedisServer

from .fediverse import Fediverse, RemoteServer, Reply
from .support.constants import AP
from .support.services import unavailable

#: Real processes (workers, servers, a project run in a subprocess): slow.
pytestmark = pytest.mark.e2e

TIMEOUT = 60  # seconds per awaited outcome (a loaded 2-core machine)
ALICE_PATH = "/~alice/"


@pytest.fixture(scope="module")
def alpha(tmp_path_factory, redis_server):
    """alpha, with alice, its tasks on RQ; module-wide (starting costs seconds)."""
    directory = tmp_path_factory.mktemp("rq")
    dbs = Databases(
        ["alpha"], directory, base_url=os.environ.get("DATABASE_URL"), suffix="rq"
    )
    dbs.create(fresh=True)
    database = DATABASES["tests", "rq"]
    redis_server.flush(database)  # jobs of an earlier run name other rows
    instance = Instance(
        "alpha",
        free_port(),
        dbs.urls["alpha"],
        directory,
        sys.executable,
        tasks="rq",
        redis_url=redis_server.url(database),
    )
    try:
        with Cluster([instance]) as cluster:
            cluster.set_up()
            cluster.start()
            yield instance
    finally:
        redis_server.flush(database)
        dbs.drop()


@pytest.fixture
def fediverse(httpsig):
    net = Fediverse(httpsig)
    yield net
    net.close()


def shell(instance: Instance, code: str) -> object:
    """Run Python in the instance (``manage.py shell -c``); its ``result``.

    ``code`` assigns ``result``, which comes back as JSON through a file (the
    console keeps its stdout for its answers).
    """
    out = instance.log_dir / "shell-result.json"
    out.unlink(missing_ok=True)
    instance.manage(
        "shell",
        "-c",
        f"{code}\nimport json\nopen({str(out)!r}, 'w').write(json.dumps(result))",
    )
    return json.loads(out.read_text())


def follower(instance: Instance, fediverse: Fediverse, name: str) -> RemoteServer:
    """A fake server with an actor ``name`` who follows alice."""
    server = fediverse.server()
    iri = server.add_actor(name)
    alice = instance.actor("alice")
    shell(
        instance,
        "from vox_activity.models import Follow\n"
        "from vox_activity.net.remote_actors import fetch_actor\n"
        f"actor = fetch_actor({iri!r})\n"
        "Follow.objects.create(actor_iri=actor.iri, remote_actor=actor, "
        f"object_iri={alice!r}, state=Follow.State.ACCEPTED)\n"
        "result = actor.iri",
    )
    document = Browser(instance.origin).get(alice).json()
    fediverse.trust(document)  # as a remote server learns alice's key
    return server


def deliveries(instance: Instance, activity: str, inbox: str) -> list[dict]:
    """The Delivery rows of ``activity`` to ``inbox``, as ``demo_state`` shows them.

    (Followers from earlier tests, whose servers are closed, get theirs too.)
    """
    return [
        row
        for row in instance.state()["deliveries"]
        if row["activity"] == activity and row["inbox"] == inbox
    ]


def publish(instance: Instance, slug: str) -> dict:
    return instance.manage_json(
        "blog_publish",
        "--author=alice",
        f"--title=On RQ ({slug})",
        "--body=Queued in Redis, delivered by an RQ worker.",
        f"--slug={slug}",
    )


def test_without_redis_the_tests_skip_here_but_fail_in_ci(monkeypatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI must run this test"):
        unavailable("no Redis")
    monkeypatch.setenv("CI", "")
    with pytest.raises(pytest.skip.Exception, match="no Redis"):
        unavailable("no Redis")


def test_redis_urls_and_flushing_one_database(redis_server):
    """What the cluster relies on: URLs that name a database, flushed alone."""
    server = RedisServer.from_url("redis://:s%40cret@127.0.0.1:7000/3")
    assert (server.host, server.port, server.password) == ("127.0.0.1", 7000, "s@cret")
    assert server.url(4) == "redis://:s%40cret@127.0.0.1:7000/4"
    with pytest.raises(RedisError, match="not a redis://host:port URL"):
        RedisServer.from_url("http://127.0.0.1:7000/")

    kept, emptied = DATABASES["tests", "redis"], DATABASES["tests", "rq"]
    for database in (kept, emptied):
        assert redis_server.command(
            ("SELECT", str(database)), ("SET", "vox-test-key", "x")
        ) == [b"+OK", b"+OK"]
    redis_server.flush(emptied)

    def size(database):
        return redis_server.command(("SELECT", str(database)), ("DBSIZE",))[1]

    assert size(emptied) == b":0"
    assert size(kept) != b":0"
    redis_server.flush(kept)
    assert size(kept) == b":0"


def test_the_instance_runs_its_tasks_on_rq(alpha):
    found = shell(
        alpha,
        "from vox_activity.compat import tasks_module\n"
        "from vox_activity.outgoing.tasks import deliver\n"
        "backend = deliver.get_backend()\n"
        "result = [tasks_module().__name__, type(backend).__module__, "
        "type(deliver).__module__, backend.supports_defer]",
    )
    framework = "django.tasks" if django.VERSION >= (6,) else "django_tasks"
    # The backend is built on the backport, and on Django 6 too the task is
    # the backport's: django.tasks.task() makes its backend's ``task_class``.
    assert found == [framework, "django_tasks_rq.backend", "django_tasks.base", True]


def test_a_notification_is_delivered_by_an_rq_worker(alpha, fediverse):
    server = follower(alpha, fediverse, "reader")
    published = publish(alpha, "delivered-by-rq")
    create = published["activity"]

    def delivered():
        rows = deliveries(alpha, create, server.shared_inbox)
        return rows if rows and rows[0]["state"] == "delivered" else None

    rows, _ = poll(delivered, TIMEOUT)
    assert rows, deliveries(alpha, create, server.shared_inbox)
    assert [(r["attempts"], r["last_status"]) for r in rows] == [(1, 202)]
    (post,) = server.posts("/inbox")
    assert post.key_id == alpha.actor("alice") + "#main-key"
    assert post.verified is True, post.problem
    assert post.headers["content-type"] == AP
    body = post.json()
    assert (body["id"], body["type"], body["actor"]) == (
        create,
        "Create",
        alpha.actor("alice"),
    )
    assert body["object"]["id"] == published["object"]
    assert body["cc"] == [alpha.url("/~alice/followers")]
    # The RQ worker ran it (not another worker, not the web process).
    log = alpha.worker_log.read_text()
    assert f"vox_activity.outgoing.tasks.deliver({rows[0]['pk']})" in log
    assert "Job OK" in log


def test_a_retry_waits_in_rqs_scheduler_then_is_delivered(alpha, fediverse):
    """A failed attempt is retried through RQ's scheduled jobs (run_after)."""
    server = follower(alpha, fediverse, "flaky")
    server.reply_with(Reply(503))
    published = publish(alpha, "retried-by-rq")
    create = published["activity"]

    def attempted():
        """The row once an attempt's outcome is recorded on it."""
        rows = deliveries(alpha, create, server.shared_inbox)
        return rows[0] if rows and rows[0]["last_status"] else None

    row, _ = poll(attempted, TIMEOUT)
    assert row, deliveries(alpha, create, server.shared_inbox)
    assert (row["state"], row["attempts"], row["last_status"]) == ("pending", 1, 503)
    assert row["due_in"] > 0  # the backoff: at least 16 s

    # Rather than wait for the backoff, the retry is brought forward: due in
    # a few seconds, and enqueued as record() does, with run_after.
    job = shell(
        alpha,
        "from datetime import timedelta\n"
        "from django.utils import timezone\n"
        "from rq.job import Job\n"
        "import django_rq\n"
        "from vox_activity.models import Delivery\n"
        "from vox_activity.outgoing.tasks import deliver\n"
        "when = timezone.now() + timedelta(seconds=3)\n"
        f"Delivery.objects.filter(pk={row['pk']}).update(next_attempt_at=when)\n"
        f"result = deliver.using(run_after=when).enqueue({row['pk']})\n"
        "job = Job.fetch(result.id, connection=django_rq.get_connection())\n"
        "result = [result.id, job.get_status()]",
    )
    assert job[1] == "scheduled"

    def delivered():
        found = deliveries(alpha, create, server.shared_inbox)
        return found[0] if found and found[0]["state"] == "delivered" else None

    row, _ = poll(delivered, TIMEOUT)
    assert row, deliveries(alpha, create, server.shared_inbox)
    assert (row["attempts"], row["last_status"]) == (2, 202)
    first, second = server.posts("/inbox")
    for post in (first, second):
        assert post.verified is True, post.problem
        assert post.json()["id"] == create
    assert f"({job[0]})" in alpha.worker_log.read_text()  # this very job ran
