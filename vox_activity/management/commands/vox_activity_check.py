"""Check an actor the way Mastodon sees it, and say what to fix.

::

    manage.py vox_activity_check acct:alice@social.example
    manage.py vox_activity_check @alice@social.example --deliver
    manage.py vox_activity_check https://social.example/users/alice
    manage.py vox_activity_check /~alice/
    manage.py vox_activity_check alice

The checks are :mod:`vox_activity.diagnostics`; this command parses the
arguments and prints each finding as it comes: ``OK``, ``WARN`` or ``FAIL``,
its code, what was seen, and a hint under anything not OK.  The exit status
is 1 when something failed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from vox_activity.diagnostics import (
    Finding,
    Level,
    LocalTarget,
    TargetError,
    check_target,
    resolve,
    resolve_local,
)

__all__ = ["Command"]

LABELS = {Level.OK: "OK", Level.WARNING: "WARN", Level.ERROR: "FAIL"}


def finding_lines(finding: Finding) -> list[str]:
    """``OK    actor.inbox.ok  <message>``, and ``hint: ...`` under it."""
    first = f"{LABELS[finding.level]:<5} {finding.code:<27} {finding.message}"
    return [first, f"{'':6}hint: {finding.hint}"] if finding.hint else [first]


class Command(BaseCommand):
    help = (
        "Check an actor (acct:user@host, @user@host, an IRI, a local path like "
        "/~alice/ or a local username) the way Mastodon sees it; --deliver also "
        "POSTs a harmless signed activity to a remote actor's inbox.  Exit "
        "status 1 when a check fails."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "actor",
            help="acct:user@host, @user@host, an actor IRI, a local path or a "
            "local username",
        )
        parser.add_argument(
            "--deliver",
            action="store_true",
            help="POST a signed test activity (a Delete of nothing) to its inbox",
        )
        parser.add_argument(
            "--as",
            dest="as_actor",
            metavar="ACTOR",
            help="sign the test delivery as this local actor (default: the "
            "instance actor)",
        )

    def handle(
        self,
        *args: Any,
        actor: str,
        deliver: bool = False,
        as_actor: str | None = None,
        **options: Any,
    ) -> None:
        if as_actor and not deliver:
            raise CommandError("--as only makes sense with --deliver.")
        try:
            target = resolve(actor)
            sender = resolve_local(as_actor) if as_actor else None
            findings = check_target(target, deliver=deliver, sign_as=sender)
        except TargetError as exc:
            raise CommandError(str(exc)) from exc
        if isinstance(target, LocalTarget):
            self.stdout.write(f"Checking the local actor {target.iri}")
        else:
            self.stdout.write(f"Checking the remote actor {target.address}")
        counts = self._print(findings)
        self.stdout.write(
            f"{counts[Level.OK]} OK, {counts[Level.WARNING]} warning(s), "
            f"{counts[Level.ERROR]} failure(s)."
        )
        if counts[Level.ERROR]:
            raise CommandError(f"{counts[Level.ERROR]} check(s) failed.", returncode=1)

    def _print(self, findings: Iterable[Finding]) -> dict[Level, int]:
        """Print each finding as it comes (network checks can be slow)."""
        counts = dict.fromkeys(Level, 0)
        styles: dict[Level, Callable[[str], str]] = {
            Level.OK: self.style.SUCCESS,
            Level.WARNING: self.style.WARNING,
            Level.ERROR: self.style.ERROR,
        }
        for finding in findings:
            counts[finding.level] += 1
            first, *rest = finding_lines(finding)
            self.stdout.write(first, style_func=styles[finding.level])
            for line in rest:
                self.stdout.write(line)
        return counts
