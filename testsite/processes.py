"""Child processes that never outlive the demo, and stop signals that stop it.

Used by :mod:`testsite.cluster` (servers, workers, ``manage.py`` commands),
:mod:`testsite.redis_server` and ``demo.py``.  Only the standard library.

Starting (:func:`spawn`)
    Every child gets a session, hence a process group, of its own: the
    terminal's Ctrl-C reaches only the demo, which stops its children itself,
    and stopping a child's group also stops what the child started (RQ's
    work horses and scheduler, for instance).  On Linux each child is also
    told to receive SIGTERM when the thread that started it ends
    (``PR_SET_PDEATHSIG``), so a demo killed outright (SIGKILL) leaves
    nothing behind.  That signal is tied to the starting *thread*: start
    long-lived children from a thread that lives as long as they should.

Stopping (:func:`stop_processes`)
    SIGTERM to every group at once, a wait (in parallel, not one after the
    other), then SIGKILL to whatever is left in those groups, leaders gone or
    not.

Stop signals (:func:`install_stop_signals`)
    SIGINT, SIGTERM and SIGHUP raise :class:`StopRequested` in the main
    thread, once: later signals are recorded, not raised, so that cleaning up
    is never interrupted.  Inside :func:`shielded` blocks (starting a process
    and recording its pid; stopping processes) the exception waits until the
    block ends, so no child is ever started without being known.

Recording (:func:`record_spawns`)
    Each started process's pid and label is appended to a file, for tests
    that check that everything the demo started is gone.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


class StopRequested(BaseException):
    """A stop signal arrived; like KeyboardInterrupt, not an ``Exception``."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    @property
    def exit_status(self) -> int:
        """The shell's convention for "ended by signal N": 128 + N."""
        return 128 + self.signum

    def __str__(self) -> str:
        return signal.Signals(self.signum).name


class _StopState:
    """What the handler knows: the first signal, whether it was raised."""

    def __init__(self) -> None:
        self.received: int | None = None
        self.raised = False
        self.shields = 0


_state = _StopState()


def _on_stop_signal(signum: int, frame: Any) -> None:
    if _state.received is not None:
        return  # already stopping: let the cleaning up finish
    _state.received = signum
    if not _state.shields:
        _state.raised = True
        raise StopRequested(signum)


def install_stop_signals() -> None:
    """Turn SIGINT, SIGTERM and SIGHUP into :class:`StopRequested`.

    Also unblocks them: ``dev.py`` blocks them across its ``exec`` of
    ``demo.py``, so that a signal sent meanwhile waits for this handler
    instead of killing the demo half-started.
    """
    for signum in STOP_SIGNALS:
        signal.signal(signum, _on_stop_signal)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)


def stop_requested() -> int | None:
    """The first stop signal received, if any (with the handler installed)."""
    return _state.received


@contextlib.contextmanager
def shielded() -> Iterator[None]:
    """No :class:`StopRequested` inside; raised at the end if one arrived."""
    _state.shields += 1
    try:
        yield
    finally:
        _state.shields -= 1
    if not _state.shields and _state.received is not None and not _state.raised:
        _state.raised = True
        raise StopRequested(_state.received)


# --- starting ----------------------------------------------------------------


def _die_with_parent_hook() -> Callable[[], None] | None:
    """A ``preexec_fn`` asking Linux to SIGTERM the child when we are gone.

    libc is loaded here, in the parent: the child, between fork and exec,
    only makes the call (and checks that the parent did not die before it).
    """
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def hook() -> None:  # pragma: no cover - runs in the child
        prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM))
        if os.getppid() != parent:  # the parent is already gone
            os.kill(os.getpid(), signal.SIGTERM)

    return hook


class _Recorder:
    path: Path | None = None


def record_spawns(path: Path | None) -> None:
    """Append ``<pid> <label>`` to ``path`` for every process started here."""
    _Recorder.path = path


def record(label: str, pid: int) -> None:
    if _Recorder.path is not None:
        with open(_Recorder.path, "a", encoding="utf-8") as out:
            out.write(f"{pid} {label}\n")


def spawn(args: list[str], *, label: str, **popen_kwargs: Any) -> subprocess.Popen:
    """Start ``args`` in a session of its own, dying with this thread.

    The pid is recorded (see :func:`record_spawns`) before any stop signal
    may interrupt the caller.
    """
    with shielded():
        process = subprocess.Popen(  # noqa: S603 - our own commands
            args,
            start_new_session=True,
            preexec_fn=_die_with_parent_hook(),
            **popen_kwargs,
        )
        record(label, process.pid)
    return process


# --- stopping ----------------------------------------------------------------


def _signal_group(process: subprocess.Popen, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signum)


def stop_processes(
    processes: Iterable[subprocess.Popen | None], timeout: float = 10
) -> None:
    """SIGTERM each process's group, wait, then SIGKILL what is left.

    The groups are signalled even when their leader has already exited:
    a child it started may still be running.
    """
    started = [p for p in processes if p is not None]
    with shielded():
        for process in started:
            _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for process in started:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(max(0.0, deadline - time.monotonic()))
        for process in started:
            _signal_group(process, signal.SIGKILL)
        for process in started:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(5)


def stop_process(process: subprocess.Popen | None, timeout: float = 10) -> None:
    """:func:`stop_processes` for one process."""
    stop_processes([process], timeout)
