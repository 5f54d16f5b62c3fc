from testsite.blog.models import Subscription
from vox_activity.models import InboxItem


def test_article_notification_lands_in_subscriber_inbox(
    alice, bob, article_templates, article
):
    Subscription.objects.create(subscriber=bob, author=alice)
    article_templates.issue(article)
    items = InboxItem.objects.for_owner(bob)
    assert items.count() == 1
    data = items.get().activity.data
    assert data["type"] == "Create"
    assert data["object"]["type"] == "Article"
    assert data["name"] == "New article: Hello"
