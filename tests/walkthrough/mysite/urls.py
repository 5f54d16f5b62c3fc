"""The walk-through site's URLs: its own pages, the admin, vox_activity's URLs."""

from django.contrib import admin
from django.urls import include, path
from notes import views

urlpatterns = [
    path("admin/", admin.site.urls),
    # People's pages are their actor IRIs; ActivityPub requests for these
    # paths are answered by ActivityPubMiddleware, browsers get these views.
    path("~<str:username>/", views.person, name="person"),
    path("notes/<slug:slug>/", views.note, name="note"),
    path("inbox/", views.inbox, name="inbox"),
    # WebFinger, NodeInfo, activity IRIs, the shared inbox: at the root.
    path("", include("vox_activity.urls")),
]
