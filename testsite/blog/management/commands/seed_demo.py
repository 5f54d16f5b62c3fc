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
from collections import Counter

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
        created = Counter()
        with transaction.atomic():
            users = self.seed_users(people, created)
            self.seed_subscriptions(users, subscriptions, created)
            self.seed_templates(created)
            self.seed_content(users, articles, comments, likes, created)
        where = f" (instance {instance})" if instance else ""
        self.stdout.write(f"seed_demo{where}: {self.summary(created)}.")

    @staticmethod
    def summary(created: Counter) -> str:
        """What the database holds now, and how much of it this run made."""

        def amount(count, name, new):
            plural = "" if count == 1 else "s"
            return f"{count} {name}{plural}" + (f" ({new} new)" if new else "")

        rows = [
            (get_user_model().objects.count(), "user", "users"),
            (Subscription.objects.count(), "subscription", "subscriptions"),
            (
                Template.objects.filter(backend="activity").count(),
                "activity template",
                "templates",
            ),
            (Article.objects.count(), "article", "articles"),
            (Comment.objects.count(), "comment", "comments"),
            (Like.objects.count(), "like", "likes"),
        ]
        issued = created["notifications"]
        return (
            ", ".join(amount(count, name, created[key]) for count, name, key in rows)
            + f"; {issued} notification{'' if issued == 1 else 's'} issued"
        )

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

    def seed_users(self, people, created):
        user_model = get_user_model()
        username, password = ADMIN
        if not user_model.objects.filter(username=username).exists():
            user_model.objects.create_superuser(username, "admin@example.com", password)
            created["users"] += 1
            self.stdout.write(
                f"Created superuser {username!r} with password {password!r} "
                "(demo only!)."
            )
        users = {}
        for name, (first, last) in people.items():
            # Staff without permissions, so that the admin's login page (the
            # site's LOGIN_URL) lets them in; the password is the username.
            user, new = user_model.objects.get_or_create(
                username=name,
                defaults={"first_name": first, "last_name": last, "is_staff": True},
            )
            if new:
                created["users"] += 1
                user.set_password(name)
                user.save(update_fields=["password"])
            users[name] = user
        return users

    def seed_subscriptions(self, users, subscriptions, created):
        for subscriber, author in subscriptions:
            _subscription, new = Subscription.objects.get_or_create(
                subscriber=users[subscriber], author=users[author]
            )
            created["subscriptions"] += new

    def seed_templates(self, created):
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
            created["templates"] += new

    def seed_content(self, users, article_specs, comments, likes, created):
        """Articles, edits, comments and likes; each new one is notified."""
        issued = 0
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
            articles[slug] = article
            if new:
                created["articles"] += 1
                notification(Article, "created").issue(article)
                issued += 1
                if slug in EDITS:
                    article.body += EDITS[slug]
                    article.save(update_fields=["body"])
                    notification(Article, "updated").issue(article)
                    issued += 1
        for slug, author, body in comments:
            comment, new = Comment.objects.get_or_create(
                article=articles[slug], author=users[author], body=body
            )
            if new:
                created["comments"] += 1
                notification(Comment, "created").issue(comment, actor=users[author])
                issued += 1
        for username, slug in likes:
            like, new = Like.objects.get_or_create(
                user=users[username], article=articles[slug]
            )
            if new:
                created["likes"] += 1
                notification(Like, "liked").issue(like, actor=users[username])
                issued += 1
        created["notifications"] += issued
