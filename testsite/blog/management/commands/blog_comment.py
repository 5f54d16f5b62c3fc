"""``manage.py blog_comment --slug S --author alice --body B``: a Create(Note).

Prints ``{"id", "object", "type", "activity"}``; ``id`` is what
``blog_delete_comment`` takes.
"""

from testsite.blog.actions import post_comment

from ._action import ActionCommand


class Command(ActionCommand):
    help = "Comment on an article (and notify: a public Create of a Note)."

    def add_arguments(self, parser):
        parser.add_argument("--slug", required=True, help="the article's slug")
        parser.add_argument("--author", required=True, help="username")
        parser.add_argument("--body", required=True)

    def act(self, slug, author, body, **options):
        return post_comment(slug, author, body)
