"""Give a local actor (or the instance actor) a new key pair."""

from django.core.management.base import BaseCommand, CommandError

from vox_activity.models import ActorKey
from vox_activity.profiles import profile_changed
from vox_activity.registry import (
    actor_for_iri,
    actor_for_path,
    actor_iri_of,
    instance_actor_iri,
    key_id,
)

__all__ = ["Command"]


class Command(BaseCommand):
    help = (
        "Replace the key pairs of a local actor, named by IRI or path "
        "(/~alice/), or of the instance actor with --instance.  The actor's "
        "followers' servers get an Update with the new keys; others pick them "
        "up when a signature stops verifying."
    )

    def add_arguments(self, parser):
        parser.add_argument("actor", nargs="?", help="actor IRI or path")
        parser.add_argument("--instance", action="store_true")

    def handle(self, *args, actor=None, instance=False, **options):
        if instance == bool(actor):
            raise CommandError("Name one actor (IRI or path), or pass --instance.")
        if instance:
            ActorKey.objects.rotate(None)
            iri = instance_actor_iri()
        else:
            owner = actor_for_iri(actor) or actor_for_path(actor)
            if owner is None:
                raise CommandError(f"{actor} is not a local actor.")
            ActorKey.objects.rotate(owner)
            profile_changed(owner)
            iri = actor_iri_of(owner)
        self.stdout.write(f"New key {key_id(iri)} (public half in the actor document).")
