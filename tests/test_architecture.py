"""Dependencies point inward: the write side knows nothing of the read side or the CLI."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

FORBIDDEN = {
    "ledger": {"projections", "cli", "typer", "rich", "matplotlib"},
    "projections": {"cli", "typer", "rich", "matplotlib"},
}


def imported_modules(package: str) -> set[tuple[str, str]]:
    found = set()
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found |= {(str(path.relative_to(ROOT)), a.name.split(".")[0]) for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add((str(path.relative_to(ROOT)), node.module.split(".")[0]))
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_a_package_imports_nothing_from_the_layers_outside_it(package: str) -> None:
    bad = sorted((f, m) for f, m in imported_modules(package) if m in FORBIDDEN[package])
    assert bad == []


def test_the_check_would_see_an_import_of_the_cli() -> None:
    assert ("cli/main.py", "typer") in imported_modules("cli")


def test_the_command_line_starts_without_the_file_models_or_the_audit_queries() -> None:
    # Start-up is most of a query's wall time: what only imports, the demo or the audit
    # commands use is loaded by them, not by every command.
    import subprocess
    import sys

    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, cli.main; print(' '.join(sorted(sys.modules)))"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    lazy = {
        "ledger.inputs",
        "ledger.bundled",
        "projections.history",
        "projections.diff",
        "projections.explain",
        "projections.checks",
        "projections.export",
        "projections.progression",
    }
    assert lazy.isdisjoint(loaded), lazy & set(loaded)
    # Each command's own module loads the queries it answers with, when it runs.
    assert not [m for m in loaded if m.startswith("projections.")], loaded
