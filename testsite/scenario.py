"""The two-instance scenario: bob@beta follows alice@alpha, and they federate.

Run by ``demo.py`` (narrated) and by ``tests/test_e2e.py`` (asserted), over
real HTTP between two running instances (see :mod:`testsite.cluster`):

1. bob@beta finds alice@alpha with WebFinger;
2. bob follows her: a client-to-server Follow (``acct:`` address) posted to
   his outbox on beta;
3. alpha accepts at once: beta's Follow row becomes accepted;
4. alice publishes an article on alpha: the Create lands in bob's inbox;
5. bob likes it (C2S Like of the remote article): it lands in alice's inbox;
6. alice edits it: the Update reaches beta, whose stored copy changes;
7. alice comments: the Create of the Note reaches bob's inbox;
8. alice deletes the comment: its IRI answers 410 Gone with a Tombstone on
   alpha, and beta's stored copy becomes a Tombstone;
9. alice changes her name: the Update of her profile reaches beta, whose
   copy of her actor has the new name.

Along the way it shows what strict peers rely on: the article carries its
own audience (``to``/``cc``, as Mastodon and Fedify read it from the object),
its edit carries ``updated``, every activity an integrity proof, and both
instances sign with RFC 9421 and are answered on the first knock (each
remembers that the other accepts it).

Each step prints the HTTP exchanges that matter (and, for deliveries, the
Delivery rows and the signature's keyId as the receiver verified it), waits
for its outcome by polling (never by sleeping blindly), and ends with one
``[PASS]`` or ``[FAIL]`` line.  The scenario stops at the first failure,
since every step builds on the ones before.
"""

from __future__ import annotations

import concurrent.futures
import json
import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .cluster import Browser, Instance, Reply, poll

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
JRD_JSON = "application/jrd+json"


class StepFailed(Exception):
    """A step's check failed; the message says what was expected."""


@dataclass
class StepResult:
    number: int
    title: str
    ok: bool
    detail: str
    seconds: float


@dataclass
class Scenario:
    alpha: Instance
    beta: Instance
    say: Callable[[str], None] = print
    timeout: float = 20.0
    interval: float = 0.2
    results: list[StepResult] = field(default_factory=list)
    #: What the steps produced: IRIs of the article, the comment, activities.
    facts: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.bob = Browser(self.beta.origin)  # bob, logged in on beta
        self.alice = Browser(self.alpha.origin)  # alice, logged in on alpha
        self.anonymous = Browser(self.alpha.origin)
        self.alice_iri = self.alpha.actor("alice")
        self.bob_iri = self.beta.actor("bob")
        self.stamp = time.strftime("%Y%m%d-%H%M%S")

    # --- running ---

    @property
    def passed(self) -> bool:
        return bool(self.results) and all(r.ok for r in self.results)

    def steps(self) -> list[tuple[str, Callable[[], str]]]:
        return [
            ("bob@beta finds alice@alpha with WebFinger", self.webfinger),
            ("bob follows alice (C2S Follow to his outbox on beta)", self.follow),
            ("alpha accepts: beta's follow is accepted", self.accepted),
            ("alice publishes an article: the Create reaches bob", self.publish),
            ("bob likes the article: the Like reaches alice", self.like),
            ("alice edits the article: beta's copy is updated", self.update),
            ("alice comments: the Note reaches bob", self.comment),
            ("alice deletes the comment: 410 Gone, beta's copy deleted", self.delete),
            ("alice renames herself: her profile Update reaches beta", self.rename),
        ]

    def run(self, only: int | None = None) -> bool:
        """Run every step (or the first ``only``); stop at the first failure."""
        steps = self.steps()[:only]
        for number, (title, step) in enumerate(steps, 1):
            if not self.step(number, title, step):
                left = len(steps) - number
                if left:
                    self.say(f"    (the {left} later step(s) depend on this one)")
                break
        return self.passed

    def step(self, number: int, title: str, func: Callable[[], str]) -> bool:
        self.say(f"\n--- {number}. {title}")
        start = time.monotonic()
        try:
            detail, ok = func(), True
        except StepFailed as exc:
            detail, ok = str(exc), False
        seconds = time.monotonic() - start
        self.results.append(StepResult(number, title, ok, detail, seconds))
        self.say(f"[{'PASS' if ok else 'FAIL'}] {number}. {detail} ({seconds:.1f} s)")
        return ok

    # --- helpers ---

    def show(self, reply: Reply, note: str = "") -> Reply:
        self.say(f"    {reply}" + (f"  ({note})" if note else ""))
        return reply

    def expect(self, reply: Reply, status: int, note: str = "") -> Reply:
        self.show(reply, note if reply.status == status else "")
        if reply.status != status:
            raise StepFailed(
                f"{reply.method} {reply.url} answered {reply.status}, not {status}: "
                f"{reply.body[:300].decode(errors='replace')}"
            )
        return reply

    def wait(self, what: str, condition: Callable[[], Any]) -> Any:
        value, seconds = poll(condition, self.timeout, self.interval)
        if not value:
            raise StepFailed(f"{what}: not after {self.timeout:.0f} s")
        self.say(f"    {what} (after {seconds:.1f} s)")
        return value

    def on_alpha(self, *args: str) -> dict:
        """Run a blog_* command on alpha (what alice does on her site)."""
        self.say(f"    alpha$ manage.py {shlex.join(args)}")
        result = self.alpha.manage_json(*args)
        self.say(f"      -> {result['type']} {result['activity']}")
        self.say(f"         of {result['object']}")
        return result

    def log_in(self, browser: Browser, instance: Instance, username: str) -> None:
        if browser.cookie("sessionid"):
            return
        reply = browser.login(username, username)
        location = reply.headers.get("location", "")
        self.show(reply, f"{username} logs in on {instance.name}")
        if reply.status != 302 or location != "/inbox/":
            raise StepFailed(f"{username} could not log in on {instance.name}")

    def inbox_ids(self, browser: Browser, instance: Instance, user: str) -> list:
        items = browser.collection_items(instance.url(f"/~{user}/inbox"))
        return [item.get("id") for item in items if isinstance(item, dict)]

    def wait_in_inbox(
        self, browser: Browser, instance: Instance, user: str, iri: str, kind: str
    ) -> None:
        self.wait(
            f"{kind} is in {user}'s inbox on {instance.name} "
            f"(GET {instance.url(f'/~{user}/inbox?page=true')}, as {user})",
            lambda: iri in self.inbox_ids(browser, instance, user),
        )

    def states(self) -> dict[str, dict]:
        """Both instances' ``demo_state``, read side by side."""
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            futures = {i.name: pool.submit(i.state) for i in (self.alpha, self.beta)}
            return {name: future.result() for name, future in futures.items()}

    def show_delivery(
        self, states: dict, sender: Instance, receiver: Instance, activity_iri: str
    ) -> None:
        """Print the Delivery row(s) of ``activity_iri`` and how it was received.

        Fails the step unless it was delivered, received exactly once, and
        verified with its actor's key.
        """
        delivery_rows = [
            d
            for d in states[sender.name]["deliveries"]
            if d["activity"] == activity_iri
        ]
        received = [
            a for a in states[receiver.name]["activities"] if a["iri"] == activity_iri
        ]
        if not delivery_rows:
            raise StepFailed(f"{sender.name} has no Delivery row for {activity_iri}")
        for row in delivery_rows:
            self.say(
                f"    {sender.name} delivered {row['type']}: POST {row['inbox']} -> "
                f"{row['last_status']} ({row['state']}, attempts: {row['attempts']})"
            )
        if len(received) != 1:
            raise StepFailed(f"{receiver.name} stored {activity_iri} {len(received)}x")
        key_id = received[0]["key_id"]
        self.say(f"    {receiver.name} verified its signature, keyId={key_id}")
        if any(row["state"] != "delivered" for row in delivery_rows):
            raise StepFailed(f"a delivery of {activity_iri} is not delivered")
        if key_id != f"{received[0]['actor']}#main-key":
            raise StepFailed(f"unexpected keyId {key_id}")

    @staticmethod
    def stored_object(state: dict, iri: str) -> dict | None:
        found = [o for o in state["objects"] if o["iri"] == iri]
        return found[0] if found else None

    # --- the steps ---

    def webfinger(self) -> str:
        resource = f"acct:alice@{self.alpha.domain}"
        reply = self.anonymous.get(
            f"/.well-known/webfinger?resource={resource}", accept=JRD_JSON
        )
        self.expect(reply, 200, reply.content_type)
        links = [
            link for link in reply.json().get("links", []) if link.get("rel") == "self"
        ]
        if not links or links[0].get("href") != self.alice_iri:
            raise StepFailed(f"no self link to {self.alice_iri}: {reply.json()}")
        self.say(f"    {resource} is {self.alice_iri}")
        actor = self.expect(self.anonymous.get(self.alice_iri), 200, "actor document")
        data = actor.json()
        self.say(f"    inbox {data['inbox']}, key {data['publicKey']['id']}")
        return f"{resource} -> {self.alice_iri}"

    def follow(self) -> str:
        self.log_in(self.bob, self.beta, "bob")
        activity = {"type": "Follow", "object": f"acct:alice@{self.alpha.domain}"}
        self.say("    as application/activity+json, with the X-CSRFToken header:")
        self.say(f"    body: {json.dumps(activity)}")
        reply = self.bob.post_activity(self.beta.url("/~bob/outbox"), activity)
        location = reply.headers.get("location", "")
        self.expect(reply, 201, f"Location {location}")
        self.facts["follow"] = location
        return f"bob's Follow is {location}"

    def accepted(self) -> str:
        following = self.beta.url("/~bob/following")
        self.wait(
            f"alice is in bob's following on beta (GET {following}?page=true)",
            lambda: self.alice_iri in self.bob.collection_items(following),
        )
        states = self.states()
        follows = [
            f
            for f in states["beta"]["follows"]
            if f["actor"] == self.bob_iri and f["object"] == self.alice_iri
        ]
        if [f["state"] for f in follows] != ["accepted"]:
            raise StepFailed(f"beta's follow rows: {follows}")
        self.show_delivery(states, self.beta, self.alpha, self.facts["follow"])
        accepts = [
            a
            for a in states["alpha"]["activities"]
            if a["type"] == "Accept" and a["local"]
        ]
        if not accepts:
            raise StepFailed("alpha has no Accept activity")
        self.facts["accept"] = accepts[-1]["iri"]
        self.show_delivery(states, self.alpha, self.beta, self.facts["accept"])
        followers = self.alpha.url("/~alice/followers")
        if self.bob_iri not in self.anonymous.collection_items(followers):
            raise StepFailed(f"bob is not in {followers}")
        self.say(f"    bob is in alice's followers on alpha ({followers})")
        return "beta's Follow bob -> alice is accepted"

    def publish(self) -> str:
        slug = f"news-{self.stamp}"
        result = self.on_alpha(
            "blog_publish",
            "--author=alice",
            f"--title=News from alpha ({self.stamp})",
            "--body=Written on alpha, read on beta.",
            f"--slug={slug}",
        )
        self.facts.update(
            slug=slug, article=result["object"], create=result["activity"]
        )
        self.wait_in_inbox(self.bob, self.beta, "bob", result["activity"], "the Create")
        states = self.states()
        self.show_delivery(states, self.alpha, self.beta, result["activity"])
        stored = self.stored_object(states["beta"], result["object"])
        if stored is None or stored["type"] != "Article":
            raise StepFailed(f"beta has no stored Article {result['object']}")
        self.say(f"    beta stored the Article {result['object']}")
        audience = {f: stored["data"].get(f) for f in ("to", "cc")}
        if audience["to"] != [PUBLIC]:
            raise StepFailed(f"the Article carries no public audience: {audience}")
        self.say(f"    the Article carries its own audience: {json.dumps(audience)}")
        create = next(
            a for a in states["beta"]["activities"] if a["iri"] == result["activity"]
        )
        proof = create["data"].get("proof") or {}
        if proof.get("cryptosuite") != "eddsa-jcs-2022":
            raise StepFailed("the Create carries no integrity proof")
        self.say(f"    with an integrity proof by {proof['verificationMethod']}")
        self.show_schemes(states)
        return f"Create of {result['object']} is in bob's inbox on beta"

    def show_schemes(self, states: dict) -> None:
        """Both instances were answered on the first knock with RFC 9421."""
        for name, peer in (("alpha", self.beta), ("beta", self.alpha)):
            scheme = states[name]["servers"].get(peer.domain)
            if scheme != "rfc9421":
                raise StepFailed(f"{name} signs for {peer.domain} with {scheme!r}")
            self.say(f"    {name} -> {peer.name}: RFC 9421 signatures, first knock")

    def like(self) -> str:
        article = self.facts["article"]
        activity = {"type": "Like", "object": article}
        self.say(f"    body: {json.dumps(activity)}")
        reply = self.bob.post_activity(self.beta.url("/~bob/outbox"), activity)
        location = reply.headers.get("location", "")
        self.expect(reply, 201, f"Location {location}")
        self.facts["like"] = location
        self.log_in(self.alice, self.alpha, "alice")
        self.wait_in_inbox(self.alice, self.alpha, "alice", location, "the Like")
        self.show_delivery(self.states(), self.beta, self.alpha, location)
        return "bob's Like of the article is in alice's inbox on alpha"

    def update(self) -> str:
        body = f"Written on alpha, read on beta. (Edited {self.stamp}.)"
        result = self.on_alpha(
            "blog_edit", f"--slug={self.facts['slug']}", f"--body={body}"
        )
        self.facts["update"] = result["activity"]
        self.wait_in_inbox(self.bob, self.beta, "bob", result["activity"], "the Update")
        states = self.states()
        self.show_delivery(states, self.alpha, self.beta, result["activity"])
        stored = self.stored_object(states["beta"], self.facts["article"]) or {}
        data = stored.get("data") or {}
        content = data.get("content")
        if content != body:
            raise StepFailed(f"beta's copy says {content!r}, not {body!r}")
        if not data.get("updated") or data["updated"] < data.get("published", ""):
            raise StepFailed(f"the edit carries no newer 'updated': {data}")
        self.say(f"    beta's copy now says {content!r}, updated {data['updated']}")
        return "beta's stored article has the new text"

    def comment(self) -> str:
        result = self.on_alpha(
            "blog_comment",
            f"--slug={self.facts['slug']}",
            "--author=alice",
            "--body=A comment that will not stay.",
        )
        note = result["object"]
        self.facts.update(
            comment=note, comment_id=result["id"], comment_create=result["activity"]
        )
        reply = self.expect(self.anonymous.get(note), 200, "the Note, as JSON")
        if reply.json().get("type") != "Note":
            raise StepFailed(f"{note} is not a Note: {reply.json()}")
        self.wait_in_inbox(self.bob, self.beta, "bob", result["activity"], "the Create")
        states = self.states()
        self.show_delivery(states, self.alpha, self.beta, result["activity"])
        stored = self.stored_object(states["beta"], note)
        if stored is None or stored["type"] != "Note":
            raise StepFailed(f"beta has no stored Note {note}")
        return f"Create of the Note {note} is in bob's inbox on beta"

    def rename(self) -> str:
        name = f"Alice of Alpha {self.stamp}"
        result = self.on_alpha("blog_rename", "--author=alice", f"--name={name}")
        self.facts["rename"] = result["activity"]
        self.wait(
            f"beta's copy of alice is named {name!r}",
            lambda: self.states()["beta"]["remote_names"].get(self.alice_iri) == name,
        )
        self.show_delivery(self.states(), self.alpha, self.beta, result["activity"])
        return f"beta knows alice as {name!r}"

    def delete(self) -> str:
        note = self.facts["comment"]
        result = self.on_alpha("blog_delete_comment", str(self.facts["comment_id"]))
        self.facts["delete"] = result["activity"]
        reply = self.expect(self.anonymous.get(note), 410, "Gone")
        tombstone = reply.json()
        if tombstone.get("type") != "Tombstone" or tombstone.get("id") != note:
            raise StepFailed(f"not a Tombstone of {note}: {tombstone}")
        self.say(f"    {json.dumps(tombstone)}")
        self.wait_in_inbox(self.bob, self.beta, "bob", result["activity"], "the Delete")
        states = self.states()
        self.show_delivery(states, self.alpha, self.beta, result["activity"])
        stored = self.stored_object(states["beta"], note) or {}
        if not stored.get("deleted") or stored["data"].get("type") != "Tombstone":
            raise StepFailed(f"beta's copy of {note} is not deleted: {stored}")
        self.say(f"    beta's copy of {note} is a Tombstone now")
        return "the comment is gone on both instances"
