"""The Ledger service on a real store: recording, refusing, and the two time axes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from uuid import UUID

import pytest
from eventsourcing.persistence import StoredEvent
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.application import Ledger
from ledger.errors import (
    AmbiguousIdError,
    DuplicateError,
    InputError,
    RecordedTimeError,
    UnknownIdError,
)
from ledger.events import ResultRecorded, SeasonDeclared, legacy_race_uuid, race_uuid
from ledger.inputs import parse_results, parse_season
from projections.results import query_results
from projections.standings import query_standings

SEASON = """
[season]
id = "s1"
name = "Test season"

[tables]
T = [10, 6, 4, 2]

[[cups]]
id = "sprint"
name = "Sprint"
best = 2

[[races]]
id = "R1"
cup = "sprint"
date = 2020-01-10
table = "T"

[[races]]
id = "R2"
cup = "sprint"
date = 2020-01-20
table = "T"

[[races]]
id = "R3"
cup = "sprint"
date = 2020-01-30
table = "T"
"""


def at(day: int, hour: int = 12) -> datetime:
    return datetime(2020, 1, day, hour, tzinfo=UTC)


def declare(ledger: Ledger, text: str = SEASON, when: datetime | None = None) -> None:
    ledger.declare_season(parse_season(text), by="tester", recorded_at=when or at(1))


def record(ledger: Ledger, csv_body: str, when: datetime, source: str | None = None) -> None:
    rows = parse_results("race,place,competitor,nation,time,status\n" + csv_body)
    ledger.record_results(rows, by="tester", source=source, recorded_at=when)


def points(ledger: Ledger, **query: object) -> dict[str, int]:
    table = query_standings(ledger, "sprint", **query)  # type: ignore[arg-type]
    return {row.competitor: row.points for row in table.standings}


def test_every_event_carries_who_when_what_source_and_the_race_date(ledger: Ledger) -> None:
    declare(ledger)
    record(ledger, "R1,1,Anna,NED,34.523,\n", at(10, 20), source="protocol 17")
    events = [e for _, e in ledger.read_events()]
    recorded = events[-1]
    assert isinstance(recorded, ResultRecorded)
    assert recorded.recorded_at == at(10, 20)
    assert recorded.by == "tester"
    assert recorded.source == "protocol 17"
    assert recorded.race_date == date(2020, 1, 10)
    assert recorded.time == Decimal("34.523")
    assert isinstance(recorded.time, Decimal)
    assert recorded.originator_id == race_uuid("s1", "R1")
    assert isinstance(events[0], SeasonDeclared)


def test_reimporting_a_season_is_detected_and_writes_nothing(ledger: Ledger) -> None:
    declare(ledger)
    before = ledger.head()
    with pytest.raises(DuplicateError, match="already in the ledger"):
        declare(ledger, when=at(2))
    assert ledger.head() == before


def test_a_second_result_for_the_same_competitor_points_to_correct_and_writes_nothing(
    ledger: Ledger,
) -> None:
    declare(ledger)
    record(ledger, "R1,1,Anna,NED,,\n", at(10))
    before = ledger.head()
    with pytest.raises(DuplicateError, match="ledger correct"):
        record(ledger, "R1,2,Bob,NED,,\nR1,1,Anna,NED,,\n", at(11))
    assert ledger.head() == before
    assert [r.competitor for r in query_results(ledger, "R1").results] == ["Anna"]


def test_a_file_naming_an_unknown_race_is_refused_whole_with_line_and_field(
    ledger: Ledger,
) -> None:
    declare(ledger)
    with pytest.raises(UnknownIdError, match=r"line 3, field race: unknown race 'R9'"):
        record(ledger, "R1,1,Anna,NED,,\nR9,1,Bob,NED,,\n", at(10))
    assert ledger.head().position == 4  # the season and its three races only


def test_recorded_times_may_not_be_in_the_future(ledger: Ledger) -> None:
    with pytest.raises(RecordedTimeError, match="in the future"):
        declare(ledger, when=datetime.now(UTC) + timedelta(hours=1))
    assert ledger.head().position == 0


def test_recorded_times_may_not_go_backwards(ledger: Ledger) -> None:
    declare(ledger, when=at(5))
    with pytest.raises(RecordedTimeError, match="earlier than the newest event"):
        record(ledger, "R1,1,Anna,NED,,\n", at(4))
    assert ledger.head().position == 4


def test_a_recorded_time_needs_an_offset(ledger: Ledger) -> None:
    with pytest.raises(InputError, match="UTC offset"):
        declare(ledger, when=datetime(2020, 1, 1, 12))


def test_without_recorded_at_the_time_is_now(ledger: Ledger) -> None:
    before = datetime.now(UTC)
    ledger.declare_season(parse_season(SEASON))
    head = ledger.head().recorded_at_datetime
    assert head is not None
    assert before <= head <= datetime.now(UTC)


def test_as_of_leaves_out_races_after_the_date(ledger: Ledger) -> None:
    declare(ledger)
    record(ledger, "R1,1,Anna,NED,,\nR1,2,Bob,NED,,\n", at(10, 20))
    record(ledger, "R2,1,Bob,NED,,\nR2,2,Anna,NED,,\n", at(20, 20))
    assert points(ledger, as_of=date(2020, 1, 19)) == {"Anna": 10, "Bob": 6}
    assert points(ledger, as_of=date(2020, 1, 20)) == {"Anna": 16, "Bob": 16}
    assert query_standings(ledger, "sprint", as_of=date(2020, 1, 19)).races == ["R1"]


def test_known_at_leaves_out_events_recorded_after_the_time(ledger: Ledger) -> None:
    declare(ledger)
    record(ledger, "R1,1,Anna,NED,,\n", at(10, 20))
    record(ledger, "R1,2,Bob,NED,,\n", at(12, 9))  # a late result for the same race
    assert points(ledger, known_at=at(11)) == {"Anna": 10}
    assert points(ledger) == {"Anna": 10, "Bob": 6}
    # The race took place on the 10th either way: as of the 10th, known on the 12th.
    assert points(ledger, as_of=date(2020, 1, 10), known_at=at(12, 10)) == {"Anna": 10, "Bob": 6}


def test_known_at_before_the_season_was_declared_finds_no_cup(ledger: Ledger) -> None:
    declare(ledger, when=at(5))
    with pytest.raises(UnknownIdError, match="no seasons yet"):
        query_standings(ledger, "sprint", known_at=at(4))


def test_best_n_applies_to_the_cup(ledger: Ledger) -> None:
    declare(ledger)
    record(ledger, "R1,1,Anna,NED,,\nR1,2,Bob,NED,,\n", at(10, 20))
    record(ledger, "R2,4,Anna,NED,,\nR2,1,Bob,NED,,\n", at(20, 20))
    record(ledger, "R3,1,Anna,NED,,\nR3,3,Bob,NED,,\n", at(30, 20))
    table = query_standings(ledger, "sprint")
    # Best 2 of 3. Anna: 10, 2, 10 -> 20. Bob: 6, 10, 4 -> 16.
    assert [(r.competitor, r.points) for r in table.standings] == [("Anna", 20), ("Bob", 16)]
    anna = table.standings[0]
    assert [(s.race, s.counted) for s in anna.results] == [
        ("R1", True),
        ("R2", False),
        ("R3", True),
    ]


def test_an_id_in_two_seasons_must_be_qualified_and_the_error_lists_the_choices(
    ledger: Ledger,
) -> None:
    declare(ledger)
    declare(ledger, SEASON.replace('id = "s1"', 'id = "s2"'), when=at(2))
    with pytest.raises(AmbiguousIdError, match="s1/R1, s2/R1"):
        record(ledger, "R1,1,Anna,NED,,\n", at(10))
    record(ledger, "s2/R1,1,Anna,NED,,\n", at(10))
    assert query_results(ledger, "s2/R1").results[0].competitor == "Anna"
    with pytest.raises(AmbiguousIdError, match="s1/sprint, s2/sprint"):
        query_standings(ledger, "sprint")
    assert [r.competitor for r in query_standings(ledger, "s2/sprint").standings] == ["Anna"]


def test_an_unknown_cup_suggests_the_closest_id(ledger: Ledger) -> None:
    declare(ledger)
    with pytest.raises(UnknownIdError, match="did you mean sprint"):
        query_standings(ledger, "sprnt")


def test_a_stored_version_1_event_still_decodes_with_todays_code(ledger: Ledger) -> None:
    # Bytes as version 1 of ResultRecorded was stored; this must keep decoding forever.
    state = (
        b'{"timestamp":{"_type_":"datetime_iso","_data_":"2014-03-16T21:00:00+00:00"},'
        b'"by":"results office","source":"results.csv","season":"isu-ss-wc-2013-14",'
        b'"race":"HVN2","cup":"men-500m","race_date":{"_type_":"date_iso","_data_":"2014-03-16"},'
        b'"competitor":"Ronald Mulder","nation":"NED","place":1,'
        b'"time":{"_type_":"decimal_str","_data_":"34.78"},"status":null}'
    )
    event = ledger.mapper.to_domain_event(
        StoredEvent(
            originator_id=UUID("4d3686da-1a34-58cc-86da-b1ecd5e169d2"),
            originator_version=2,
            topic="results-ledger:ResultRecorded",
            state=state,
        )
    )
    assert isinstance(event, ResultRecorded)
    assert (event.competitor, event.place, event.time) == ("Ronald Mulder", 1, Decimal("34.78"))
    assert event.race_date == date(2014, 3, 16)
    assert event.recorded_at == datetime(2014, 3, 16, 21, tzinfo=UTC)


def test_the_bundled_season_files_import_from_disk(ledger: Ledger, men_500m: Path) -> None:
    ledger.import_season_file(men_500m / "season.toml", recorded_at=at(1))
    receipt = ledger.import_results_file(men_500m / "results.csv", recorded_at=at(2))
    assert receipt.events == 330
    assert receipt.head.position == 1 + 22 + 330


def test_the_read_model_finds_scheduled_races_by_id_across_seasons(ledger: Ledger) -> None:
    declare(ledger)
    declare(ledger, SEASON.replace('id = "s1"', 'id = "s2"'), when=at(2))
    with ledger.reading() as reader:
        head = reader.head().position
        found = sorted((s, r) for s, r, _ in reader.races_named(["R2", "R3", "R9"], head))
        assert reader.races_named([], head) == []
        # As known before the second season was declared, only the first one's.
        first = sorted((s, r) for s, r, _ in reader.races_named(["R2"], 4))
    assert found == [("s1", "R2"), ("s1", "R3"), ("s2", "R2"), ("s2", "R3")]
    assert first == [("s1", "R2")]


def test_every_race_is_listed_in_schedule_order_whatever_was_recorded_between(
    ledger: Ledger,
) -> None:
    declare(ledger)
    record(ledger, "R1,1,Anna,NED,34.523,\n", at(10, 20))
    declare(ledger, SEASON.replace('id = "s1"', 'id = "s2"'), when=at(11))
    with ledger.reading() as reader:
        races = reader.all_races(reader.head().position)
        counts = reader.result_counts(reader.race_keys(season="s1", upto=9), 9)
    assert races == [(s, r) for s in ("s1", "s2") for r in ("R1", "R2", "R3")]
    assert sorted(counts.values()) == [0, 0, 1]


def _known_positions(ledger: Ledger) -> list[tuple[int, datetime]]:
    return [(row.position, event.recorded_at) for row, event in ledger.read_log()]


@settings(max_examples=40, deadline=None)
@given(
    # Each write: how many results, and how many seconds after the previous write.
    writes=st.lists(st.tuples(st.integers(1, 3), st.integers(0, 3)), max_size=12),
    probes=st.lists(st.integers(-2, 50), min_size=1, max_size=8),
)
def test_the_position_known_at_a_time_is_the_last_recorded_at_or_before_it(
    writes: list[tuple[int, int]], probes: list[int]
) -> None:
    ledger = Ledger(":memory:")
    start = at(5)
    declare(ledger, when=start)
    moment, n = start, 0
    for size, gap in writes:
        moment += timedelta(seconds=gap)
        rows = "".join(f"R1,1,C{n + i},NED,34.5,\n" for i in range(size))
        n += size
        record(ledger, rows, moment)
    log = _known_positions(ledger)
    for probe in probes:
        # Half seconds fall between writes; whole ones on them.
        when = start + timedelta(seconds=probe / 2)
        expected = max((p for p, t in log if t <= when), default=0)
        assert ledger.position_at(when) == expected
    assert ledger.position_at(start - timedelta(days=1)) == 0
    assert ledger.position_at(moment + timedelta(days=1)) == log[-1][0]


def test_a_ledger_with_no_events_knows_position_zero_at_any_time(db_url: str) -> None:
    ledger = Ledger(db_url)
    assert ledger.position_at(at(1)) == 0
    declare(ledger, when=at(2))
    assert ledger.position_at(at(1)) == 0
    assert ledger.position_at(at(2)) == ledger.head().position == 4
    ledger.close()


def test_a_ledger_whose_races_have_the_older_ids_takes_results_and_corrections_on_them(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ledger.application

    with monkeypatch.context() as older:
        # Races scheduled as older ledgers scheduled them.
        older.setattr(ledger.application, "race_uuid", legacy_race_uuid)
        book = Ledger(db_url)
        declare(book)
    record(book, "R1,1,Anna,NED,34.5,\nR1,2,Bert,GER,34.6,\nR1,3,Cara,CAN,34.7,\n", at(10, 20))
    book.record_result("R2", "Anna", nation="NED", place=1, by="tester", recorded_at=at(20, 20))
    book.correct_result(
        "R1", "Bert", place=4, reason="photo finish", by="tester", recorded_at=at(21)
    )
    assert points(book) == {"Anna": 20, "Cara": 6, "Bert": 4}
    ids = {(row.originator_id, e.originator_version) for row, e in book.read_log()}
    r1 = legacy_race_uuid("s1", "R1").hex
    assert {version for i, version in ids if i == r1} == {1, 2, 3, 4, 5}
    assert not any(i == race_uuid("s1", "R1").hex for i, _ in ids)
    book.close()


def test_a_seasons_races_share_their_ids_first_half_and_differ_from_the_older_ids() -> None:
    ids = [race_uuid("s1", race) for race in ("R1", "R2", "R3")]
    assert len(set(ids)) == 3
    assert {i.bytes[:8] for i in ids} == {race_uuid("s1", "X").bytes[:8]}
    assert race_uuid("s2", "R1").bytes[:8] != ids[0].bytes[:8]
    assert all(i != legacy_race_uuid("s1", r) for i, r in zip(ids, ("R1", "R2", "R3"), strict=True))
    assert ids[0].version == 5
