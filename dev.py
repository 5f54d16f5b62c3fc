#!/usr/bin/env python3
"""Developer entry point: ``python3 dev.py demo``, ``test`` and ``check-install``.

Only the standard library is used here, so the two quick-start commands work on
a fresh machine that has nothing but Python.  Everything else is installed into
``.venvs/`` from the lock files in ``requirements/``:

* ``.venvs/tools``     - a plain venv holding ``uv`` (installed with pip);
* ``.venvs/django52``  - Django 5.2 LTS on Python 3.11+;
* ``.venvs/django6``   - Django 6.x on Python 3.12+ (found on PATH or in pyenv).

``test`` runs, for every environment: ``makemigrations --check`` and pytest on
SQLite, and on PostgreSQL too when ``DATABASE_URL`` is set; then ruff, mypy, the
Sphinx build (warnings are errors) and the packaging check (build, ``twine
check``, what the sdist and the wheel hold) once.  It ends with one summary line.

``check-install`` follows the install recipes of ``docs/installation.rst`` in
fresh virtual environments (``devtools/install_recipe.py``); it downloads the
dependencies, so it is a command of its own rather than part of ``test``.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENVS = ROOT / ".venvs"
UV_REQUIREMENT = "uv>=0.5,<1"

# name -> (lock file, minimum Python (major, minor))
ENVIRONMENTS = {
    "django52": ("requirements/django52.txt", (3, 11)),
    "django6": ("requirements/django6.txt", (3, 12)),
}
DEMO_ENVIRONMENT = "django52"


def say(message: str) -> None:
    print(f"\n==> {message}", flush=True)


def run(cmd: list[str], **kwargs) -> int:
    """Run ``cmd``; interrupted, stop it (SIGTERM, then SIGKILL) before going on."""
    print("$ " + " ".join(str(c) for c in cmd), flush=True)
    process = subprocess.Popen(
        [str(c) for c in cmd], preexec_fn=_die_with_parent_hook(), **kwargs
    )
    try:
        return process.wait()
    except BaseException:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        raise


def check(cmd: list[str], **kwargs) -> None:
    code = run(cmd, **kwargs)
    if code:
        sys.exit(f"dev.py: command failed with exit code {code}: {cmd[0]}")


# --- signals and children ----------------------------------------------------

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM) + (
    (signal.SIGHUP,) if hasattr(signal, "SIGHUP") else ()
)


class Stopped(BaseException):
    """A stop signal arrived (see :func:`stop_on_signals`)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _raise_stopped(signum, frame) -> None:
    for other in STOP_SIGNALS:  # once: the cleaning up must not be interrupted
        signal.signal(other, signal.SIG_IGN)
    raise Stopped(signum)


def stop_on_signals() -> None:
    """SIGINT, SIGTERM and SIGHUP raise :class:`Stopped` (once)."""
    for signum in STOP_SIGNALS:
        signal.signal(signum, _raise_stopped)


def _die_with_parent_hook():
    """Linux: a ``preexec_fn`` that has the child SIGTERMed when we die.

    (So that ``uv`` stops when ``dev.py`` is killed outright.)  libc is
    loaded here, in the parent; the child only makes the call.
    """
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (ImportError, OSError, AttributeError):
        return None
    parent = os.getpid()

    def hook() -> None:
        prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG
        if os.getppid() != parent:  # we died before the call
            os.kill(os.getpid(), signal.SIGTERM)

    return hook


# --- interpreters and environments -------------------------------------------


def python_version(executable: str) -> tuple[int, int] | None:
    try:
        out = subprocess.run(
            [executable, "-c", "import sys; print(*sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout.split()
        return int(out[0]), int(out[1])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return None


def find_python(minimum: tuple[int, int]) -> str | None:
    """The oldest interpreter that is at least ``minimum`` (PATH, then pyenv)."""
    if sys.version_info[:2] >= minimum:
        return sys.executable
    candidates = []
    for minor in range(minimum[1], minimum[1] + 4):
        found = shutil.which(f"python{minimum[0]}.{minor}")
        if found:
            candidates.append(found)
    pyenv_root = os.environ.get("PYENV_ROOT") or str(Path.home() / ".pyenv")
    pattern = os.path.join(pyenv_root, "versions", "3.*", "bin", "python3")
    candidates += sorted(glob.glob(pattern), key=_version_key)
    for candidate in candidates:
        version = python_version(candidate)
        if version and version >= minimum:
            return candidate
    return None


def _version_key(path: str) -> tuple[int, ...]:
    match = re.search(r"versions/(\d+)\.(\d+)\.?(\d*)", path)
    return tuple(int(p or 0) for p in match.groups()) if match else (0,)


def real_interpreter(name: str) -> str | None:
    """The interpreter ``name`` runs, shims (pyenv) resolved; None if it fails."""
    try:
        return subprocess.run(
            [name, "-c", "import sys; print(sys.executable)"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None


def venv_python(path: Path) -> Path:
    return path / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def ensure_uv() -> Path:
    tools = VENVS / "tools"
    uv = tools / ("Scripts/uv.exe" if os.name == "nt" else "bin/uv")
    if not uv.exists():
        say("bootstrapping uv into .venvs/tools")
        venv.EnvBuilder(with_pip=True, clear=True).create(tools)
        check([venv_python(tools), "-m", "pip", "install", "-q", UV_REQUIREMENT])
    return uv


def project_stamp() -> str:
    """What of ``pyproject.toml`` an environment is built from.

    The ``[project]`` table (dependencies, extras) and how the package is built
    (``[build-system]``, ``[tool.setuptools]``): a change there rebuilds the
    environments; a change to the ruff or pytest configuration does not.
    """
    text = (ROOT / "pyproject.toml").read_text()
    try:
        import tomllib
    except ImportError:  # dev.py itself may run on a Python older than 3.11
        return text
    data = tomllib.loads(text)
    wanted = {
        "build-system": data.get("build-system"),
        "project": data.get("project"),
        "setuptools": data.get("tool", {}).get("setuptools"),
    }
    return json.dumps(wanted, sort_keys=True)


def ensure_environment(name: str) -> Path | None:
    """Create or update ``.venvs/<name>`` from its lock file; None if no Python."""
    lock, minimum = ENVIRONMENTS[name]
    interpreter = find_python(minimum)
    if interpreter is None:
        return None
    uv = ensure_uv()
    target = VENVS / name
    stamp = target / ".locked-from"
    inputs = [interpreter, (ROOT / lock).read_text(), project_stamp()]
    wanted = "\n".join(inputs)
    if stamp.exists() and stamp.read_text() == wanted:
        return venv_python(target)
    say(f"preparing .venvs/{name} ({lock}, {interpreter})")
    check([uv, "venv", "--clear", "--quiet", "--python", interpreter, target])
    env = {**os.environ, "VIRTUAL_ENV": str(target)}
    check([uv, "pip", "sync", "--quiet", ROOT / lock], env=env)
    check([uv, "pip", "install", "--quiet", "--no-deps", "-e", ROOT], env=env)
    stamp.write_text(wanted)
    return venv_python(target)


# --- commands ----------------------------------------------------------------


class Tally:
    """Adds up pytest's closing lines so one summary line ends the run."""

    def __init__(self) -> None:
        self.passed = self.failed = self.skipped = 0
        self.problems: list[str] = []

    def pytest(self, label: str, python: Path, args: list[str], env: dict) -> None:
        say(f"pytest [{label}]")
        proc = subprocess.Popen(
            [str(python), "-m", "pytest", *args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        last = ""
        assert proc.stdout is not None
        for line in proc.stdout:
            sys.stdout.write(line)
            if line.strip():
                last = line
        code = proc.wait()
        found = re.findall(r"(\d+) (passed|failed|skipped|error)", last)
        counts = {word: int(n) for n, word in found}
        self.passed += counts.get("passed", 0)
        self.failed += counts.get("failed", 0) + counts.get("error", 0)
        self.skipped += counts.get("skipped", 0)
        if code:
            self.problems.append(f"pytest [{label}] exited {code}")

    def step(self, label: str, cmd: list, env: dict | None = None) -> bool:
        say(label)
        if run(cmd, cwd=ROOT, env=env):
            self.problems.append(label)
            return False
        return True


def packaging_steps(tally: Tally, python: Path) -> None:
    """Build the sdist and the wheel, as a release would, and check them.

    ``python -m build`` builds the sdist, then the wheel from the sdist (so a
    file the sdist lacks fails here), from a clean copy of the clone (see
    ``devtools.distributions.clean_copy``), without build isolation: setuptools
    comes from the lock file, so the step is quick and needs no network.
    ``VALIDATE_PYPROJECT_NO_NETWORK`` keeps setuptools from downloading
    PyPI's classifier list; it validates them with ``trove-classifiers``.
    """
    env = {**os.environ, "VALIDATE_PYPROJECT_NO_NETWORK": "1"}
    with tempfile.TemporaryDirectory(prefix="vox-dist-") as tmp:
        source, outdir = Path(tmp) / "source", Path(tmp) / "dist"
        copy = [python, "-m", "devtools.distributions", "copy", source]
        if not tally.step("packaging: a clean copy of the clone", copy):
            return
        build = [
            python,
            "-m",
            "build",
            "--no-isolation",
            "--quiet",
            "--outdir",
            outdir,
            source,
        ]
        if not tally.step("packaging: python -m build", build, env=env):
            return
        built = sorted(Path(outdir).iterdir())
        tally.step(
            "packaging: twine check",
            [python, "-m", "twine", "check", "--strict", *built],
        )
        tally.step(
            "packaging: what the sdist and the wheel hold",
            [python, "-m", "devtools.distributions", outdir],
        )


def command_test(options: argparse.Namespace) -> int:
    tally = Tally()
    ci = os.environ.get("CI", "").lower() in ("1", "true", "yes")
    wanted = options.env or list(ENVIRONMENTS)
    pythons: dict[str, Path] = {}
    for name in wanted:
        python = ensure_environment(name)
        if python is None:
            minimum = ".".join(map(str, ENVIRONMENTS[name][1]))
            message = f"no Python >= {minimum} found for the {name} environment"
            if ci:
                sys.exit(f"dev.py: {message}; CI must test every environment.")
            print(f"WARNING: {message}; it is NOT tested on this machine.")
            continue
        pythons[name] = python

    database_url = os.environ.get("DATABASE_URL", "")
    for name, python in pythons.items():
        base_env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
        base_env["PYTHONPATH"] = str(ROOT)
        tally.step(
            f"makemigrations --check [{name}]",
            [python, "-m", "django", "makemigrations", "--check", "--dry-run"],
            env={**base_env, "DJANGO_SETTINGS_MODULE": "tests.settings"},
        )
        tally.pytest(f"{name}, sqlite", python, options.pytest_args, base_env)
        if database_url:
            pg_env = {**base_env, "DATABASE_URL": database_url}
            tally.pytest(f"{name}, postgresql", python, options.pytest_args, pg_env)

    if pythons and not options.no_lint:
        python = next(iter(pythons.values()))
        tally.step("ruff check", [python, "-m", "ruff", "check", "."])
        tally.step(
            "ruff format --check", [python, "-m", "ruff", "format", "--check", "."]
        )
        tally.step("mypy (django-stubs)", [python, "-m", "mypy"])
        tally.step(
            "sphinx (warnings are errors)",
            [
                python,
                "-m",
                "sphinx",
                "-W",
                "--keep-going",
                "-q",
                "-b",
                "html",
                "docs",
                VENVS / "docs-html",
            ],
        )
        packaging_steps(tally, python)

    say("summary")
    for problem in tally.problems:
        print(f"FAILED: {problem}")
    print(f"{tally.passed} passed, {tally.failed} failed, {tally.skipped} skipped")
    if not pythons:
        return 1
    return 1 if (tally.problems or tally.failed) else 0


def command_check_install(options: argparse.Namespace) -> int:
    """Follow docs/installation.rst's recipes in fresh environments."""
    from devtools.install_recipe import check_recipes

    if options.python:
        python = real_interpreter(options.python)
        if python is None:
            sys.exit(f"dev.py: {options.python!r} is not a Python that runs.")
    else:
        python = find_python((3, 11))
        if python is None:
            sys.exit("dev.py: check-install needs Python 3.11 or newer.")
    workdir = Path(tempfile.mkdtemp(prefix="vox-install-"))
    say(f"following docs/installation.rst's recipes with {python} in {workdir}")
    try:
        results = check_recipes(
            doc=ROOT / "docs" / "installation.rst",
            root=ROOT,
            python=str(python),
            uv=ensure_uv(),
            workdir=workdir,
            only=options.recipe,
        )
    finally:
        if options.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    say("summary")
    for name, problems in results.items():
        print(f"{name}: {'ok' if not problems else 'FAILED'}")
        for problem in problems:
            print(f"    {problem}")
    return 1 if any(results.values()) else 0


def command_demo(options: argparse.Namespace) -> int:
    """Prepare the environment, then *become* ``demo.py`` (exec, on POSIX).

    Being the same process, the demo gets every signal sent to ``dev.py``
    (``kill <pid>``, Ctrl-C), and nothing outlives a ``kill -9``: the demo's
    children are told to stop when it dies.  A stop while the environment
    is prepared stops ``uv`` and prints "Stopped." (status 128 + signal).
    """
    stop_on_signals()
    try:
        python = ensure_environment(options.env)
    except Stopped as stop:
        print("\nStopped.", flush=True)
        return 128 + stop.signum
    if python is None:
        minimum = ".".join(map(str, ENVIRONMENTS[options.env][1]))
        sys.exit(f"dev.py: the demo needs Python {minimum} or newer.")
    args = [str(a) for a in (python, ROOT / "testsite" / "demo.py", *options.demo_args)]
    if os.name != "posix":
        signal.signal(signal.SIGINT, signal.default_int_handler)
        return subprocess.call(args, cwd=ROOT)
    sys.stdout.flush()
    sys.stderr.flush()
    # Signals that come between here and demo.py's handlers wait (blocked
    # signals stay blocked, and pending, across exec); demo.py unblocks them.
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    for signum in STOP_SIGNALS:
        signal.signal(signum, signal.SIG_DFL)
    os.chdir(ROOT)
    os.execv(args[0], args)  # noqa: S606 - our demo.py, our arguments


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    test = sub.add_parser("test", help="run the whole test suite (all environments)")
    test.add_argument(
        "--env",
        action="append",
        choices=list(ENVIRONMENTS),
        help="only this environment (repeatable); default: all",
    )
    test.add_argument(
        "--no-lint",
        action="store_true",
        help="skip ruff, sphinx and the packaging check",
    )
    test.add_argument(
        "pytest_args", nargs=argparse.REMAINDER, help="passed on to pytest"
    )
    demo = sub.add_parser("demo", help="start the demo site (see testsite/demo.py)")
    demo.add_argument(
        "--env",
        choices=list(ENVIRONMENTS),
        default=DEMO_ENVIRONMENT,
        help=f"the environment the demo runs in (default: {DEMO_ENVIRONMENT})",
    )
    demo.add_argument(
        "demo_args", nargs=argparse.REMAINDER, help="passed on to testsite/demo.py"
    )
    install = sub.add_parser(
        "check-install",
        help="install the wheel as docs/installation.rst says, in fresh venvs",
    )
    install.add_argument(
        "--python",
        help="interpreter for the fresh environments (default: the oldest 3.11+)",
    )
    install.add_argument(
        "--recipe",
        action="append",
        help="only this recipe (repeatable; build always runs): pip-wheel, uv-pip...",
    )
    install.add_argument(
        "--keep", action="store_true", help="keep the temporary directory"
    )
    # Options we do not know belong to pytest or demo.py: "dev.py test -k x",
    # "dev.py demo --scenario-only" (and the same after "--") all work.
    options, unknown = parser.parse_known_args(argv)
    if options.command == "check-install":
        if unknown:
            parser.error(f"unrecognized arguments: {' '.join(unknown)}")
        return command_check_install(options)
    name = "pytest_args" if options.command == "test" else "demo_args"
    passed_on = [*unknown, *getattr(options, name)]
    setattr(options, name, [arg for arg in passed_on if arg != "--"])
    if options.command == "test":
        return command_test(options)
    return command_demo(options)


if __name__ == "__main__":
    sys.exit(main())
