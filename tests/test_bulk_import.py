"""Importing a large results file takes shortcuts that change nothing a reader can see.

A file's rows become stored events without an event object per row (``ledger.bulk``), a
recorded result is built without its class's ``__init__``, the events are inserted with one
statement, the collector pauses: the events, their bytes, their positions and the chain must
be what the plain path produces, conflicts are retried as before, and a refused file must
still write nothing.
"""

from __future__ import annotations

import csv
import gc
import sqlite3
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.application import Ledger, RaceRef
from ledger.bulk import recorded_results
from ledger.chain import format_recorded_at
from ledger.domain import Race, ResultRecorded, race_uuid
from ledger.errors import DuplicateError, RecordedTimeError, UnknownIdError
from ledger.inputs import ParsedRow, parse_season, parse_time
from ledger.store import EventRun, stored_events

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
    # PostgreSQL finds a recorded time by its index; SQLite halves the positions instead.
    assert ("ledger_chain_recorded_at" in _chain_indexes(db_url)) == db_url.startswith(
        "postgresql://"
    )
    _sql(db_url, "CREATE INDEX ledger_chain_hash ON ledger_chain (hash)")  # as older ledgers had
    assert "ledger_chain_hash" in _chain_indexes(db_url)
    ledger = Ledger(db_url)
    assert "ledger_chain_hash" not in _chain_indexes(db_url)
    ledger.declare_season(parse_season(SEASON), by="tester", recorded_at=WHEN)
    assert ledger.verify().events == 3
    ledger.close()


# --- the bulk path stores what the aggregates and the mapper would store --------------------

_MAPPER = Ledger(":memory:").mapper  # the application's transcodings, without a store per example

names = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=12
).filter(lambda s: s.strip() == s)
results = st.tuples(
    names,
    st.one_of(st.none(), st.sampled_from(["NED", "NOR", "KOR", "USA"])),
    st.one_of(st.none(), st.integers(min_value=1, max_value=10_000)),
    st.one_of(
        st.none(),
        st.decimals(min_value=Decimal("0.000001"), max_value=Decimal(86_399), places=2),
        st.decimals(min_value=Decimal("0.000001"), max_value=Decimal(999), places=6),
        st.sampled_from([Decimal("34"), Decimal("34.10"), Decimal("1E+1"), Decimal("0.0010")]),
    ),
    st.one_of(st.none(), st.sampled_from(["DNF", "DNS", "DQ"])),
    st.sampled_from(["R1", "R2"]),
)


def race_named(name: str, recorded: int) -> Race:
    race = Race.schedule(
        season="s1",
        race=name,
        cup="sprint",
        race_date=date(2020, 1, 10),
        table="A",
        points=[10, 8, 6],
        location="Thialf, Heerenveen",
        venue=None,
        by="tester",
        source=None,
        timestamp=WHEN,
    )
    for i in range(recorded):  # results recorded before the file
        race.record_result(competitor=f"Earlier {i}", nation="NED", place=i + 1, time=None,
                           status=None, by="x", source=None, timestamp=WHEN)  # fmt: skip
    race.collect_events()
    return race


def bulk(
    rows: list[tuple[ParsedRow, str]],
    race_of: Callable[[str], Race],
    by: str,
    source: str | None = None,
) -> list[EventRun]:
    """The bulk path's runs of events for rows of a file named r.csv, recorded at WHEN."""
    return recorded_results(
        rows,
        race_of,
        _MAPPER,
        by=by,
        source=source,
        timestamp=WHEN,
        file="r.csv",
        progress=lambda done, total: None,
    )


@settings(max_examples=150, deadline=None)
@given(
    rows=st.lists(results, min_size=1, max_size=12, unique_by=lambda r: (r[0], r[1], r[5])),
    by=st.one_of(names, st.just("tester")),
    source=st.one_of(st.none(), names),
    earlier=st.integers(min_value=0, max_value=3),
)
def test_the_bulk_path_stores_the_bytes_the_aggregates_and_the_mapper_would(
    rows: list[tuple[str, str | None, int | None, Decimal | None, str | None, str]],
    by: str,
    source: str | None,
    earlier: int,
) -> None:
    def row(line: int, values: tuple[Any, ...]) -> ParsedRow:
        competitor, nation, place, time, status, race = values
        return ParsedRow(line, race, competitor, nation, place, time, status)

    # The per-event path: each row recorded on its race, the races saved in order of first use.
    races = {name: race_named(name, earlier) for name in ("R1", "R2")}
    used: dict[str, Race] = {}
    for competitor, nation, place, time, status, name in rows:
        used.setdefault(name, races[name]).record_result(
            competitor=competitor, nation=nation, place=place, time=time, status=status,
            by=by, source=source, timestamp=WHEN,
        )  # fmt: skip
    expected = [_MAPPER.to_stored_event(e) for race in used.values() for e in race.collect_events()]

    fresh = {name: race_named(name, earlier) for name in ("R1", "R2")}
    loaded: list[str] = []

    def race_of(name: str) -> Race:
        loaded.append(name)
        return fresh[name]

    runs = bulk([(row(i + 2, r), r[5]) for i, r in enumerate(rows)], race_of, by, source)
    # One run per race, in order of first use, numbered on from the race's version.
    assert [(run.originator_id, run.first_version) for run in runs] == [
        (fresh[name].id, fresh[name].version + 1) for name in used
    ]
    stored = stored_events(runs)
    assert stored == expected  # topic, aggregate id, version and state bytes, event by event
    assert loaded == list(used)  # each race loaded once
    assert [_MAPPER.to_domain_event(s) for s in stored] == [
        _MAPPER.to_domain_event(s) for s in expected
    ]


def test_a_name_orjson_refuses_is_left_to_the_transcoder_as_on_the_per_event_path() -> None:
    lone = "Anna \ud800"  # a lone surrogate: no UTF-8 for it
    with pytest.raises(UnicodeEncodeError):
        _MAPPER.transcoder.encode({"competitor": lone, "time": Decimal("34.5")})
    row = ParsedRow(2, "R1", lone, None, None, Decimal("34.5"), None)
    with pytest.raises(UnicodeEncodeError):
        bulk([(row, "R1")], lambda name: race_named(name, 0), "tester")


def test_a_result_already_in_the_race_or_earlier_in_the_file_is_refused_at_its_line() -> None:
    rows = [
        (ParsedRow(2, "R1", "Anna", "NED", 1, None, None), "R1"),
        (ParsedRow(3, "R1", "Bob", None, 2, None, None), "R1"),
        (ParsedRow(4, "R1", "Bob", None, 3, None, None), "R1"),
    ]
    for found in ([], [rows[0]]):
        with pytest.raises(DuplicateError) as caught:
            bulk([*found, *rows[1:]] if found else rows, lambda name: race_named(name, 0), "t")
        assert str(caught.value) == (
            "r.csv, line 4: s1/R1: Bob already has a result; use `ledger correct` to change it"
        )
    again = ParsedRow(2, "R1", "Earlier 0", "NED", 1, None, None)
    with pytest.raises(DuplicateError, match=r"^r\.csv, line 2: s1/R1: Earlier 0 \(NED\) already"):
        bulk([(again, "R1")], lambda name: race_named(name, 1), "t")


def table_rows(db: str) -> tuple[list[Any], list[Any]]:
    with sqlite3.connect(db) as connection:
        events = connection.execute("SELECT rowid, * FROM stored_events ORDER BY rowid").fetchall()
        chain = connection.execute("SELECT * FROM ledger_chain ORDER BY position").fetchall()
    connection.close()
    return events, chain


def test_an_imported_file_stores_exactly_what_recording_its_rows_one_by_one_stores(
    tmp_path: Path,
) -> None:
    lines = [
        ("R1", 1, 'Anna "the Flash" Berg', "NED", "34.10", ""),
        ("R1", 2, "Jürgen Ødegård", "", "1:08.94", ""),
        ("R1", "", "Ηλίας \\ 名前 🏅", "KOR", "", "DNF"),
        ("R1", 3, "Sam", "NOR", "34.123456", "DQ"),
        ("R2", 1, 'Anna "the Flash" Berg', "NED", "", ""),
        ("s1/R2", 2, "Zoë", "USA", "59", ""),
    ]
    path = tmp_path / "r.csv"
    with path.open("w", encoding="utf-8", newline="") as out:
        csv.writer(out).writerows([("race", "place", "competitor", "nation", "time", "status")])
        csv.writer(out).writerows(lines)
    bulk, single = str(tmp_path / "bulk.db"), str(tmp_path / "single.db")
    for db in (bulk, single):
        ledger = Ledger(db)
        ledger.declare_season(parse_season(SEASON), by="tester", recorded_at=WHEN)
        if db == bulk:
            receipt = ledger.import_results_file(path, by="tester", recorded_at=WHEN)
            assert receipt.events == len(lines)
        else:
            for race, place, competitor, nation, time, status in lines:
                ledger.record_result(
                    race, competitor, nation=nation or None, place=place or None,
                    time=parse_time(time) if time else None, status=status or None,
                    by="tester", source="r.csv", recorded_at=WHEN,
                )  # fmt: skip
        assert ledger.verify().events == 3 + len(lines)
        ledger.close()
    assert table_rows(bulk) == table_rows(single)
    events, _ = table_rows(bulk)
    expected = '"competitor":"Ηλίας \\\\ 名前 🏅","nation":"KOR","place":null,"time":null,'
    assert expected.encode() in events[5][4]  # UTF-8 as is, the backslash escaped


def test_an_import_that_loses_a_race_to_another_writer_is_rebuilt_and_saved_after_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = str(tmp_path / "ledger.db")
    ledger, rival = Ledger(db), Ledger(db)
    ledger.declare_season(parse_season(SEASON), by="tester", recorded_at=WHEN)
    insert = ledger.chain.insert_runs
    calls: list[int] = []

    def rival_first(runs: Sequence[EventRun], recorded_at: str) -> int:
        calls.append(len(stored_events(runs)))
        if len(calls) == 1:  # another writer records in R1 between our read and our write
            rival.record_result("R1", "Rival", place=9, recorded_at=WHEN)
        return insert(runs, recorded_at)

    monkeypatch.setattr(ledger.chain, "insert_runs", rival_first)
    rows = ["R1,1,Anna,NED,,\n", "R2,1,Bob,NED,,\n", "R1,2,Cas,NED,,\n"]
    receipt = ledger.import_results_file(write(tmp_path / "r.csv", rows), recorded_at=WHEN)
    assert (calls, receipt.events) == ([3, 3], 3)
    events = [e for _, e in ledger.read_events(after=3)]
    assert [(e.race, e.competitor, e.originator_version) for e in events] == [
        ("R1", "Rival", 2), ("R1", "Anna", 3), ("R1", "Cas", 4), ("R2", "Bob", 2)
    ]  # fmt: skip
    assert ledger.verify().events == 7

    # The rival recording a competitor of the file: the retry finds the duplicate.
    calls.clear()
    rows = ["R2,2,Dee,NED,,\n", "R1,3,Rival2,,,\n"]

    def rival_takes_rival2(runs: Sequence[EventRun], recorded_at: str) -> int:
        calls.append(len(stored_events(runs)))
        if len(calls) == 1:
            rival.record_result("R1", "Rival2", place=8, recorded_at=WHEN)
        return insert(runs, recorded_at)

    monkeypatch.setattr(ledger.chain, "insert_runs", rival_takes_rival2)
    head = ledger.head()
    with pytest.raises(DuplicateError, match=r"r2\.csv, line 3: s1/R1: Rival2 already has"):
        ledger.import_results_file(write(tmp_path / "r2.csv", rows), recorded_at=WHEN)
    assert ledger.head().position == head.position + 1  # only the rival's result
    rival.close()
    ledger.close()


def test_an_import_stamped_before_a_newer_write_is_stamped_again_unless_its_time_was_given(
    tmp_path: Path,
) -> None:
    db = str(tmp_path / "ledger.db")
    later = datetime(2020, 1, 13, tzinfo=UTC)
    Ledger(db).declare_season(parse_season(SEASON), by="tester", recorded_at=later)
    stamps = iter([WHEN, later + timedelta(seconds=1), later + timedelta(seconds=1)])
    ledger = Ledger(db, clock=lambda: next(stamps))
    receipt = ledger.import_results_file(write(tmp_path / "r.csv", ["R1,1,Anna,NED,,\n"]))
    assert receipt.recorded_at == later + timedelta(seconds=1)
    assert ledger.head().recorded_at == format_recorded_at(later + timedelta(seconds=1))
    with pytest.raises(RecordedTimeError, match="recorded times may not go backwards"):
        Ledger(db).import_results_file(write(tmp_path / "b.csv", ["R1,2,B,,,\n"]), recorded_at=WHEN)
    assert ledger.verify().events == 4
    ledger.close()


def test_a_files_races_are_read_in_one_query_exactly_as_each_race_alone(
    ledger: Ledger, tmp_path: Path
) -> None:
    ledger.declare_season(parse_season(SEASON), by="tester", recorded_at=WHEN)
    rows = [f"R{1 + i % 2},{1 + i // 2},Skater {i},NED,{34 + i / 100:.2f},\n" for i in range(6)]
    ledger.import_results_file(write(tmp_path / "r.csv", rows), recorded_at=WHEN)
    ledger.disqualify("R2", "Skater 1", reason="false start", recorded_at=WHEN)
    assert ledger.scheduled_races() == [
        RaceRef("s1", "R1", "sprint", date(2020, 1, 10)),
        RaceRef("s1", "R2", "sprint", date(2020, 1, 11)),
    ]
    r1, r2 = race_uuid("s1", "R1"), race_uuid("s1", "R2")
    stored = ledger.chain.aggregates_events([r2, race_uuid("s1", "R9"), r1])
    alone = [*ledger.recorder.select_events(r1), *ledger.recorder.select_events(r2)]
    assert len(alone) == 1 + 3 + 1 + 3 + 1
    assert sorted(stored, key=lambda s: (str(s.originator_id), s.originator_version)) == sorted(
        alone, key=lambda s: (str(s.originator_id), s.originator_version)
    )
    races = ledger._get_races([RaceRef("s1", "R2", "sprint", date(2020, 1, 11))])
    (race,) = races.values()
    assert (race.id, race.version, race.results["Skater 1 (NED)"].disqualified) == (r2, 5, True)
    alone_race = ledger._get_race(RaceRef("s1", "R2", "sprint", date(2020, 1, 11)))
    assert entries(race) == entries(alone_race)
    assert [e[0] for e in entries(race)] == ["Skater 1", "Skater 3", "Skater 5"]
    with pytest.raises(UnknownIdError, match="unknown race s1/R9"):
        ledger._get_races([RaceRef("s1", "R9", "sprint", date(2020, 1, 11))])


def entries(race: Race) -> list[tuple[Any, ...]]:
    return [
        (e.competitor, e.nation, e.place, e.time, e.status, e.disqualified)
        for e in race.results.values()
    ]


def test_an_older_sqlite_ledger_loses_the_indexes_every_import_paid_for_when_opened(
    tmp_path: Path,
) -> None:
    db = str(tmp_path / "old.db")
    Ledger(db).close()
    # As older ledgers had them: every topic, every recorded time.
    _sql(db, "CREATE INDEX stored_events_topic ON stored_events (topic)")
    _sql(db, "CREATE INDEX ledger_chain_recorded_at ON ledger_chain (recorded_at)")
    ledger = Ledger(db)
    with sqlite3.connect(db) as connection:
        names = {
            name
            for (name,) in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index'"
            ).fetchall()
        }
    connection.close()
    assert "stored_events_topic" not in names
    assert "ledger_chain_recorded_at" not in names
    assert "stored_events_rare_topic" in names
    ledger.declare_season(parse_season(SEASON), by="tester", recorded_at=WHEN)
    assert ledger.position_at(WHEN) == 3
    assert [r.race for r in ledger.scheduled_races()] == ["R1", "R2"]
    ledger.close()
