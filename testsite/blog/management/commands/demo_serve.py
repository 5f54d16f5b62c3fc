"""``manage.py demo_serve --port 8001``: serve the blog with waitress, logging.

The demo's web server: waitress (a real, multi-threaded WSGI server) on
127.0.0.1, static files included, one log line per request.  Signed requests
(deliveries to an inbox, signed fetches) are logged with their signature's
``keyId``, so the log shows who signed what.  SIGTERM and Ctrl-C stop it
cleanly.  The site's origin is ``TESTSITE_DOMAIN``: set it to the same
``127.0.0.1:<port>`` (``demo.py`` does).
"""

import re
import signal
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

KEY_ID = re.compile(r'keyId="([^"]*)"')


def logged_application(write, name=""):
    """The site's WSGI application (static files too), logging each request."""
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.core.wsgi import get_wsgi_application

    app = StaticFilesHandler(get_wsgi_application())
    prefix = f"[{name}] " if name else ""

    def logged(environ, start_response):
        def start(status, headers, exc_info=None):
            path = environ.get("PATH_INFO", "")
            if not path.startswith(settings.STATIC_URL):
                query = environ.get("QUERY_STRING", "")
                kind = {k.lower(): v for k, v in headers}.get("content-type", "")
                notes = []
                if "activity" in environ.get("HTTP_ACCEPT", ""):
                    notes.append("ActivityPub")
                key = KEY_ID.search(environ.get("HTTP_SIGNATURE", ""))
                if key:
                    notes.append(f"signed, keyId={key.group(1)}")
                write(
                    f"{prefix}{time.strftime('%H:%M:%S')} "
                    f"{environ['REQUEST_METHOD']} {path}{'?' + query if query else ''}"
                    f" -> {status.split()[0]} {kind.split(';')[0]}"
                    + (f" [{'; '.join(notes)}]" if notes else "")
                )
            return start_response(status, headers, exc_info)

        return app(environ, start)

    return logged


def _interrupt(signum, frame):
    raise KeyboardInterrupt


class Command(BaseCommand):
    help = "Serve the demo blog with waitress on 127.0.0.1, logging each request."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--name", default="", help="prefix of the log lines")
        parser.add_argument("--quiet", action="store_true", help="no request log")
        parser.add_argument("--threads", type=int, default=8)

    def handle(self, *args, port, name, quiet, threads, **options):
        from waitress.server import create_server

        def write(line):
            self.stdout.write(line)
            self.stdout.flush()

        app = logged_application((lambda line: None) if quiet else write, name)
        try:
            server = create_server(app, host="127.0.0.1", port=port, threads=threads)
        except OSError as exc:
            raise CommandError(f"cannot listen on 127.0.0.1:{port}: {exc}") from exc
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, _interrupt)
        write(f"serving http://127.0.0.1:{port}/ as {settings.SITE_DOMAIN}")
        try:
            server.run()
        except KeyboardInterrupt:
            pass
        finally:
            server.close()
        write("stopped")
