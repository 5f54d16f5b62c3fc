"""Instances of the demo blog as real processes, for the demo and the e2e tests.

An :class:`Instance` is one site: its own database, its own origin
(``TESTSITE_DOMAIN=127.0.0.1:<port>``), a waitress server
(``manage.py demo_serve``) and a task worker (``manage.py db_worker``, or
``manage.py rqworker`` with ``tasks="rq"``), each a subprocess in a session
of its own (see :mod:`testsite.processes`).  :class:`Cluster` starts several
and always stops every process it started, ``manage.py`` commands included
(on errors and Ctrl-C too; on Linux the children are also told to stop if
this process dies).
:class:`Databases` gives each instance a SQLite file, or a PostgreSQL
database of its own derived from a ``postgres://`` URL.  :class:`Browser` is a
small HTTP client with a cookie jar (for logging in, and CSRF).

Only the standard library is imported at module level (psycopg lazily), and
Django is never set up in this process: each instance is reached through its
processes, HTTP, and ``manage.py`` commands.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import http.cookiejar
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .processes import shielded, spawn, stop_process, stop_processes

ROOT = Path(__file__).resolve().parent.parent
MANAGE = ROOT / "testsite" / "manage.py"
HOST = "127.0.0.1"
ACTIVITY_JSON = "application/activity+json"


class ClusterError(Exception):
    """Something around the instances failed (a command, a start-up)."""


# --- ports -------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def port_is_free(port: int) -> bool:
    """Can a server listen there?  (Like waitress, ignore TIME_WAIT leftovers.)"""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with socket.create_connection((HOST, port), timeout=1):
                return True
        except OSError:
            time.sleep(0.1)
    return False


def poll(
    condition: Callable[[], Any], timeout: float = 20, interval: float = 0.2
) -> tuple[Any, float]:
    """Call ``condition`` until it returns something true; (value, seconds).

    The value is whatever the last call returned (falsy on timeout).
    """
    start = time.monotonic()
    while True:
        value = condition()
        elapsed = time.monotonic() - start
        if value or elapsed >= timeout:
            return value, elapsed
        time.sleep(interval)


# --- databases ---------------------------------------------------------------


def is_postgres(url: str | None) -> bool:
    return bool(url) and urllib.parse.urlsplit(url).scheme in (
        "postgres",
        "postgresql",
        "pgsql",
    )


@dataclass
class Databases:
    """One database per instance name: SQLite files, or PostgreSQL databases.

    With a ``postgres://`` ``base_url``, instance ``alpha`` gets the database
    ``<base name>_<suffix>_alpha`` on the same server, created through
    ``base_url`` (the role needs CREATEDB) and dropped by :meth:`drop`.
    Otherwise each gets ``<directory>/<prefix>-<name>.sqlite3``.
    """

    names: Iterable[str]
    directory: Path
    base_url: str | None = None
    suffix: str = "e2e"
    prefix: str = "testsite"
    urls: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.names = list(self.names)
        self.urls = {name: self._url(name) for name in self.names}

    @property
    def postgres(self) -> bool:
        return is_postgres(self.base_url)

    def _pg_name(self, name: str) -> str:
        base = urllib.parse.urlsplit(self.base_url).path.lstrip("/") or "postgres"
        return f"{base}_{self.suffix}_{name}"

    def _url(self, name: str) -> str:
        if self.postgres:
            parts = urllib.parse.urlsplit(self.base_url)
            return urllib.parse.urlunsplit(
                parts._replace(path="/" + self._pg_name(name))
            )
        return f"sqlite:///{self.sqlite_path(name)}"

    def sqlite_path(self, name: str) -> Path:
        return self.directory / f"{self.prefix}-{name}.sqlite3"

    def describe(self, name: str) -> str:
        if self.postgres:
            return f"PostgreSQL database {self._pg_name(name)}"
        return str(self.sqlite_path(name))

    def exists(self, name: str) -> bool:
        if self.postgres:
            with self._admin() as conn:
                return self._pg_exists(conn, name)
        return self.sqlite_path(name).exists()

    def _pg_exists(self, conn, name: str) -> bool:
        found = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [self._pg_name(name)]
        ).fetchone()
        return found is not None

    def create(self, fresh: bool = False) -> list[str]:
        """Make sure every database exists (empty ones first if ``fresh``).

        Returns what was deleted, for the record.
        """
        deleted = []
        if fresh:
            deleted = self.drop()
        if self.postgres:
            from psycopg import sql

            with self._admin() as conn:
                for name in self.names:
                    if not self._pg_exists(conn, name):
                        conn.execute(
                            sql.SQL("CREATE DATABASE {}").format(
                                sql.Identifier(self._pg_name(name))
                            )
                        )
        else:
            self.directory.mkdir(parents=True, exist_ok=True)
        return deleted

    def drop(self) -> list[str]:
        """Delete every database (the SQLite files, with their WAL files)."""
        deleted = []
        if self.postgres:
            from psycopg import sql

            with self._admin() as conn:
                for name in self.names:
                    if self._pg_exists(conn, name):
                        conn.execute(
                            sql.SQL("DROP DATABASE IF EXISTS {}").format(
                                sql.Identifier(self._pg_name(name))
                            )
                        )
                        deleted.append(self.describe(name))
            return deleted
        for name in self.names:
            path = self.sqlite_path(name)
            for extra in ("", "-wal", "-shm", "-journal"):
                candidate = Path(f"{path}{extra}")
                if candidate.exists():
                    candidate.unlink()
                    if not extra:
                        deleted.append(str(path))
        return deleted

    @contextlib.contextmanager
    def _admin(self):
        """A connection to the base database, in autocommit (CREATE DATABASE)."""
        import psycopg

        parts = urllib.parse.urlsplit(self.base_url)
        conninfo = urllib.parse.urlunsplit(parts._replace(scheme="postgresql"))
        with psycopg.connect(conninfo, autocommit=True) as conn:
            yield conn


# --- processes ---------------------------------------------------------------

#: What runs an instance's tasks: ``db`` is django-tasks-db's ``db_worker``
#: (the embedded default), ``rq`` is django-rq's ``rqworker`` with Redis.
TASK_WORKERS = {
    "db": ["db_worker", "--interval", "0.2", "--no-reload", "--no-startup-delay"],
    # --with-scheduler: deferred tasks (a delivery's retry) need RQ's scheduler.
    # SimpleWorker: jobs run in the worker, as docs/deployment.rst recommends
    # (a fork per job starts cold: 3x the CPU per delivery, measured).
    "rq": [
        "rqworker",
        "default",
        "--with-scheduler",
        "--job-class",
        "django_tasks_rq.Job",
        "--worker-class",
        "rq.worker.SimpleWorker",
    ],
}


@dataclass
class Instance:
    """One site: database, origin, server and worker processes.

    ``tasks="rq"`` runs its tasks on RQ (``TESTSITE_TASKS=rq``) with the Redis
    database ``redis_url`` names, which no other instance may share.
    """

    name: str
    port: int
    database_url: str
    log_dir: Path
    python: str = sys.executable
    extra_env: dict[str, str] = field(default_factory=dict)
    tasks: str = "db"
    redis_url: str | None = None
    server: subprocess.Popen | None = field(default=None, init=False, repr=False)
    worker: subprocess.Popen | None = field(default=None, init=False, repr=False)
    console: subprocess.Popen | None = field(default=None, init=False, repr=False)
    #: ``manage.py`` commands running now (outside the console).
    commands: set[subprocess.Popen] = field(default_factory=set, init=False, repr=False)
    _console_lock: threading.Lock = field(
        default_factory=threading.Lock, init=False, repr=False
    )

    def __post_init__(self) -> None:
        if self.tasks not in TASK_WORKERS:
            raise ClusterError(f"tasks must be one of {sorted(TASK_WORKERS)}")
        if self.tasks == "rq" and not self.redis_url:
            raise ClusterError(f"[{self.name}] tasks on RQ need a redis_url")

    @property
    def domain(self) -> str:
        return f"{HOST}:{self.port}"

    @property
    def origin(self) -> str:
        return f"http://{self.domain}"

    def url(self, path: str) -> str:
        return self.origin + path

    def actor(self, username: str) -> str:
        return self.url(f"/~{username}/")

    @property
    def server_log(self) -> Path:
        return self.log_dir / f"{self.name}-server.log"

    @property
    def worker_log(self) -> Path:
        return self.log_dir / f"{self.name}-worker.log"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
        env.update(
            {
                "DJANGO_SETTINGS_MODULE": "testsite.settings",
                "TESTSITE_INSTANCE": self.name,
                "TESTSITE_DOMAIN": self.domain,
                "TESTSITE_SSL": "0",  # waitress serves plain HTTP
                "TESTSITE_ALLOW_PRIVATE": "1",  # the instances talk on loopback
                "TESTSITE_TASKS": self.tasks,
                "DATABASE_URL": self.database_url,
                "PYTHONUNBUFFERED": "1",
                **self.extra_env,
            }
        )
        if self.redis_url:
            env["REDIS_URL"] = self.redis_url
        return env

    # --- commands ---

    def manage(self, *args: str, timeout: float = 180) -> str:
        """Run ``manage.py <args>`` for this instance; its stdout.

        While the instance runs, its console process (``demo_console``) runs
        the command, which saves starting Python and Django every time.
        Otherwise a process of its own runs it (stopped with the instance,
        or when this call is interrupted).
        """
        if self.console is not None and self.console.poll() is None:
            return self._console(args)
        process = spawn(
            [self.python, str(MANAGE), *args],
            label=f"{self.name} manage.py {args[0] if args else ''}".strip(),
            cwd=ROOT,
            env=self.env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.commands.add(process)
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            stop_process(process)
            stdout, stderr = process.communicate()
            raise ClusterError(
                f"[{self.name}] manage.py {' '.join(args)} did not finish in "
                f"{timeout:.0f} s:\n{stdout}{stderr}"
            ) from None
        except BaseException:
            stop_process(process)
            raise
        finally:
            self.commands.discard(process)
        if process.returncode:
            raise ClusterError(
                f"[{self.name}] manage.py {' '.join(args)} exited "
                f"{process.returncode}:\n{stdout}{stderr}"
            )
        return stdout

    def _console(self, args: tuple[str, ...]) -> str:
        with self._console_lock:
            assert self.console.stdin and self.console.stdout
            try:
                self.console.stdin.write(json.dumps(list(args)) + "\n")
                self.console.stdin.flush()
                line = self.console.stdout.readline()
            except OSError as exc:
                raise ClusterError(f"[{self.name}] the console failed: {exc}") from exc
        if not line:
            raise ClusterError(
                f"[{self.name}] the console stopped:\n{tail(self.console_log)}"
            )
        answer = json.loads(line)
        if answer["status"]:
            raise ClusterError(
                f"[{self.name}] manage.py {' '.join(args)} failed:\n"
                f"{answer['output']}{answer['error']}"
            )
        return answer["output"]

    def manage_json(self, *args: str) -> Any:
        """``manage.py`` command whose last output line is JSON."""
        lines = self.manage(*args).strip().splitlines()
        return json.loads(lines[-1]) if lines else None

    def state(self) -> dict:
        """Follows, activities, deliveries, objects, inboxes (``demo_state``)."""
        return self.manage_json("demo_state")

    def set_up(self) -> str:
        """Migrate, then seed this instance's demo content (idempotent)."""
        return self.manage("seed_demo", "--migrate", "--instance", self.name)

    # --- processes ---

    @property
    def console_log(self) -> Path:
        return self.log_dir / f"{self.name}-console.log"

    def _spawn(
        self, args: list[str], log: Path, label: str, piped: bool = False
    ) -> subprocess.Popen:
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "ab") as out:
            return spawn(
                [self.python, str(MANAGE), *args],
                label=f"{self.name} {label}",
                cwd=ROOT,
                env=self.env(),
                stdout=subprocess.PIPE if piped else out,
                stderr=out if piped else subprocess.STDOUT,
                stdin=subprocess.PIPE if piped else subprocess.DEVNULL,
                text=piped,
            )

    def start(self, timeout: float = 60) -> None:
        """Start the server and the worker; return once the server listens."""
        self.spawn()
        self.wait_started(timeout)

    def spawn(self) -> None:
        """Start the server, the worker and the console processes."""
        if not port_is_free(self.port):
            raise ClusterError(f"{self.domain} is in use (another demo running?)")
        self.server = self._spawn(
            ["demo_serve", "--port", str(self.port), "--name", self.name],
            self.server_log,
            "server",
        )
        self.worker = self._spawn(TASK_WORKERS[self.tasks], self.worker_log, "worker")
        self.console = self._spawn(
            ["demo_console"], self.console_log, "console", piped=True
        )

    def wait_started(self, timeout: float = 60) -> None:
        """Wait until the server listens (stop everything if it does not)."""
        if not wait_for_port(self.port, self.server, timeout):
            self.stop()
            raise ClusterError(
                f"[{self.name}] the server did not start:\n{tail(self.server_log)}"
            )

    def processes(self) -> list[subprocess.Popen]:
        """Every process of this instance that was started and not yet stopped."""
        started = [self.worker, self.console, self.server, *self.commands]
        return [process for process in started if process is not None]

    def _close_console(self) -> None:
        """Close the console's pipes: at the end of its input, it exits."""
        if self.console is None:
            return
        for pipe in (self.console.stdin, self.console.stdout):
            with contextlib.suppress(OSError, ValueError):
                if pipe is not None:
                    pipe.close()

    def _forget(self) -> None:
        self.worker = self.console = self.server = None
        self.commands.clear()

    def stop(self) -> None:
        """Stop the worker, the console and the server; wait until they are gone."""
        with shielded():
            self._close_console()
            stop_processes(self.processes())
            self._forget()

    @property
    def running(self) -> bool:
        return bool(self.server and self.server.poll() is None)

    def problems(self) -> list[str]:
        """Processes that died while they should be running."""
        found = []
        processes = (
            ("server", self.server),
            ("worker", self.worker),
            ("console", self.console),
        )
        for label, process in processes:
            if process is not None and process.poll() is not None:
                found.append(f"{self.name} {label} exited {process.returncode}")
        return found


def tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"({path} is missing)"
    return "\n".join(text.splitlines()[-lines:])


class Cluster:
    """Instances that are stopped, all of them, whatever happens.

    Use it as a context manager.  While it is entered, SIGTERM is turned into
    KeyboardInterrupt (main thread only, and only if nothing else handles
    SIGTERM: ``demo.py`` has its own handler), so ``kill`` cleans up like
    Ctrl-C.
    """

    def __init__(self, instances: Iterable[Instance]):
        self.instances = {instance.name: instance for instance in instances}
        self._previous_handler = None

    def __getitem__(self, name: str) -> Instance:
        return self.instances[name]

    def __iter__(self):
        return iter(self.instances.values())

    def __enter__(self) -> Cluster:
        if _main_thread() and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
            self._previous_handler = signal.signal(signal.SIGTERM, _interrupt)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
        if self._previous_handler is not None:
            signal.signal(signal.SIGTERM, self._previous_handler)

    def set_up(self) -> dict[str, str]:
        """Migrate and seed every instance, side by side; their outputs.

        Interrupted (Ctrl-C, a failure), it stops the commands still running
        rather than waiting for them.
        """
        pool = concurrent.futures.ThreadPoolExecutor(len(self.instances))
        try:
            futures = {i.name: pool.submit(i.set_up) for i in self}
            return {name: future.result() for name, future in futures.items()}
        except BaseException:
            stop_processes([c for i in self for c in list(i.commands)])
            raise
        finally:
            pool.shutdown(wait=True)

    def start(self) -> None:
        """Start every instance, side by side; return once all servers listen."""
        for instance in self:
            instance.spawn()
        for instance in self:
            instance.wait_started()

    def stop(self) -> None:
        """Stop every process of every instance, all at once."""
        # A stop signal of demo.py's waits until the end of the block; Ctrl-C
        # again (KeyboardInterrupt, under pytest) must not leave processes
        # behind: stopping starts over.
        with shielded():
            for instance in self:
                instance._close_console()
            processes = [p for instance in self for p in instance.processes()]
            try:
                stop_processes(processes)
            except KeyboardInterrupt:
                stop_processes(processes)
            for instance in self:
                instance._forget()

    def problems(self) -> list[str]:
        return [problem for instance in self for problem in instance.problems()]

    def logs(self, lines: int = 40) -> str:
        parts = []
        for instance in self:
            logs = (instance.server_log, instance.worker_log, instance.console_log)
            for path in logs:
                parts.append(f"--- {path} (last {lines} lines)\n{tail(path, lines)}")
        return "\n".join(parts)


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def _interrupt(signum, frame):
    raise KeyboardInterrupt


# --- HTTP --------------------------------------------------------------------


@dataclass
class Reply:
    method: str
    url: str
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip()

    def json(self) -> Any:
        return json.loads(self.body)

    def __str__(self) -> str:
        return f"{self.method} {self.url} -> {self.status}"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # show the 302 itself


class Browser:
    """A user agent for one origin: a cookie jar, CSRF, JSON helpers."""

    def __init__(self, origin: str):
        self.origin = origin
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            _NoRedirect, urllib.request.HTTPCookieProcessor(self.cookies)
        )

    def request(
        self,
        method: str,
        url: str,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 20,
    ) -> Reply:
        if url.startswith("/"):
            url = self.origin + url
        request = urllib.request.Request(  # noqa: S310 - http://127.0.0.1 only
            url, data=data, method=method, headers=headers or {}
        )
        try:
            with self.opener.open(request, timeout=timeout) as response:
                return Reply(
                    method,
                    url,
                    response.status,
                    {k.lower(): v for k, v in response.headers.items()},
                    response.read(),
                )
        except urllib.error.HTTPError as error:
            return Reply(
                method,
                url,
                error.code,
                {k.lower(): v for k, v in error.headers.items()},
                error.read(),
            )

    def get(self, url: str, accept: str = ACTIVITY_JSON) -> Reply:
        return self.request("GET", url, headers={"Accept": accept})

    def cookie(self, name: str) -> str:
        """A cookie's value; ``csrftoken`` finds ``csrftoken_alpha`` too."""
        return next((c.value for c in self.cookies if c.name.split("_")[0] == name), "")

    def login(self, username: str, password: str) -> Reply:
        """Log in through the blog's login form, as a browser does."""
        form = self.request("GET", "/accounts/login/", headers={"Accept": "text/html"})
        found = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', form.body)
        fields = {
            "username": username,
            "password": password,
            "csrfmiddlewaretoken": found.group(1).decode() if found else "",
        }
        return self.post_form("/accounts/login/?next=/inbox/", fields)

    def post_form(self, url: str, fields: dict | list) -> Reply:
        return self.request(
            "POST",
            url,
            data=urllib.parse.urlencode(fields).encode(),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Referer": self.origin + "/",
            },
        )

    def post_activity(self, url: str, activity: dict) -> Reply:
        """A client-to-server post: ActivityPub JSON with the CSRF token."""
        return self.request(
            "POST",
            url,
            data=json.dumps(activity).encode(),
            headers={
                "Content-Type": ACTIVITY_JSON,
                "Accept": ACTIVITY_JSON,
                "X-CSRFToken": self.cookie("csrftoken"),
            },
        )

    def collection_items(self, url: str) -> list:
        """The first page's items of a collection (``?page=true``), or []."""
        reply = self.get(url + ("&" if "?" in url else "?") + "page=true")
        if reply.status != 200:
            return []
        data = reply.json()
        return data.get("orderedItems") or data.get("items") or []

    def admin_action(self, changelist: str, action: str, pks: Iterable[int]) -> Reply:
        """Run an admin action on the selected rows (as the admin page does)."""
        self.request("GET", changelist, headers={"Accept": "text/html"})
        fields = [
            ("action", action),
            ("index", "0"),
            ("csrfmiddlewaretoken", self.cookie("csrftoken")),
        ] + [("_selected_action", str(pk)) for pk in pks]
        return self.post_form(changelist, fields)
