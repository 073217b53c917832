"""The read model: written with the log, checked against it, never written by a reader.

- A disqualification recorded months after later races changes earlier standings exactly
  from the moment it is known.
- Tampering with any read-model table (an edited, added or deleted row) is found by
  ``ledger verify``, named by table and position, and ``ledger rebuild`` repairs it; compared
  in stretches by several processes, the read model fails word for word where one walk fails.
- A reader never writes: it works on a file opened read-only, refuses a file that is not
  there, and a read-model left by an older version is refused in one line until a writer
  (any write, or ``ledger rebuild``) derives it again.
- Readers running beside writers never fail.
- A save whose insert fails midway leaves none of its rows.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cli.main import app
from ledger.application import Ledger
from ledger.errors import IntegrityViolation, StoreError, UnknownIdError
from ledger.inputs import ResultRow, parse_season
from ledger.verify import verify_read_model
from projections.standings import query_standings

SEASON = parse_season(
    """
[season]
id = "s"
name = "A season"
[tables]
T = [10, 6, 4, 2, 1]
U = [3, 2, 1]
[[cups]]
id = "all"
name = "Every race counts"
[[cups]]
id = "best"
name = "Best two count"
best = 2
"""
    + "".join(
        f'[[races]]\nid = "R{i}"\ncup = "{"all" if i % 2 else "best"}"\n'
        f'date = 2020-0{i}-01\ntable = "{"T" if i < 4 else "U"}"\n'
        for i in range(1, 6)
    )
)
START = datetime(2020, 1, 1, tzinfo=UTC)


def test_a_disqualification_recorded_after_later_races_changes_earlier_standings_only_when_known(
    db_url: str,
) -> None:
    ledger = Ledger(db_url)
    ledger.declare_season(SEASON, by="t", recorded_at=START)
    day = timedelta(days=1)
    rows = [("Anna", "NED", 1), ("Bob", "NED", 2), ("Cleo", "CAN", 3)]
    for race in (1, 3, 5):
        ledger.record_results(
            [
                ResultRow(line=n + 2, race=f"R{race}", competitor=c, nation=nat, place=p)
                for n, (c, nat, p) in enumerate(rows)
            ],
            by="t",
            recorded_at=START + race * 30 * day,
        )
    before = query_standings(ledger, "all")
    late = START + 200 * day
    ledger.disqualify("R1", "Anna", nation="NED", reason="doping", recorded_at=late)
    after = query_standings(ledger, "all")
    earlier = query_standings(ledger, "all", known_at=late - day)
    as_of_first = query_standings(ledger, "all", as_of=date(2020, 1, 1))

    # Published tables: R1 and R3 score T (10, 6, 4), R5 scores U (3, 2, 1).
    def points(table: Any) -> dict[str, int]:
        return {r.competitor: r.points for r in table.standings}

    assert points(before) == {"Anna": 23, "Bob": 14, "Cleo": 9}
    assert points(earlier) == points(before)
    # Anna loses R1's 10; Bob moves up to 1st (10), Cleo to 2nd (6).
    assert points(after) == {"Anna": 13, "Bob": 18, "Cleo": 11}
    assert points(as_of_first) == {"Bob": 10, "Cleo": 6}
    assert after.head is not None and after.head.position == ledger.head().position
    assert earlier.head is not None and earlier.head.position == after.head.position - 1
    ledger.close()


# --- tampering with the read model -------------------------------------------------------


@pytest.fixture(scope="module")
def season_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The men's 500 m season, a correction, a rename and a merge, in a SQLite file."""
    folder = Path(__file__).resolve().parent.parent / "ledger" / "data" / "seasons"
    season = folder / "isu-ss-wc-2013-14-men-500m"
    path = tmp_path_factory.mktemp("model") / "ledger.db"
    ledger = Ledger(str(path))
    ledger.import_season_file(season / "season.toml", recorded_at=START, by="office")
    ledger.import_results_file(season / "results.csv", recorded_at=START, by="office")
    ledger.correct_result("CAL1-A", "Jan Smeekens", place=8, reason="photo", by="office")
    ledger.rename_competitor("Bai Quiming", to="Bai Qiuming", reason="misspelt", by="office")
    ledger.record_result("HVN2", "Test Skater", nation="NOR", place=40, athlete_id="ISU1")
    ledger.close()
    return path


@pytest.fixture
def copy_of(season_file: Path, tmp_path: Path) -> str:
    target = tmp_path / "ledger.db"
    with sqlite3.connect(season_file) as source, sqlite3.connect(target) as copy:
        source.backup(copy)
    source.close()
    copy.close()
    return str(target)


def tamper(db: str, statement: str) -> None:
    """Change the read model as whoever holds the file could: past its triggers."""
    with sqlite3.connect(db) as connection:
        for (name,) in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'read_%'"
        ).fetchall():
            connection.execute(f"DROP TRIGGER {name}")
        changed = connection.execute(statement).rowcount
    connection.close()
    assert changed == 1, statement


TAMPERING = {
    "read_facts": [
        "UPDATE read_facts SET race = (SELECT MAX(key) FROM read_races) WHERE position = 30",
        "UPDATE read_facts SET competitor = 24 WHERE position = 31",
        "DELETE FROM read_facts WHERE position = 200",
        "UPDATE read_facts SET kind = 4 WHERE position = 40",
    ],
    "read_races": [
        "UPDATE read_races SET cup = 'men-1000m' WHERE key = 5",
        "UPDATE read_races SET race_date = '2014-01-01' WHERE key = 6",
        "DELETE FROM read_races WHERE key = 7",
    ],
    "read_cups": ["UPDATE read_cups SET cup = 'men-500' WHERE cup = 'men-500m'"],
    "read_seasons": ["UPDATE read_seasons SET position = 2"],
    "read_competitors": [
        "UPDATE read_competitors SET id = '0123456789abcdef0123456789abcdef' WHERE key = 24",
        "INSERT INTO read_competitors VALUES (5, 'ffffffffffffffffffffffffffffffff')",
    ],
    "read_labels": [
        "UPDATE read_labels SET name = 'Someone Else' WHERE position = 24",
        "UPDATE read_labels SET held = 0 WHERE position = 25",
        "DELETE FROM read_labels WHERE position = 26",
    ],
    "read_athletes": ["UPDATE read_athletes SET athlete = 'ISU2'"],
    "read_commands": [
        "UPDATE read_commands SET by = 'jury' WHERE command = 24",
        "UPDATE read_commands SET last = 300 WHERE command = 24",
    ],
    "read_meta": ["UPDATE read_meta SET value = '10' WHERE name = 'position'"],
}


@pytest.mark.parametrize(
    ("table", "statement"),
    [(table, statement) for table, statements in TAMPERING.items() for statement in statements],
)
def test_any_edit_of_the_read_model_fails_verify_in_one_line_and_rebuild_repairs_it(
    runner: CliRunner, copy_of: str, table: str, statement: str
) -> None:
    honest = query_standings(Ledger(copy_of, readonly=True), "men-500m")
    tamper(copy_of, statement)
    result = runner.invoke(app, ["verify", "--db", copy_of])
    assert result.exit_code == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: the read model"), line
    if table != "read_meta":
        assert table in line, line
    assert "ledger rebuild" in line
    assert runner.invoke(app, ["verify", "--chain-only", "--db", copy_of]).exit_code == 0
    rebuilt = runner.invoke(app, ["rebuild", "--db", copy_of])
    assert rebuilt.exit_code == 0, rebuilt.output
    again = runner.invoke(app, ["verify", "--db", copy_of])
    assert again.exit_code == 0, again.output
    assert query_standings(Ledger(copy_of, readonly=True), "men-500m") == honest


def compared(db: str, processes: int) -> str:
    """What comparing the read model with the log says: "passed", or the violation."""
    ledger = Ledger(db)
    try:
        verify_read_model(ledger.chain, processes=processes)
        return "passed"
    except IntegrityViolation as e:
        return str(e)
    finally:
        ledger.close()


@pytest.fixture
def in_stretches(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Stretches for any ledger, however small; whether each comparison's stretches joined."""
    import ledger.verify

    monkeypatch.setattr("ledger.parallel.PARALLEL_FROM", 1)
    joined: list[bool] = []
    stretches = ledger.verify._stretches

    def counted(*args: Any) -> Any:
        found = stretches(*args)
        joined.append(found is not None)
        return found

    monkeypatch.setattr("ledger.verify._stretches", counted)
    return joined


def test_an_honest_read_model_compared_in_stretches_passes_as_in_one_walk(
    season_file: Path, in_stretches: list[bool]
) -> None:
    assert compared(str(season_file), 1) == "passed"
    assert in_stretches == []  # one process: one walk
    for processes in (2, 3, 8):
        assert compared(str(season_file), processes) == "passed"
    assert in_stretches == [True, True, True]  # each time the stretches joined and decided


# Edits a stretch starts from: a key, a name's holder, a command going on across an edge.
STRETCH_TAMPERING = [
    *(statement for statements in TAMPERING.values() for statement in statements),
    "UPDATE read_labels SET held = 'x' WHERE position = 25",
    "UPDATE read_labels SET competitor = 25 WHERE position = 24",
    "UPDATE read_athletes SET position = 400",
    "UPDATE read_commands SET recorded_at = '2020-01-02T00:00:00.000000+00:00' WHERE command = 24",
    "UPDATE read_commands SET numbered = 0 WHERE command = 24",
]


@pytest.mark.parametrize("statement", STRETCH_TAMPERING)
def test_the_read_model_compared_in_stretches_fails_word_for_word_where_one_walk_fails(
    copy_of: str, statement: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    tamper(copy_of, statement)
    one_walk = compared(copy_of, 1)
    assert one_walk.startswith("the read model"), one_walk
    monkeypatch.setattr("ledger.parallel.PARALLEL_FROM", 1)
    for processes in (2, 3, 8):
        assert compared(copy_of, processes) == one_walk, processes


def test_a_tampered_read_model_is_refused_by_queries_when_it_no_longer_holds_the_log(
    runner: CliRunner, copy_of: str
) -> None:
    tamper(copy_of, "UPDATE read_meta SET value = '10' WHERE name = 'position'")
    result = runner.invoke(app, ["standings", "men-500m", "--db", copy_of])
    assert result.exit_code == 1
    assert "run `ledger rebuild`" in result.stderr


# --- readers never write ---------------------------------------------------------------------


def digest(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def test_every_read_command_works_on_a_file_opened_read_only_and_changes_no_byte(
    runner: CliRunner, copy_of: str
) -> None:
    # Settle the file: no write-ahead log left over.
    with sqlite3.connect(copy_of) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    before = digest(copy_of)
    for command in (
        ["standings", "men-500m"],
        ["standings", "men-500m", "--format", "json", "--known-at", "2020-01-01T00:00:00+00:00"],
        ["results", "HVN2"],
        ["races"],
        ["history", "--race", "HVN2"],
        ["history", "--competitor", "Bai Qiuming"],
        ["explain", "men-500m", "Michel Mulder"],
        ["diff", "men-500m", "--known-at", "2020-01-01T00:00:00+00:00"],
        ["check"],
        ["export", "results", "--cup", "men-500m"],
        ["export", "events"],
        ["verify"],
    ):
        result = runner.invoke(app, [*command, "--db", copy_of])
        assert result.exit_code == 0, (command, result.output)
    assert digest(copy_of) == before


def test_reads_never_create_a_ledger(runner: CliRunner, tmp_path: Path) -> None:
    typo = tmp_path / "typo.db"
    for command in (["verify"], ["standings", "x"], ["history"], ["races"]):
        result = runner.invoke(app, [*command, "--db", str(typo)])
        assert result.exit_code == 1
        assert result.stderr.strip() == (
            f"error: --db {typo}: no ledger there; `ledger init` (or the first import) creates one"
        )
    assert not typo.exists()
    assert runner.invoke(app, ["init", "--db", str(typo)]).exit_code == 0
    assert runner.invoke(app, ["verify", "--db", str(typo)]).exit_code == 0


def test_a_write_through_a_reader_is_refused_and_writes_nothing(copy_of: str) -> None:
    reader = Ledger(copy_of, readonly=True)
    head = reader.head()
    with pytest.raises(StoreError, match="read-only"):
        reader.disqualify("HVN2", "Michel Mulder", reason="x")
    assert reader.head() == head


def test_a_read_model_left_by_an_older_version_is_refused_by_readers_until_a_writer_opens_it(
    runner: CliRunner, copy_of: str
) -> None:
    expected = query_standings(Ledger(copy_of, readonly=True), "men-500m")
    tamper(copy_of, "UPDATE read_meta SET value = 'read-model-v2' WHERE name = 'version'")
    result = runner.invoke(app, ["standings", "men-500m", "--db", copy_of])
    assert result.exit_code == 1
    assert "older version" in result.stderr and "ledger rebuild" in result.stderr
    Ledger(copy_of).close()  # a writer derives the read model again when it opens the ledger
    assert query_standings(Ledger(copy_of, readonly=True), "men-500m") == expected


def test_unknown_and_ambiguous_ids_are_worded_as_before(ledger: Ledger) -> None:
    ledger.declare_season(SEASON, by="t", recorded_at=START)
    with pytest.raises(UnknownIdError) as caught:
        query_standings(ledger, "bset")
    assert str(caught.value) == "unknown cup 'bset' (did you mean best?)"


# --- readers beside writers -------------------------------------------------------------------


def _read_standings(db: str, seconds: float) -> list[str]:
    failures = []
    reader = Ledger(db, readonly=True)
    stop = time.monotonic() + seconds
    count = 0
    while time.monotonic() < stop or count < 20:
        try:
            query_standings(reader, "all")
        except Exception as e:
            failures.append(f"{type(e).__name__}: {e}")
        count += 1
    reader.close()
    return failures


def _write_results(db: str, worker: int, count: int) -> None:
    writer = Ledger(db)
    for n in range(count):
        writer.record_result(f"R{1 + n % 5}", f"W{worker} {n}", place=1 + n % 9, by="w")
    writer.close()


def test_readers_beside_four_writers_on_sqlite_never_fail(tmp_path: Path) -> None:
    db = str(tmp_path / "busy.db")
    ledger = Ledger(db)
    ledger.declare_season(SEASON, by="t", recorded_at=START)
    ledger.close()
    context = multiprocessing.get_context("spawn")
    with context.Pool(6) as pool:
        writers = [pool.apply_async(_write_results, (db, w, 40)) for w in range(4)]
        readers = [pool.apply_async(_read_standings, (db, 4.0)) for _ in range(2)]
        for w in writers:
            w.get(timeout=120)
        failures = [f for r in readers for f in r.get(timeout=120)]
    assert failures == []
    assert Ledger(db).verify().events == 1 + 5 + 4 * 40


def _run(db: str, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """A statement run beside the ledger, on SQLite or PostgreSQL, committed."""
    if db.startswith("postgresql"):
        import psycopg

        with psycopg.connect(db) as connection:
            cursor = connection.execute(statement.replace("?", "%s"), params)
            return cursor.fetchall() if cursor.description else []
    with sqlite3.connect(db) as connection:
        rows = connection.execute(statement, params).fetchall()
    connection.close()
    return rows


def _counts(db: str) -> tuple[int, ...]:
    return tuple(
        _run(db, f"SELECT COUNT(*) FROM {table}")[0][0]
        for table in ("stored_events", "ledger_chain", "read_facts", "read_competitors")
    )


def test_an_insert_failing_midway_through_a_large_save_leaves_nothing_of_it(db_url: str) -> None:
    # On SQLite each INSERT carries many rows, and fails without undoing its own (``OR
    # FAIL``); on PostgreSQL a COPY fails. The rollback of the whole write transaction must
    # take back every row of every statement, and the error says what happened.
    ledger = Ledger(db_url)
    ledger.declare_season(SEASON, by="t", recorded_at=START)
    head = ledger.head().position
    # A stray read-model row where the 300th new event's row will go: on SQLite the first
    # few statements of read_facts succeed, the one that reaches it fails.
    _run(db_url, "INSERT INTO read_facts VALUES (?, 3, NULL, NULL, NULL, NULL)", (head + 300,))
    before = _counts(db_url)
    rows = [
        ResultRow(line=n + 2, race="R1", competitor=f"Skater {n}", place=n + 1) for n in range(400)
    ]
    with pytest.raises(StoreError, match="refused the write") as refused:
        ledger.record_results(rows, by="t", recorded_at=START + timedelta(days=1))
    # Not "other writers kept the ledger locked": no other writer can clash under the lock.
    assert "read_facts" in str(refused.value)
    assert "`ledger verify`" in str(refused.value)
    assert "\n" not in str(refused.value)
    assert _counts(db_url) == before
    assert ledger.head().position == head
    ledger.close()


def test_benchmark_smoke_run_writes_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    root = Path(__file__).resolve().parents[1]
    script = str(root / "benchmarks" / "run.py")
    options = ["--events", "3000", "--runs", "1", "--only", "standings,record,history --race"]
    subprocess.run(
        [sys.executable, script, *options, "--json", str(out)],
        check=True,
        capture_output=True,
        cwd=tmp_path,
        timeout=600,
    )
    data = json.loads(out.read_text())
    assert data["raw_scan_rows_per_s"] > 0
    assert data["rebuild_events_per_s"] > 0
    assert data["import"]["rows_per_s"] > 0
    assert data["verify"]["full"]["events_per_s"] > 0
    assert data["export_events"]["full"]["events_per_s"] > 0
    for side in ("small", "full"):
        timed = data["commands"][side]
        assert set(timed) == {"standings", "record", "history --race", "history | head -1"}
        assert timed["standings"]["s"] > 0 and timed["standings"]["mb"] > 0
    assert data["targets"]["standings: s"]["target"] == "<= 0.5"
    assert {"targets", "machine", "all_met"} <= set(data)
