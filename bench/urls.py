"""The demo blog's URLs, plus django-vox's built-in activity views under /builtin/.

``/builtin/~alice/inbox`` is django-vox's ``views.inbox`` (which calls
``inbox_get``); ``/~alice/inbox`` stays vox_activity's (via its middleware).
"""

from django.urls import include, path

from testsite.urls import urlpatterns as site_urlpatterns

urlpatterns = [
    path("builtin/", include("django_vox.activity_urls")),
    *site_urlpatterns,
]
