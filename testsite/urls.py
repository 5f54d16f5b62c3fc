from django.contrib import admin
from django.urls import include, path

from testsite.blog import views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", views.home, name="home"),
    path("inbox/", views.inbox, name="inbox"),
    # An author's page, and (through vox_activity's middleware) their actor IRI.
    path("~<str:username>/", views.author, name="author"),
    path("articles/<slug:slug>/", views.article, name="article"),
    path("comments/<int:pk>/", views.comment, name="comment"),
    path("", include("vox_activity.urls")),
]
