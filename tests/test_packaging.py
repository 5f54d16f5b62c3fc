"""Packaging: one source of truth for the pins, and the checks dev.py runs.

* The install recipes in README.rst and docs/installation.rst list the
  dependencies by hand (pip installs vox-activity with ``--no-deps``): they
  must name exactly vox-activity's dependencies from pyproject.toml, with the
  same versions, plus django-vox's real ones (read from its installed
  metadata), and nothing else.
* ``devtools.install_recipe`` reads the recipes that ``dev.py check-install``
  follows; ``devtools.distributions`` finds what a wheel or sdist lacks.  Both
  are tested here on made-up inputs, so that a check that could never fail
  would show.
"""

from __future__ import annotations

import importlib.metadata
import re
import shlex
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest

from devtools.distributions import check_dist_dir, source_files
from devtools.install_recipe import Recipe, read_recipes, rust_free_path

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
INSTALL_DOC = ROOT / "docs" / "installation.rst"
#: django-vox's declared dependencies that no site installs (overrides.txt).
NOT_INSTALLED = {"august", "dataclasses"}


def name_of(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9._-]+", requirement)
    assert match, requirement
    return re.sub(r"[-_.]+", "-", match.group()).lower()


def pip_commands(text: str) -> list[list[str]]:
    """Every ``pip install`` command in a reStructuredText page, as arguments."""
    joined = re.sub(r"\\\n\s*", " ", text)  # continuation lines
    commands = []
    for line in joined.splitlines():
        line = line.strip().removeprefix("$ ")
        if line.startswith("pip install "):
            commands.append(shlex.split(line)[2:])
    return commands


def our_dependencies() -> dict[str, str]:
    return {name_of(dep): dep for dep in PYPROJECT["project"]["dependencies"]}


def django_vox_real_dependencies() -> set[str]:
    declared = importlib.metadata.requires("django-vox") or []
    return {name_of(dep) for dep in declared if "extra ==" not in dep} - NOT_INSTALLED


@pytest.mark.parametrize("page", ["README.rst", "docs/installation.rst"])
def test_pip_recipes_name_the_pins_of_pyproject(page):
    commands = pip_commands((ROOT / page).read_text())
    no_deps = [c for c in commands if "--no-deps" in c]
    dependencies = [c for c in commands if "--no-deps" not in c]
    assert no_deps, f"{page} has no 'pip install --no-deps' line"
    assert dependencies, f"{page} has no line installing the dependencies"

    ours = our_dependencies()
    for command in no_deps:
        # django-vox exactly as pyproject.toml pins it.
        assert ours["django-vox"] in command, (page, command)
    expected_names = (set(ours) - {"django-vox"}) | django_vox_real_dependencies()
    for command in dependencies:
        names = {name_of(arg): arg for arg in command}
        assert set(names) == expected_names, (page, command)
        for name, requirement in names.items():
            if name in ours:
                assert requirement == ours[name], (page, requirement)
            else:  # django-vox's own, with no pin of ours to agree with
                assert requirement == name, (page, requirement)


def test_the_installation_page_marks_its_recipes():
    recipes = {r.name: r for r in read_recipes(INSTALL_DOC.read_text())}
    assert set(recipes) == {"build", "pip-wheel", "pip-clone", "uv-pip", "uv-project"}
    assert recipes["build"].commands() == [
        "python -m pip install build",
        "python -m build vox-activity",
    ]
    wheel = recipes["pip-wheel"].commands()
    assert wheel[0].startswith("pip install --no-deps django-vox==4.0.6 ")
    assert wheel[0].endswith("vox-activity/dist/vox_activity-*.whl")
    assert recipes["pip-clone"].commands()[0].endswith(" ./vox-activity")
    # The uv project recipe is a pyproject.toml whose overrides are the same
    # as the ones the lock files are compiled with.
    project = tomllib.loads(recipes["uv-project"].body)
    overrides = (ROOT / "requirements" / "overrides.txt").read_text()
    wanted = [
        line for line in overrides.splitlines() if line and not line.startswith("#")
    ]
    assert project["tool"]["uv"]["override-dependencies"] == wanted
    assert project["project"]["dependencies"] == ["vox-activity"]


def test_recipes_are_read_from_marked_code_blocks_only():
    text = """\
Intro::

   $ pip install nothing

.. install-check: first

.. code-block:: console

   $ pip install a \\
         b
   Successfully installed a b
   $ uv pip install c

Between.

.. install-check: second

   .. code-block:: toml

      [project]
      name = "x"

After.
"""
    first, second = read_recipes(text)
    assert first.name == "first"
    assert first.commands() == ["pip install a b", "uv pip install c"]
    assert (second.name, second.language) == ("second", "toml")
    assert tomllib.loads(second.body) == {"project": {"name": "x"}}
    with pytest.raises(ValueError, match="install-check: lost"):
        read_recipes(".. install-check: lost\n\nJust text.\n")


def test_recipe_commands_keep_arguments_with_spaces_quoted():
    recipe = Recipe("r", "console", '$ pip install "Django>=5.2" \\\n    lxml\n')
    assert recipe.commands() == ['pip install "Django>=5.2" lxml']


def test_rust_free_path_drops_directories_with_cargo_or_rustc(tmp_path):
    cargo, rustc, clean = tmp_path / "cargo", tmp_path / "rustc", tmp_path / "ok"
    for directory in (cargo, rustc, clean):
        directory.mkdir()
    (cargo / "cargo").touch()
    (rustc / "rustc").touch()
    path = ":".join(map(str, [cargo, clean, rustc, clean]))
    assert rust_free_path(path) == str(clean)


# --- devtools.distributions on made-up distributions ---------------------------

PROJECT_TOML = """\
[project]
name = "vox-activity"
dynamic = ["version"]
license = "BSD-3-Clause"
license-files = ["LICENSE"]
dependencies = ["Django>=5.2", "django-vox==4.0.6"]

[project.optional-dependencies]
rq = ["django-tasks-rq>=0.12"]
"""
PACKAGE_FILES = {
    "vox_activity/__init__.py": '__version__ = "9.9"\n',
    "vox_activity/py.typed": "",
    "vox_activity/migrations/__init__.py": "",
    "vox_activity/migrations/0001_initial.py": "",
    "vox_activity/templates/vox_activity/page.html": "<p></p>",
}
METADATA = """\
Metadata-Version: 2.4
Name: vox-activity
Version: 9.9
License-Expression: BSD-3-Clause
License-File: LICENSE
Requires-Dist: Django>=5.2
Requires-Dist: django-vox==4.0.6
Provides-Extra: rq
Requires-Dist: django-tasks-rq>=0.12; extra == "rq"
"""
SDIST_DOCUMENTS = [
    "LICENSE",
    "README.rst",
    "CHANGELOG.rst",
    "CONTRIBUTING.rst",
    "pyproject.toml",
    "docs/conf.py",
    "docs/index.rst",
    "PKG-INFO",
]


def make_tree(root: Path) -> None:
    (root / "pyproject.toml").write_text(PROJECT_TOML)
    for name, text in PACKAGE_FILES.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    cache = root / "vox_activity" / "__pycache__"
    cache.mkdir()
    (cache / "x.cpython-311.pyc").write_bytes(b"")


def make_wheel(outdir: Path, files: dict[str, str], metadata: str = METADATA) -> None:
    info = "vox_activity-9.9.dist-info"
    with zipfile.ZipFile(outdir / "vox_activity-9.9-py3-none-any.whl", "w") as whl:
        for name, text in files.items():
            whl.writestr(name, text)
        whl.writestr(f"{info}/METADATA", metadata)
        whl.writestr(f"{info}/licenses/LICENSE", "BSD")


def make_sdist(outdir: Path, tmp_path: Path, names: list[str]) -> None:
    staging = tmp_path / "staging"
    staging.mkdir()
    with tarfile.open(outdir / "vox_activity-9.9.tar.gz", "w:gz") as sdist:
        for name in names:
            path = staging / name.replace("/", "_")
            path.write_text("x")
            sdist.add(path, arcname=f"vox_activity-9.9/{name}")


@pytest.fixture
def dists(tmp_path):
    root, outdir = tmp_path / "src", tmp_path / "dist"
    root.mkdir()
    outdir.mkdir()
    make_tree(root)
    make_sdist(outdir, tmp_path, [*SDIST_DOCUMENTS, *PACKAGE_FILES])
    return root, outdir


def test_source_files_leave_caches_out(dists):
    root, _ = dists
    assert source_files(root) == set(PACKAGE_FILES)


def test_complete_distributions_have_no_problem(dists):
    root, outdir = dists
    make_wheel(outdir, PACKAGE_FILES)
    assert check_dist_dir(outdir, root) == []


def test_a_wheel_without_py_typed_or_a_template_is_reported(dists):
    root, outdir = dists
    files = dict(PACKAGE_FILES)
    del files["vox_activity/py.typed"]
    del files["vox_activity/templates/vox_activity/page.html"]
    make_wheel(outdir, files)
    problems = check_dist_dir(outdir, root)
    assert any(p.startswith("wheel lacks vox_activity/py.typed") for p in problems)
    assert any(
        p.startswith("wheel lacks vox_activity/templates/vox_activity/page.html")
        for p in problems
    )
    assert len(problems) == 2


def test_a_wheel_without_migrations_is_reported(dists):
    root, outdir = dists
    files = {k: v for k, v in PACKAGE_FILES.items() if "/migrations/" not in k}
    make_wheel(outdir, files)
    problems = check_dist_dir(outdir, root)
    assert "wheel holds no migration under vox_activity/migrations/" in problems


def test_a_wheel_that_installs_other_packages_is_reported(dists):
    root, outdir = dists
    make_wheel(outdir, {**PACKAGE_FILES, "tests/__init__.py": ""})
    assert check_dist_dir(outdir, root) == [
        "wheel installs tests/__init__.py, outside vox_activity/"
    ]


def test_wheel_metadata_must_match_pyproject(dists):
    root, outdir = dists
    metadata = METADATA.replace("django-vox==4.0.6", "django-vox>=4").replace(
        "License-Expression: BSD-3-Clause", "License-Expression: MIT"
    )
    make_wheel(outdir, PACKAGE_FILES, metadata)
    problems = set(check_dist_dir(outdir, root))
    assert problems == {
        "wheel metadata License-Expression is 'MIT', not 'BSD-3-Clause'",
        "wheel metadata lacks Requires-Dist django-vox==4.0.6",
        "wheel metadata has Requires-Dist django-vox>=4, not in pyproject",
    }


def test_an_sdist_without_the_changelog_is_reported(tmp_path):
    root, outdir = tmp_path / "src", tmp_path / "dist"
    root.mkdir()
    outdir.mkdir()
    make_tree(root)
    documents = [d for d in SDIST_DOCUMENTS if d != "CHANGELOG.rst"]
    make_sdist(outdir, tmp_path, [*documents, *PACKAGE_FILES])
    make_wheel(outdir, PACKAGE_FILES)
    assert check_dist_dir(outdir, root) == [
        "sdist lacks CHANGELOG.rst (see MANIFEST.in)"
    ]


def test_an_sdist_with_part_of_the_test_suite_is_reported(dists):
    root, outdir = dists
    make_wheel(outdir, PACKAGE_FILES)
    (outdir / "vox_activity-9.9.tar.gz").unlink()
    make_sdist(outdir, root, [*SDIST_DOCUMENTS, *PACKAGE_FILES, "tests/test_x.py"])
    assert check_dist_dir(outdir, root) == [
        "sdist holds tests/test_x.py: prune it in MANIFEST.in"
    ]


def test_files_the_docs_include_from_tests_must_be_in_the_sdist(dists, tmp_path):
    """A page that includes an example from tests/ must build from the sdist;
    the rest of the suite still must not be shipped."""
    root, outdir = dists
    (root / "docs").mkdir()
    (root / "docs" / "page.rst").write_text(
        "Title\n=====\n\n.. literalinclude:: ../tests/example.py\n   :lines: 1-3\n"
    )
    (root / "tests").mkdir()
    (root / "tests" / "example.py").write_text("x = 1\n")
    make_wheel(outdir, PACKAGE_FILES)
    assert check_dist_dir(outdir, root) == [
        "sdist lacks tests/example.py (see MANIFEST.in)"
    ]
    (outdir / "vox_activity-9.9.tar.gz").unlink()
    shipped = [*SDIST_DOCUMENTS, *PACKAGE_FILES, "tests/example.py"]
    make_sdist(outdir, root, shipped)
    assert check_dist_dir(outdir, root) == []
