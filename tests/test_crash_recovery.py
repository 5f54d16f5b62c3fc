"""A worker killed mid-attempt: its delivery is taken over with no operator.

One instance of the demo blog runs as real processes (``testsite/cluster.py``):
its web server, its console, and two ``db_worker`` processes.  Claims are
short here (``DELIVERY_CLAIM_TIMEOUT`` = 10 s, through the
``TESTSITE_VOX_ACTIVITY`` environment variable) so that the test is quick.
A remote follower's server (``tests/fediverse.py``, in this process) holds
the first POST without answering; the worker making it is killed with
SIGKILL.  Nobody runs ``vox_activity_deliver`` or touches the admin: the sweep
task, which the worker started before its attempt and which the other worker
runs every second, queues the row again once the dead worker's claim runs
out, and the surviving worker delivers it.
"""

from __future__ import annotations

import json
import os
import signal
import sys

import pytest

from testsite.cluster import (
    TASK_WORKERS,
    Browser,
    Cluster,
    Databases,
    Instance,
    free_port,
    poll,
)

from .fediverse import Fediverse, Reply

pytestmark = pytest.mark.e2e

CLAIM_TIMEOUT = 10
SETTINGS = {
    "DELIVERY_CLAIM_TIMEOUT": CLAIM_TIMEOUT,
    "DELIVERY_SWEEP_INTERVAL": 1,
    "HTTP_TOTAL_TIMEOUT": CLAIM_TIMEOUT / 2,  # the least a claim may be: 2 x
}
TIMEOUT = 90  # seconds per awaited outcome (a loaded 2-core machine)


@pytest.fixture
def alpha(tmp_path):
    """alpha, with alice and two database workers (``worker`` and ``survivor``)."""
    dbs = Databases(
        ["alpha"], tmp_path, base_url=os.environ.get("DATABASE_URL"), suffix="crash"
    )
    dbs.create(fresh=True)
    instance = Instance(
        "alpha",
        free_port(),
        dbs.urls["alpha"],
        tmp_path,
        sys.executable,
        extra_env={"TESTSITE_VOX_ACTIVITY": json.dumps(SETTINGS)},
    )
    try:
        with Cluster([instance]) as cluster:
            cluster.set_up()
            cluster.start()
            survivor = instance._spawn(
                [*TASK_WORKERS["db"], "--worker-id", "survivor"],
                tmp_path / "alpha-worker-survivor.log",
                "survivor worker",
            )
            instance.commands.add(survivor)  # stopped with the instance
            instance.survivor = survivor
            yield instance
    finally:
        dbs.drop()


def shell(instance: Instance, code: str) -> object:
    """Run Python in the instance (``manage.py shell -c``); its ``result``."""
    out = instance.log_dir / "shell-result.json"
    out.unlink(missing_ok=True)
    instance.manage(
        "shell",
        "-c",
        f"{code}\nimport json\nopen({str(out)!r}, 'w').write(json.dumps(result))",
    )
    return json.loads(out.read_text())


def test_a_worker_killed_mid_attempt_is_taken_over_without_an_operator(alpha, httpsig):
    fediverse = Fediverse(httpsig)
    try:
        server = fediverse.server()
        server.reply_with(Reply(202, delay=300))  # the first POST hangs
        follower = server.add_actor("reader")
        shell(
            alpha,
            "from vox_activity.models import Follow\n"
            "from vox_activity.net.remote_actors import fetch_actor\n"
            f"actor = fetch_actor({follower!r})\n"
            "Follow.objects.create(actor_iri=actor.iri, remote_actor=actor, "
            f"object_iri={alpha.actor('alice')!r}, state=Follow.State.ACCEPTED)\n"
            "result = actor.iri",
        )
        fediverse.trust(Browser(alpha.origin).get(alpha.actor("alice")).json())

        published = alpha.manage_json(
            "blog_publish",
            "--author=alice",
            "--title=Survives a crash",
            "--body=Delivered by the worker that lived.",
            "--slug=survives",
        )
        first, _ = poll(lambda: server.posts("/inbox"), TIMEOUT, interval=0.02)
        assert first, "no worker ever attempted the delivery"

        # Which worker holds the attempt?  Its task is the one running.
        running = shell(
            alpha,
            "from django_tasks_db.models import DBTaskResult\n"
            "rows = DBTaskResult.objects.filter(status='RUNNING', "
            "task_path='vox_activity.outgoing.tasks.deliver')\n"
            "result = [w for row in rows for w in row.worker_ids]",
        )
        assert len(running) == 1, running
        victim = alpha.survivor if running == ["survivor"] else alpha.worker
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait(10)
        row = shell(
            alpha,
            "from vox_activity.models import Delivery\n"
            "row = Delivery.objects.get()\n"
            "result = [row.state, row.attempts, row.claim_token[:1]]",
        )
        assert row == ["pending", 1, "a"]  # held by the dead worker's claim

        def delivered():
            found = shell(
                alpha,
                "from vox_activity.models import Delivery\n"
                "row = Delivery.objects.get()\n"
                "result = [row.state, row.attempts, row.last_status]",
            )
            return found if found[0] == "delivered" else None

        state, _ = poll(delivered, TIMEOUT, interval=0.5)
        assert state == ["delivered", 2, 202]
        first_post, second_post = server.posts("/inbox")
        for post in (first_post, second_post):
            assert post.verified is True, post.problem
            assert post.json()["id"] == published["activity"]
    finally:
        fediverse.close()
