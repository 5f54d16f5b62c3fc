"""``manage.py blog_rename --author A --name "New Name"``: a profile Update."""

from testsite.blog.actions import rename_author

from ._action import ActionCommand


class Command(ActionCommand):
    help = "Change an author's display name (and send the profile Update)."

    def add_arguments(self, parser):
        parser.add_argument("--author", required=True)
        parser.add_argument("--name", required=True, help="the new display name")

    def act(self, author, name, **options):
        return rename_author(author, name)
