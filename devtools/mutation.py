"""A small mutation check: does the suite notice when core code is broken?

``python -m devtools.mutation [--module NAME]... [--limit N]`` copies the
clone to a temporary directory, then, for each mutant of the modules below,
rewrites one operator in the copy, runs the tests that cover that module
(``-x``, stopping at the first failure) and puts the module back.  A mutant
the tests do not notice *survives*; the report lists survivors with their
line and the change, then one line per module: mutants, killed, survived.

The mutations are the ones that make real bugs: a comparison turned round
or made strict (``>`` ↔ ``>=``, ``==`` ↔ ``!=``, ``in`` ↔ ``not in``), ``and``
↔ ``or``, a ``not`` dropped, a small integer moved by one, ``True`` ↔
``False``.  Docstrings, logging calls, type annotations, decorators and
``assert`` statements are left alone.

Written here rather than taken from mutmut: the check must run each module's
mutants against the tests of that concern only (the whole suite per mutant
would take hours on two cores), in a copy of the clone so that the working
tree is never touched, with nothing to install; that is ~200 lines.
"""

from __future__ import annotations

import argparse
import ast
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: module -> the tests that cover it (run with -x for each mutant).
TARGETS: dict[str, list[str]] = {
    "vox_activity/protocol/cavage.py": [
        "tests/test_cavage_signing.py",
        "tests/test_cavage_tampering.py",
        "tests/test_cavage_interop.py",
    ],
    "vox_activity/protocol/rfc9421.py": [
        "tests/test_rfc9421_vectors.py",
        "tests/test_rfc9421_components.py",
        "tests/test_rfc9421_signing.py",
        "tests/test_rfc9421_rules.py",
        "tests/test_rfc9421_tampering.py",
        "tests/test_content_digest.py",
    ],
    "vox_activity/incoming/authentication.py": [
        "tests/test_cavage_tampering.py",
        "tests/test_inbox_keys.py",
        "tests/test_trust_keys.py",
        "tests/test_trust_forwarding.py",
        "tests/test_objects_served.py",  # signed GETs (authenticate_fetch)
        "tests/test_proofs_refusals.py",  # forwarded activities
        "tests/test_proofs_federation.py",
    ],
    "vox_activity/incoming/pipeline.py": [
        "tests/test_inbox_validation.py",
        "tests/test_inbox_task.py",
        "tests/test_inbox_fuzz.py",
        "tests/test_trust_input_fields.py",
    ],
    "vox_activity/serving/paging.py": [
        "tests/test_paging.py",
        "tests/test_endpoints.py",
    ],
    "vox_activity/protocol/retry_policy.py": ["tests/test_retry_policy.py"],
    "vox_activity/outgoing/delivery.py": [
        "tests/test_delivery_sending.py",
        "tests/test_delivery_retries.py",
        "tests/test_server_health_and_admin.py",
        "tests/test_delivery_batches.py",
        "tests/test_delivery_sweep_and_retry_now.py",
        "tests/test_double_knock.py",
        "tests/test_publish.py",  # planning: who gets a delivery row
        "tests/test_moderation.py",  # blocked servers get none
        "tests/test_profiles.py",  # a deleted actor's Delete to every server
        "tests/test_inbox_follows.py",
        "tests/test_admin.py",
    ],
}

_COMPARE_SWAPS: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
}


@dataclass(frozen=True)
class Mutant:
    path: str
    line: int
    change: str
    index: int  # which node of the walk, in the module's tree


def _skipped_lines(tree: ast.Module) -> set[int]:
    """Lines not mutated: docstrings, annotations, logging calls, decorators
    (``@dataclass(frozen=True)`` made mutable breaks nothing a test can see)
    and ``assert`` statements (there to narrow types for mypy)."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        spans: list[ast.expr | ast.stmt] = []
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            spans.extend(node.decorator_list)
        if isinstance(node, ast.Assert):
            spans.append(node)
        for span in spans:
            lines.update(range(span.lineno, (span.end_lineno or span.lineno) + 1))
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            lines.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            if isinstance(owner, ast.Name) and owner.id == "logger":
                lines.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))
        annotation = getattr(node, "annotation", None) or getattr(node, "returns", None)
        if isinstance(annotation, ast.AST):
            for sub in ast.walk(annotation):
                if hasattr(sub, "lineno"):
                    lines.add(sub.lineno)
    return lines


def _describe(node: ast.AST) -> str | None:
    """What mutating ``node`` would change, or None if it is not mutated."""
    if isinstance(node, ast.Compare) and type(node.ops[0]) in _COMPARE_SWAPS:
        before = type(node.ops[0]).__name__
        return f"{before} -> {_COMPARE_SWAPS[type(node.ops[0])].__name__}"
    if isinstance(node, ast.BoolOp):
        return "and -> or" if isinstance(node.op, ast.And) else "or -> and"
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return "not x -> x"
    if isinstance(node, ast.Constant) and type(node.value) is bool:
        return f"{node.value} -> {not node.value}"
    if isinstance(node, ast.Constant) and type(node.value) is int and node.value < 10:
        return f"{node.value} -> {node.value + 1}"
    return None


def mutants_of(path: str, source: str) -> list[Mutant]:
    tree = ast.parse(source)
    skipped = _skipped_lines(tree)
    found = []
    for index, node in enumerate(ast.walk(tree)):
        change = _describe(node)
        line = getattr(node, "lineno", 0)
        if change and line not in skipped:
            found.append(Mutant(path, line, change, index))
    return found


def _mutate(node: ast.AST) -> ast.AST:
    if isinstance(node, ast.Compare):
        node.ops[0] = _COMPARE_SWAPS[type(node.ops[0])]()
        return node
    if isinstance(node, ast.BoolOp):
        node.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
        return node
    if isinstance(node, ast.UnaryOp):
        return node.operand
    assert isinstance(node, ast.Constant) and isinstance(node.value, int)
    node.value = (not node.value) if type(node.value) is bool else node.value + 1
    return node


class _Replace(ast.NodeTransformer):
    def __init__(self, target: ast.AST) -> None:
        self.target = target

    def visit(self, node: ast.AST) -> ast.AST:
        if node is self.target:
            return _mutate(node)
        return super().visit(node)


def mutated_source(source: str, mutant: Mutant) -> str:
    tree = ast.parse(source)
    target = next(n for i, n in enumerate(ast.walk(tree)) if i == mutant.index)
    return ast.unparse(ast.fix_missing_locations(_Replace(target).visit(tree)))


def _run_tests(workdir: Path, tests: list[str], timeout: float) -> str:
    """``killed``, ``survived`` or ``timeout`` for the code now in ``workdir``."""
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:randomly"]
    command += ["-m", "not e2e", "--no-header", "-o", "addopts=", *tests]
    try:
        result = subprocess.run(
            command, cwd=workdir, capture_output=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return "timeout"  # an infinite loop counts as noticed
    return "survived" if result.returncode == 0 else "killed"


def _copy_clone(destination: Path) -> Path:
    shutil.copytree(
        ROOT,
        destination,
        ignore=shutil.ignore_patterns(".git", ".venvs", "__pycache__", "*.pyc"),
    )
    return destination


def check(modules: list[str], limit: int | None, timeout: float) -> int:
    with tempfile.TemporaryDirectory(prefix="vox-mutation-") as tmp:
        workdir = _copy_clone(Path(tmp) / "clone")
        summary, survivors = [], []
        for module in modules:
            path = workdir / module
            original = path.read_text()
            tests = TARGETS[module]
            if _run_tests(workdir, tests, timeout) != "survived":
                print(f"{module}: its tests fail unmutated; skipped", flush=True)
                continue
            mutants = mutants_of(module, original)[:limit]
            counts = {"killed": 0, "survived": 0, "timeout": 0}
            started = time.monotonic()
            try:
                for mutant in mutants:
                    path.write_text(mutated_source(original, mutant))
                    outcome = _run_tests(workdir, tests, timeout)
                    counts[outcome] += 1
                    if outcome == "survived":
                        survivors.append(mutant)
                        print(f"  survived {module}:{mutant.line} {mutant.change}")
            finally:
                path.write_text(original)
            minutes = (time.monotonic() - started) / 60
            summary.append(
                f"{module}: {len(mutants)} mutants, {counts['killed']} killed, "
                f"{counts['timeout']} timed out, {counts['survived']} survived "
                f"({minutes:.1f} min)"
            )
            print(summary[-1], flush=True)
        print("\n".join(["", "summary", *summary]))
        return 1 if survivors else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--module",
        action="append",
        choices=list(TARGETS),
        help="only this module (repeatable); default: all",
    )
    parser.add_argument("--limit", type=int, help="at most N mutants per module")
    parser.add_argument(
        "--timeout", type=float, default=300, help="seconds per test run (300)"
    )
    parser.add_argument(
        "--list", action="store_true", help="list the mutants, run nothing"
    )
    options = parser.parse_args(argv)
    modules = options.module or list(TARGETS)
    if options.list:
        for module in modules:
            for mutant in mutants_of(module, (ROOT / module).read_text()):
                print(f"{module}:{mutant.line} {mutant.change}")
        return 0
    return check(modules, options.limit, options.timeout)


if __name__ == "__main__":
    sys.exit(main())
