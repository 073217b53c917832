"""Faults: Ctrl-C says what was committed; a large import and concurrent first opens on
PostgreSQL."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from ledger.bundled import MEN_500M, season_dir


def run(runner: CliRunner, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def _positions(db: str) -> int:
    with sqlite3.connect(db) as c:
        return int(c.execute("SELECT COUNT(*) FROM ledger_chain").fetchone()[0])


@pytest.fixture
def declared(tmp_path: Path, runner: CliRunner) -> str:
    db = str(tmp_path / "ledger.db")
    season = season_dir(MEN_500M) / "season.toml"
    code, _, err = run(runner, "import", "season", str(season), "--db", db, "-q")
    assert code == 0, err
    assert _positions(db) == 23  # the season file's own count: 1 season, 22 races
    return db


def _interrupt(*args: object, **kwargs: object) -> None:
    raise KeyboardInterrupt


def test_ctrl_c_after_the_import_committed_says_what_was_written(
    runner: CliRunner, declared: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import projections.checks

    # The data warnings are computed after the commit: Ctrl-C lands there.
    monkeypatch.setattr(projections.checks, "warnings_after", _interrupt)
    results = season_dir(MEN_500M) / "results.csv"
    code, _, err = run(runner, "import", "results", str(results), "--db", declared)
    assert code == 1
    assert err.strip().splitlines() == [
        "error: interrupted after the import results was committed: 330 events at positions 24–353"
    ]
    assert _positions(declared) == 353


def test_ctrl_c_before_the_commit_says_nothing_was_written(
    runner: CliRunner, declared: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ledger.index

    # Indexing runs inside the write transaction, before its commit.
    monkeypatch.setattr(ledger.index, "index_events", _interrupt)
    results = season_dir(MEN_500M) / "results.csv"
    code, _, err = run(runner, "import", "results", str(results), "--db", declared)
    assert code == 1
    assert err.strip().splitlines() == [
        "error: interrupted; nothing was written by the unfinished command"
    ]
    assert _positions(declared) == 23


def test_a_commit_of_an_earlier_command_is_not_reported_as_this_ones(
    runner: CliRunner, declared: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import cli.commands_read

    monkeypatch.setattr(cli.commands_read, "render_standings", _interrupt)
    code, _, err = run(runner, "standings", "men-500m", "--db", declared)
    assert code == 1
    assert "nothing was written" in err
