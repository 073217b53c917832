"""Importing a large results file takes shortcuts that change nothing a reader can see.

A recorded result is built without its class's ``__init__``, the events are inserted with one
statement, the collector pauses: the events, their bytes, their positions and the chain must
be what the plain path produces, and a refused file must still write nothing.
"""

from __future__ import annotations

import gc
import sqlite3
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from ledger.application import Ledger
from ledger.domain import Race, ResultRecorded
from ledger.errors import DuplicateError
from ledger.inputs import parse_season

SEASON = """
[season]
id = "s1"
name = "Season one"

[tables]
A = [10, 8, 6]

[[cups]]
id = "sprint"
name = "Sprint"

[[races]]
id = "R1"
cup = "sprint"
date = 2020-01-10
table = "A"

[[races]]
id = "R2"
cup = "sprint"
date = 2020-01-11
table = "A"
"""
WHEN = datetime(2020, 1, 12, 18, 0, tzinfo=UTC)


def scheduled() -> Race:
    race = Race.schedule(
        season="s1",
        race="R1",
        cup="sprint",
        race_date=date(2020, 1, 10),
        table="A",
        points=[10, 8, 6],
        location=None,
        venue=None,
        by="tester",
        source=None,
        timestamp=WHEN,
    )
    race.collect_events()
    return race


def test_a_recorded_result_is_the_event_its_class_would_build() -> None:
    race = scheduled()
    race.record_result(
        competitor="Anna",
        nation="NED",
        place=1,
        time=Decimal("34.10"),
        status=None,
        by="tester",
        source="r.csv",
        timestamp=WHEN,
    )
    (event,) = race.collect_events()
    built = ResultRecorded(
        originator_id=race.id,
        originator_version=2,
        timestamp=WHEN,
        by="tester",
        source="r.csv",
        season="s1",
        race="R1",
        cup="sprint",
        race_date=date(2020, 1, 10),
        competitor="Anna",
        nation="NED",
        place=1,
        time=Decimal("34.10"),
        status=None,
    )
    assert type(event) is ResultRecorded
    assert event == built
    assert list(vars(event).items()) == list(vars(built).items())  # the stored key order
    assert (race.version, race.modified_on) == (2, WHEN)
    assert race.results["Anna (NED)"].place == 1
    with pytest.raises(AttributeError):
        event.place = 2  # type: ignore[misc]  # still frozen


def test_a_second_result_for_a_competitor_in_the_same_file_is_refused() -> None:
    race = scheduled()
    values = {"nation": None, "place": 1, "time": None, "status": None, "by": "t"}
    race.record_result(competitor="Anna", source=None, timestamp=WHEN, **values)  # type: ignore[arg-type]
    with pytest.raises(DuplicateError, match="already has a result"):
        race.record_result(competitor="Anna", source=None, timestamp=WHEN, **values)  # type: ignore[arg-type]
    assert race.version == 2


def write(path: Path, rows: list[str]) -> Path:
    path.write_text("race,place,competitor,nation,time,status\n" + "".join(rows), encoding="utf-8")
    return path


def test_an_imported_file_is_stored_in_order_with_its_positions_and_chain(
    tmp_path: Path,
) -> None:
    db = str(tmp_path / "ledger.db")
    ledger = Ledger(db)
    ledger.declare_season(parse_season(SEASON), by="tester", recorded_at=WHEN)
    rows = [f"R{1 + i % 2},{1 + i // 2},Skater {i},NED,{34 + i / 100:.2f},\n" for i in range(40)]
    receipt = ledger.import_results_file(write(tmp_path / "r.csv", rows), recorded_at=WHEN)
    assert receipt.events == 40
    assert ledger.verify().events == 43
    with sqlite3.connect(db) as connection:
        stored = connection.execute(
            "SELECT e.rowid, c.position, c.notification_id, e.originator_version, e.state"
            " FROM stored_events e JOIN ledger_chain c ON c.notification_id = e.rowid"
            " ORDER BY c.position"
        ).fetchall()
    connection.close()
    assert [(rowid, position) for rowid, position, *_ in stored] == [(n, n) for n in range(1, 44)]
    # Race by race (one aggregate's events after another), each in the file's order.
    assert [version for *_, version, _ in stored[3:]] == [*range(2, 22), *range(2, 22)]
    assert [stored[3][-1], stored[23][-1]] == [
        b'{"timestamp":{"_type_":"datetime_iso","_data_":"2020-01-12T18:00:00+00:00"},'
        b'"by":"' + receipt_by(ledger) + b'","source":"r.csv","season":"s1","race":"R1",'
        b'"cup":"sprint","race_date":{"_type_":"date_iso","_data_":"2020-01-10"},'
        b'"competitor":"Skater 0","nation":"NED","place":1,'
        b'"time":{"_type_":"decimal_str","_data_":"34.00"},"status":null}',
        b'{"timestamp":{"_type_":"datetime_iso","_data_":"2020-01-12T18:00:00+00:00"},'
        b'"by":"' + receipt_by(ledger) + b'","source":"r.csv","season":"s1","race":"R2",'
        b'"cup":"sprint","race_date":{"_type_":"date_iso","_data_":"2020-01-11"},'
        b'"competitor":"Skater 1","nation":"NED","place":1,'
        b'"time":{"_type_":"decimal_str","_data_":"34.01"},"status":null}',
    ]
    ledger.close()


def receipt_by(ledger: Ledger) -> bytes:
    """Who the last event says recorded it (the OS user by default)."""
    *_, (_, last) = ledger.read_events()
    return last.by.encode()


def test_a_refused_file_writes_nothing_and_the_collector_runs_again(
    ledger: Ledger, tmp_path: Path
) -> None:
    ledger.declare_season(parse_season(SEASON), by="tester", recorded_at=WHEN)
    ledger.import_results_file(write(tmp_path / "a.csv", ["R1,1,Anna,NED,,\n"]), recorded_at=WHEN)
    before = ledger.head()
    assert gc.isenabled()
    with pytest.raises(DuplicateError, match=r"b\.csv, line 3: s1/R1: Anna \(NED\) already"):
        ledger.import_results_file(
            write(tmp_path / "b.csv", ["R2,1,Bob,NED,,\n", "R1,2,Anna,NED,,\n"]), recorded_at=WHEN
        )
    assert gc.isenabled()
    assert ledger.head() == before


def _chain_indexes(db_url: str) -> set[str]:
    if db_url.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(db_url) as connection:
            rows = connection.execute(
                "SELECT indexname FROM pg_indexes WHERE tablename = 'ledger_chain'"
            ).fetchall()
    else:
        with sqlite3.connect(db_url) as connection:
            rows = connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'ledger_chain'"
            ).fetchall()
        connection.close()
    return {str(name) for (name,) in rows}


def _sql(db_url: str, statement: str) -> None:
    if db_url.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(db_url, autocommit=True) as connection:
            connection.execute(statement)
    else:
        with sqlite3.connect(db_url) as connection:
            connection.execute(statement)
        connection.close()


def test_the_chain_keeps_no_index_of_hashes_and_an_older_ledger_loses_it_when_opened(
    db_url: str,
) -> None:
    Ledger(db_url).close()
    assert not any(name.endswith("_hash") for name in _chain_indexes(db_url))
    assert "ledger_chain_recorded_at" in _chain_indexes(db_url)
    _sql(db_url, "CREATE INDEX ledger_chain_hash ON ledger_chain (hash)")  # as older ledgers had
    assert "ledger_chain_hash" in _chain_indexes(db_url)
    ledger = Ledger(db_url)
    assert "ledger_chain_hash" not in _chain_indexes(db_url)
    ledger.declare_season(parse_season(SEASON), by="tester", recorded_at=WHEN)
    assert ledger.verify().events == 3
    ledger.close()
