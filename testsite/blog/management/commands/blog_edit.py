"""``manage.py blog_edit --slug S [--body B] [--title T]``: an Update."""

from testsite.blog.actions import edit_article

from ._action import ActionCommand


class Command(ActionCommand):
    help = "Edit an article (and notify: an Update to the author's followers)."

    def add_arguments(self, parser):
        parser.add_argument("--slug", required=True)
        parser.add_argument("--body", default="", help="the new body")
        parser.add_argument("--title", default="", help="the new title")

    def act(self, slug, body, title, **options):
        return edit_article(slug, body=body, title=title)
