"""Every command's --help has a one-line summary and an example; completion installs the usual way.

The walk goes over the whole command tree, so commands added later are held to the same rule.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from cli.main import app


def is_group(command: Any) -> bool:
    """Whether a command has sub-commands (typer's groups, duck-typed: typer bundles click)."""
    return isinstance(getattr(command, "commands", None), dict)


def walk(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every command path under ``command``, groups included, depth first."""
    yield path
    if is_group(command):
        for name, sub in sorted(command.commands.items()):
            yield from walk(sub, (*path, name))


ROOT = typer.main.get_command(app)
PATHS = list(walk(ROOT))[1:]


def command_at(path: tuple[str, ...]) -> Any:
    command: Any = ROOT
    for name in path:
        command = command.commands[name]
    return command


def help_text(runner: CliRunner, path: tuple[str, ...]) -> str:
    result = runner.invoke(app, [*path, "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_the_walk_finds_the_commands_users_know() -> None:
    names = {" ".join(p) for p in PATHS}
    assert {"standings", "results", "import", "import results", "export events", "chart"} <= names


@pytest.mark.parametrize("path", PATHS, ids=" ".join)
def test_every_command_has_a_one_line_summary(runner: CliRunner, path: tuple[str, ...]) -> None:
    command = command_at(path)
    summary = (command.help or "").strip().splitlines()
    assert summary and summary[0].strip(), f"ledger {' '.join(path)} has no help summary"
    assert summary[0].rstrip().endswith("."), f"ledger {' '.join(path)}: {summary[0]!r}"
    assert summary[0].strip() in help_text(runner, path)


@pytest.mark.parametrize("path", [p for p in PATHS if not is_group(command_at(p))], ids=" ".join)
def test_every_command_shows_an_example_in_its_help(
    runner: CliRunner, path: tuple[str, ...]
) -> None:
    lines = [line.strip() for line in help_text(runner, path).splitlines()]
    examples = [line for line in lines if line.startswith("Example: ledger ")]
    assert examples, f"ledger {' '.join(path)} --help shows no 'Example: ledger ...' line"
    assert all(f"ledger {path[0]}" in line for line in examples), examples


def test_shell_completion_installs_with_typers_standard_options(runner: CliRunner) -> None:
    text = help_text(runner, ())
    assert "--install-completion" in text
    assert "--show-completion" in text


def test_every_command_is_where_the_app_looks_for_it() -> None:
    from cli.main import COMMANDS

    assert set(ROOT.commands) == set(COMMANDS)
    assert all(ROOT.commands[name].name == name for name in COMMANDS)


def test_a_command_imports_only_its_own_module() -> None:
    """`ledger standings` loads the read commands, not the chart's, the demo's or the copy's."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from cli.main import app\n"
        "try:\n"
        "    app(['standings', '--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('cli.')))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = done.stdout.strip().splitlines()[-1]
    assert "cli.commands_read" in loaded
    for other in ("cli.commands_chart", "cli.commands_demo", "cli.commands_copy", "cli.chart"):
        assert other not in loaded, loaded
