"""Settings of the inbox phase of ``bench/throughput.py`` (``bench/inbox_floor.py``).

``bench/throughput_settings.py`` (the demo blog's settings on the
benchmark's database: SQLite in WAL mode with ``IMMEDIATE`` transactions,
persistent connections, or PostgreSQL's pool; the database task backend),
with:

* the site's origin the server's own, ``http://127.0.0.1:<port>``
  (``VOX_BENCH_SITE_DOMAIN``), as the demo runs it;
* the floor's URLs (:mod:`bench.floor_urls`);
* ``INBOX_RATE_LIMIT`` so high that it never refuses: the benchmark sends
  thousands of POSTs a minute from one sender, more than the default allows
  (300 a minute), and the counting itself still runs on every POST.

Everything else is the package's default, ``INBOX_PROCESSING = "task"``
included.
"""

import os

from bench.throughput_settings import *  # noqa: F403
from bench.throughput_settings import VOX_ACTIVITY

SITE_DOMAIN = os.environ["VOX_BENCH_SITE_DOMAIN"]
SITE_SSL = False
ROOT_URLCONF = "bench.floor_urls"
VOX_ACTIVITY = {**VOX_ACTIVITY, "INBOX_RATE_LIMIT": 10**9}
