"""End to end: two instances of the demo blog federating over real HTTP.

Two real sites run side by side on 127.0.0.1 (free ports), each with its own
database, its own origin, a waitress server and a task worker, all
subprocesses (see ``testsite/cluster.py``); requests, HTTP Signatures and
deliveries are all real.  Every test runs twice: with ``db_worker`` (``[db]``)
and with RQ workers (``[rq]``, ``TESTSITE_TASKS=rq``), each instance on a
Redis database of its own (the ``redis_server`` fixture of conftest).  The
scenario is the demo's (``testsite/scenario.py``): bob@beta follows
alice@alpha, alice publishes, bob likes, alice edits, comments and deletes
the comment.  Every outcome is
then checked in both databases (``manage.py demo_state``, through the ORM).

The fault test stops beta while alice publishes: the delivery stays pending
with a retry scheduled, beta comes back (same database, same port), the
delivery is retried (the admin's "Retry now", as an operator would) and
arrives exactly once; a second, duplicate delivery changes nothing.

On PostgreSQL (``DATABASE_URL=postgres://...``) each instance gets a database
of its own, ``<name>_e2e_db_alpha`` and ``<name>_e2e_db_beta`` (``_rq_`` for
the RQ runs), created for the module and dropped after it.
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from contextlib import contextmanager

import pytest

from testsite.cluster import Browser, Cluster, Databases, Instance, free_port, poll
from testsite.redis_server import DATABASES
from testsite.scenario import Scenario

pytestmark = pytest.mark.e2e

TIMEOUT = 30  # seconds per awaited outcome; polled every 0.2 s


@pytest.fixture(scope="module", params=["db", "rq"])
def tasks(request):
    """What runs the tasks: ``db_worker``, or RQ workers with Redis."""
    return request.param


@pytest.fixture(scope="module")
def dbs(tmp_path_factory, tasks):
    directory = tmp_path_factory.mktemp(f"e2e-{tasks}")
    databases = Databases(
        ["alpha", "beta"],
        directory,
        base_url=os.environ.get("DATABASE_URL"),
        suffix=f"e2e_{tasks}",
    )
    databases.create(fresh=True)  # also drops leftovers of an interrupted run
    yield databases
    databases.drop()


@pytest.fixture(scope="module")
def redis_urls(request, tasks, dbs):
    """Instance name -> its own Redis database (emptied), with RQ; else None."""
    if tasks != "rq":
        yield dict.fromkeys(dbs.names)
        return
    server = request.getfixturevalue("redis_server")
    numbers = {name: DATABASES["e2e", name] for name in dbs.names}
    server.flush(*numbers.values())  # jobs of an earlier run name other rows
    yield {name: server.url(number) for name, number in numbers.items()}
    server.flush(*numbers.values())


@pytest.fixture(scope="module")
def cluster(dbs, tasks, redis_urls):
    instances = [
        Instance(
            name,
            free_port(),
            dbs.urls[name],
            dbs.directory,
            sys.executable,
            tasks=tasks,
            redis_url=redis_urls[name],
        )
        for name in dbs.names
    ]
    with Cluster(instances) as running:
        running.set_up()
        running.start()
        yield running


@contextmanager
def explained(cluster: Cluster, narration: list[str]):
    """On failure, show the narration and the processes' logs as well."""
    try:
        yield
    except AssertionError as exc:
        raise AssertionError(
            f"{exc}\n\n--- scenario\n" + "\n".join(narration) + "\n" + cluster.logs()
        ) from exc


def by_iri(rows: list[dict]) -> dict[str, dict]:
    return {row["iri"]: row for row in rows}


def test_two_instances_federate(cluster):
    alpha, beta = cluster["alpha"], cluster["beta"]
    narration: list[str] = []
    scenario = Scenario(alpha, beta, say=narration.append, timeout=TIMEOUT)
    with explained(cluster, narration):
        assert scenario.run(), "a step failed"
        assert [r.ok for r in scenario.results] == [True] * 9
        assert cluster.problems() == []

        facts = scenario.facts
        alice, bob = alpha.actor("alice"), beta.actor("bob")
        key = {alice: f"{alice}#main-key", bob: f"{bob}#main-key"}
        a, b = alpha.state(), beta.state()

        # The follow, on both sides.
        assert [(f["actor"], f["object"], f["state"]) for f in b["follows"]] == [
            (bob, alice, "accepted")
        ]
        assert [(f["actor"], f["object"], f["state"]) for f in a["follows"]] == [
            (bob, alice, "accepted")
        ]

        # No activity stored twice, anywhere.
        for state in (a, b):
            iris = Counter(row["iri"] for row in state["activities"])
            assert [iri for iri, n in iris.items() if n > 1] == []

        # What beta received from alpha: each signed by alice's key, once in
        # bob's inbox.
        received = by_iri(b["activities"])
        sent_to_beta = {
            facts["accept"]: "Accept",
            facts["create"]: "Create",
            facts["update"]: "Update",
            facts["comment_create"]: "Create",
            facts["delete"]: "Delete",
        }
        bob_inbox = Counter(item["activity"] for item in b["inboxes"]["bob"])
        for iri, kind in sent_to_beta.items():
            row = received[iri]
            assert (row["type"], row["local"], row["actor"]) == (kind, False, alice)
            assert row["key_id"] == key[alice]
            if kind != "Accept":  # the Accept answers bob's Follow: no inbox item
                assert bob_inbox[iri] == 1, (iri, bob_inbox)
        assert received[facts["create"]]["data"]["to"] == [
            "https://www.w3.org/ns/activitystreams#Public"
        ]

        # What alpha received from beta: the Follow and the Like, signed by bob.
        received = by_iri(a["activities"])
        for iri, kind in ((facts["follow"], "Follow"), (facts["like"], "Like")):
            row = received[iri]
            assert (row["type"], row["local"], row["actor"]) == (kind, False, bob)
            assert row["key_id"] == key[bob]
        like = received[facts["like"]]
        assert like["object"] == facts["article"]
        alice_inbox = Counter(item["activity"] for item in a["inboxes"]["alice"])
        assert alice_inbox[facts["like"]] == 1

        # Every delivery was made, on the first attempt, to the shared inbox.
        for state, other in ((a, beta), (b, alpha)):
            rows = state["deliveries"]
            assert rows
            assert {row["state"] for row in rows} == {"delivered"}
            assert {row["attempts"] for row in rows} == {1}
            assert {row["last_status"] for row in rows} == {202}
            assert {row["inbox"] for row in rows} == {other.url("/activitypub/inbox")}
        assert Counter(row["type"] for row in a["deliveries"]) == {
            "Create": 2,  # the article, the comment
            "Accept": 1,
            "Update": 2,  # the article's edit, alice's new name
            "Delete": 1,
        }
        assert Counter(row["type"] for row in b["deliveries"]) == {
            "Follow": 1,
            "Like": 1,
        }

        # Beta's copies: the edited article, the deleted comment.
        objects = by_iri(b["objects"])
        article = objects[facts["article"]]
        assert (article["type"], article["owner"], article["deleted"]) == (
            "Article",
            alice,
            False,
        )
        assert article["data"]["content"].startswith("Written on alpha, read on beta.")
        assert "(Edited " in article["data"]["content"]
        note = objects[facts["comment"]]
        assert note["deleted"] is True
        assert note["data"]["type"] == "Tombstone"
        assert note["data"]["formerType"] == "Note"

        # Alpha keeps the comment's tombstone, and serves it.
        local = by_iri(a["objects"])[facts["comment"]]
        assert (local["local"], local["deleted"]) == (True, True)
        gone = Browser(alpha.origin).get(facts["comment"])
        assert gone.status == 410
        assert gone.json()["type"] == "Tombstone"


def ensure_following(cluster: Cluster) -> None:
    """bob@beta follows alice@alpha (the scenario's first steps, if needed)."""
    alpha, beta = cluster["alpha"], cluster["beta"]
    follows = beta.state()["follows"]
    if any(f["state"] == "accepted" for f in follows):
        return
    narration: list[str] = []
    with explained(cluster, narration):
        assert Scenario(alpha, beta, say=narration.append).run(only=3)


def test_deliveries_survive_an_outage_and_arrive_once(cluster):
    alpha, beta = cluster["alpha"], cluster["beta"]
    narration: list[str] = []
    say = narration.append
    ensure_following(cluster)
    with explained(cluster, narration):
        # Beta goes down (server and worker); alice publishes meanwhile.
        beta.stop()
        say("beta stopped")
        published = alpha.manage_json(
            "blog_publish",
            "--author=alice",
            "--title=While beta was away",
            "--body=Nothing is lost.",
            "--slug=while-beta-was-away",
        )
        create = published["activity"]
        say(f"alice published {published['object']}: {create}")

        def failed_attempt():
            """The delivery row once an attempt's outcome is recorded on it."""
            rows = [d for d in alpha.state()["deliveries"] if d["activity"] == create]
            assert len(rows) <= 1, rows
            return rows[0] if rows and rows[0]["last_error"] else None

        row, _ = poll(failed_attempt, TIMEOUT)
        assert row, "alpha never recorded an attempt of the delivery"
        say(f"attempted: {row}")
        assert row["state"] == "pending"  # not lost, not given up
        assert row["attempts"] == 1
        assert row["last_status"] is None  # no answer: connection refused
        assert row["due_in"] > 0  # a retry is scheduled (with backoff)

        # Beta comes back: same database, same port.
        beta.start()
        say("beta started again")
        assert create not in by_iri(beta.state()["activities"]) or (
            row["due_in"] < 5  # (only the scheduled retry could have been faster)
        )

        # An operator retries now (alpha's admin, "Retry now"), not in minutes.
        admin = Browser(alpha.origin)
        assert admin.login("admin", "admin").status == 302
        changelist = alpha.url("/admin/vox_activity/delivery/")
        reply = admin.admin_action(changelist, "retry_now", [row["pk"]])
        say(f"retry now: {reply}")
        assert reply.status == 302

        bob = Browser(beta.origin)
        assert bob.login("bob", "bob").status == 302
        arrived, seconds = poll(
            lambda: any(
                item.get("id") == create
                for item in bob.collection_items(beta.url("/~bob/inbox"))
            ),
            TIMEOUT,
        )
        assert arrived, "the Create never reached bob's inbox"
        say(f"in bob's inbox after {seconds:.1f} s")

        def delivered_row():
            found = [d for d in alpha.state()["deliveries"] if d["activity"] == create]
            return found[0] if found and found[0]["state"] == "delivered" else None

        row, _ = poll(delivered_row, TIMEOUT)
        assert row, "the delivery is not marked delivered"
        assert row["attempts"] == 2
        assert row["last_status"] == 202
        assert_received_once(beta, create, published["object"])

        # A duplicate delivery (say the 202 was lost): beta acknowledges it
        # and changes nothing.
        alpha.manage(
            "shell",
            "-c",
            "from django.utils import timezone; "
            "from vox_activity.models import Delivery; "
            f"Delivery.objects.filter(pk={row['pk']}).update("
            "state='pending', next_attempt_at=timezone.now())",
        )
        alpha.manage("vox_activity_deliver", "--run")
        again = next(d for d in alpha.state()["deliveries"] if d["pk"] == row["pk"])
        say(f"redelivered: {again}")
        assert (again["state"], again["attempts"], again["last_status"]) == (
            "delivered",
            3,
            202,
        )
        assert_received_once(beta, create, published["object"])

        # Nothing lost: every delivery alpha ever planned was made.
        assert {d["state"] for d in alpha.state()["deliveries"]} == {"delivered"}
        assert cluster.problems() == []


def assert_received_once(beta: Instance, create: str, article: str) -> None:
    state = beta.state()
    assert [a["iri"] for a in state["activities"]].count(create) == 1
    assert [i["activity"] for i in state["inboxes"]["bob"]].count(create) == 1
    assert [o["iri"] for o in state["objects"]].count(article) == 1
