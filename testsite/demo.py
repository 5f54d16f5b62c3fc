#!/usr/bin/env python
"""The vox_activity demo: two blogs on loopback that federate with each other.

Run it from the repository root with the environment's Python (or through
``python3 dev.py demo [args]``)::

    .venvs/django52/bin/python testsite/demo.py                  # scenario, serve
    .venvs/django52/bin/python testsite/demo.py --fresh          # empty databases
    .venvs/django52/bin/python testsite/demo.py --scenario-only  # scenario, exit

Two instances of the demo blog (``testsite``) start on 127.0.0.1: **alpha**
on port 8001, where alice writes, and **beta** on port 8002, where bob reads.
Each has its own database (``.venvs/testsite-alpha.sqlite3`` and
``-beta``), its own origin (``TESTSITE_DOMAIN=127.0.0.1:<port>``), a waitress
server and a task worker (``manage.py db_worker``) that makes the signed
deliveries, all of them subprocesses, stopped whatever happens.

Then the scenario of :mod:`testsite.scenario` runs over real HTTP, narrated
step by step: bob finds alice with WebFinger and follows her, alpha accepts,
alice publishes, bob likes, alice edits, comments and deletes the comment;
each step prints the requests, the Delivery rows and the signature's keyId,
and ``[PASS]`` or ``[FAIL]``.  Afterwards both instances keep running (their
request logs scroll by) until Ctrl-C, and the script prints what to open.

``--scenario-only`` (alias ``--check``) exits after the scenario, with status
0 only if every step passed.  ``--fresh`` deletes both databases first.  With
``DATABASE_URL=postgres://...`` the instances use the databases
``<name>_demo_alpha`` and ``<name>_demo_beta`` on that server instead
(created when missing; ``--fresh`` drops and recreates them); a
``sqlite:///dir/file.sqlite3`` URL puts ``file-alpha.sqlite3`` and
``file-beta.sqlite3`` in ``dir``.  ``--tasks rq`` runs the tasks on RQ
workers (``manage.py rqworker``) instead of ``db_worker``, with the Redis
server of ``REDIS_URL``, or else a private ``redis-server`` started for the
run (see :mod:`testsite.redis_server`).

Stopping: SIGINT (Ctrl-C), SIGTERM and SIGHUP stop every process the script
started, at any moment, and it prints ``Stopped.``.  The exit status is 0
when the servers were stopped while serving, the scenario's with
``--scenario-only``, and 128 + the signal's number (130 for Ctrl-C, 143 for
SIGTERM) when a stop came before the scenario ended; 1 on errors.  Killed
outright (SIGKILL), the script leaves nothing running either: on Linux every
child is told to stop when the script dies (:mod:`testsite.processes`).
``--pid-file FILE`` appends the pid and a label of every process started,
for the tests that check this (``tests/test_demo_process.py``).

Only the standard library, Django and waitress (in the environment's lock
file) are used, and django-rq with ``--tasks rq``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, sys.path[0] is testsite/; the project root is needed.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(ROOT))

from testsite.cluster import (  # noqa: E402 - after the sys.path fix
    HOST,
    TASK_WORKERS,
    Cluster,
    ClusterError,
    Databases,
    Instance,
    is_postgres,
    port_is_free,
)
from testsite.processes import (  # noqa: E402
    StopRequested,
    install_stop_signals,
    record,
    record_spawns,
    stop_requested,
)
from testsite.redis_server import DATABASES, RedisError, RedisServer  # noqa: E402
from testsite.scenario import Scenario  # noqa: E402

NAMES = ("alpha", "beta")
VENVS = ROOT / ".venvs"
CURL = "curl -H 'Accept: application/activity+json'"


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


def databases(database_url: str | None) -> Databases:
    """Where the two instances keep their data (see the module docstring)."""
    if is_postgres(database_url):
        return Databases(NAMES, VENVS, base_url=database_url, suffix="demo")
    if database_url:
        # As dj-database-url reads it: sqlite:////abs/file, sqlite:///rel/file.
        path = Path(urllib.parse.urlsplit(database_url).path[1:])
        if database_url.startswith("sqlite:") and path.name not in ("", ":memory:"):
            return Databases(NAMES, path.resolve().parent, prefix=path.stem)
        sys.exit("demo.py: DATABASE_URL must be a SQLite file or PostgreSQL URL.")
    return Databases(NAMES, VENVS)


def banner(alpha: Instance, beta: Instance, dbs: Databases) -> str:
    python = _shown(sys.executable)
    manage = (
        f"TESTSITE_INSTANCE=alpha TESTSITE_DOMAIN={alpha.domain} "
        f"DATABASE_URL={alpha.database_url} \\\n      {python} testsite/manage.py"
    )
    rows = [
        ("alpha", f"{alpha.origin}/   alice writes here; {dbs.describe('alpha')}"),
        ("beta", f"{beta.origin}/   bob reads here; {dbs.describe('beta')}"),
        ("", ""),
        ("Admin of alpha", f"{alpha.url('/admin/')}   (user admin, password admin)"),
        ("Admin of beta", f"{beta.url('/admin/')}   (user admin, password admin)"),
        ("Alice, an actor", f"{CURL} {alpha.actor('alice')}"),
        ("Bob, an actor", f"{CURL} {beta.actor('bob')}"),
        ("Bob's inbox", f"{beta.url('/inbox/')}   (log in as bob, password bob)"),
        ("Bob's reader", f"{beta.url('/reader/')}   (alice's articles, on beta)"),
        (
            "Alice's inbox",
            f"{alpha.url('/inbox/')}   (log in as alice, password alice)",
        ),
        ("Alice's outbox", f"{CURL} '{alpha.url('/~alice/outbox?page=true')}'"),
        ("Bob follows", f"{CURL} '{beta.url('/~bob/following?page=true')}'"),
        ("Deliveries", f"{alpha.url('/admin/vox_activity/delivery/')}   (admin)"),
        ("", f"{beta.url('/admin/vox_activity/delivery/')}   (admin)"),
        ("Activities", f"{beta.url('/admin/vox_activity/activity/')}   (admin)"),
        ("Follows", f"{alpha.url('/admin/vox_activity/follow/')}   (admin)"),
        ("Logs", f"{_shown(alpha.log_dir)}/   (servers, workers)"),
    ]
    width = max(len(label) for label, _ in rows)
    lines = [f"  {label:<{width}}  {value}".rstrip() for label, value in rows]
    return (
        "\nThe two demo instances are running (Ctrl-C stops both):\n\n"
        + "\n".join(lines)
        + "\n\nMore from alice (each command notifies, and bob's inbox on beta "
        "fills):\n"
        f"  {manage} blog_publish --author alice --title 'Another one' --body Hi\n"
        "  (also: blog_edit, blog_comment, blog_delete_comment)\n"
        "\nRequests to both servers are logged below.\n"
    )


def _shown(path) -> str:
    """``path`` relative to the repository if it is inside (shorter to read)."""
    try:
        return str(Path(path).relative_to(ROOT))
    except ValueError:
        return str(path)


def follow_logs(cluster: Cluster, offsets: dict[str, int]) -> int:
    """Print the servers' request logs from ``offsets`` on, until a stop signal."""
    while True:
        for instance in cluster:
            with open(instance.server_log, "rb") as log:
                log.seek(offsets[instance.name])
                data = log.read()
            offsets[instance.name] += len(data)
            if data:
                sys.stdout.write(data.decode(errors="replace"))
                sys.stdout.flush()
        problems = cluster.problems()
        if problems:
            print(f"demo.py: {', '.join(problems)}; stopping.", file=sys.stderr)
            return 1
        time.sleep(0.3)


def summary(scenario: Scenario) -> str:
    passed = sum(r.ok for r in scenario.results)
    total = len(scenario.steps())
    if scenario.passed and passed == total:
        return f"scenario passed: all {total} steps"
    failed = [f"{r.number}. {r.title}" for r in scenario.results if not r.ok]
    return f"scenario FAILED: {passed} of {total} steps passed (failed: {failed})"


def redis_for_demo(fresh: bool, directory: Path) -> RedisServer:
    """``REDIS_URL``'s server, else a private ``redis-server`` (stopped at the end).

    On a server that outlives the demo, the instances' Redis databases keep
    their jobs from one run to the next, as the database worker's queue
    does; ``--fresh`` empties them along with the databases.
    """
    url = os.environ.get("REDIS_URL")
    if not url:
        server = RedisServer.start(directory=directory)
        say(f"started a private redis-server: {server}")
        return server
    server = RedisServer.from_url(url)
    if not server.ping():
        raise RedisError(f"nothing answers at REDIS_URL={url}")
    if fresh:
        server.flush(*(DATABASES["demo", name] for name in NAMES))
    return server


@dataclass
class Progress:
    """How far the demo got: what a stop signal's exit status depends on."""

    phase: str = "the start"
    #: Something (a database, a process) may have been made.
    started: bool = False
    #: The scenario's exit status once it ended (--scenario-only).
    scenario_status: int | None = None

    def exit_status(self, stop: StopRequested) -> int:
        if self.phase == "serving":
            return 0  # the user stopped the servers: the normal end
        if self.scenario_status is not None:
            return self.scenario_status
        return stop.exit_status


def run(options: argparse.Namespace, progress: Progress) -> int:
    dbs = databases(os.environ.get("DATABASE_URL"))
    ports = {"alpha": options.alpha_port, "beta": options.beta_port}
    busy = [f"{HOST}:{port}" for port in ports.values() if not port_is_free(port)]
    if busy:
        print(
            f"demo.py: {', '.join(busy)} in use (another demo?); stop it, or "
            "choose other ports with --alpha-port / --beta-port.",
            file=sys.stderr,
        )
        return 1
    progress.started, progress.phase = True, "the set-up"
    for deleted in dbs.create(fresh=options.fresh):
        say(f"deleted {deleted}")
    log_dir = dbs.directory / "demo-logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    redis = None
    if options.tasks == "rq":
        redis = redis_for_demo(options.fresh, dbs.directory / "demo-redis")
    try:
        instances = [
            Instance(
                name,
                ports[name],
                dbs.urls[name],
                log_dir,
                python=sys.executable,
                tasks=options.tasks,
                redis_url=redis.url(DATABASES["demo", name]) if redis else None,
            )
            for name in NAMES
        ]
        # Beta's pages suggest following alice on alpha.
        instances[1].extra_env["TESTSITE_FOLLOW_HINT"] = f"alice@{instances[0].domain}"
        for instance in instances:
            for log in (instance.server_log, instance.worker_log, instance.console_log):
                log.write_text("")
        with Cluster(instances) as cluster:
            try:
                return serve(cluster, dbs, options, progress)
            except StopRequested as stop:
                serving = progress.phase == "serving"
                where = "" if serving else f" during {progress.phase}"
                announce(f"\n{stop} received{where}: stopping both instances...")
                raise
    finally:
        if redis is not None:
            redis.stop()


def serve(
    cluster: Cluster, dbs: Databases, options: argparse.Namespace, progress: Progress
) -> int:
    """Set up and start both instances, run the scenario, serve until stopped."""
    alpha, beta = cluster["alpha"], cluster["beta"]
    say("migrate and seed_demo, on both instances")
    for name, output in cluster.set_up().items():
        for line in output.strip().splitlines():
            print(f"    [{name}] {line}")
    progress.phase = "the start of the servers"
    cluster.start()
    for instance in cluster:
        say(
            f"{instance.name}: {instance.origin}/ (waitress, pid "
            f"{instance.server.pid}; {TASK_WORKERS[instance.tasks][0]} pid "
            f"{instance.worker.pid}; {dbs.describe(instance.name)})"
        )
    ok = True
    if not options.no_scenario:
        progress.phase = "the scenario"
        say("the scenario: bob@beta follows alice@alpha, and they federate")
        scenario = Scenario(alpha, beta, say=lambda line: print(line, flush=True))
        ok = scenario.run()
        print(f"\n{summary(scenario)}", flush=True)
        if not ok:
            print(
                "\nThe servers' and workers' last log lines:\n" + cluster.logs(),
                file=sys.stderr,
            )
    if options.scenario_only:
        progress.scenario_status = 0 if ok else 1
        say("stopping both instances")
        return progress.scenario_status
    # Where the logs stand before the banner says "logged below": a request
    # made the moment the banner shows is printed, not skipped.
    offsets = {i.name: i.server_log.stat().st_size for i in cluster}
    print(banner(alpha, beta, dbs), flush=True)
    progress.phase = "serving"
    return follow_logs(cluster, offsets)


def announce(line: str, file: TextIO | None = None) -> None:
    """Print, even to a terminal that is gone (SIGHUP): never fail the stop."""
    with contextlib.suppress(OSError, ValueError):
        print(line, file=file or sys.stdout, flush=True)


def main(argv: list[str] | None = None) -> int:
    install_stop_signals()  # first: Ctrl-C and kill stop cleanly from here on
    parser = argparse.ArgumentParser(
        description="Two federating instances of the demo blog (see the docstring)."
    )
    parser.add_argument(
        "--scenario-only",
        "--check",
        action="store_true",
        help="run the scenario, stop both instances and exit: 0 only if every "
        "step passed",
    )
    parser.add_argument(
        "--fresh", action="store_true", help="delete both databases first"
    )
    parser.add_argument(
        "--no-scenario",
        action="store_true",
        help="just set up and serve both instances",
    )
    parser.add_argument("--alpha-port", type=int, default=8001, help="default: 8001")
    parser.add_argument("--beta-port", type=int, default=8002, help="default: 8002")
    parser.add_argument(
        "--tasks",
        choices=sorted(TASK_WORKERS),
        default="db",
        help="the task workers: db (manage.py db_worker, the default) or rq "
        "(RQ workers; Redis from REDIS_URL, else a private redis-server)",
    )
    parser.add_argument(
        "--pid-file",
        type=Path,
        help="append '<pid> <label>' for this process and every process it "
        "starts (for tests that check that nothing is left behind)",
    )
    options = parser.parse_args(argv)
    for port in (options.alpha_port, options.beta_port):
        if not 0 < port < 65536:
            parser.error("ports must be between 1 and 65535")
    if options.alpha_port == options.beta_port:
        parser.error("alpha and beta need different ports")
    if options.scenario_only and options.no_scenario:
        parser.error("--scenario-only and --no-scenario exclude each other")
    if options.pid_file:
        record_spawns(options.pid_file)
        record("demo", os.getpid())
    progress = Progress()
    try:
        code = run(options, progress)
    except StopRequested as stop:
        code = progress.exit_status(stop)
    except (ClusterError, RedisError) as exc:
        announce(f"demo.py: {exc}", file=sys.stderr)
        code = 1
    if progress.started or stop_requested() is not None:
        announce("Stopped.")
    return code


if __name__ == "__main__":
    sys.exit(main())
