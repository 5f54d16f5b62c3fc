"""URLs of vox_activity; include them at the site's root::

    path("", include("vox_activity.urls"))

Actor documents and their inbox/outbox/followers/following live on the
actors' own paths and are served by ``ActivityPubMiddleware`` instead.
"""

from django.urls import path

from vox_activity.serving import discovery, views

__all__ = ["urlpatterns"]

app_name = "vox_activity"

urlpatterns = [
    path("activitypub/activities/<uuid:activity_uuid>", views.activity_view,
         name="activity"),
    path("activitypub/inbox", views.shared_inbox_view, name="shared-inbox"),
    path("activitypub/actor", views.instance_actor_view, name="instance-actor"),
    path("activitypub/actor/outbox", views.instance_outbox_view,
         name="instance-outbox"),
    # Discovery: WebFinger, NodeInfo, host-meta (vox_activity.serving.discovery).
    path(".well-known/webfinger", discovery.webfinger_view, name="webfinger"),
    path(".well-known/nodeinfo", discovery.nodeinfo_index_view,
         name="nodeinfo-index"),
    path(".well-known/host-meta", discovery.host_meta_view, name="host-meta"),
    path("nodeinfo/2.1", discovery.nodeinfo_view, name="nodeinfo"),
]  # fmt: skip
