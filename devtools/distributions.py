"""What vox-activity's sdist and wheel must hold, checked on the built files.

``python -m devtools.distributions DIST_DIR`` runs after ``python -m build``
in ``python3 dev.py test``: it prints one line per problem and exits 1 if
there is any.  The build runs on a clean copy of the clone
(:func:`clean_copy`, ``python -m devtools.distributions copy DEST``).
What it checks, and why:

* **Every file of the source package is in the wheel, and nothing else.**
  Python modules ship by themselves, but ``py.typed`` (PEP 561: without it
  type checkers ignore our annotations), templates and any other data file
  ship only when ``[tool.setuptools.package-data]`` names them, and a package
  directory without ``__init__.py`` does not ship at all.  A file missing
  from the wheel breaks a site only after it installs the wheel: a missing
  migration makes ``migrate`` silently do less.  Tests, the demo site and
  the docs must not be installed as top-level packages.
* **The metadata says what pyproject.toml says**: version, licence
  expression and file, dependencies and extras.
* **The sdist can rebuild the wheel** (``python -m build`` builds the wheel
  from the sdist, so a file missing from the sdist already fails the build)
  and carries the documents a packager reads: licence, readme, changelog,
  contributing guide and the documentation sources, with the example files
  the pages include from ``tests/`` (so the docs build from the sdist);
  nothing else (no half test suite: the tests need the demo site and run
  from a clone).

Standard library only (``tomllib`` needs Python 3.11, as the project does).
"""

from __future__ import annotations

import re
import shutil
import sys
import tarfile
import tomllib
import zipfile
from email.message import Message
from email.parser import Parser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "vox_activity"
DISTRIBUTION = "vox_activity"  # the distribution name as it appears in file names
#: Files of the repository, outside the package, that the sdist must carry.
SDIST_DOCUMENTS = (
    "LICENSE",
    "README.rst",
    "CHANGELOG.rst",
    "CONTRIBUTING.rst",
    "pyproject.toml",
    "docs/conf.py",
    "docs/index.rst",
)
#: What else the sdist may hold: setuptools' own files, and directories.
SDIST_ALSO = ("PKG-INFO", "setup.cfg", "MANIFEST.in")
SDIST_DIRECTORIES = (f"{PACKAGE}/", f"{PACKAGE}.egg-info/", "docs/")
#: Files outside docs/ that the documentation includes (literalinclude):
#: examples the suite runs, shipped so that the docs build from the sdist.
LITERALINCLUDE = re.compile(r"^\.\. (?:literalinclude|include)::\s+(\S+)", re.M)
#: Must be in the wheel whatever the package holds; a clearer message than
#: "lacks ..." for the files this project depends on most.
ESSENTIAL = {
    f"{PACKAGE}/py.typed": "PEP 561 marker: without it type checkers ignore our hints",
    f"{PACKAGE}/migrations/__init__.py": "the migrations package",
}
SKIPPED_SUFFIXES = (".pyc", ".pyo")


def clean_copy(root: Path, destination: Path) -> Path:
    """A copy of the clone to build from, as a fresh clone would be.

    Without ``.git``, environments, caches and, above all, the
    ``*.egg-info`` a previous build or editable install left: setuptools
    reads the file list of an existing ``SOURCES.txt`` back into the sdist,
    so a file once listed would keep shipping after its package-data
    pattern is gone, and the check would pass here and fail on a fresh clone.
    """
    shutil.copytree(
        root,
        destination,
        ignore=shutil.ignore_patterns(
            ".git", ".venvs", "__pycache__", "*.pyc", "*.egg-info", "build", "dist"
        ),
        symlinks=True,
    )
    return destination


def package_version(root: Path = ROOT) -> str:
    """``__version__`` as written in the package, read without importing it."""
    text = (root / PACKAGE / "__init__.py").read_text()
    match = re.search(r'^__version__ = "([^"]+)"', text, re.MULTILINE)
    if not match:
        raise SystemExit(f"no __version__ in {PACKAGE}/__init__.py")
    return match.group(1)


def source_files(root: Path = ROOT) -> set[str]:
    """The package's files, as wheel paths (``vox_activity/...``), caches left out."""
    found = set()
    for path in (root / PACKAGE).rglob("*"):
        relative = path.relative_to(root)
        if (
            path.is_dir()
            or "__pycache__" in relative.parts
            or path.name.startswith(".")
            or path.suffix in SKIPPED_SUFFIXES
        ):
            continue
        found.add(relative.as_posix())
    return found


def _normalise(requirement: str) -> str:
    return requirement.replace(" ", "").replace("'", '"').lower()


def expected_requirements(project: dict) -> set[str]:
    """``Requires-Dist`` values, normalised, that ``[project]`` asks for."""
    wanted = {_normalise(dep) for dep in project.get("dependencies", [])}
    for extra, deps in project.get("optional-dependencies", {}).items():
        wanted |= {_normalise(f'{dep}; extra == "{extra}"') for dep in deps}
    return wanted


def check_metadata(metadata: Message, project: dict, version: str) -> list[str]:
    problems = []
    if metadata["Name"] != project["name"]:
        problems.append(
            f"metadata Name is {metadata['Name']!r}, not {project['name']!r}"
        )
    if metadata["Version"] != version:
        problems.append(
            f"metadata Version is {metadata['Version']!r}, but "
            f"{PACKAGE}.__version__ is {version!r}"
        )
    if metadata["License-Expression"] != project.get("license"):
        problems.append(
            f"metadata License-Expression is {metadata['License-Expression']!r}, "
            f"not {project.get('license')!r}"
        )
    license_files = metadata.get_all("License-File") or []
    for name in project.get("license-files", []):
        if name not in license_files:
            problems.append(f"metadata lacks License-File: {name}")
    declared = {_normalise(r) for r in metadata.get_all("Requires-Dist") or []}
    wanted = expected_requirements(project)
    for requirement in sorted(wanted - declared):
        problems.append(f"metadata lacks Requires-Dist {requirement}")
    for requirement in sorted(declared - wanted):
        problems.append(f"metadata has Requires-Dist {requirement}, not in pyproject")
    return problems


def check_wheel(
    wheel: Path, expected: set[str], project: dict, version: str
) -> list[str]:
    problems = []
    dist_info = f"{DISTRIBUTION}-{version}.dist-info"
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        metadata_text = archive.read(f"{dist_info}/METADATA").decode()
    shipped = {n for n in names if n.startswith(f"{PACKAGE}/")}
    for name, why in ESSENTIAL.items():
        if name not in shipped:
            problems.append(f"wheel lacks {name} ({why})")
    if not any(
        re.fullmatch(rf"{PACKAGE}/migrations/\d{{4}}_\w+\.py", n) for n in shipped
    ):
        problems.append(f"wheel holds no migration under {PACKAGE}/migrations/")
    for name in sorted(expected - shipped - set(ESSENTIAL)):
        problems.append(
            f"wheel lacks {name}: name it in [tool.setuptools.package-data], or "
            "give its directory an __init__.py if it holds Python modules"
        )
    for name in sorted(shipped - expected):
        problems.append(f"wheel holds {name}, which is not in the source tree")
    for name in sorted(names - shipped):
        if not name.startswith(f"{dist_info}/"):
            problems.append(f"wheel installs {name}, outside {PACKAGE}/")
    for license_file in project.get("license-files", []):
        if f"{dist_info}/licenses/{license_file}" not in names:
            problems.append(f"wheel lacks {dist_info}/licenses/{license_file}")
    metadata = Parser().parsestr(metadata_text)
    problems += [f"wheel {p}" for p in check_metadata(metadata, project, version)]
    return problems


def included_by_docs(root: Path = ROOT) -> set[str]:
    """Files outside ``docs/`` that pages include, as sdist-relative paths."""
    docs = root / "docs"
    found = set()
    for page in docs.rglob("*.rst"):
        for target in LITERALINCLUDE.findall(page.read_text()):
            path = (page.parent / target).resolve()
            if not path.is_relative_to(docs) and path.is_relative_to(root):
                found.add(path.relative_to(root).as_posix())
    return found


def check_sdist(
    sdist: Path, expected: set[str], version: str, doc_sources: set[str] = frozenset()
) -> list[str]:
    problems = []
    top = f"{DISTRIBUTION}-{version}"
    with tarfile.open(sdist) as archive:
        names = {m.name for m in archive.getmembers() if m.isfile()}
    inside = {n.removeprefix(f"{top}/") for n in names if n.startswith(f"{top}/")}
    for name in sorted(names - {f"{top}/{n}" for n in inside}):
        problems.append(f"sdist holds {name}, outside {top}/")
    for name in [*SDIST_DOCUMENTS, "PKG-INFO", *sorted(expected), *sorted(doc_sources)]:
        if name not in inside:
            problems.append(f"sdist lacks {name} (see MANIFEST.in)")
    for name in sorted(inside):
        if "__pycache__" in name or name.endswith(SKIPPED_SUFFIXES):
            problems.append(f"sdist holds a compiled file: {name}")
        elif name not in (
            *SDIST_DOCUMENTS,
            *SDIST_ALSO,
            *doc_sources,
        ) and not name.startswith(SDIST_DIRECTORIES):
            problems.append(f"sdist holds {name}: prune it in MANIFEST.in")
    return problems


def check_dist_dir(outdir: Path, root: Path = ROOT) -> list[str]:
    """Every problem with the one sdist and one wheel in ``outdir``."""
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    version = package_version(root)
    expected = source_files(root)
    wheel = outdir / f"{DISTRIBUTION}-{version}-py3-none-any.whl"
    sdist = outdir / f"{DISTRIBUTION}-{version}.tar.gz"
    problems = []
    others = sorted(p.name for p in outdir.iterdir() if p not in (wheel, sdist))
    if others:
        problems.append(f"unexpected files in {outdir}: {', '.join(others)}")
    for path in (wheel, sdist):
        if not path.is_file():
            problems.append(f"{path.name} was not built")
    if wheel.is_file():
        problems += check_wheel(wheel, expected, project, version)
    if sdist.is_file():
        problems += check_sdist(sdist, expected, version, included_by_docs(root))
    return problems


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "copy":
        clean_copy(ROOT, Path(argv[1]))
        return 0
    if len(argv) != 1:
        print(
            "usage: python -m devtools.distributions DIST_DIR\n"
            "       python -m devtools.distributions copy DESTINATION",
            file=sys.stderr,
        )
        return 2
    outdir = Path(argv[0])
    problems = check_dist_dir(outdir)
    for problem in problems:
        print(f"PROBLEM: {problem}")
    if not problems:
        names = ", ".join(sorted(p.name for p in outdir.iterdir()))
        print(f"{names}: contents and metadata as expected")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
