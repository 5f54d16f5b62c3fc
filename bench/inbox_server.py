"""The inbox benchmark's server: the site under waitress, SQL counted, maybe profiled.

Started by ``bench/inbox_floor.py`` as a process of its own, with
``DJANGO_SETTINGS_MODULE=bench.inbox_settings``::

    python bench/inbox_server.py --port 8123 --threads 4 [--profile out.prof]

It serves Django's WSGI application (the testsite's middleware and URLs, plus
the floor's: ``bench/floor_urls.py``) with waitress on 127.0.0.1 only, counts
SQL statements (:mod:`bench.sql_counter`), prints ``serving`` once it
listens, and stops on SIGTERM.  With ``--profile`` every request runs under
a :mod:`cProfile` profiler of its thread (cProfile sees one thread only),
and the threads' statistics are merged into one file when it stops.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import signal
import sys
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class ThreadProfiles:
    """A WSGI wrapper that profiles each request in its thread's profiler.

    The floor's requests (``/_bench/floor/...``) and the others (the real
    inbox) have profilers of their own, so that each path is seen alone.
    """

    def __init__(self, app: WSGIApp) -> None:
        self.app = app
        self.local = threading.local()
        self.profiles: dict[str, list[cProfile.Profile]] = {}
        self.lock = threading.Lock()

    def _profile(self, kind: str) -> cProfile.Profile:
        mine: dict[str, cProfile.Profile] = self.local.__dict__.setdefault("mine", {})
        if kind not in mine:
            mine[kind] = cProfile.Profile()
            with self.lock:
                self.profiles.setdefault(kind, []).append(mine[kind])
        return mine[kind]

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        kind = "floor" if path.startswith("/_bench/floor/") else "site"
        profile = self._profile(kind)
        profile.enable()
        try:
            # Django's responses here are complete byte strings: consuming
            # them inside the profile costs nothing extra.
            return list(self.app(environ, start_response))
        finally:
            profile.disable()

    def dump(self, path: str) -> None:
        """``<path>`` for the site's requests, ``<path stem>-floor.prof`` for
        the floor's."""
        with self.lock:
            profiles = {kind: list(found) for kind, found in self.profiles.items()}
        for kind, found in profiles.items():
            stats = pstats.Stats(found[0])
            for profile in found[1:]:
                stats.add(profile)
            out = Path(path)
            if kind == "floor":
                out = out.with_name(f"{out.stem}-floor{out.suffix}")
            stats.dump_stats(str(out))


def _stop(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--profile", default="", help="write merged cProfile here")
    options = parser.parse_args()
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))

    from django.core.wsgi import get_wsgi_application
    from waitress.server import create_server  # type: ignore[import-untyped]

    from bench import sql_counter

    app: WSGIApp = get_wsgi_application()
    sql_counter.install()
    profiles = ThreadProfiles(app) if options.profile else None
    server = create_server(
        profiles or app, host=HOST, port=options.port, threads=options.threads
    )
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    print(f"serving http://{HOST}:{options.port}/", flush=True)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
        if profiles is not None:
            profiles.dump(options.profile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
