"""`ledger copy`: a ledger moves between stores with its order, recorded times and hashes.

``db_url`` is the store in the middle: SQLite → db_url → SQLite, so on PostgreSQL this is the
round trip SQLite → PostgreSQL → SQLite.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from ledger.application import Ledger
from ledger.bundled import MEN_500M, RELAYS, load_bundled, season_dir
from ledger.chain import Head
from ledger.copy import copy_ledger
from ledger.errors import IntegrityViolation


def head_of(db: str) -> Head:
    ledger = Ledger(db)
    try:
        return ledger.head()
    finally:
        ledger.close()


def events_of(db: str) -> list[tuple[int, object]]:
    ledger = Ledger(db)
    try:
        return list(ledger.read_events())
    finally:
        ledger.close()


def copy(runner: CliRunner, source: str, target: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["copy", "--from", source, "--to", target, "--no-progress"])
    return result.exit_code, result.stdout, result.stderr


def standings(runner: CliRunner, db: str, cup: str, *extra: str) -> dict[str, object]:
    result = runner.invoke(app, ["standings", cup, "--format", "json", "--db", db, *extra])
    assert result.exit_code == 0, result.output
    data: dict[str, object] = json.loads(result.stdout)
    data.pop("head", None)
    return data


@pytest.fixture
def source(tmp_path: Path) -> Iterator[str]:
    """A SQLite ledger holding both bundled seasons, a disqualification and a correction."""
    path = str(tmp_path / "source.db")
    ledger = Ledger(path)
    load_bundled(ledger, MEN_500M)
    relays = season_dir(RELAYS)
    ledger.import_season_file(
        relays / "season.toml", recorded_at=datetime(2014, 3, 17, 9, tzinfo=UTC)
    )
    ledger.import_results_file(
        relays / "results.csv", recorded_at=datetime(2014, 3, 17, 10, tzinfo=UTC)
    )
    ledger.disqualify(
        "HVN2",
        "Michel Mulder",
        reason="false start, found on video",
        recorded_at=datetime(2014, 3, 20, 10, tzinfo=UTC),
    )
    ledger.correct_result(
        "HVN1",
        "Ronald Mulder",
        place=2,
        reason="photo finish reviewed",
        recorded_at=datetime(2014, 3, 21, 10, tzinfo=UTC),
    )
    ledger.close()
    yield path


def test_a_round_trip_through_the_other_store_keeps_every_event_and_the_head(
    runner: CliRunner, source: str, db_url: str, tmp_path: Path
) -> None:
    back = str(tmp_path / "back.db")
    assert copy(runner, source, db_url)[0] == 0
    code, out, _ = copy(runner, db_url, back)
    assert code == 0
    expected = head_of(source)
    assert head_of(db_url) == expected
    assert head_of(back) == expected
    assert f"{expected.position} events, head {expected.hash}" in out
    assert events_of(back) == events_of(source)
    verified = runner.invoke(app, ["verify", "--db", db_url])
    assert verified.exit_code == 0, verified.output
    assert expected.hash in verified.stdout


def test_the_copy_gives_the_same_standings_as_of_any_date_and_as_known_at_any_time(
    runner: CliRunner, source: str, db_url: str
) -> None:
    assert copy(runner, source, db_url)[0] == 0
    for cup, extra in [
        ("men-500m", ()),
        ("men-500m", ("--as-of", "2014-03-09")),
        # Before the disqualification: only preserved recorded times give the old table.
        ("men-500m", ("--known-at", "2014-03-19T00:00:00+00:00")),
        ("women-3000m-relay", ()),
    ]:
        assert standings(runner, db_url, cup, *extra) == standings(runner, source, cup, *extra)
    before = standings(runner, db_url, "men-500m", "--known-at", "2014-03-19T00:00:00+00:00")
    after = standings(runner, db_url, "men-500m")
    assert before != after


def test_copying_again_brings_an_earlier_copy_up_to_date(
    runner: CliRunner, source: str, db_url: str
) -> None:
    assert copy(runner, source, db_url)[0] == 0
    first = head_of(db_url)
    ledger = Ledger(source)
    ledger.reinstate("HVN2", "Michel Mulder", reason="appeal upheld")
    ledger.close()
    code, out, _ = copy(runner, source, db_url)
    assert code == 0
    assert f"copied 1 new event to {db_url}, after its first {first.position}" in out
    assert head_of(db_url) == head_of(source)
    assert head_of(db_url).position == first.position + 1
    code, out, _ = copy(runner, source, db_url)
    assert code == 0
    assert "up to date already" in out
    assert head_of(db_url) == head_of(source)


def test_a_target_holding_another_ledger_is_refused_and_left_as_it_was(
    runner: CliRunner, source: str, db_url: str
) -> None:
    other = Ledger(db_url)
    load_bundled(other, RELAYS)
    other.close()
    before = head_of(db_url)
    code, _, err = copy(runner, source, db_url)
    assert code == 1
    assert err.count("\n") == 1
    assert "not the start of" in err
    assert head_of(db_url) == before


def test_a_target_ahead_of_its_source_is_refused(
    runner: CliRunner, source: str, db_url: str, tmp_path: Path
) -> None:
    assert copy(runner, source, db_url)[0] == 0
    shorter = str(tmp_path / "shorter.db")
    ledger = Ledger(shorter)
    load_bundled(ledger, MEN_500M)
    ledger.close()
    code, _, err = copy(runner, shorter, db_url)
    assert code == 1
    assert "not the start of" in err


def test_a_broken_source_chain_is_not_copied_past_the_break(source: str, db_url: str) -> None:
    # Tamper with the source as someone with file access could: drop the trigger, edit.
    with sqlite3.connect(source) as conn:
        conn.execute("DROP TRIGGER stored_events_refuse_update")
        conn.execute(
            "UPDATE stored_events SET state = CAST(state || X'20' AS BLOB) WHERE rowid = "
            "(SELECT notification_id FROM ledger_chain WHERE position = 250)"
        )
    with pytest.raises(IntegrityViolation, match="breaks at position 250"):
        copy_ledger(source, db_url, batch=100)
    assert head_of(db_url).position == 200


def test_copying_from_a_file_that_does_not_exist_creates_nothing(
    runner: CliRunner, db_url: str, tmp_path: Path
) -> None:
    missing = tmp_path / "missing.db"
    code, _, err = copy(runner, str(missing), db_url)
    assert code == 1
    assert "no such ledger file" in err
    assert not missing.exists()
    assert head_of(db_url).position == 0


def test_copying_a_ledger_onto_itself_is_refused(runner: CliRunner, source: str) -> None:
    before = head_of(source)
    code, _, err = copy(runner, source, source)
    assert code == 1
    assert "both name" in err
    assert head_of(source) == before
