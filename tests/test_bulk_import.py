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
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.application import Ledger
from ledger.bulk import Identity, recorded_results
from ledger.chain import format_recorded_at
from ledger.errors import DuplicateError, RecordedTimeError
from ledger.events import ResultRecorded, race_uuid
from ledger.fold import RaceState, ResultState
from ledger.identity import canonical, competitor_id
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
    skater_0, skater_1 = (competitor_id(f"Skater {n}", "NED").encode() for n in (0, 1))
    assert [stored[3][-1], stored[23][-1]] == [
        b'{"timestamp":{"_type_":"datetime_iso","_data_":"2020-01-12T18:00:00+00:00"},'
        b'"by":"' + receipt_by(ledger) + b'","source":"r.csv","command":4,"season":"s1",'
        b'"race":"R1","cup":"sprint","race_date":{"_type_":"date_iso","_data_":"2020-01-10"},'
        b'"competitor":"Skater 0","nation":"NED","competitor_id":"' + skater_0 + b'",'
        b'"athlete_id":null,"place":1,"time":{"_type_":"decimal_str","_data_":"34.00"},'
        b'"status":null,"bonus":null,"team":null,"class_version":2}',
        b'{"timestamp":{"_type_":"datetime_iso","_data_":"2020-01-12T18:00:00+00:00"},'
        b'"by":"' + receipt_by(ledger) + b'","source":"r.csv","command":4,"season":"s1",'
        b'"race":"R2","cup":"sprint","race_date":{"_type_":"date_iso","_data_":"2020-01-11"},'
        b'"competitor":"Skater 1","nation":"NED","competitor_id":"' + skater_1 + b'",'
        b'"athlete_id":null,"place":1,"time":{"_type_":"decimal_str","_data_":"34.01"},'
        b'"status":null,"bonus":null,"team":null,"class_version":2}',
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


# --- the bulk path stores what the event classes and the mapper would store -----------------

_MAPPER = Ledger(":memory:").mapper  # the application's transcodings, without a store per example

# What a results file lets through: visible text, nothing to strip.
names = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Cf")), min_size=1, max_size=12
).filter(lambda s: s.strip() == s and canonical(s) == s)
decimals = st.one_of(
    st.none(),
    st.decimals(min_value=Decimal("0.000001"), max_value=Decimal(86_399), places=2),
    st.decimals(min_value=Decimal("0.000001"), max_value=Decimal(999), places=6),
    st.sampled_from([Decimal("34"), Decimal("34.10"), Decimal("1E+1"), Decimal("0.0010")]),
)
results = st.tuples(
    names,
    st.one_of(st.none(), st.sampled_from(["NED", "NOR", "KOR", "USA"])),
    st.one_of(st.none(), st.integers(min_value=1, max_value=10_000)),
    decimals,
    st.one_of(st.none(), st.sampled_from(["DNF", "DNS", "DQ"])),
    st.sampled_from(["R1", "R2"]),
    st.one_of(st.none(), st.sampled_from(["ISU1", "FIS-20"])),
    decimals,
    st.one_of(st.none(), names),
)


def race_named(name: str, recorded: int) -> RaceState:
    race = RaceState(
        season="s1",
        race=name,
        cup="sprint",
        date=date(2020, 1, 10),
        table="A",
        points=(Decimal(10), Decimal(8), Decimal(6)),
        location="Thialf, Heerenveen",
        venue=None,
        order=2 if name == "R1" else 3,
    )
    for i in range(recorded):  # results recorded before the file
        race.results[f"earlier{i}"] = ResultState(
            f"earlier{i}", f"Earlier {i}", "NED", i + 1, None, None
        )
    return race


AGGREGATES = {("s1", name): (race_uuid("s1", name), 7) for name in ("R1", "R2")}


def bulk(
    rows: list[tuple[ParsedRow, RaceState, Identity]],
    by: str,
    source: str | None = None,
    command: int = 40,
) -> list[EventRun]:
    """The bulk path's runs of events for rows of a file named r.csv, recorded at WHEN."""
    runs = recorded_results(
        rows,
        AGGREGATES,
        _MAPPER,
        by=by,
        source=source,
        timestamp=WHEN,
        command=command,
        file="r.csv",
        progress=lambda done, total: None,
    )
    return list(runs)


@settings(max_examples=150, deadline=None)
@given(
    rows=st.lists(
        results, min_size=1, max_size=12, unique_by=lambda r: (competitor_id(r[0], r[1]), r[5])
    ),
    by=st.one_of(names, st.just("tester")),
    source=st.one_of(st.none(), names),
    earlier=st.integers(min_value=0, max_value=3),
)
def test_the_bulk_path_stores_the_bytes_the_event_classes_and_the_mapper_would(
    rows: list[tuple[Any, ...]],
    by: str,
    source: str | None,
    earlier: int,
) -> None:
    races = {name: race_named(name, earlier) for name in ("R1", "R2")}
    given_rows = []
    for line, (competitor, nation, place, time, status, name, athlete, bonus, team) in enumerate(
        rows, 2
    ):
        row = ParsedRow(line, name, competitor, nation, place, time, status, athlete, bonus, team)
        who = Identity(competitor_id(competitor, nation), competitor)
        given_rows.append((row, races[name], who))
    runs = bulk(given_rows, by, source)
    # The per-event path: each row as its event, the races in order of first use.
    used = list(dict.fromkeys(r[5] for r in rows))
    expected = []
    for name in used:
        for version, (row, _, who) in enumerate(
            [g for g in given_rows if g[0].race == name], AGGREGATES[("s1", name)][1]
        ):
            event = ResultRecorded(
                originator_id=race_uuid("s1", name),
                originator_version=version,
                timestamp=WHEN,
                by=by,
                source=source,
                command=40,
                season="s1",
                race=name,
                cup="sprint",
                race_date=date(2020, 1, 10),
                competitor=who.name,
                nation=row.nation,
                competitor_id=who.competitor_id,
                athlete_id=row.athlete_id,
                place=row.place,
                time=row.time,
                status=row.status,
                bonus=row.bonus,
                team=row.team,
            )
            expected.append(_MAPPER.to_stored_event(event))
    # One run per race, in order of first use, numbered on from the race's next version.
    assert [(run.originator_id, run.first_version) for run in runs] == [
        AGGREGATES[("s1", name)] for name in used
    ]
    stored = stored_events(runs)
    assert stored == expected  # topic, aggregate id, version and state bytes, event by event
    assert [_MAPPER.to_domain_event(s) for s in stored] == [
        _MAPPER.to_domain_event(s) for s in expected
    ]
    # The races' states gained the new results, as folding the events would give them.
    for row, race, who in given_rows:
        result = race.results[who.competitor_id]
        assert (result.place, result.time, result.status, result.bonus, result.team) == (
            row.place, row.time, row.status, row.bonus, row.team
        )  # fmt: skip


def test_a_name_orjson_refuses_is_left_to_the_transcoder_as_on_the_per_event_path() -> None:
    lone = "Anna \ud800"  # a lone surrogate: no UTF-8 for it
    with pytest.raises(UnicodeEncodeError):
        _MAPPER.transcoder.encode({"competitor": lone, "time": Decimal("34.5")})
    row = ParsedRow(2, "R1", lone, None, None, Decimal("34.5"), None)
    with pytest.raises(UnicodeEncodeError):
        bulk([(row, race_named("R1", 0), Identity("x" * 32, lone))], "tester")


def test_a_result_already_in_the_race_or_earlier_in_the_file_is_refused_at_its_line() -> None:
    def rows(race: RaceState) -> list[tuple[ParsedRow, RaceState, Identity]]:
        return [
            (ParsedRow(2, "R1", "Anna", "NED", 1, None, None), race, Identity("a" * 32, "Anna")),
            (ParsedRow(3, "R1", "Bob", None, 2, None, None), race, Identity("b" * 32, "Bob")),
            (ParsedRow(4, "R1", "Bob", None, 3, None, None), race, Identity("b" * 32, "Bob")),
        ]

    with pytest.raises(DuplicateError) as caught:
        bulk(rows(race_named("R1", 0)), "t")
    assert str(caught.value) == (
        "r.csv, line 4: s1/R1: Bob already has a result; use `ledger correct` to change it"
    )
    again = ParsedRow(2, "R1", "Earlier 0", "NED", 1, None, None)
    with pytest.raises(DuplicateError, match=r"^r\.csv, line 2: s1/R1: Earlier 0 \(NED\) already"):
        bulk([(again, race_named("R1", 1), Identity("earlier0", "Earlier 0"))], "t")


def table_rows(db: str) -> tuple[list[Any], list[Any]]:
    with sqlite3.connect(db) as connection:
        events = connection.execute("SELECT rowid, * FROM stored_events ORDER BY rowid").fetchall()
        chain = connection.execute("SELECT * FROM ledger_chain ORDER BY position").fetchall()
    connection.close()
    return events, chain


def without_commands(events: list[Any]) -> list[Any]:
    """Each stored event with its state's command number left out."""
    found = []
    for rowid, originator, version, topic, state in events:
        data = orjson.loads(state)
        data.pop("command", None)
        found.append((rowid, originator, version, topic, data))
    return found


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
    # The same events, positions and times, but for the command: one for the whole file, one
    # per result recorded alone (and so the states' bytes, and the chain, differ there).
    assert without_commands(table_rows(bulk)[0]) == without_commands(table_rows(single)[0])
    assert len(table_rows(bulk)[1]) == len(table_rows(single)[1])
    events, _ = table_rows(bulk)
    expected = '"competitor":"Ηλίας \\\\ 名前 🏅","nation":"KOR","competitor_id":'
    assert expected.encode() in events[5][4]  # UTF-8 as is, the backslash escaped


def test_a_writer_whose_clock_is_behind_the_log_records_at_the_heads_time_unless_told(
    tmp_path: Path,
) -> None:
    db = str(tmp_path / "ledger.db")
    later = datetime(2020, 1, 13, tzinfo=UTC)
    Ledger(db).declare_season(parse_season(SEASON), by="tester", recorded_at=later)
    ledger = Ledger(db, clock=lambda: WHEN)  # a day behind the writer before it
    receipt = ledger.import_results_file(write(tmp_path / "r.csv", ["R1,1,Anna,NED,,\n"]))
    assert receipt.recorded_at == later
    assert ledger.head().recorded_at == format_recorded_at(later)
    with pytest.raises(RecordedTimeError, match="recorded times may not go backwards"):
        Ledger(db).import_results_file(write(tmp_path / "b.csv", ["R1,2,B,,,\n"]), recorded_at=WHEN)
    assert ledger.verify().events == 4
    ledger.close()


def test_a_files_races_are_read_together_exactly_as_each_race_alone(
    ledger: Ledger, tmp_path: Path
) -> None:
    ledger.declare_season(parse_season(SEASON), by="tester", recorded_at=WHEN)
    rows = [f"R{1 + i % 2},{1 + i // 2},Skater {i},NED,{34 + i / 100:.2f},\n" for i in range(6)]
    ledger.import_results_file(write(tmp_path / "r.csv", rows), recorded_at=WHEN)
    ledger.disqualify("R2", "Skater 1", reason="false start", recorded_at=WHEN)
    with ledger.reading() as reader:
        head = reader.head().position
        keys = reader.race_aggregates([("s1", "R1"), ("s1", "R2"), ("s1", "R9")])
        assert {k: a for k, (_, a) in keys.items()} == {
            ("s1", "R1"): race_uuid("s1", "R1"),
            ("s1", "R2"): race_uuid("s1", "R2"),
        }
        both = reader.races_world([keys[("s1", "R1")][0], keys[("s1", "R2")][0]], head)
        alone = reader.races_world([keys[("s1", "R2")][0]], head)
        assert reader.next_versions([race_uuid("s1", "R2")]) == {race_uuid("s1", "R2"): 6}
    assert both.races[("s1", "R2")] == alone.races[("s1", "R2")]
    race = both.races[("s1", "R2")]
    assert [(r.name, r.disqualified) for r in race.results.values()] == [
        ("Skater 1", True), ("Skater 3", False), ("Skater 5", False)
    ]  # fmt: skip


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
    assert "stored_events_rare_topic" not in names  # the read model says where events are
    ledger.declare_season(parse_season(SEASON), by="tester", recorded_at=WHEN)
    assert ledger.position_at(WHEN) == 3
    with ledger.reading() as reader:
        assert reader.all_races(3) == [("s1", "R1"), ("s1", "R2")]
    ledger.close()


@pytest.mark.parametrize("chunk", [1, 2, 7])
def test_a_file_written_a_few_events_at_a_time_is_stored_as_one_written_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    """A large file's events are encoded and written WRITE_CHUNK events at a time, whole races
    together: the men's 500 m season's 330 results written 1, 2 or 7 events at a time (a race
    each, or two) store the same events, chain and read model as written at once, in one
    command."""
    folder = Path(__file__).resolve().parent.parent / "ledger" / "data" / "seasons"
    season = folder / "isu-ss-wc-2013-14-men-500m"
    heads = []
    for size in (100_000, chunk):
        monkeypatch.setattr("ledger.application.WRITE_CHUNK", size)
        ledger = Ledger(str(tmp_path / f"{size}.db"))
        ledger.import_season_file(season / "season.toml", by="office", recorded_at=WHEN)
        receipt = ledger.import_results_file(season / "results.csv", by="office", recorded_at=WHEN)
        assert receipt.events == 330 and receipt.command == receipt.head.position - 329
        verified = ledger.verify()  # the read model derived again from the log: the same rows
        heads.append((verified.events, verified.head, ledger.chain.command_authors()))
        ledger.close()
    assert heads[0] == heads[1]
