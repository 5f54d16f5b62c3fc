#!/usr/bin/env python
"""The vox_activity demo: a small blog whose authors are ActivityPub actors.

Run it from the repository root with the environment's Python (or through
``python3 dev.py demo [args]``)::

    .venvs/django52/bin/python testsite/demo.py            # migrate, seed, serve
    .venvs/django52/bin/python testsite/demo.py --port 8001
    .venvs/django52/bin/python testsite/demo.py --fresh    # start from an empty DB
    .venvs/django52/bin/python testsite/demo.py --check    # self-test over real HTTP

By default it migrates the demo's SQLite database (``.venvs/testsite-default.sqlite3``,
or ``DATABASE_URL``), runs the ``seed_demo`` command, and serves the site with
waitress, a real WSGI server, on 127.0.0.1 until Ctrl-C.  The site's origin
(``TESTSITE_DOMAIN``, from which every ActivityPub IRI is built) is set to
``127.0.0.1:<port>`` so that the IRIs point at this server.

``--check`` does the same set-up, starts the server in a subprocess, makes a
few real HTTP requests against it (the actor document in both ActivityPub
media types, the HTML page on the same path, the outbox, the private inbox
anonymously and as its owner, a client-to-server ``Read``), prints one line
per step, stops the server and exits 0 only if every step passed.

``--no-setup`` serves the database as it is (the check's server runs that
way) and ``--quiet`` stops the per-request log.  Only the standard library,
Django and waitress (in the environment's lock file) are used.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
ACTIVITY_JSON = "application/activity+json"
LD_JSON_AS = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'


# --- set-up ------------------------------------------------------------------


def configure(port: int) -> None:
    """Point the settings at this server, then set Django up."""
    # Run as a script, sys.path[0] is testsite/; the project root is needed.
    here = str(Path(__file__).resolve().parent)
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(here)]
    sys.path.insert(0, str(ROOT))
    os.environ["DJANGO_SETTINGS_MODULE"] = "testsite.settings"
    os.environ["TESTSITE_DOMAIN"] = f"{HOST}:{port}"
    os.environ["TESTSITE_SSL"] = "0"  # waitress serves plain HTTP

    import django

    django.setup()


def sqlite_path() -> Path | None:
    """The demo database's file, if it is a SQLite file."""
    from django.conf import settings

    database = settings.DATABASES["default"]
    name = str(database.get("NAME") or "")
    if "sqlite" not in database["ENGINE"] or not name or name == ":memory:":
        return None
    return Path(name)


def prepare(fresh: bool) -> None:
    """Delete the DB if asked, migrate, and seed the demo content."""
    from django.core.management import call_command
    from django.db import connections

    path = sqlite_path()
    if fresh:
        if path is None:
            sys.exit("demo.py: --fresh only deletes a SQLite database file.")
        if path.exists():
            path.unlink()
            say(f"deleted {path}")
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    say(f"migrate ({path or 'DATABASE_URL'})")
    call_command("migrate", interactive=False, verbosity=0)
    say("seed_demo")
    call_command("seed_demo")
    warn_about_other_origins()
    connections.close_all()  # the server (maybe another process) takes over


def warn_about_other_origins() -> None:
    from vox_activity.models import Activity
    from vox_activity.site import site_origin

    origin = site_origin() + "/"
    if Activity.objects.filter(local=True).exclude(iri__startswith=origin).exists():
        say(
            f"note: some stored activities were made for another origin than "
            f"{origin} (another --port?); use --fresh for a consistent demo."
        )


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


# --- serving -----------------------------------------------------------------


def application_with_log(quiet: bool = False):
    """The site's WSGI application, serving static files, logging requests."""
    from django.conf import settings
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.core.wsgi import get_wsgi_application

    app = StaticFilesHandler(get_wsgi_application())
    if quiet:
        return app

    def logged(environ, start_response):
        def start(status, headers, exc_info=None):
            path = environ.get("PATH_INFO", "")
            if not path.startswith(settings.STATIC_URL):
                kind = {k.lower(): v for k, v in headers}.get("content-type", "")
                accept = environ.get("HTTP_ACCEPT", "")
                asked = " [ActivityPub]" if "activity" in accept else ""
                print(
                    f"  {time.strftime('%H:%M:%S')} {environ['REQUEST_METHOD']} "
                    f"{path}{asked} -> {status.split()[0]} {kind.split(';')[0]}",
                    flush=True,
                )
            return start_response(status, headers, exc_info)

        return app(environ, start)

    return logged


def banner(port: int) -> str:
    from django.urls import reverse

    base = f"http://{HOST}:{port}"
    curl = f"curl -H 'Accept: {ACTIVITY_JSON}'"
    activities = reverse("admin:vox_activity_activity_changelist")
    inbox_items = reverse("admin:vox_activity_inboxitem_changelist")
    rows = [
        ("The blog", f"{base}/"),
        ("Admin", f"{base}/admin/   (user admin, password admin)"),
        ("Alice's page", f"{base}/~alice/   (the same path is her actor IRI)"),
        ("Alice as an actor", f"{curl} {base}/~alice/"),
        ("Alice's outbox", f"{curl} '{base}/~alice/outbox?page=true'"),
        ("Bob's inbox", f"{base}/inbox/   (log in as bob, password bob)"),
        ("", f"as JSON: {base}/~bob/inbox (only bob may read it: 403 otherwise)"),
        ("Activities", f"{base}{activities}   (admin)"),
        ("Inbox items", f"{base}{inbox_items}   (admin)"),
    ]
    width = max(len(label) for label, _ in rows)
    lines = [f"  {label:<{width}}  {value}" for label, value in rows]
    return (
        f"\nThe vox_activity demo is running at {base}/  (Ctrl-C stops it)\n\n"
        + "\n".join(lines)
        + "\n\nAuthors: alice, carol.  Readers: bob, dave (each password = username)."
        + "\nRequests are logged below.\n"
    )


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def serve(port: int, quiet: bool = False) -> int:
    from waitress.server import create_server

    try:
        server = create_server(application_with_log(quiet), host=HOST, port=port)
    except OSError as exc:
        print(f"demo.py: cannot listen on {HOST}:{port}: {exc}", file=sys.stderr)
        return 1
    print(banner(port), flush=True)
    # Ctrl-C and a plain kill both stop the server cleanly (a shell may start
    # background jobs with SIGINT ignored, so restore Python's handler).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        server.run()  # returns on Ctrl-C
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    print("\nStopped.", flush=True)
    return 0


# --- the HTTP check ----------------------------------------------------------


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip()

    def json(self):
        return json.loads(self.body)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # show the 302 itself


@dataclass
class Checker:
    base: str
    steps: int = 0
    failures: list[str] = field(default_factory=list)
    cookies: http.cookiejar.CookieJar = field(default_factory=http.cookiejar.CookieJar)

    def __post_init__(self):
        self.opener = urllib.request.build_opener(
            NoRedirect, urllib.request.HTTPCookieProcessor(self.cookies)
        )

    def request(self, method, path, headers=None, data=None) -> Reply:
        request = urllib.request.Request(  # noqa: S310 - always http://127.0.0.1
            self.base + path, data=data, method=method, headers=headers or {}
        )
        try:
            with self.opener.open(request, timeout=15) as response:
                return Reply(
                    response.status,
                    {k.lower(): v for k, v in response.headers.items()},
                    response.read(),
                )
        except urllib.error.HTTPError as error:
            return Reply(
                error.code,
                {k.lower(): v for k, v in error.headers.items()},
                error.read(),
            )

    def step(
        self,
        label: str,
        method: str,
        path: str,
        expect: int,
        test: Callable[[Reply], str] | None = None,
        **kwargs,
    ) -> Reply | None:
        """One request; ``test`` returns a short detail or raises AssertionError."""
        self.steps += 1
        reply = None
        try:
            reply = self.request(method, path, **kwargs)
            if reply.status != expect:
                raise AssertionError(f"expected {expect}: {reply.body[:200]!r}")
            detail = test(reply) if test else reply.content_type
            ok = True
        except (AssertionError, OSError, ValueError, KeyError, TypeError) as exc:
            detail, ok = str(exc) or type(exc).__name__, False
        status = reply.status if reply else "no answer"
        line = f"[{'PASS' if ok else 'FAIL'}] {label}: {method} {path} -> {status}"
        print(f"{line} ({detail})" if detail else line, flush=True)
        if not ok:
            self.failures.append(label)
        return reply if ok else None

    def cookie(self, name: str) -> str:
        return next((c.value for c in self.cookies if c.name == name), "")


def run_checks(base: str) -> Checker:
    c = Checker(base)
    alice = f"{base}/~alice/"

    def actor(media_type):
        def test(reply):
            data = reply.json()
            assert reply.content_type == media_type, reply.content_type
            assert data["type"] == "Person", data.get("type")
            assert data["id"] == alice, f"id {data['id']} is not {alice}"
            assert data["outbox"] == alice + "outbox", data["outbox"]
            assert "Accept" in reply.headers.get("vary", ""), "no Vary: Accept"
            return f"{reply.content_type}, {data['type']} {data['id']}"

        return test

    def html_page(reply):
        assert reply.content_type == "text/html", reply.content_type
        assert b"Alice Liddell" in reply.body, "not the author page"
        assert "Accept" in reply.headers.get("vary", ""), "no Vary: Accept"
        return "text/html, the blog's author page"

    def outbox(reply):
        data = reply.json()
        assert data["type"] == "OrderedCollection", data.get("type")
        assert data["id"] == alice + "outbox", data["id"]
        return f"OrderedCollection, totalItems {data['totalItems']}"

    def json_error(reply):
        assert reply.content_type == "application/json", reply.content_type
        return f"error: {reply.json()['error']}"

    def to_login(reply):
        location = reply.headers.get("location", "")
        assert location.startswith("/admin/login/"), f"Location {location!r}"
        return f"Location {location}"

    ap = {"Accept": ACTIVITY_JSON}
    c.step(
        f"actor document ({ACTIVITY_JSON})",
        "GET",
        "/~alice/",
        200,
        actor(ACTIVITY_JSON),
        headers=ap,
    )
    c.step(
        "actor document (application/ld+json; profile=AS)",
        "GET",
        "/~alice/",
        200,
        actor("application/ld+json"),
        headers={"Accept": LD_JSON_AS},
    )
    c.step(
        "HTML page on the actor's path",
        "GET",
        "/~alice/",
        200,
        html_page,
        headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"},
    )
    c.step("outbox", "GET", "/~alice/outbox", 200, outbox, headers=ap)
    c.step(
        "outbox page",
        "GET",
        "/~alice/outbox?page=true",
        200,
        lambda r: f"{r.json()['type']}, {len(r.json()['orderedItems'])} item(s)",
        headers=ap,
    )
    c.step("unknown actor", "GET", "/~nobody/", 404, json_error, headers=ap)
    c.step("inbox, anonymous", "GET", "/~bob/inbox", 403, json_error, headers=ap)
    c.step("inbox page, anonymous", "GET", "/inbox/", 302, to_login)

    # Log in as bob through the admin's login form, as a browser would.
    form = c.step("login form", "GET", "/admin/login/", 200)
    token = ""
    if form is not None:
        found = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', form.body)
        token = found.group(1).decode() if found else ""
    fields = {"username": "bob", "password": "bob", "csrfmiddlewaretoken": token}
    c.step(
        "log in as bob",
        "POST",
        "/admin/login/?next=/inbox/",
        302,
        to_inbox,
        data=urllib.parse.urlencode(fields).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    page = c.step(
        "bob's inbox (owner)",
        "GET",
        "/~bob/inbox?page=true",
        200,
        inbox_summary,
        headers=ap,
    )
    items = page.json()["orderedItems"] if page is not None else []
    unread = [item for item in items if not item.get("dateRead")]
    target = (unread or items or [{}])[0]
    read = json.dumps({"type": "Read", "object": target.get("id", "")}).encode()
    c.step(
        "Read posted to bob's outbox (C2S)",
        "POST",
        "/~bob/outbox",
        204,
        lambda r: f"marked {target.get('type')} {target.get('id')} read",
        data=read,
        headers={"Content-Type": ACTIVITY_JSON, "X-CSRFToken": c.cookie("csrftoken")},
    )
    c.step(
        "the item is read now",
        "GET",
        "/~bob/inbox?page=true",
        200,
        lambda r: is_read(r, target.get("id")),
        headers=ap,
    )
    c.step("HTML inbox page (logged in)", "GET", "/inbox/", 200, inbox_page)
    return c


def to_inbox(reply: Reply) -> str:
    location = reply.headers.get("location", "")
    assert location == "/inbox/", f"login failed (Location {location!r})"
    return "session started"


def inbox_page(reply: Reply) -> str:
    assert reply.content_type == "text/html", reply.content_type
    assert b"Mark read" in reply.body, "no inbox items on the page"
    return "text/html, with Mark read buttons"


def inbox_summary(reply: Reply) -> str:
    data = reply.json()
    items = data["orderedItems"]
    assert items, "the inbox is empty"
    unread = sum(1 for item in items if not item.get("dateRead"))
    return f"{len(items)} item(s), {unread} unread"


def is_read(reply: Reply, iri: str) -> str:
    item = next((i for i in reply.json()["orderedItems"] if i["id"] == iri), None)
    assert item is not None, f"{iri} is no longer in the inbox"
    assert item.get("dateRead"), "dateRead is still empty"
    return f"dateRead {item['dateRead']}"


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 30) -> bool:
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


def port_is_free(port: int) -> bool:
    """Can a server listen there?  (Like waitress, ignore TIME_WAIT leftovers.)"""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def check(port: int) -> int:
    """Serve in a subprocess (``demo.py --no-setup``) and check it over HTTP."""
    say(f"starting the server on {HOST}:{port} (waitress, in a subprocess)")
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(  # noqa: S603 - our own script, fixed arguments
            [sys.executable, __file__, "--port", str(port), "--no-setup", "--quiet"],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            if not wait_for_port(port, process):
                log.seek(0)
                print(log.read().decode(errors="replace"), file=sys.stderr)
                print("[FAIL] the server did not start", flush=True)
                return 1
            say("checking over HTTP")
            checker = run_checks(f"http://{HOST}:{port}")
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        say("server stopped")
        if checker.failures:
            log.seek(0)
            print(log.read().decode(errors="replace")[-4000:], file=sys.stderr)
    if checker.failures:
        print(
            f"check FAILED: {len(checker.failures)} of {checker.steps} steps "
            f"({', '.join(checker.failures)})"
        )
        return 1
    print(f"check passed: all {checker.steps} steps")
    return 0


# --- entry point ---------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Run the vox_activity demo blog (see the module docstring)."
    )
    parser.add_argument("--port", type=int, default=8000, help="default: 8000")
    parser.add_argument(
        "--check",
        action="store_true",
        help="set up, serve in a subprocess, check it over HTTP, stop; "
        "exit 0 only if every step passed",
    )
    parser.add_argument(
        "--fresh", action="store_true", help="delete the demo's SQLite database first"
    )
    parser.add_argument(
        "--no-setup",
        action="store_true",
        help="serve the database as it is: no migrate, no seed_demo",
    )
    parser.add_argument(
        "--quiet", action="store_true", help="do not log each request while serving"
    )
    options = parser.parse_args(argv)
    if not 0 < options.port < 65536:
        parser.error("--port must be between 1 and 65535")
    if options.fresh and options.no_setup:
        parser.error("--fresh needs the set-up that --no-setup skips")

    if not port_is_free(options.port):
        print(
            f"demo.py: {HOST}:{options.port} is in use (another demo?); "
            f"try --port {options.port + 1}.",
            file=sys.stderr,
        )
        return 1
    configure(options.port)
    if not options.no_setup:
        prepare(options.fresh)
    if options.check:
        return check(options.port)
    return serve(options.port, quiet=options.quiet)


if __name__ == "__main__":
    sys.exit(main())
