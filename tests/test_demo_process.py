"""The demo as a process: stopped by signals at any moment, nothing left behind.

Each test starts the real demo (``testsite/demo.py``, or ``python3 dev.py
demo``) on free loopback ports with SQLite files in a temporary directory,
sends a signal to the pid it started, and checks what a user would: the
exit status, "Stopped." printed, no traceback, and afterwards no process
left of those the demo started (it writes their pids with ``--pid-file``;
their process groups are searched too, for grandchildren such as RQ's
scheduler) and both ports free again.  Waits are generous (a loaded 2-core
machine); nothing here asserts how long anything took.

Select them with ``pytest -m demo_process``.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from testsite.cluster import free_port, poll, port_is_free

from .support.services import unavailable

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 300  # migrate, seed and start both instances, on a busy machine
STOP_TIMEOUT = 120

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.demo_process,
    pytest.mark.skipif(
        not sys.platform.startswith("linux"), reason="reads /proc; Linux only"
    ),
]


# --- the demo process ----------------------------------------------------------


@dataclass
class Demo:
    """A demo started by a test: its output, as it comes, and its pid file."""

    process: subprocess.Popen
    pid_file: Path
    ports: tuple[int, int]
    lines: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_for(self, text: str, timeout: float = START_TIMEOUT) -> None:
        """Wait until ``text`` is printed; fail (with the output) if it never is."""
        poll(lambda: text in self.output or self.process.poll() is not None, timeout)
        if self.process.poll() is not None:
            self.reader.join(10)  # the output's end
        assert text in self.output, f"{text!r} never printed:\n{self.output}"

    def recorded(self) -> dict[int, str]:
        """pid -> label of every process the demo wrote in its pid file."""
        found = {}
        if self.pid_file.exists():
            for line in self.pid_file.read_text().splitlines():
                pid, _, label = line.partition(" ")
                found[int(pid)] = label
        return found

    def send(self, signum: int) -> None:
        os.kill(self.process.pid, signum)

    def finish(self) -> int:
        """Wait for the demo to exit; its status (negative: killed by a signal)."""
        try:
            self.process.wait(STOP_TIMEOUT)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
            self.reader.join(10)
        return self.process.returncode


def start_demo(tmp_path: Path, *args: str, env: dict | None = None) -> Demo:
    return _start([sys.executable, "testsite/demo.py"], tmp_path, args, env)


def _start(command: list[str], tmp_path: Path, args, env: dict | None) -> Demo:
    alpha, beta = free_port(), free_port()
    pid_file = tmp_path / "pids"
    environment = dict(env if env is not None else os.environ)
    environment["DATABASE_URL"] = f"sqlite:///{tmp_path / 'demo.sqlite3'}"
    environment.pop("DJANGO_SETTINGS_MODULE", None)
    environment["PYTHONUNBUFFERED"] = "1"
    process = subprocess.Popen(
        [
            *command,
            f"--alpha-port={alpha}",
            f"--beta-port={beta}",
            f"--pid-file={pid_file}",
            *args,
        ],
        cwd=ROOT,
        env=environment,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # the test's signals go to the demo alone
    )
    return Demo(process, pid_file, (alpha, beta))


# --- what is left ----------------------------------------------------------------


def ours(cmdline: str) -> bool:
    """A process of this checkout's demo (not another's reusing a pid)."""
    return str(ROOT) in cmdline or "redis-server" in cmdline


def left_behind(pids: set[int]) -> list[str]:
    """Live processes with one of these pids, or in their groups or sessions.

    Every child of the demo leads a session of its own, so a grandchild
    (an RQ work horse, RQ's scheduler) is found by its session or group.
    Zombies are not processes that run: a reparented child that exited may
    wait to be reaped by an init that never does.
    """
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue  # gone meanwhile
        state, _ppid, group, session = stat[stat.rindex(")") + 2 :].split()[:4]
        pid = int(entry.name)
        if state in "ZX" or not ours(cmdline):
            continue
        if pid in pids or int(group) in pids or int(session) in pids:
            found.append(f"{pid} ({state}) {cmdline.strip()}")
    return found


def assert_nothing_left(demo: Demo) -> None:
    """No process the demo started runs any more; both ports are free."""
    recorded = demo.recorded()
    started = set(recorded) - {demo.process.pid}
    assert started, f"the demo recorded no process:\n{demo.output}"
    left, _ = poll(lambda: not left_behind(started), STOP_TIMEOUT, 0.5)
    assert left, (
        f"left running: {left_behind(started)}\n(started: {recorded})\n{demo.output}"
    )
    free, _ = poll(lambda: all(map(port_is_free, demo.ports)), STOP_TIMEOUT, 0.5)
    assert free, f"a port is still taken: {demo.ports}"


def assert_stopped_cleanly(demo: Demo) -> None:
    output = demo.output
    assert output.rstrip().endswith("Stopped."), output
    assert "Traceback" not in output, output
    assert_nothing_left(demo)


# --- the tests -----------------------------------------------------------------


def test_sigterm_during_the_set_up_stops_the_commands(tmp_path):
    demo = start_demo(tmp_path, "--scenario-only")

    def seeding():
        return any("seed_demo" in label for label in demo.recorded().values())

    try:
        started, _ = poll(seeding, START_TIMEOUT)
        assert started, demo.output
        demo.send(signal.SIGTERM)
    finally:
        status = demo.finish()
    assert status == 128 + signal.SIGTERM, demo.output
    assert "SIGTERM received during the set-up: stopping" in demo.output
    assert_stopped_cleanly(demo)


def test_ctrl_c_during_the_scenario_stops_everything(tmp_path):
    demo = start_demo(tmp_path, "--scenario-only")
    try:
        demo.wait_for("\n--- 2. ")
        demo.send(signal.SIGINT)  # what Ctrl-C sends
    finally:
        status = demo.finish()
    assert status == 128 + signal.SIGINT, demo.output
    assert "SIGINT received during the scenario: stopping both instances" in (
        demo.output
    )
    assert "scenario passed" not in demo.output
    assert_stopped_cleanly(demo)


def _dev_module():
    """``dev.py`` itself, to compute its environment stamps."""
    spec = importlib.util.spec_from_file_location("dev", ROOT / "dev.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def dev_py_interpreter(environment: str) -> str:
    """The Python ``dev.py`` built ``environment`` with.

    (Run with another, dev.py would see a different environment and build
    it again, under this very test.)
    """
    stamp = ROOT / ".venvs" / environment / ".locked-from"
    interpreter = stamp.read_text().split("\n", 1)[0]
    dev = _dev_module()
    lock, _minimum = dev.ENVIRONMENTS[environment]
    wanted = "\n".join([interpreter, (ROOT / lock).read_text(), dev.project_stamp()])
    if stamp.read_text() != wanted:
        pytest.skip(f".venvs/{environment} is out of date: dev.py would rebuild it")
    return interpreter


def test_dev_py_demo_stops_on_sigterm_while_serving(tmp_path):
    """``python3 dev.py demo``: the pid dev.py had gets the signal, and stops."""
    environment = Path(sys.prefix).name
    if Path(sys.prefix) != ROOT / ".venvs" / environment:
        pytest.skip("not running in one of dev.py's environments (.venvs/)")
    command = [dev_py_interpreter(environment), "dev.py", "demo", "--env", environment]
    demo = _start(command, tmp_path, ["--no-scenario"], None)
    try:
        demo.wait_for("Requests to both servers are logged below.")
        demo.send(signal.SIGTERM)
    finally:
        status = demo.finish()
    assert status == 0, demo.output  # stopped while serving: the normal end
    recorded = demo.recorded()
    assert recorded[demo.process.pid] == "demo"  # dev.py became demo.py
    assert sorted(recorded.values()) == [
        "alpha console",
        "alpha manage.py seed_demo",
        "alpha server",
        "alpha worker",
        "beta console",
        "beta manage.py seed_demo",
        "beta server",
        "beta worker",
        "demo",
    ]
    assert "SIGTERM received: stopping both instances..." in demo.output
    assert_stopped_cleanly(demo)


def test_sigkill_while_serving_on_rq_leaves_nothing(tmp_path):
    """Killed outright, the demo's children, theirs and its Redis stop too."""
    if shutil.which("redis-server") is None:
        unavailable("redis-server is not installed (apt-get install redis-server)")
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    demo = start_demo(tmp_path, "--no-scenario", "--tasks", "rq", env=env)
    try:
        demo.wait_for("Requests to both servers are logged below.")
        labels = set(demo.recorded().values())
        assert {"redis-server", "alpha worker", "beta worker"} <= labels
        workers = {p for p, label in demo.recorded().items() if "worker" in label}
        # RQ's scheduler runs in a process of each worker's own (forked).
        grandchildren, _ = poll(
            lambda: len(left_behind(workers)) > len(workers), START_TIMEOUT
        )
        assert grandchildren, left_behind(workers)
        demo.send(signal.SIGKILL)
    finally:
        status = demo.finish()
    assert status == -signal.SIGKILL
    assert_nothing_left(demo)


def test_dev_py_stops_while_preparing_the_environment(tmp_path):
    """A stop while dev.py prepares .venvs/ stops what it runs (uv), cleanly.

    A slow child stands in for ``uv pip sync``; everything else is dev.py's
    own code path for ``dev.py demo``.
    """
    stand_in = (
        "import os, sys, time\n"
        "sys.path.insert(0, os.getcwd())\n"
        "import dev\n"
        "def ensure_environment(name):\n"
        "    dev.check([sys.executable, '-c', 'import os, time; "
        'print("child", os.getpid(), flush=True); time.sleep(300)\'])\n'
        "dev.ensure_environment = ensure_environment\n"
        "sys.exit(dev.main(['demo']))\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", stand_in],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines = []
    try:
        for line in process.stdout:
            lines.append(line)
            if line.startswith("child "):
                break
        child = int(lines[-1].split()[1])
        process.send_signal(signal.SIGTERM)
        rest, _ = process.communicate(timeout=STOP_TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    output = "".join(lines) + rest
    assert process.returncode == 128 + signal.SIGTERM, output
    assert output.rstrip().endswith("Stopped."), output
    assert "Traceback" not in output, output
    assert not Path(f"/proc/{child}").exists()  # stopped, and waited for
