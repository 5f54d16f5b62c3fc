"""Fill the demo blog with people, subscriptions, templates and a few articles.

Idempotent: every row is looked up before it is created, and a notification
is issued only for the article, comment or like that this run created, so
running it twice changes nothing the second time.

``--instance alpha`` and ``--instance beta`` seed the two federating
instances of ``demo.py``: alpha has the author alice (and one article of
hers), beta the reader bob; each has the ``admin`` superuser and the activity
templates.  Without ``--instance``, everything below is seeded on one site.

Notifications are issued through django-vox (``Notification.issue``), exactly
as a site would, so the activities and inbox items come from vox_activity's
backend.  Demo only: the passwords are printed and trivial.
"""

import datetime

from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone
from django_vox.models import Notification, Template

from testsite.blog.actions import notification
from testsite.blog.models import Article, Comment, Like, Subscription

ADMIN = ("admin", "admin")  # username, password (demo only!)

#: username -> (first name, last name); each one's password is the username.
PEOPLE = {
    "alice": ("Alice", "Liddell"),
    "carol": ("Carol", "Shaw"),
    "bob": ("Bob", "Kahn"),
    "dave": ("Dave", "Winer"),
}

SUBSCRIPTIONS = [("bob", "alice"), ("dave", "alice"), ("bob", "carol")]

#: (model, codename, recipients, subject, content) of the activity templates.
TEMPLATES = [
    (
        Article,
        "created",
        "c:subscribers",
        "New article: {{ object.title }}",
        "{{ object.author.get_full_name|default:object.author.username }} "
        "published “{{ object.title }}”.",
    ),
    (
        Article,
        "updated",
        "c:subscribers",
        "Article updated: {{ object.title }}",
        "{{ object.author.get_full_name|default:object.author.username }} "
        "edited “{{ object.title }}”.",
    ),
    (
        Comment,
        "created",
        "c:article_author",
        "{{ actor }} commented on {{ object.article.title }}",
        "{{ object.body|truncatewords:30 }}",
    ),
    (
        Comment,
        "deleted",
        "c:article_author",
        "{{ object.author }} deleted a comment on {{ object.article.title }}",
        "",
    ),
    (
        Like,
        "liked",
        "c:article_author",
        "{{ actor }} liked {{ object.article.title }}",
        "{{ actor }} liked your article “{{ object.article.title }}”.",
    ),
]

#: slug -> (author, title, body, days ago)
ARTICLES = {
    "hello-fediverse": (
        "alice",
        "Hello, Fediverse",
        "This blog speaks ActivityPub now.\n\nEvery author is an actor: "
        "fetch /~alice/ with an ActivityPub Accept header and you get a "
        "Person document instead of this page.",
        3,
    ),
    "why-django-vox": (
        "carol",
        "Why notifications are activities",
        "django-vox already knows who should hear about what.  vox_activity "
        "turns each notification into an ActivityStreams activity and puts it "
        "in the recipients' inboxes.",
        2,
    ),
    "inboxes-and-outboxes": (
        "alice",
        "Inboxes and outboxes",
        "Your inbox holds what was sent to you; marking an item read is a "
        "Read activity posted to your own outbox.",
        1,
    ),
}

#: (article slug, author, body)
COMMENTS = [
    ("hello-fediverse", "bob", "Welcome aboard!  Following you from now on."),
    ("inboxes-and-outboxes", "dave", "So Read is just another activity. Neat."),
    ("why-django-vox", "alice", "Agreed: one registry for email and ActivityPub."),
]

#: (user, article slug)
LIKES = [("bob", "hello-fediverse"), ("dave", "why-django-vox")]

#: articles edited after publication (an Update goes to the subscribers)
EDITS = {"hello-fediverse": "\n\n(Edited: fixed a typo.)"}


#: What each instance of the two-instance demo gets (``--instance``).
INSTANCES = {
    "alpha": {"people": ["alice"], "articles": ["hello-fediverse"]},
    "beta": {"people": ["bob"], "articles": []},
}


class Command(BaseCommand):
    help = "Create the demo users, subscriptions, activity templates and articles."

    def add_arguments(self, parser):
        parser.add_argument(
            "--instance",
            choices=sorted(INSTANCES),
            help="seed one of the two federating demo instances (see demo.py)",
        )
        parser.add_argument(
            "--migrate", action="store_true", help="run migrate first (quietly)"
        )

    def handle(self, *args, instance=None, migrate=False, **options):
        if migrate:
            call_command("migrate", interactive=False, verbosity=0)
        self.check_ready()
        people, subscriptions, articles = PEOPLE, SUBSCRIPTIONS, ARTICLES
        comments, likes = COMMENTS, LIKES
        if instance is not None:
            wanted = INSTANCES[instance]
            people = {name: PEOPLE[name] for name in wanted["people"]}
            articles = {slug: ARTICLES[slug] for slug in wanted["articles"]}
            subscriptions, comments, likes = [], [], []
        self.tally = Tally()
        with transaction.atomic():
            users = self.seed_users(people)
            self.seed_subscriptions(users, subscriptions)
            self.seed_templates()
            self.seed_content(users, articles, comments, likes)
        where = f" (instance {instance})" if instance else ""
        self.stdout.write(f"seed_demo{where}: {self.tally}.")

    def check_ready(self):
        tables = set(connection.introspection.table_names())
        needed = {Notification._meta.db_table, Article._meta.db_table}
        if not needed <= tables:
            raise CommandError("The database has no tables yet: run migrate first.")
        missing = [
            f"{model._meta.label} {codename}"
            for model, codename, *_ in TEMPLATES
            if not Notification.objects.filter(
                object_type=ContentType.objects.get_for_model(model),
                codename=codename,
            ).exists()
        ]
        if missing:
            raise CommandError(
                "django-vox's Notification rows are missing "
                f"({', '.join(missing)}): run migrate first (the blog creates "
                "them after every migrate)."
            )

    def seed_users(self, people):
        user_model = get_user_model()
        username, password = ADMIN
        admin = user_model.objects.filter(username=username).first()
        self.tally.add("user", new=admin is None)
        if admin is None:
            user_model.objects.create_superuser(username, "admin@example.com", password)
            self.stdout.write(
                f"Created superuser {username!r} with password {password!r} "
                "(demo only!)."
            )
        users = {}
        for name, (first, last) in people.items():
            # Not staff: they log in on the blog's own login page; only
            # ``admin`` uses the admin.  The password is the username.
            user, created = user_model.objects.get_or_create(
                username=name, defaults={"first_name": first, "last_name": last}
            )
            if created:
                user.set_password(name)
                user.save(update_fields=["password"])
            elif user.is_staff and not user.is_superuser:
                # Made by an older seed_demo, when the admin was the login page.
                user.is_staff = False
                user.save(update_fields=["is_staff"])
            self.tally.add("user", new=created)
            users[name] = user
        return users

    def seed_subscriptions(self, users, subscriptions):
        for subscriber, author in subscriptions:
            _row, new = Subscription.objects.get_or_create(
                subscriber=users[subscriber], author=users[author]
            )
            self.tally.add("subscription", new=new)

    def seed_templates(self):
        for model, codename, recipients, subject, content in TEMPLATES:
            _template, new = Template.objects.get_or_create(
                notification=notification(model, codename),
                backend="activity",
                recipients=recipients,
                defaults={
                    "subject": subject,
                    "content": content,
                    "bulk": True,
                    "enabled": True,
                },
            )
            self.tally.add("template", new=new)

    def seed_content(self, users, article_specs, comments, likes):
        """Articles, edits, comments and likes; each new one is notified."""
        now = timezone.now()
        articles = {}
        for slug, (author, title, body, days_ago) in article_specs.items():
            article, new = Article.objects.get_or_create(
                slug=slug,
                defaults={
                    "author": users[author],
                    "title": title,
                    "body": body,
                    "published": now - datetime.timedelta(days=days_ago),
                },
            )
            self.tally.add("article", new=new)
            articles[slug] = article
            if new:
                self.issue(Article, "created", article)
                if slug in EDITS:
                    article.body += EDITS[slug]
                    article.save(update_fields=["body"])
                    self.issue(Article, "updated", article)
        for slug, author, body in comments:
            comment, new = Comment.objects.get_or_create(
                article=articles[slug], author=users[author], body=body
            )
            self.tally.add("comment", new=new)
            if new:
                self.issue(Comment, "created", comment, actor=users[author])
        for username, slug in likes:
            like, new = Like.objects.get_or_create(
                user=users[username], article=articles[slug]
            )
            self.tally.add("like", new=new)
            if new:
                self.issue(Like, "liked", like, actor=users[username])

    def issue(self, model, codename, instance, **kwargs):
        notification(model, codename).issue(instance, **kwargs)
        self.tally.issued += 1


class Tally:
    """What a run found and made: "2 users (1 new), 0 likes, ..."."""

    KINDS = ("user", "subscription", "template", "article", "comment", "like")

    def __init__(self):
        self.counts = {kind: [0, 0] for kind in self.KINDS}  # [total, new]
        self.issued = 0

    def add(self, kind, *, new):
        self.counts[kind][0] += 1
        self.counts[kind][1] += bool(new)

    def __str__(self):
        parts = [
            f"{total} {kind}{'s' * (total != 1)}" + (f" ({new} new)" if new else "")
            for kind, (total, new) in self.counts.items()
        ]
        issued = f"{self.issued} notification{'s' * (self.issued != 1)} issued"
        return ", ".join([*parts, issued])
