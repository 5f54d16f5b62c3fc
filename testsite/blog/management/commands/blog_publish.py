"""``manage.py blog_publish --author alice --title T --body B [--slug S]``.

Publishes an article and issues django-vox's ``created`` notification: a
Create by the author, to Public and the author's followers (also on other
servers).  Prints ``{"slug", "object", "type", "activity"}`` as JSON.
"""

from testsite.blog.actions import publish_article

from ._action import ActionCommand


class Command(ActionCommand):
    help = "Publish an article (and notify: a Create to the author's followers)."

    def add_arguments(self, parser):
        parser.add_argument("--author", required=True, help="username")
        parser.add_argument("--title", required=True)
        parser.add_argument("--body", required=True)
        parser.add_argument("--slug", default="", help="default: from the title")

    def act(self, author, title, body, slug, **options):
        return publish_article(author, title, body, slug)
