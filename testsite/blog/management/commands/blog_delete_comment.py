"""``manage.py blog_delete_comment ID``: a Delete (Tombstone), then the row goes."""

from testsite.blog.actions import delete_comment

from ._action import ActionCommand


class Command(ActionCommand):
    help = "Delete a comment (notifying first: a Delete with a Tombstone)."

    def add_arguments(self, parser):
        parser.add_argument("comment_id", type=int, help="the comment's id")

    def act(self, comment_id, **options):
        return delete_comment(comment_id)
