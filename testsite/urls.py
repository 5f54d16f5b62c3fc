from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from testsite.blog import views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", views.home, name="home"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/<int:pk>/", views.inbox_item, name="inbox-item"),
    path("inbox/read-all/", views.mark_all_read, name="inbox-read-all"),
    path("reader/", views.reader_page, name="reader"),
    path("reader/follow/", views.follow, name="follow"),
    # An author's page, and (through vox_activity's middleware) their actor
    # IRI; below it, the pages a browser gets for the actor's endpoints.
    path("~<str:username>/", views.author, name="author"),
    path("~<str:username>/followers", views.followers, name="followers"),
    path("~<str:username>/following", views.following, name="following"),
    path("~<str:username>/outbox", views.outbox, name="outbox"),
    path("~<str:username>/inbox", views.actor_inbox, name="actor-inbox"),
    path("articles/<slug:slug>/", views.article, name="article"),
    path("comments/<int:pk>/", views.comment, name="comment"),
    path("", include("vox_activity.urls")),
]
