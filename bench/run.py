#!/usr/bin/env python3
"""Benchmark vox_activity against django-vox's built-in activity backend.

One command, one SQLite file in a temporary directory, both backends::

    python3 bench/run.py            # the full run (a few minutes)
    python3 bench/run.py --quick    # stops at 1,000 recipients / 10,000 items

Run with a Python lacking Django, it re-runs itself with the project's
``.venvs/django52`` interpreter (made by ``python3 dev.py test`` or ``demo``).

It measures (see bench/README.md):

* issuing ONE notification to 100, 1,000 and 10,000 local recipients with
  (a) vox_activity's backend and ``vox_activity.issue.issue_now``, and
  (b) django-vox's built-in ``django_vox.backends.activity.Backend`` with
  django-vox's default ``Notification.issue_now``;
* reading an inbox of 10,000 and 100,000 items: vox_activity's first and a
  deep page (``?max_id=``) and its collection document, and django-vox's
  built-in inbox view (its newest 500 items, unpaged), each as the logged-in
  owner through ``django.test.Client``.

For each case: best wall time, SQL queries, peak Python memory (tracemalloc,
in a separate run so it does not slow the timed ones), and built-in / vox
ratios.  Timings are only reported; the exit status is non-zero only when a
correctness check fails (e.g. an inbox does not hold exactly N items).
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PROJECT_ENV = ROOT / ".venvs" / "django52"

VOX, BUILTIN = "vox_activity", "built-in"

ISSUE_SIZES = (100, 1_000, 10_000)
QUICK_ISSUE_SIZES = (100, 1_000)
INBOX_SIZES = (10_000, 100_000)
QUICK_INBOX_SIZES = (10_000,)

#: Timed runs of an issue, by backend and recipient count (the best is
#: reported).  The built-in's 10,000 run takes about a minute, so once; a
#: one-second run is far more exposed to a burst of load, so three.
ISSUE_REPEATS = {
    VOX: {100: 3, 1_000: 3, 10_000: 3},
    BUILTIN: {100: 3, 1_000: 3, 10_000: 1},
}
#: Timed runs of each inbox read (the best is reported), after one warm-up.
#: The reads take turns, so load that comes and goes hits every case alike.
READ_REPEATS = 20

#: Targets of the issue (the verdict reports them; they never fail the run).
TARGET_SPEEDUP_AT_10K = 100.0  # vox_activity at least 100x faster
TARGET_FLAT_PER_RECIPIENT = 1.2  # per-recipient time at 10,000 / at 100
TARGET_READ_SPEEDUP_AT_100K = 15.0  # a page vs the built-in inbox read
TARGET_PAGE_GROWTH = 1.15  # page time at 100,000 / at 10,000 (noise allowance)

AP_ACCEPT = "application/activity+json"
VOX_BACKEND = "vox_activity.backend.Backend"
VOX_ISSUE = "vox_activity.issue.issue_now"
BUILTIN_BACKEND = "django_vox.backends.activity.Backend"
BUILTIN_ISSUE = "django_vox.models.Notification.issue_now"


# --- bootstrapping ------------------------------------------------------------


def ensure_project_python() -> None:
    """Re-run this script with the project's venv if Django is missing here."""
    import importlib.util

    needed = ("django", "django_vox", "aspy")
    if all(importlib.util.find_spec(name) is not None for name in needed):
        return
    python = PROJECT_ENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    if os.environ.get("VOX_BENCH_REEXEC") or not python.exists():
        sys.exit(
            "bench: Django (or django-vox) is not importable with this Python and "
            f"{python.relative_to(ROOT)} does not exist (or lacks Django).\n"
            "Create the project environment first with `python3 dev.py test` "
            "(or `python3 dev.py demo`), then run `python3 bench/run.py`."
        )
    env = {**os.environ, "VOX_BENCH_REEXEC": "1"}
    command = [str(python), str(Path(__file__).resolve()), *sys.argv[1:]]
    sys.exit(subprocess.call(command, env=env))


def setup_django(db_path: Path) -> None:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    os.environ["VOX_BENCH_DB"] = str(db_path)
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    import django

    django.setup()


# --- measuring ----------------------------------------------------------------


class BenchError(Exception):
    """A correctness check failed: the numbers would be meaningless."""


def require(condition: bool, message: str) -> None:
    if not condition:
        raise BenchError(message)


class QueryCounter:
    """Counts every statement sent to the database (a connection execute wrapper).

    Unlike CaptureQueriesContext it keeps no SQL text: it costs no memory
    (so the tracemalloc peak is the code's own) and has no 9,000-query cap
    (``connection.queries_log`` is a bounded deque; the built-in backend
    runs ~20,000 queries at 10,000 recipients).
    """

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


@contextmanager
def count_queries() -> Iterator[QueryCounter]:
    from django.db import connection

    counter = QueryCounter()
    with connection.execute_wrapper(counter):
        yield counter


@dataclass
class Measure:
    seconds: float  # best of the timed runs
    queries: int  # in the best timed run
    peak: int  # bytes: tracemalloc peak of one extra run
    runs: int


def measure(
    run: Callable[[], Any],
    check: Callable[[Any, Any], None],
    prepare: Callable[[], Any] = lambda: None,
    repeats: int = 1,
) -> Measure:
    """Time ``run`` ``repeats`` times, then once more under tracemalloc.

    ``prepare()`` (untimed) returns a state that ``check(state, result)``
    verifies after every run, the memory run included.
    """
    best = float("inf")
    queries = 0
    for _ in range(repeats):
        state = prepare()
        elapsed, count, result = timed_run(run)
        check(state, result)
        if elapsed < best:
            best, queries = elapsed, count
    state = prepare()
    peak, result = memory_run(run)
    check(state, result)
    return Measure(best, queries, peak, repeats)


def timed_run(run: Callable[[], Any]) -> tuple[float, int, Any]:
    """(seconds, SQL statements, result) of one call of ``run``."""
    gc.collect()
    with count_queries() as counter:
        start = time.perf_counter()
        result = run()
        elapsed = time.perf_counter() - start
    return elapsed, counter.count, result


def memory_run(run: Callable[[], Any]) -> tuple[int, Any]:
    """(peak bytes allocated by Python, result) of one call of ``run``."""
    gc.collect()
    tracemalloc.start()
    try:
        result = run()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return peak, result


def progress(message: str) -> None:
    print(f"  .. {message}", file=sys.stderr, flush=True)


# --- switching backends -------------------------------------------------------


@contextmanager
def backend(kind: str) -> Iterator[None]:
    """Make ``kind`` the only "activity" backend, with its issue method."""
    from django.test.utils import override_settings
    from django_vox import registry
    from django_vox import settings as vox_settings
    from django_vox.backends.base import load_backend
    from django_vox.models import Activity as BuiltinActivity
    from django_vox.models import get_issue_function

    if kind == VOX:
        path, method = VOX_BACKEND, VOX_ISSUE
    else:
        path, method = BUILTIN_BACKEND, BUILTIN_ISSUE
    saved = registry.backends
    with override_settings(DJANGO_VOX_BACKENDS=[path], DJANGO_VOX_ISSUE_METHOD=method):
        registry.backends = registry.BackendManager([load_backend(path)])
        get_issue_function.cache_clear()
        if kind == BUILTIN:
            # The built-in inbox serialises each django_vox.Activity with its
            # get_full_url(), which needs Activity registered with its URL
            # pattern (django-vox's DJANGO_VOX_ACTIVITY_REGEX).
            registry.objects.add(BuiltinActivity, regex=vox_settings.ACTIVITY_REGEX)
        try:
            require(
                registry.backends.by_id("activity") is load_backend(path),
                f"backend 'activity' is not {path}",
            )
            require(
                get_issue_function() is _locate(method),
                f"the issue function is not {method}",
            )
            yield
        finally:
            registry.objects.pop(BuiltinActivity, None)
            registry.backends = saved
            get_issue_function.cache_clear()
    get_issue_function.cache_clear()


def _locate(dotted: str) -> Any:
    import pydoc

    return pydoc.locate(dotted)


# --- the data -----------------------------------------------------------------


@dataclass
class World:
    notification: Any  # django_vox.models.Notification "created" of Article
    articles: dict[int, Any]  # recipients -> an article whose author has them
    subscribers: dict[int, set[int]]  # recipients -> subscriber pks
    readers: dict[int, Any]  # inbox size -> the user owning that inbox


def build_world(issue_sizes: tuple[int, ...], inbox_sizes: tuple[int, ...]) -> World:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.contrib.contenttypes.models import ContentType
    from django.db import transaction
    from django_vox.models import Notification, Template

    from testsite.blog.models import Article, Subscription

    user_model = get_user_model()
    unusable = make_password(None)  # nobody logs in with a password here
    largest = max(issue_sizes)
    sizes = (1, *issue_sizes)  # 1: the warm-up article
    with transaction.atomic():
        user_model.objects.bulk_create(
            [
                user_model(username=f"r{i:06d}", password=unusable)
                for i in range(largest)
            ]
            + [user_model(username=f"author{n}", password=unusable) for n in sizes]
            + [
                user_model(username=f"reader{n}", password=unusable)
                for n in inbox_sizes
            ],
            batch_size=2000,
        )
        recipients = list(
            user_model.objects.filter(username__startswith="r0").order_by("username")
        )
        require(len(recipients) == largest, "recipient users were not all created")
        articles, subscribers = {}, {}
        for n in sizes:
            author = user_model.objects.get(username=f"author{n}")
            Subscription.objects.bulk_create(
                [Subscription(subscriber=u, author=author) for u in recipients[:n]],
                batch_size=2000,
            )
            subscribers[n] = {u.pk for u in recipients[:n]}
            articles[n] = Article.objects.create(
                author=author, title=f"To {n:,}", slug=f"to-{n}", body="Hello."
            )
        notification = Notification.objects.get(
            codename="created", object_type=ContentType.objects.get_for_model(Article)
        )
        Template.objects.create(
            notification=notification,
            backend="activity",
            recipients="c:subscribers",
            subject="New article: {{ object.title }}",
            content="{{ object.author.username }} wrote {{ object.title }}",
            bulk=True,
        )
        readers = {
            n: user_model.objects.get(username=f"reader{n}") for n in inbox_sizes
        }
    return World(notification, articles, subscribers, readers)


# --- issuing ------------------------------------------------------------------


def check_contacts_resolve(world: World) -> None:
    """The contacts are actor IRIs, and django-vox's id_to_user finds their users."""
    from django.contrib.auth import get_user_model
    from django_vox import registry
    from django_vox.backends.activity import id_to_user

    user = get_user_model().objects.get(pk=min(world.subscribers[100]))
    registration = registry.objects[type(user)].registration
    contacts = [c.address for c in registration.get_contacts(user, "activity", None)]
    expected = f"https://testserver/~{user.username}/"
    require(contacts == [expected], f"contacts of {user}: {contacts}, not [{expected}]")
    found = list(id_to_user(contacts))
    require(
        found == [user],
        f"django-vox's id_to_user({contacts}) found {found}, not [{user}] "
        "(get_local_object does not resolve the testsite's ~username regex)",
    )


def issue_checker(kind: str, world: World, n: int):
    """prepare/check pair: one new activity, exactly the N subscribers' inboxes."""
    from django_vox.models import Activity as BuiltinActivity
    from django_vox.models import FailedMessage
    from django_vox.models import InboxItem as BuiltinInboxItem

    from vox_activity.models import Activity, InboxItem

    expected_owners = world.subscribers[n]

    def prepare():
        failed = FailedMessage.objects.count()
        if kind == VOX:
            return failed, Activity.objects.order_by("-id").values_list("id").first()
        return failed, set(BuiltinActivity.objects.values_list("id", flat=True))

    def check(state, _result):
        failed_before, before = state
        require(
            FailedMessage.objects.count() == failed_before,
            f"{kind}: sending failed (new FailedMessage rows)",
        )
        if kind == VOX:
            new = Activity.objects.filter(id__gt=before[0] if before else 0)
            require(new.count() == 1, f"{kind}: {new.count()} activities, not 1")
            owners = InboxItem.objects.filter(activity=new.get()).values_list(
                "owner_id", flat=True
            )
            got = {int(pk) for pk in owners}
        else:
            new = BuiltinActivity.objects.exclude(id__in=before)
            require(new.count() == 1, f"{kind}: {new.count()} activities, not 1")
            activity = new.get()
            require(
                activity.type == "Create" and activity.object_id.endswith("/"),
                f"{kind}: unexpected activity {activity.type} {activity.object_id}",
            )
            owners = BuiltinInboxItem.objects.filter(activity=activity).values_list(
                "owner_id", flat=True
            )
            got = set(owners)
        require(
            len(owners) == n and got == expected_owners,
            f"{kind}: issuing to {n:,} recipients put the activity in "
            f"{len(owners):,} inboxes ({len(got & expected_owners):,} of the "
            "right ones)",
        )

    return prepare, check


def bench_issues(
    world: World, sizes: tuple[int, ...]
) -> dict[tuple[str, int], Measure]:
    results = {}
    for kind in (VOX, BUILTIN):
        with backend(kind):
            # Warm-up (imports, template compilation, content-type cache).
            prepare, check = issue_checker(kind, world, 1)
            measure(lambda: world.notification.issue(world.articles[1]), check, prepare)
            for n in sizes:
                slow = kind == BUILTIN and n >= 10_000
                note = " (~1 min per run, twice: timed + memory)" if slow else ""
                progress(f"issue to {n:,} recipients with {kind}{note}")
                article = world.articles[n]
                prepare, check = issue_checker(kind, world, n)
                results[kind, n] = measure(
                    lambda article=article: world.notification.issue(article),
                    check,
                    prepare,
                    repeats=ISSUE_REPEATS[kind].get(n, 1),
                )
    return results


# --- inboxes ------------------------------------------------------------------

CHUNK = 5_000


def fill_vox_inbox(owner: Any, size: int) -> None:
    """``size`` activities in ``owner``'s vox_activity inbox, bulk-inserted.

    Each is a copy of the newest activity the benchmark issued, with its
    own uuid and IRI.
    """
    from django.contrib.contenttypes.models import ContentType
    from django.db import transaction
    from django.utils import timezone

    from vox_activity.models import Activity, InboxItem
    from vox_activity.outgoing.publish import activity_iri

    model = Activity.objects.order_by("-id").first()
    require(model is not None, "no vox_activity activity to copy")
    owner_type = ContentType.objects.get_for_model(owner)
    marker = uuid.uuid4()
    base_iri = activity_iri(marker)
    now = timezone.now()
    with transaction.atomic():
        for start in range(0, size, CHUNK):
            batch = []
            for _ in range(min(CHUNK, size - start)):
                activity_uuid = uuid.uuid4()
                iri = base_iri.replace(str(marker), str(activity_uuid))
                batch.append(
                    Activity(
                        uuid=activity_uuid,
                        iri=iri,
                        type=model.type,
                        actor_iri=model.actor_iri,
                        object_iri=model.object_iri,
                        data={**model.data, "id": iri},
                        public=model.public,
                        local=True,
                        published=now,
                    )
                )
            created = Activity.objects.bulk_create(batch)
            require(
                all(a.pk is not None for a in created),
                "bulk_create returned no primary keys (SQLite < 3.35?)",
            )
            InboxItem.objects.bulk_create(
                [
                    InboxItem(owner_type=owner_type, owner_id=str(owner.pk), activity=a)
                    for a in created
                ]
            )


def fill_builtin_inbox(owner: Any, size: int) -> None:
    """``size`` activities in ``owner``'s django-vox inbox, bulk-inserted."""
    from django.db import transaction
    from django_vox.models import Activity, InboxItem

    model = Activity.objects.order_by("-timestamp").first()
    require(model is not None, "no django-vox activity to copy")
    fields = {
        f.attname: getattr(model, f.attname)
        for f in Activity._meta.concrete_fields
        if not f.primary_key and f.name != "timestamp"
    }
    for name in ("actor_json", "object_json", "target_json"):
        fields[name] = builtin_readable(fields[name])
    with transaction.atomic():
        for start in range(0, size, CHUNK):
            batch = [
                Activity(id=uuid.uuid4(), **fields)
                for _ in range(min(CHUNK, size - start))
            ]
            Activity.objects.bulk_create(batch)
            InboxItem.objects.bulk_create(
                [InboxItem(owner=owner, activity=a) for a in batch]
            )


def builtin_readable(stored: str) -> str:
    """``stored`` JSON without the properties django-vox cannot read back.

    django-vox's inbox rebuilds each activity's object with aspy, setting the
    stored JSON's keys as they are; aspy accepts only snake_case names, so a
    camelCase one (``attributedTo``, which every testsite Article has) raises
    TypeError and the inbox view fails.  The built-in inboxes are therefore
    filled with copies that lack such keys (which only makes reading cheaper).
    """
    import json

    def clean(value: Any) -> Any:
        if isinstance(value, dict):
            return {
                k: clean(v)
                for k, v in value.items()
                if k in ("@context", "type") or k == k.lower()
            }
        return value

    return json.dumps(clean(json.loads(stored))) if stored else stored


def builtin_read_problem() -> str | None:
    """Can django-vox's inbox serialise the activity its backend stored?"""
    from django_vox.models import Activity

    stored = Activity.objects.exclude(object_json="").order_by("-timestamp").first()
    try:
        stored.__activity__()
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


@dataclass
class Read:
    label: str
    items: int  # items in one response
    measure: Measure


def bench_reads(world: World, sizes: tuple[int, ...]) -> dict[int, list[Read]]:
    from django_vox.models import InboxItem as BuiltinInboxItem

    from vox_activity.models import InboxItem

    for size in sizes:
        owner = world.readers[size]
        progress(f"fill two inboxes of {size:,} items (bulk_create)")
        fill_vox_inbox(owner, size)
        fill_builtin_inbox(owner, size)
        require(
            InboxItem.objects.for_owner(owner).count() == size,
            f"vox_activity inbox of {owner} does not hold {size:,} items",
        )
        require(
            BuiltinInboxItem.objects.filter(owner=owner).count() == size,
            f"django-vox inbox of {owner} does not hold {size:,} items",
        )

    cases = [case for size in sizes for case in read_cases(world.readers[size], size)]
    for case in cases:  # warm-up
        with backend(case.kind):
            case.check(None, case.get())
    progress(
        f"read {len(cases)} inbox URLs, {READ_REPEATS} rounds, then once each "
        "under tracemalloc"
    )
    best = {id(case): (float("inf"), 0) for case in cases}
    for _ in range(READ_REPEATS):
        for case in cases:
            with backend(case.kind):
                elapsed, queries, response = timed_run(case.get)
            case.check(None, response)
            if elapsed < best[id(case)][0]:
                best[id(case)] = (elapsed, queries)
    results: dict[int, list[Read]] = {size: [] for size in sizes}
    for case in cases:
        with backend(case.kind):
            peak, response = memory_run(case.get)
        case.check(None, response)
        seconds, queries = best[id(case)]
        measured = Measure(seconds, queries, peak, READ_REPEATS)
        results[case.size].append(Read(case.label, case.items, measured))
    return results


@dataclass
class ReadCase:
    size: int
    label: str
    items: int  # expected in one response (0: a collection document)
    kind: str
    get: Callable[[], Any]
    check: Callable[[Any, Any], None]


def read_cases(owner: Any, size: int) -> list[ReadCase]:
    """The four requests on ``owner``'s inboxes of ``size`` items, with checks."""
    import json

    from django.test import Client

    from vox_activity.conf import get_setting
    from vox_activity.models import InboxItem

    page_size = get_setting("PAGE_SIZE")
    client = Client()
    client.force_login(owner)

    def getter(url: str) -> Callable[[], Any]:
        return lambda: client.get(url, headers={"Accept": AP_ACCEPT})

    def body(response, url: str) -> dict:
        require(
            response.status_code == 200,
            f"GET {url}: {response.status_code} {response.content[:300]!r}",
        )
        return json.loads(response.content)

    inbox = f"/~{owner.username}/inbox"
    first_url = f"{inbox}?page=true"
    # The deep page: older than the (page_size + 1)-th oldest item, i.e. the
    # last page of the inbox, reached with ?max_id= as a client would.
    oldest = InboxItem.objects.for_owner(owner).order_by("id")
    deep_url = f"{inbox}?max_id={oldest.values_list('id', flat=True)[page_size]}"
    builtin_url = f"/builtin/~{owner.username}/inbox"
    builtin_items = min(size, 500)

    def check_first(_state, response):
        page = body(response, first_url)
        items = page.get("orderedItems", [])
        require(
            len(items) == page_size and "next" in page and "prev" not in page,
            f"{first_url}: {len(items)} items, keys {sorted(page)}",
        )

    def check_deep(_state, response):
        page = body(response, deep_url)
        items = page.get("orderedItems", [])
        require(
            len(items) == page_size and "next" not in page and "prev" in page,
            f"{deep_url}: {len(items)} items (want the last page), keys {sorted(page)}",
        )

    def check_collection(_state, response):
        total = body(response, inbox).get("totalItems")
        require(total == size, f"{inbox}: totalItems {total}, not {size:,}")

    def check_builtin(_state, response):
        items = body(response, builtin_url).get("items", [])
        require(
            len(items) == builtin_items
            and items[0].get("id", "").startswith("https://testserver/activity/"),
            f"{builtin_url}: {len(items)} items, not {builtin_items}",
        )

    return [
        ReadCase(size, "vox_activity first page (?page=true)", page_size, VOX,
                 getter(first_url), check_first),
        ReadCase(size, "vox_activity deep page (?max_id=, last)", page_size, VOX,
                 getter(deep_url), check_deep),
        ReadCase(size, "vox_activity collection (totalItems)", 0, VOX,
                 getter(inbox), check_collection),
        ReadCase(size, "built-in inbox view (newest 500)", builtin_items, BUILTIN,
                 getter(builtin_url), check_builtin),
    ]  # fmt: skip


# --- the report ---------------------------------------------------------------


def fmt_time(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def fmt_mem(size: int) -> str:
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def fmt_ratio(value: float) -> str:
    return f"{value:,.0f}x" if value >= 100 else f"{value:.1f}x"


def ratio(a: float, b: float) -> float:
    return a / b if b else float("inf")


def report_issues(results: dict[tuple[str, int], Measure], sizes) -> None:
    print("ISSUE one notification to N local recipients (bulk template, c:subscribers)")
    print("  vox_activity: vox_activity.backend.Backend + vox_activity.issue.issue_now")
    print(
        "  built-in:     django_vox.backends.activity.Backend + "
        "django_vox.models.Notification.issue_now"
    )
    header = (
        f"{'recipients':>10} | {'':>2}{'time':>9} {'per recip':>10} {'queries':>8} "
        f"{'peak mem':>9} | {'':>2}{'time':>9} {'per recip':>10} {'queries':>8} "
        f"{'peak mem':>9} | {'time':>7} {'queries':>8} {'mem':>7}"
    )
    top = (
        f"{'':>10} | {'vox_activity':^40} | {'django-vox built-in':^40} | "
        f"{'built-in / vox':^24}"
    )
    print(top)
    print(header)
    print("-" * len(header))
    for n in sizes:
        v, b = results[VOX, n], results[BUILTIN, n]
        cells = []
        for m in (v, b):
            cells.append(
                f"{fmt_time(m.seconds):>11} {fmt_time(m.seconds / n):>10} "
                f"{m.queries:>8,} {fmt_mem(m.peak):>9}"
            )
        print(
            f"{n:>10,} | {cells[0]} | {cells[1]} | "
            f"{fmt_ratio(ratio(b.seconds, v.seconds)):>7} "
            f"{fmt_ratio(ratio(b.queries, v.queries)):>8} "
            f"{fmt_ratio(ratio(b.peak, v.peak)):>7}"
        )
    runs = "; ".join(
        f"{kind} " + ", ".join(f"{results[kind, n].runs}" for n in sizes)
        for kind in (VOX, BUILTIN)
    )
    print(
        f"  time: best of the timed runs ({runs}); queries: in that run;\n"
        "  peak mem: tracemalloc peak of one more run (not timed)."
    )


def report_reads(results: dict[int, list[Read]], problem: str | None) -> None:
    print()
    print(
        "READ an inbox, as its logged-in owner, through django.test.Client "
        f"(best of {READ_REPEATS}, in turns, after a warm-up)"
    )
    print(
        "  vox_activity: GET /~<owner>/inbox[?page=true | ?max_id=N], "
        "Accept: application/activity+json"
    )
    print("  built-in:     GET /builtin/~<owner>/inbox (django_vox.views.inbox ->")
    print("                inbox_get: the newest INBOX_LIMIT=500 items, unpaged)")
    header = (
        f"{'inbox items':>11} | {'request':<40} {'items':>5} {'time':>9} "
        f"{'queries':>7} {'peak mem':>9} | {'built-in time / this':>20}"
    )
    print(header)
    print("-" * len(header))
    for size, reads in results.items():
        builtin = reads[-1].measure.seconds
        for read in reads:
            m = read.measure
            items = str(read.items) if read.items else "-"
            print(
                f"{size:>11,} | {read.label:<40} {items:>5} {fmt_time(m.seconds):>9} "
                f"{m.queries:>7,} {fmt_mem(m.peak):>9} | "
                f"{fmt_ratio(ratio(builtin, m.seconds)):>20}"
            )
    if problem:
        print(
            "  NOTE: the built-in inbox view cannot serialise the activities its own\n"
            f"  backend stored for the testsite's articles ({problem});\n"
            "  its inboxes here hold copies without camelCase keys "
            "(see builtin_readable)."
        )


def verdict(
    issues: dict[tuple[str, int], Measure],
    reads: dict[int, list[Read]],
    issue_sizes,
    inbox_sizes,
) -> None:
    print()
    print("VERDICT against the issue's targets (reported, never enforced)")

    def line(ok: bool | None, text: str) -> None:
        mark = {True: "MET ", False: "MISS", None: "n/a "}[ok]
        print(f"  [{mark}] {text}")

    big = max(issue_sizes)
    speedup = ratio(issues[BUILTIN, big].seconds, issues[VOX, big].seconds)
    if big >= 10_000:
        line(
            speedup >= TARGET_SPEEDUP_AT_10K,
            f"issue to 10,000 recipients: vox_activity {fmt_ratio(speedup)} faster "
            f"than built-in (target >= {TARGET_SPEEDUP_AT_10K:.0f}x)",
        )
    else:
        line(None, f"issue to 10,000 not run (--quick); at {big:,}: {speedup:.1f}x")

    small = min(issue_sizes)
    per = {n: issues[VOX, n].seconds / n for n in issue_sizes}
    growth = per[big] / per[small]
    marginal = ""
    if len(issue_sizes) >= 2:
        previous = sorted(issue_sizes)[-2]
        extra = issues[VOX, big].seconds - issues[VOX, previous].seconds
        marginal = (
            f"; marginal cost {previous:,}->{big:,}: "
            f"{fmt_time(extra / (big - previous))} per recipient"
        )
    text = (
        f"vox_activity time per recipient, {big:,} vs {small:,}: "
        f"{fmt_time(per[big])} / {fmt_time(per[small])} = {growth:.2f} "
        f"(flat: target <= {TARGET_FLAT_PER_RECIPIENT}){marginal}"
    )
    line(growth <= TARGET_FLAT_PER_RECIPIENT if big >= 10_000 else None, text)
    b_growth = (issues[BUILTIN, big].seconds / big) / (
        issues[BUILTIN, small].seconds / small
    )
    print(f"         (built-in, same measure: {b_growth:.2f})")

    def slowest_page(size: int) -> float:
        return max(r.measure.seconds for r in reads[size][:2])

    if 100_000 in reads:
        page = slowest_page(100_000)
        builtin = reads[100_000][-1].measure.seconds
        read_speedup = ratio(builtin, page)
        line(
            read_speedup >= TARGET_READ_SPEEDUP_AT_100K,
            f"inbox of 100,000: slower vox_activity page {fmt_time(page)} vs built-in "
            f"read {fmt_time(builtin)} = {fmt_ratio(read_speedup)} faster "
            f"(target >= {TARGET_READ_SPEEDUP_AT_100K:.0f}x)",
        )
        if 10_000 in reads:
            page_growth = page / slowest_page(10_000)
            line(
                page_growth <= TARGET_PAGE_GROWTH,
                f"slower page at 100,000 vs at 10,000: {page_growth:.2f} "
                f"(no slower: target <= {TARGET_PAGE_GROWTH}, timing-noise allowance)",
            )
    else:
        size = max(reads)
        read_speedup = ratio(reads[size][-1].measure.seconds, slowest_page(size))
        line(None, f"inbox of 100,000 not run (--quick); at {size:,}: "
             f"{fmt_ratio(read_speedup)} faster than built-in")  # fmt: skip


def environment_line(db_path: Path) -> str:
    import sqlite3

    import django

    return (
        f"Python {platform.python_version()}, Django {django.get_version()}, "
        f"SQLite {sqlite3.sqlite_version} (file {db_path}), {platform.machine()}"
    )


# --- main ---------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="stop at 1,000 recipients and 10,000-item inboxes (development)",
    )
    parser.add_argument(
        "--keep-db", action="store_true", help="keep the temporary SQLite file"
    )
    options = parser.parse_args(argv)
    issue_sizes = QUICK_ISSUE_SIZES if options.quick else ISSUE_SIZES
    inbox_sizes = QUICK_INBOX_SIZES if options.quick else INBOX_SIZES

    workdir = Path(tempfile.mkdtemp(prefix="vox-bench-"))
    db_path = workdir / "bench.sqlite3"
    started = time.perf_counter()
    try:
        setup_django(db_path)
        from django.core.management import call_command

        progress(f"migrate {db_path}")
        call_command("migrate", verbosity=0)
        progress("create users, subscriptions, articles and the activity template")
        world = build_world(issue_sizes, inbox_sizes)
        check_contacts_resolve(world)
        issues = bench_issues(world, issue_sizes)
        with backend(BUILTIN):
            read_problem = builtin_read_problem()
        reads = bench_reads(world, inbox_sizes)
    except BenchError as exc:
        print(f"\nbench: CORRECTNESS CHECK FAILED: {exc}", file=sys.stderr)
        return 1
    finally:
        if options.keep_db:
            progress(f"kept {db_path}")
        else:
            from django.db import connections

            connections.close_all()
            shutil.rmtree(workdir, ignore_errors=True)

    print()
    print(environment_line(db_path))
    print()
    report_issues(issues, issue_sizes)
    report_reads(reads, read_problem)
    verdict(issues, reads, issue_sizes, inbox_sizes)
    print()
    total = time.perf_counter() - started
    quick = " (--quick)" if options.quick else ""
    print(f"All correctness checks passed. Total run {total:.0f} s{quick}.")
    return 0


if __name__ == "__main__":
    ensure_project_python()
    sys.exit(main())
