"""Shared by the blog_* commands: run one action, print its result as JSON."""

import json

from django.core.management.base import BaseCommand, CommandError

from testsite.blog.actions import ActionError


class ActionCommand(BaseCommand):
    """Subclasses implement ``act(**options)`` returning a JSON-ready dict."""

    def act(self, **options):  # pragma: no cover - abstract
        raise NotImplementedError

    def handle(self, *args, **options):
        try:
            result = self.act(**options)
        except ActionError as exc:
            raise CommandError(str(exc)) from exc
        # One line of JSON, so scripts (the demo, the e2e tests) can read it.
        self.stdout.write(json.dumps(result))
