"""Follow the install recipes of docs/installation.rst in fresh environments.

``python3 dev.py check-install`` calls :func:`check_recipes`.  The recipes
are read from the documentation itself: each code block that follows a
comment ``.. install-check: <name>`` is one recipe, so what is checked is
exactly what a reader copies.  A ``console`` block's ``$`` lines are run
(only ``pip``, ``uv`` and ``python`` commands, with ``*`` expanded as a
shell would); a ``toml`` block is a site's ``pyproject.toml``, installed
with ``uv lock`` and ``uv sync`` as the page says.

Every recipe runs in a directory of its own, next to ``vox-activity/`` (a
copy of the clone), in a fresh virtual environment made by uv from the
chosen interpreter, with every directory holding ``cargo`` or ``rustc``
taken off ``PATH``: the recipes must work without a Rust toolchain, which
is what django-vox's ``august`` dependency needs.  The recipe named
``build`` runs first and leaves the sdist and the wheel in the clone's
``dist/``; each of the others installs vox-activity, and then, with the
environment's interpreter and a minimal site (:data:`SITE_SETTINGS`):

* ``vox_activity`` and ``django_vox`` import, from the environment (not from
  the clone);
* neither ``august`` nor ``dataclasses`` is installed;
* ``django-admin check --fail-level WARNING``, ``migrate`` and
  ``makemigrations --check --dry-run`` pass, which also proves that the
  migrations were installed.

Standard library only: it runs under the interpreter that runs ``dev.py``.
"""

from __future__ import annotations

import glob
import json
import os
import re
import shlex
import shutil
import subprocess
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

from devtools.distributions import clean_copy

MARKER = re.compile(r"^(\s*)\.\. install-check: ([\w-]+)\s*$")
DIRECTIVE = re.compile(r"^(\s*)\.\. code-block:: (\w+)\s*$")
#: The only programs a recipe may run.
PROGRAMS = {"pip", "uv", "python"}
#: Programs that must not be reachable while recipes run.
RUST_TOOLS = ("cargo", "rustc")
CLONE = "vox-activity"
#: The recipe that builds the wheel and sdist the others install.
BUILD = "build"
#: Variables that would send an install somewhere else than the recipe's fresh
#: environment (``UV_PYTHON`` makes ``uv pip`` install into that interpreter,
#: ``PIP_USER`` into ``~/.local``...) or change what Python or Rust finds.
ISOLATING = {
    "VIRTUAL_ENV",
    "CONDA_PREFIX",
    "PYTHONHOME",
    "PYTHONPATH",
    "PYTHONUSERBASE",
    "UV_PYTHON",
    "UV_SYSTEM_PYTHON",
    "UV_PROJECT_ENVIRONMENT",
    "PIP_USER",
    "PIP_TARGET",
    "PIP_PREFIX",
    "CARGO_HOME",
    "RUSTUP_HOME",
}
TIMEOUT = 900  # seconds per command: pip on a slow mirror, not a hang

SITE_SETTINGS = '''\
"""The smallest site wired as docs/installation.rst says (check-install)."""

from pathlib import Path

SECRET_KEY = "check-install-only"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
ROOT_URLCONF = "site_urls"
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "vox_activity",
    "django_vox",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "vox_activity.middleware.ActivityPubMiddleware",
]
DJANGO_VOX_BACKENDS = ["vox_activity.backend.Backend"]
DJANGO_VOX_ISSUE_METHOD = "vox_activity.issue.issue_now"
SITE_DOMAIN = "example.com"
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": Path(__file__).resolve().parent / "site.sqlite3",
    }
}
'''
SITE_URLS = """\
from django.urls import include, path

urlpatterns = [path("", include("vox_activity.urls"))]
"""
#: Run by the environment's interpreter: where the packages come from, and
#: whether django-vox's unwanted dependencies were installed.
PROBE = """\
import importlib.metadata, json, django, django_vox, vox_activity
unwanted = []
for name in ("august", "dataclasses"):
    try:
        importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        continue
    unwanted.append(name)
print(json.dumps({"vox_activity": vox_activity.__file__,
                  "django_vox": django_vox.__file__,
                  "django": django.get_version(),
                  "unwanted": unwanted}))
"""


@dataclass
class Recipe:
    """One marked code block of the installation page."""

    name: str
    language: str
    body: str

    def commands(self) -> list[str]:
        """The ``$`` lines of a console block, continuation lines joined."""
        commands: list[str] = []
        pending = ""
        for line in self.body.splitlines():
            line = line.strip()
            if pending:
                line = pending + " " + line
                pending = ""
            elif line.startswith("$ "):
                line = line[2:]
            else:
                continue  # output shown in the block, not a command
            if line.endswith("\\"):
                pending = line[:-1].rstrip()
            else:
                commands.append(line)
        if pending:
            commands.append(pending)
        return commands


def read_recipes(text: str) -> list[Recipe]:
    """The recipes marked in ``text`` (reStructuredText), in order."""
    lines = text.splitlines()
    recipes = []
    for index, line in enumerate(lines):
        marker = MARKER.match(line)
        if not marker:
            continue
        following = (i for i in range(index + 1, len(lines)) if lines[i].strip())
        start = next(following, None)
        directive = DIRECTIVE.match(lines[start]) if start is not None else None
        if directive is None:
            raise ValueError(
                f"'.. install-check: {marker[2]}' is not followed by a code block"
            )
        indent = len(directive[1])
        block = []
        for body_line in lines[start + 1 :]:
            if body_line.strip() and len(body_line) - len(body_line.lstrip()) <= indent:
                break
            block.append(body_line)
        body = textwrap.dedent("\n".join(block)).strip("\n") + "\n"
        recipes.append(Recipe(marker[2], directive[2], body))
    return recipes


def rust_free_path(path: str) -> str:
    """``path`` without the directories that hold a Rust toolchain."""
    kept = []
    for directory in path.split(os.pathsep):
        if directory and not any(
            (Path(directory) / tool).exists() for tool in RUST_TOOLS
        ):
            kept.append(directory)
    return os.pathsep.join(dict.fromkeys(kept))


def expand(argument: str, cwd: Path) -> list[str]:
    """A shell's expansion of ``*`` in one argument (which must match something).

    Only ``*``: the recipes quote what has brackets (``'./vox-activity[rq]'``),
    and ``shlex`` has already dropped those quotes.
    """
    if "*" not in argument:
        return [argument]
    matches = sorted(glob.glob(argument, root_dir=cwd))
    if not matches:
        raise ValueError(f"{argument} matches no file in {cwd}")
    return matches


class Runner:
    """Runs commands for one recipe, echoing them, and keeps what went wrong."""

    def __init__(self, name: str, cwd: Path, env: dict[str, str]) -> None:
        self.name = name
        self.cwd = cwd
        self.env = env
        self.problems: list[str] = []

    def run(
        self, argv: list[str], capture: bool = False, label: str | None = None
    ) -> str | None:
        label = label or shlex.join(argv)
        print(f"[{self.name}] $ {label}", flush=True)
        try:
            done = subprocess.run(
                argv,
                cwd=self.cwd,
                env=self.env,
                timeout=TIMEOUT,
                check=False,
                text=True,
                stdout=subprocess.PIPE if capture else None,
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            self.problems.append(f"{label}: {error}")
            return None
        if done.returncode:
            self.problems.append(f"{label} exited {done.returncode}")
            return None
        return done.stdout if capture else ""


def built_files(clone: Path) -> list[str]:
    """What the build recipe left in the clone's ``dist/``: one sdist, one wheel."""
    dist = clone / "dist"
    names = sorted(p.name for p in dist.iterdir()) if dist.is_dir() else []
    wheels = [n for n in names if n.endswith(".whl")]
    sdists = [n for n in names if n.endswith(".tar.gz")]
    if len(wheels) != 1 or len(sdists) != 1:
        return []
    return names


def write_site(directory: Path) -> Path:
    directory.mkdir()
    (directory / "site_settings.py").write_text(SITE_SETTINGS)
    (directory / "site_urls.py").write_text(SITE_URLS)
    return directory


def check_recipe(
    recipe: Recipe,
    clone: Path,
    python: str,
    uv: Path,
    workdir: Path,
    verify: bool = True,
) -> list[str]:
    """Follow one recipe in a fresh environment; the problems found.

    ``verify``: then check the environment (imports, ``django-admin``); the
    build recipe only makes the wheel the others install.
    """
    home = workdir / recipe.name
    home.mkdir()
    (home / CLONE).symlink_to(clone, target_is_directory=True)
    uv_bin = home / "uv-bin"  # uv on PATH, without the rest of .venvs/tools
    uv_bin.mkdir()
    (uv_bin / "uv").symlink_to(uv)
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ISOLATING and not k.startswith("DJANGO_")
    }
    env["PATH"] = rust_free_path(f"{uv_bin}{os.pathsep}{os.environ.get('PATH', '')}")
    env["UV_PYTHON_DOWNLOADS"] = "never"  # the machine's Python, never uv's own

    if recipe.language == "toml":
        venv = home / ".venv"
        (home / "pyproject.toml").write_text(recipe.body)
        steps = [["uv", "lock"], ["uv", "sync"]]
        # The interpreter uv lock / uv sync make the project's .venv with.
        # Never for the console recipes: to `uv pip`, UV_PYTHON names the
        # environment to install INTO, which would be the machine's Python.
        env["UV_PYTHON"] = python
    elif recipe.language == "console":
        venv = home / "venv"
        steps = [shlex.split(command) for command in recipe.commands()]
        env["VIRTUAL_ENV"] = str(venv)
        env["PIP_REQUIRE_VIRTUALENV"] = "1"  # pip refuses any other target
        env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env['PATH']}"
    else:
        return [f"code block language {recipe.language!r} is not a recipe"]
    runner = Runner(recipe.name, home, env)
    for tool in RUST_TOOLS:
        if shutil.which(tool, path=env["PATH"]):
            runner.problems.append(f"{tool} is still on PATH")
    if recipe.language == "console":
        runner.run(
            [str(uv), "venv", "--seed", "--quiet", "--python", python, str(venv)]
        )
    for argv in steps:
        if runner.problems:
            return runner.problems
        if not argv or argv[0] not in PROGRAMS:
            return [f"{shlex.join(argv)}: a recipe runs only {sorted(PROGRAMS)}"]
        program = shutil.which(argv[0], path=env["PATH"])
        if program is None:
            return [f"{argv[0]} is not on the recipe's PATH"]
        try:
            expanded = [a for arg in argv[1:] for a in expand(arg, home)]
        except ValueError as error:
            return [str(error)]
        runner.run([program, *expanded])
    if runner.problems or not verify:
        return runner.problems
    return verify_environment(runner, venv, home)


def verify_environment(runner: Runner, venv: Path, home: Path) -> list[str]:
    """Imports, unwanted packages, and ``django-admin`` on a minimal site."""
    site = write_site(home / "site")
    runner.cwd = site
    runner.env = {
        **runner.env,
        "PYTHONPATH": str(site),
        "DJANGO_SETTINGS_MODULE": "site_settings",
    }
    python = venv / "bin" / "python"
    found = runner.run(
        [str(python), "-c", PROBE],
        capture=True,
        label="python -c 'import vox_activity, django_vox' (and where from)",
    )
    if found is None:
        return runner.problems
    probe = json.loads(found.strip().splitlines()[-1])
    for module in ("vox_activity", "django_vox"):
        if not Path(probe[module]).resolve().is_relative_to(venv.resolve()):
            runner.problems.append(f"{module} imported from {probe[module]}")
    for name in probe["unwanted"]:
        runner.problems.append(f"{name} was installed")
    admin = str(venv / "bin" / "django-admin")
    runner.run([admin, "check", "--fail-level", "WARNING"])
    runner.run([admin, "migrate", "--no-input", "-v", "0"])
    runner.run([admin, "makemigrations", "--check", "--dry-run"])
    if not runner.problems:
        print(f"[{runner.name}] ok: Django {probe['django']}, {probe['vox_activity']}")
    return runner.problems


def check_recipes(
    doc: Path,
    root: Path,
    python: str,
    uv: Path,
    workdir: Path,
    only: list[str] | None = None,
) -> dict[str, list[str]]:
    """Every marked recipe of ``doc`` (or those named in ``only``) → its problems.

    The recipe named ``build`` runs first, always: it builds the sdist and
    the wheel in the copy of the clone, which the other recipes install.
    """
    recipes = {r.name: r for r in read_recipes(doc.read_text())}
    if BUILD not in recipes:
        return {doc.name: [f"no '.. install-check: {BUILD}' recipe found"]}
    unknown = sorted(set(only or []) - set(recipes))
    if unknown:
        there = ", ".join(recipes)
        return {name: [f"no such recipe (there are: {there})"] for name in unknown}
    clone = clean_copy(root, workdir / CLONE)
    results = {}
    for name, recipe in recipes.items():
        if only and name not in only and name != BUILD:
            continue
        started = time.monotonic()
        results[name] = check_recipe(
            recipe, clone, python, uv, workdir, verify=name != BUILD
        )
        if name == BUILD and not results[name]:
            built = built_files(clone)
            if not built:
                results[name] = ["did not leave one wheel and one sdist in dist/"]
            else:
                print(f"[{name}] built {', '.join(built)}")
        print(f"[{name}] {time.monotonic() - started:.0f} s", flush=True)
        if results[BUILD]:
            break  # nothing to install
    return results
