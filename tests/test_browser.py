"""The demo in a real browser: Chromium, driven by Selenium, on both instances.

The two instances of ``testsite/demo.py`` run as in ``test_e2e.py`` (real
processes, free ports), and the demo's scenario plays first: bob@beta follows
alice@alpha, alice publishes, bob likes, alice edits, comments, deletes the
comment.  Then hostile HTML arrives from elsewhere: alice publishes an article
carrying a ``<script>`` and an ``onerror=`` handler (delivered to beta, signed
by alpha), and "mallory", an actor on a fake server of this test, replies to
alice's article on alpha and writes to bob on beta, with the same payload, in
signed POSTs.  Headless Chromium then checks what a person sees: the follower
on alice's page, the like count, alice's article in bob's reader on beta after
logging in through the site's login page, the unread counter following "mark
read", every link of those pages leading to an HTML page (never JSON, never a
debug page), and no received script running.

Chromium and chromedriver are Debian's (``/usr/bin/chromium``,
``/usr/bin/chromedriver``, installed by ``.ci/run``); Selenium Manager never
runs.  Without them the tests are skipped, except under CI (``CI=true``),
where they fail.  On a failure, screenshots and page sources are saved to a
directory named in the failure.  ``VOX_SCREENSHOTS=dir`` saves a screenshot of
every page the tests visit there (for documentation).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
import urllib.parse
from contextlib import contextmanager
from pathlib import Path

import pytest

from testsite.cluster import Browser, Cluster, Databases, Instance, free_port, poll
from testsite.scenario import Scenario
from vox_activity.protocol.cavage import (
    generate_private_key_pem,
    public_key_pem,
    sign_request,
)

from .fediverse import RemoteServer, Reply

pytestmark = pytest.mark.e2e

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
#: Headless, and nothing that reaches out on its own (updates, sync, QUIC).
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,1000",
)
TIMEOUT = 30
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
#: Received HTML that runs code unless it is sanitised: a script, an event
#: handler on an image that fails to load, and an SVG onload.
PAYLOAD = (
    "<p>Harmless words stay.</p>"
    "<script>window.__xss = 'script'</script>"
    '<img src="/no-such-image.png" onerror="window.__xss = \'onerror\'">'
    "<svg onload=\"window.__xss = 'svg'\"></svg>"
)
#: What marks Django's debug pages (DEBUG must be off in the demo).
DEBUG_MARKERS = (
    "You're seeing this error because you have",
    "Traceback (most recent call last)",
    "Using the URLconf defined in",
)


def on_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def missing_browser() -> str | None:
    """Why the browser tests cannot run here, or None."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            return (
                f"{path} is missing: install Debian's chromium and chromium-driver "
                "(apt-get install chromium chromium-driver; .ci/run does)"
            )
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (requirements/test.in)"
    return None


def require_browser() -> None:
    """Skip without a browser; under CI, fail instead (nothing may hide)."""
    reason = missing_browser()
    if reason is not None:
        if on_ci():
            pytest.fail(f"CI must run the browser tests: {reason}")
        pytest.skip(reason)


@pytest.fixture(scope="module")
def chromium_ready():
    require_browser()


# --- the two instances, the scenario, the hostile HTML -----------------------


@pytest.fixture(scope="module")
def cluster(chromium_ready, tmp_path_factory):
    directory = tmp_path_factory.mktemp("browser")
    dbs = Databases(
        ["alpha", "beta"],
        directory,
        base_url=os.environ.get("DATABASE_URL"),
        suffix="browser",
    )
    dbs.create(fresh=True)
    instances = [
        Instance(name, free_port(), dbs.urls[name], directory, sys.executable)
        for name in dbs.names
    ]
    alpha, beta = instances
    beta.extra_env["TESTSITE_FOLLOW_HINT"] = f"alice@{alpha.domain}"
    try:
        with Cluster(instances) as running:
            running.set_up()
            running.start()
            yield running
    finally:
        dbs.drop()


@pytest.fixture(scope="module")
def mallory():
    """An actor on a fake server, whose key this test holds."""
    server = RemoteServer(None, {})  # serves documents; checks nothing
    private = generate_private_key_pem()
    iri = server.iri("mallory")
    server.add_actor(
        "mallory",
        url=server.url("/@mallory"),
        icon={"type": "Image", "url": server.url("/avatar.svg")},
        publicKey={
            "id": f"{iri}#main-key",
            "owner": iri,
            "publicKeyPem": public_key_pem(private),
        },
    )
    server.actors["mallory"]["name"] = "Mallory <b>the Bold</b>"
    server.routes["/@mallory"] = Reply(
        200,
        {"Content-Type": "text/html; charset=utf-8"},
        b"<!doctype html><title>Mallory</title><h1>Mallory's profile</h1>",
    )
    for name in ("reply", "note"):  # what a browser gets at the notes' IRIs
        server.routes[f"/notes/{name}"] = Reply(
            200,
            {"Content-Type": "text/html; charset=utf-8"},
            b"<!doctype html><title>A note</title><p>Mallory's note</p>",
        )
    server.routes["/avatar.svg"] = Reply(
        200,
        {"Content-Type": "image/svg+xml"},
        b'<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64">'
        b'<circle cx="32" cy="32" r="32" fill="#b33"/></svg>',
    )
    server.private_key = private
    yield server
    server.close()


def post_as(server: RemoteServer, inbox: str, activity: dict) -> int:
    """A signed POST of ``activity`` by mallory: the HTTP status."""
    body = json.dumps(activity).encode()
    headers = sign_request(
        "POST",
        inbox,
        {"Content-Type": "application/activity+json"},
        body,
        key_id=f"{server.iri('mallory')}#main-key",
        private_key_pem=server.private_key,
    )
    reply = Browser(inbox).request("POST", inbox, data=body, headers=headers)
    return reply.status


@pytest.fixture(scope="module")
def demo(cluster, mallory):
    """The scenario, then hostile HTML from alpha and from mallory."""
    alpha, beta = cluster["alpha"], cluster["beta"]
    narration: list[str] = []
    scenario = Scenario(alpha, beta, say=narration.append, timeout=TIMEOUT)
    assert scenario.run(), "\n".join(narration) + cluster.logs()
    facts = dict(scenario.facts)
    facts["title"] = f"News from alpha ({scenario.stamp})"

    # alice publishes hostile HTML; beta receives it, signed by alpha.
    hostile = alpha.manage_json(
        "blog_publish",
        "--author=alice",
        "--title=Markup from alpha",
        f"--body={PAYLOAD}",
        "--slug=markup-from-alpha",
    )
    facts["hostile"] = hostile

    # mallory replies to alice's article, and writes to bob.
    mallory_iri = mallory.iri("mallory")
    for name, inbox, extra in (
        (
            "reply",
            alpha.url("/activitypub/inbox"),
            {"inReplyTo": facts["article"], "cc": [alpha.actor("alice")]},
        ),
        ("note", beta.url("/activitypub/inbox"), {"cc": [beta.actor("bob")]}),
    ):
        note = {
            "id": mallory.url(f"/notes/{name}"),
            "type": "Note",
            "attributedTo": mallory_iri,
            "content": PAYLOAD,
            "to": [PUBLIC],
            **extra,
        }
        create = {
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": mallory.url(f"/activities/{name}"),
            "type": "Create",
            "actor": mallory_iri,
            "object": note,
            "to": [PUBLIC],
            "cc": extra["cc"],
        }
        status = post_as(mallory, inbox, create)
        assert status == 202, (name, status, cluster.logs())
        facts[name] = note["id"]

    def arrived():
        objects = {o["iri"] for o in beta.state()["objects"]}
        return hostile["object"] in objects and facts["note"] in objects

    assert poll(arrived, TIMEOUT)[0], cluster.logs()
    return facts


# --- the browser -------------------------------------------------------------


class Chromium:
    """A headless Chromium with a fresh profile, and page helpers."""

    def __init__(self, screenshots: Path, gallery: Path | None) -> None:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        self.profile = tempfile.mkdtemp(prefix="vox-chromium-")
        options = webdriver.ChromeOptions()
        options.binary_location = str(CHROMIUM)
        for flag in CHROMIUM_FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={self.profile}")
        # An explicit driver path: Selenium Manager never runs (nor downloads).
        service = Service(executable_path=str(CHROMEDRIVER))
        self.driver = webdriver.Chrome(options=options, service=service)
        self.driver.set_page_load_timeout(TIMEOUT)
        self.screenshots = screenshots
        self.gallery = gallery

    def quit(self) -> None:
        self.driver.quit()
        shutil.rmtree(self.profile, ignore_errors=True)

    def open(self, url: str, shot: str = "") -> None:
        self.driver.get(url)
        if shot and self.gallery is not None:
            self.save(self.gallery / f"{shot}.png", full_page=True)

    def js(self, script: str, *args):
        return self.driver.execute_script(script, *args)

    @property
    def text(self) -> str:
        return self.driver.find_element("tag name", "body").text

    def status(self) -> int:
        """The HTTP status of the page shown (after redirects)."""
        return self.js(
            "return performance.getEntriesByType('navigation')[0].responseStatus"
        )

    def save(self, path: Path, full_page: bool = False) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        size = self.driver.get_window_size()
        if full_page:
            height = self.js("return document.documentElement.scrollHeight")
            self.driver.set_window_size(size["width"], max(height, 600))
        try:
            self.driver.save_screenshot(str(path))
        finally:
            if full_page:
                self.driver.set_window_size(size["width"], size["height"])

    def log_in(self, origin: str, username: str, next_path: str) -> None:
        """Through the blog's login page, typing like a person."""
        query = urllib.parse.urlencode({"next": next_path})
        self.open(f"{origin}/accounts/login/?{query}")
        self.driver.find_element("id", "id_username").send_keys(username)
        self.driver.find_element("id", "id_password").send_keys(username)
        self.driver.find_element("css selector", "form button[type=submit]").click()
        self.wait(lambda: self.driver.current_url == origin + next_path)

    def wait(self, condition, timeout: float = TIMEOUT):
        """Until ``condition()`` holds, retrying while a page loads.

        A form that submits replaces the page: an element read by the
        condition may go stale midway (Chromium says so), which only means
        "not yet".
        """
        from selenium.common.exceptions import (
            StaleElementReferenceException,
            WebDriverException,
        )
        from selenium.webdriver.support.ui import WebDriverWait

        def holds(_driver) -> bool:
            try:
                return condition()
            except WebDriverException as exc:  # the same, worded by the inspector
                if "does not belong to the document" in str(exc):
                    return False
                raise

        waiting = WebDriverWait(
            self.driver, timeout, ignored_exceptions=[StaleElementReferenceException]
        )
        return waiting.until(holds)

    def links(self) -> list[str]:
        hrefs = self.js("return [...document.links].map((a) => a.href)")
        return [href.partition("#")[0] for href in hrefs]

    @contextmanager
    def explained(self, name: str):
        """On failure: a screenshot and the page's source, where it says."""
        try:
            yield
        except Exception as exc:
            stamp = time.strftime("%H%M%S")
            shot = self.screenshots / f"{name}-{stamp}.png"
            try:
                self.save(shot, full_page=True)
                shot.with_suffix(".html").write_text(self.driver.page_source)
                where = f"screenshot and page source in {self.screenshots}"
            except Exception as problem:  # the browser itself may be gone
                where = f"no screenshot ({problem})"
            raise AssertionError(
                f"{exc}\n(page {self.driver.current_url}; {where})"
            ) from exc


@pytest.fixture(scope="module")
def chromium(chromium_ready, tmp_path_factory):
    screenshots = tmp_path_factory.mktemp("browser-screenshots")
    gallery = os.environ.get("VOX_SCREENSHOTS")
    browser = Chromium(screenshots, Path(gallery) if gallery else None)
    yield browser
    browser.quit()


@pytest.fixture(scope="module")
def bob_on_beta(chromium, cluster, demo):
    """bob, logged in on beta through its login page."""
    beta = cluster["beta"]
    with chromium.explained("bob-logs-in"):
        chromium.log_in(beta.origin, "bob", "/reader/")
    return chromium


# --- the tests ---------------------------------------------------------------


def test_the_follower_shows_on_alice_page(chromium, cluster, demo):
    alpha, beta = cluster["alpha"], cluster["beta"]
    with chromium.explained("alice-page"):
        chromium.open(alpha.actor("alice"), shot="alpha-alice")
        followers = chromium.driver.find_element("id", "followers")
        people = followers.find_element("xpath", "following-sibling::ul").text
        assert f"@bob@{beta.domain}" in people
        assert "Bob Kahn" in people
        count = chromium.driver.find_element("css selector", "[data-follower-count]")
        assert count.text == "1"
        # bob's avatar-less entry links to his page on beta.
        link = chromium.driver.find_element("link text", "Bob Kahn")
        assert link.get_attribute("href") == beta.actor("bob")


def test_the_like_counts_on_the_article(chromium, cluster, demo):
    with chromium.explained("article-likes"):
        chromium.open(demo["article"], shot="alpha-article")
        likes = chromium.driver.find_element("css selector", "[data-like-count]")
        assert likes.text == "1"
        assert "Liked by" in chromium.text and "Bob Kahn" in chromium.text
        # mallory's reply is there, sanitised: its words, not its markup.
        assert "Harmless words stay." in chromium.text
        assert "Mallory <b>the Bold</b>" in chromium.text  # a name is plain text


def test_bob_reads_alice_article_on_beta(bob_on_beta, cluster, demo):
    chromium, beta = bob_on_beta, cluster["beta"]
    with chromium.explained("bob-reader"):
        chromium.open(beta.url("/reader/"), shot="beta-reader")
        text = chromium.text
        assert "News from alpha" in text
        assert "Written on alpha, read on beta. (Edited " in text  # the edit
        entry = chromium.driver.find_element(
            "xpath", "//article[.//h2[contains(., 'News from alpha')]]"
        )
        assert "edited" in entry.text
        assert "@alice@" in entry.text
        assert "Harmless words stay." in text  # alice's hostile article, sanitised
        # alice's profile edit (scenario step 9) is not a post to read.
        titles = [h.text for h in chromium.driver.find_elements("css selector", "h2")]
        assert not [t for t in titles if t.startswith("Alice of Alpha")], titles


def test_beta_home_says_how_to_follow_alice(chromium, cluster, demo):
    alpha, beta = cluster["alpha"], cluster["beta"]
    with chromium.explained("homes"):
        chromium.open(beta.url("/"), shot="beta-home")
        assert f"alice@{alpha.domain}" in chromium.text
        assert "reader" in chromium.text.lower()
        chromium.open(alpha.url("/"), shot="alpha-home")
        assert "News from alpha" in chromium.text
        assert "Alice of Alpha" in chromium.text  # renamed by the scenario, step 9


def test_mark_read_updates_the_counter(bob_on_beta, cluster, demo):
    chromium, beta = bob_on_beta, cluster["beta"]
    driver = chromium.driver

    def counters() -> list[int]:
        found = driver.find_elements("css selector", "[data-unread-count]")
        return [int(element.text) for element in found]

    with chromium.explained("mark-read"):
        chromium.open(beta.url("/inbox/"), shot="beta-inbox")
        before = counters()
        assert len(before) == 2 and before[0] == before[1] and before[0] >= 5
        titles = [h.text for h in driver.find_elements("css selector", ".card h2")]
        assert f"@alice@{cluster['alpha'].domain} accepted your follow" in titles
        assert any(t.startswith("@alice@") and "published" in t for t in titles)
        alpha = cluster["alpha"].domain
        assert f"@alice@{alpha} updated their profile" in titles  # step 9
        driver.find_element("css selector", "button.mark-read").click()
        chromium.wait(lambda: counters() == [before[0] - 1] * 2)
        chromium.open(beta.url("/inbox/"))
        assert counters() == [before[0] - 1] * 2  # stored, not just shown
        driver.find_element("id", "mark-all-read").click()
        chromium.wait(lambda: "read" in chromium.text and counters() == [0, 0])
        assert not driver.find_elements("css selector", "button.mark-read")


def test_alice_inbox_titles(chromium, cluster, demo, mallory):
    alpha, beta = cluster["alpha"], cluster["beta"]
    with chromium.explained("alice-inbox"):
        chromium.log_in(alpha.origin, "alice", "/inbox/")
        chromium.open(alpha.url("/inbox/"), shot="alpha-inbox")
        titles = [
            h.text for h in chromium.driver.find_elements("css selector", ".card h2")
        ]
        bob = f"@bob@{beta.domain}"
        article = f"your article \u2018{demo['title']}\u2019"
        assert titles == [
            f"@mallory@{mallory.domain} replied to {article}",
            f"{bob} liked {article}",
            f"{bob} follows you",
        ]


def pages_to_crawl(cluster, demo) -> list[str]:
    alpha, beta = cluster["alpha"], cluster["beta"]
    return [
        alpha.url("/"),
        alpha.actor("alice"),
        alpha.url("/~alice/followers"),
        demo["article"],
        alpha.url("/inbox/"),
        beta.url("/"),
        beta.url("/reader/"),
        beta.url("/inbox/"),
        beta.actor("bob"),
        beta.url("/~bob/following"),
    ]


def test_every_link_leads_to_an_html_page(bob_on_beta, cluster, demo, mallory):
    """Crawl the links of the main pages (both instances, logged in)."""
    chromium = bob_on_beta
    ours = {"127.0.0.1"}  # both instances, and mallory's profile page
    links: dict[str, str] = {}
    with chromium.explained("crawl"):
        for page in pages_to_crawl(cluster, demo):
            chromium.open(page)
            assert chromium.status() == 200, page
            for link in chromium.links():
                if urllib.parse.urlsplit(link).hostname in ours:
                    links.setdefault(link, page)
        # Endpoints a person may type or follow from elsewhere, too.
        alpha, beta = cluster["alpha"], cluster["beta"]
        for extra in (
            beta.url("/~bob/inbox?page=true"),
            alpha.url("/~alice/outbox"),
            alpha.url("/~alice/following"),
            alpha.url("/activitypub/inbox"),
            alpha.url("/no/such/page/"),
        ):
            links.setdefault(extra, "(typed)")
        assert len(links) > 20
        problems = []
        for link, found_on in sorted(links.items()):
            chromium.open(link)
            kind = chromium.js("return document.contentType")
            status = chromium.status()
            source = chromium.driver.page_source
            expected = (404,) if link.endswith("/no/such/page/") else (200,)
            if link.endswith("/activitypub/inbox"):
                expected = (405,)
            if kind != "text/html" or status not in expected:
                problems.append(f"{link} (on {found_on}): {status} {kind}")
            if any(marker in source for marker in DEBUG_MARKERS):
                problems.append(f"{link} (on {found_on}): a debug page")
        assert problems == []


def test_received_scripts_do_not_run(bob_on_beta, cluster, demo):
    chromium, alpha, beta = bob_on_beta, cluster["alpha"], cluster["beta"]
    driver = chromium.driver
    with chromium.explained("xss-control"):
        # The control: the same payload, unsanitised, does run in this browser.
        chromium.open("data:text/html," + urllib.parse.quote(PAYLOAD))
        chromium.wait(lambda: chromium.js("return window.__xss") is not None)
    pages = [
        beta.url("/reader/"),  # alice's hostile article, received by beta
        beta.url("/inbox/"),  # mallory's note to bob, and alice's article
        alpha.url("/articles/markup-from-alpha/"),  # the local original
        demo["article"],  # mallory's reply, received by alpha
    ]
    for page in pages:
        with chromium.explained("xss"):
            chromium.open(page)
            # Give an image error or a late handler time to fire.
            chromium.wait(
                lambda: chromium.js("return document.readyState") == "complete"
            )
            time.sleep(0.5)
            assert "Harmless words stay." in chromium.text, page
            assert chromium.js("return typeof window.__xss") == "undefined", page
            found = chromium.js(
                "return document.querySelectorAll("
                "'.received script, [onerror], [onload], svg').length"
            )
            assert found == 0, page
            from selenium.common.exceptions import NoAlertPresentException

            with pytest.raises(NoAlertPresentException):
                driver.switch_to.alert  # noqa: B018 - raises when there is none


ADMIN_LISTS = (
    "activity", "inboxitem", "delivery", "domainhealth", "remoteactor",
    "actorkey", "report", "follow", "storedobject", "domainblock", "block",
)  # fmt: skip


def test_admin_lists_fit_a_1280_pixel_window(chromium, cluster, demo):
    """Every vox_activity changelist, with the demo's rows, fits 1280 px wide
    (no column cut off, no sideways scrolling)."""
    alpha = cluster["alpha"]
    with chromium.explained("admin-login"):
        chromium.open(f"{alpha.origin}/admin/login/?next=/admin/")
        chromium.driver.find_element("id", "id_username").send_keys("admin")
        chromium.driver.find_element("id", "id_password").send_keys("admin")
        chromium.driver.find_element("css selector", "input[type=submit]").click()
        chromium.wait(lambda: chromium.driver.current_url.endswith("/admin/"))
    assert chromium.js("return window.innerWidth") <= 1280
    for name in ADMIN_LISTS:
        url = f"{alpha.origin}/admin/vox_activity/{name}/"
        with chromium.explained(f"admin-{name}"):
            chromium.open(url, shot=f"alpha-admin-{name}")
            assert chromium.status() == 200, url
            # The page, and the list (Django scrolls a wide list inside it).
            overflow = chromium.js(
                "return [document.documentElement,"
                " ...document.querySelectorAll('#changelist .results')]"
                ".map((e) => e.scrollWidth - e.clientWidth)"
            )
            assert max(overflow) <= 0, f"{url} is {max(overflow)} px too wide"


def test_without_chromium_skip_here_but_fail_on_ci(monkeypatch, tmp_path):
    monkeypatch.setattr(sys.modules[__name__], "CHROMIUM", tmp_path / "chromium")
    assert "chromium is missing" in missing_browser()
    monkeypatch.setenv("CI", "")
    with pytest.raises(pytest.skip.Exception, match="apt-get install chromium"):
        require_browser()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI must run the browser tests"):
        require_browser()
