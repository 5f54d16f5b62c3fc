"""The package's shape, checked: wings import downwards, lazy imports say why,
every module says what it exports.

The layout (docs/contributing.rst, "Where code goes") is by direction of
flow.  A module may import, at its top, only from its own wing, the wings
below it, and the foundation; a wing that needed something from above would
bring back the import circles this layout ended.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "vox_activity"

#: Wings, lowest first.  The actions a site calls for its actors (follow,
#: block, profile changes) sit above publishing and remote actors, which
#: they use, and below the inbox and the HTTP face, which use them.
RANKS = {
    "protocol": 0,
    "models": 1,
    "net": 2,
    "outgoing": 3,
    "follows": 4,
    "moderation": 4,
    "profiles": 4,
    "incoming": 5,
    "serving": 6,
}
#: Imported from anywhere; they import only each other and ``protocol``.
FOUNDATION = {
    "__version__",
    "addressing",
    "compat",
    "conf",
    "exceptions",
    "lookups",
    "registration",
    "registry",
    "signals",
    "site",
}
#: Imports inside functions, and why each cannot be at the top.
LAZY_IMPORTS = {
    "apps.py": "AppConfig.ready(): checks and signal receivers import models",
    "compat.py": "runs while Django loads apps (before models may be imported)",
    "site.py": "django.contrib.sites is optional: imported only if installed",
    "outgoing/backend.py": (
        "django_vox.registry imports the backend while it is half built; our "
        "registry and models import django_vox.registry (module docstring)"
    ),
    "outgoing/delivery.py": "delivery ↔ tasks: the task module imports delivery",
    "outgoing/tasks.py": "delivery ↔ tasks: see outgoing/delivery.py",
}


def modules() -> list[Path]:
    return sorted(
        path for path in PACKAGE.rglob("*.py") if "migrations" not in path.parts
    )


def name_of(path: Path) -> str:
    return path.relative_to(PACKAGE).as_posix()


def part_of(module: str) -> str:
    """``vox_activity.net.http`` → ``net``; ``vox_activity.conf`` → ``conf``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def top_level_imports(tree: ast.Module) -> set[str]:
    found = set()
    for statement in tree.body:
        for node in ast.walk(statement):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                break
            if isinstance(node, ast.ImportFrom) and node.module:
                if node.module == "vox_activity":
                    found |= {f"vox_activity.{a.name}" for a in node.names}
                elif node.module.startswith("vox_activity."):
                    found.add(node.module)
    return found


def in_function_imports(tree: ast.Module) -> list[int]:
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            lines += [
                sub.lineno
                for sub in ast.walk(node)
                if isinstance(sub, ast.Import | ast.ImportFrom)
            ]
    return sorted(set(lines))


def test_wings_import_only_downwards():
    upward = []
    for path in modules():
        own = part_of(
            "vox_activity." + name_of(path).removesuffix(".py").replace("/", ".")
        )
        for target in top_level_imports(ast.parse(path.read_text())):
            theirs = part_of(target)
            if own in FOUNDATION:
                allowed = theirs in FOUNDATION or theirs == "protocol"
            elif own in RANKS:
                allowed = theirs in FOUNDATION or RANKS.get(theirs, 99) <= RANKS[own]
            else:  # admin, checks, urls, commands...: the application's edge
                allowed = True
            if not allowed:
                upward.append(f"{name_of(path)} imports {target}")
    assert upward == []


def test_in_function_imports_are_only_where_a_reason_is_recorded():
    found = {
        name_of(path)
        for path in modules()
        if in_function_imports(ast.parse(path.read_text()))
    }
    assert found == set(LAZY_IMPORTS), (
        "An import inside a function must break a real cycle or load-order "
        "problem: record why in LAZY_IMPORTS, or move it to the top."
    )


def defines_something(path: Path) -> bool:
    """Not an empty package marker (nothing, or only a docstring)."""
    body = ast.parse(path.read_text()).body
    return any(not isinstance(node, ast.Expr) for node in body)


@pytest.mark.parametrize(
    "path", [p for p in modules() if defines_something(p)], ids=name_of
)
def test_every_module_says_what_it_exports(path):
    tree = ast.parse(path.read_text())
    names = {
        target.id
        for node in tree.body
        if isinstance(node, ast.Assign | ast.AnnAssign)
        for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
        if isinstance(target, ast.Name)
    }
    assert "__all__" in names, f"{name_of(path)} has no __all__"
