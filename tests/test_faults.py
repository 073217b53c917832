"""Faults: Ctrl-C says what was committed; a large import and concurrent first opens on
PostgreSQL."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
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


# --- PostgreSQL -----------------------------------------------------------------------------

POSTGRES = os.environ.get("LEDGER_TEST_POSTGRES", "")
needs_postgres = pytest.mark.skipif(not POSTGRES, reason="LEDGER_TEST_POSTGRES is not set")
LEDGER = str(Path(sys.executable).with_name("ledger"))
RACES = 30


def _big_season(folder: Path) -> Path:
    lines = ['[season]\nid = "big"\nname = "Big"\n\n[tables]\nA = [10, 5, 2]\n']
    lines.append('[[cups]]\nid = "cup"\nname = "Cup"\n')
    for race in range(RACES):
        lines.append(
            f'[[races]]\nid = "R{race}"\ncup = "cup"\ndate = 2014-01-{1 + race % 28:02d}\n'
            'table = "A"\n'
        )
    path = folder / "season.toml"
    path.write_text("\n".join(lines))
    return path


@needs_postgres
@pytest.mark.postgres
@pytest.mark.slow
def test_a_300000_row_import_on_postgresql_is_recorded_whole(
    postgres_database: str, tmp_path: Path, runner: CliRunner
) -> None:
    # 30 races of 10,000 places: hashing and indexing them takes longer between two
    # statements than the library's 5 s idle-in-transaction timeout.
    season = _big_season(tmp_path)
    results = tmp_path / "results.csv"
    with results.open("w") as out:
        out.write("race,place,competitor,nation\n")
        for race in range(RACES):
            out.writelines(f"R{race},{place},Skater {place},NED\n" for place in range(1, 10_001))
    assert run(runner, "import", "season", str(season), "--db", postgres_database, "-q")[0] == 0
    code, out, err = run(runner, "import", "results", str(results), "--db", postgres_database)
    assert code == 0, err
    assert out.startswith("recorded 300000 results from results.csv; head 300031 ")
    # The chain only: the read model's rows take the same path at any size (tests/test_postgres.py).
    code, out, err = run(runner, "verify", "--chain-only", "--db", postgres_database)
    assert code == 0, err
    assert out.startswith("300031 events, head ")


@needs_postgres
@pytest.mark.postgres
@pytest.mark.slow
def test_four_processes_opening_a_new_postgresql_ledger_at_once_never_fail(
    tmp_path: Path,
) -> None:
    import psycopg

    season = _big_season(tmp_path)
    base = POSTGRES.rpartition("/")[0]
    for attempt in range(3):
        name = f"ledger_test_first_open_{os.getpid()}_{attempt}"
        with psycopg.connect(POSTGRES, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
            admin.execute(f'CREATE DATABASE "{name}"')
        url = f"{base}/{name}"
        try:
            commands = [
                [LEDGER, "init", "--db", url],
                [LEDGER, "init", "--db", url],
                [LEDGER, "record", "R1", "Nobody", "--place", "1", "--db", url],
                [LEDGER, "import", "season", str(season), "--db", url, "-q"],
            ]
            started = [
                subprocess.Popen(c, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for c in commands
            ]
            outcomes = []
            for process in started:
                out, err = process.communicate(timeout=120)
                outcomes.append((process.returncode, out, err))
            assert [o[0] for o in outcomes[:2]] == [0, 0], outcomes
            # The record comes before or after the season: refused in one line, or recorded.
            code, _, err = outcomes[2]
            assert code == 0 or (code == 1 and err.count("\n") == 1 and "Traceback" not in err)
            assert outcomes[3][0] == 0, outcomes[3]
            check = subprocess.run(
                [LEDGER, "verify", "--db", url], capture_output=True, text=True, check=False
            )
            assert check.returncode == 0, check.stderr
        finally:
            with psycopg.connect(POSTGRES, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
