"""URLs of the inbox benchmark's server: the testsite's, plus the floor.

``/_bench/floor/<username>`` is the floor view (:mod:`bench.floor_views`);
``/_bench/sql`` the server's SQL totals.  Only ``bench/inbox_settings.py``
uses this URLconf: neither the package nor the testsite serve these.
"""

from django.urls import path

from bench.floor_views import floor_inbox, sql_totals
from testsite.urls import urlpatterns as site_urlpatterns

urlpatterns = [
    path("_bench/floor/<str:username>", floor_inbox, name="bench-floor-inbox"),
    path("_bench/sql", sql_totals, name="bench-sql"),
    *site_urlpatterns,
]
