"""A Redis server for RQ in the demo and the tests: given, or started here.

:meth:`RedisServer.from_url` uses a server that already runs (CI's, from
``REDIS_URL``); :meth:`RedisServer.start` starts a private ``redis-server``
on a free loopback port with a temporary directory, nothing saved to disk,
and :meth:`RedisServer.stop` stops it by the pid it started (and deletes the
directory).  Each demo instance gets a Redis *database* of its own, so that
its RQ worker only sees its own jobs: :data:`DATABASES` says which one, and
:meth:`RedisServer.flush` empties one (jobs of an earlier run may name rows
of a database that no longer exists).

Only the standard library: the few commands needed here (``PING``,
``SELECT``, ``FLUSHDB``, ``AUTH``) are spoken directly over a socket.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from .processes import shielded, spawn, stop_process

HOST = "127.0.0.1"

#: Redis database numbers, one per user, so that none sees another's jobs.
#: (A Redis server has 16 databases, 0 to 15, unless configured otherwise.)
DATABASES = {
    ("demo", "alpha"): 1,
    ("demo", "beta"): 2,
    ("e2e", "alpha"): 3,
    ("e2e", "beta"): 4,
    ("tests", "rq"): 5,
    ("tests", "redis"): 6,
}


class RedisError(Exception):
    """No Redis could be started or reached, or it refused a command."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _encode(*args: str) -> bytes:
    """A command in the Redis protocol (RESP): an array of bulk strings."""
    parts = [f"*{len(args)}\r\n".encode()]
    for arg in args:
        data = arg.encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


@dataclass
class RedisServer:
    """A Redis server at ``host:port``; ``process`` if this process started it."""

    host: str
    port: int
    password: str | None = None
    username: str | None = None
    process: subprocess.Popen | None = None
    directory: Path | None = None

    @classmethod
    def from_url(cls, url: str) -> RedisServer:
        """The server of a ``redis://[[user]:password@]host[:port][/db]`` URL."""
        parts = urllib.parse.urlsplit(url)
        if parts.scheme != "redis" or not parts.hostname:
            raise RedisError(f"not a redis://host:port URL: {url!r}")
        unquote = urllib.parse.unquote
        return cls(
            parts.hostname,
            parts.port or 6379,
            password=None if parts.password is None else unquote(parts.password),
            username=unquote(parts.username) if parts.username else None,
        )

    @classmethod
    def start(
        cls,
        executable: str = "redis-server",
        timeout: float = 30,
        directory: Path | None = None,
    ) -> RedisServer:
        """Start a private server; RedisError if ``executable`` is missing.

        Its files (a log; nothing else is written) go to ``directory``,
        emptied first, or to a new temporary directory; :meth:`stop` deletes
        it.  (A process killed outright cannot: give a directory that is
        cleaned up anyway, e.g. next to the demo's databases.)
        """
        found = shutil.which(executable)
        if found is None:
            raise RedisError(f"{executable} is not installed")
        if directory is None:
            directory = Path(tempfile.mkdtemp(prefix="vox-redis-"))
        else:
            shutil.rmtree(directory, ignore_errors=True)
            directory.mkdir(parents=True)
        try:
            for _ in range(3):  # the free port may be taken before Redis binds
                server = cls(HOST, _free_port(), directory=directory)
                server.process = spawn(
                    [found, *server._arguments()],
                    label="redis-server",
                    cwd=directory,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                if server._wait_ready(timeout):
                    return server
                stop_process(server.process)
            log = (directory / "redis.log").read_text(errors="replace")[-2000:]
            raise RedisError(f"redis-server did not start:\n{log}")
        except BaseException:
            shutil.rmtree(directory, ignore_errors=True)
            raise

    def _arguments(self) -> list[str]:
        return [
            "--bind", HOST,
            "--port", str(self.port),
            "--dir", str(self.directory),
            "--logfile", str(self.directory / "redis.log"),
            "--save", "",            # nothing written to disk: the data is thrown away
            "--appendonly", "no",
            "--daemonize", "no",     # stays our child, stopped by its pid
        ]  # fmt: skip

    def _wait_ready(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                return False
            if self.ping():
                return True
            time.sleep(0.05)
        return False

    # --- addresses ---

    def url(self, database: int = 0) -> str:
        """``redis://`` URL of one of its databases."""
        credentials = ""
        if self.password is not None:
            user = urllib.parse.quote(self.username or "", safe="")
            credentials = f"{user}:{urllib.parse.quote(self.password, safe='')}@"
        return f"redis://{credentials}{self.host}:{self.port}/{database}"

    def __str__(self) -> str:
        started = f", pid {self.process.pid}" if self.process else ""
        return f"Redis at {self.host}:{self.port}{started}"

    # --- commands ---

    def command(self, *commands: tuple[str, ...]) -> list[bytes]:
        """Send commands on one connection; their one-line answers."""
        if self.password is not None:
            auth = ("AUTH", self.password)
            if self.username:
                auth = ("AUTH", self.username, self.password)
            commands = (auth, *commands)
        try:
            with socket.create_connection((self.host, self.port), timeout=5) as sock:
                sock.sendall(b"".join(_encode(*c) for c in commands))
                reader = sock.makefile("rb")
                answers = [reader.readline().rstrip(b"\r\n") for _ in commands]
        except OSError as exc:
            raise RedisError(f"{self}: {exc}") from exc
        for command, answer in zip(commands, answers, strict=True):
            if not answer or answer.startswith(b"-"):
                raise RedisError(f"{self}: {command[0]} answered {answer!r}")
        return answers

    def ping(self) -> bool:
        try:
            return self.command(("PING",)) == [b"+PONG"]
        except RedisError:
            return False

    def flush(self, *databases: int) -> None:
        """Empty these databases (and only these)."""
        for database in databases:
            self.command(("SELECT", str(database)), ("FLUSHDB",))

    def stop(self) -> None:
        """Stop the server if this process started it; delete its directory."""
        with shielded():  # a stop signal now waits until both are done
            if self.process is not None:
                stop_process(self.process)
                self.process = None
            if self.directory is not None:
                shutil.rmtree(self.directory, ignore_errors=True)
                self.directory = None
