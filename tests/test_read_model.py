"""The read model answers exactly what a full replay of the log answers.

Random logs (results with ties and DNFs, corrections, disqualifications and withdrawals recorded
after later races, voided races) are queried at random (as-of, known-at) pairs, between writes
(incremental catch-up), from a second open ledger, and after ``ledger rebuild``; every answer
must equal the one computed by replaying the whole log into the pure folds.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from cli.main import app
from ledger.application import Ledger
from ledger.errors import LedgerError, UnknownIdError
from ledger.inputs import ResultRow, parse_season
from projections import readmodel
from projections.read import head_at, load_view, query_races, query_results, query_standings
from projections.readmodel import TRACKER, read_model
from projections.views import classification, race_list, standings

RACES = 5
SEASON = parse_season(
    """
[season]
id = "s"
name = "Random season"
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
        for i in range(1, RACES + 1)
    )
)
CUPS = ("s/all", "s/best")
COMPETITORS = [("Anna", "NED"), ("Bob", "NED"), ("Bob", "BEL"), ("Cleo", "CAN"), ("Dan", None)]
START = datetime(2020, 1, 1, tzinfo=UTC)

race_no = st.integers(1, RACES)
who = st.integers(0, len(COMPETITORS) - 1)
entries = st.lists(
    st.tuples(who, st.none() | st.integers(1, 4)),  # place None: a DNF
    min_size=1,
    max_size=5,
    unique_by=lambda pair: pair[0],
)
command = st.one_of(
    st.tuples(st.just("results"), race_no, entries),
    st.tuples(st.just("correct"), race_no, who, st.none() | st.integers(1, 5)),
    st.tuples(st.just("disqualify"), race_no, who),
    st.tuples(st.just("reinstate"), race_no, who),
    st.tuples(st.just("void"), race_no),
    st.tuples(st.just("query")),
)
# Every race gets results first (race day by race day), so that the corrections,
# disqualifications and withdrawals that follow, recorded after later races, mostly apply.
race_days = st.lists(entries, min_size=RACES, max_size=RACES).map(
    lambda days: [("results", race, rows) for race, rows in enumerate(days, start=1)]
)
commands = st.tuples(race_days, st.lists(command, min_size=1, max_size=20)).map(
    lambda parts: [*parts[0], *parts[1]]
)
queries = st.lists(st.tuples(st.integers(0, 30), st.integers(0, RACES + 1)), max_size=4)


def fresh() -> Ledger:
    return Ledger(f"file:{uuid.uuid4().hex}?mode=memory&cache=shared")


def as_of_day(n: int) -> date | None:
    """0 = no as-of; 1..RACES = that race's date; beyond = after the last race."""
    return None if n == 0 else date(2020, min(n, 12), 1)


def run(ledger: Ledger, cmd: tuple[Any, ...], when: datetime) -> None:
    """Apply one command; the ledger's refusals (correcting nothing...) are part of the log."""
    kind = cmd[0]
    try:
        if kind == "results":
            _, race, rows = cmd
            ledger.record_results(
                [
                    ResultRow(
                        line=n + 2,
                        race=f"R{race}",
                        competitor=COMPETITORS[c][0],
                        nation=COMPETITORS[c][1],
                        place=place,
                        status=None if place else "DNF",
                    )
                    for n, (c, place) in enumerate(rows)
                ],
                by="t",
                recorded_at=when,
            )
        elif kind == "correct":
            _, race, c, place = cmd
            name, nation = COMPETITORS[c]
            ledger.correct_result(
                f"R{race}",
                name,
                nation=nation,
                place=place,
                status=None if place else "DNS",
                reason="photo finish",
                recorded_at=when,
            )
        elif kind in ("disqualify", "reinstate"):
            _, race, c = cmd
            name, nation = COMPETITORS[c]
            change = ledger.disqualify if kind == "disqualify" else ledger.reinstate
            change(f"R{race}", name, nation=nation, reason="appeal", recorded_at=when)
        elif kind == "void":
            ledger.void_race(f"R{cmd[1]}", reason="ice", recorded_at=when)
    except LedgerError:
        pass


def assert_same_as_replay(ledger: Ledger, hours: int, as_of: int) -> None:
    """Every query through the read model equals the full replay, at one (as-of, known-at)."""
    known_at = START + timedelta(hours=hours, minutes=30) if hours else None
    day = as_of_day(as_of)
    view = load_view(ledger, known_at)
    for cup in CUPS:
        season, cup_id = cup.split("/")
        expected = standings(view, season, cup_id, as_of=day, known_at=known_at)
        expected = expected.model_copy(update={"head": head_at(ledger, view.position)})
        assert query_standings(ledger, cup, as_of=day, known_at=known_at) == expected
    for race in range(1, RACES + 1):
        got = query_results(ledger, f"R{race}", known_at=known_at)
        assert got == classification(view, "s", f"R{race}", known_at=known_at)
    assert query_races(ledger, known_at=known_at) == race_list(view)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(log=commands, checks=queries)
def test_read_model_answers_equal_a_full_replay_between_and_after_writes(
    log: list[tuple[Any, ...]], checks: list[tuple[int, int]]
) -> None:
    ledger = fresh()
    ledger.declare_season(SEASON, by="t", recorded_at=START)
    for hour, cmd in enumerate(log, start=1):
        if cmd[0] == "query":
            # Caught up incrementally: the model has seen part of the log already.
            assert_same_as_replay(ledger, 0, hour % (RACES + 2))
        else:
            run(ledger, cmd, START + timedelta(hours=hour))
    for hours, as_of in checks:
        assert_same_as_replay(ledger, hours, as_of)
    read_model(ledger).rebuild()
    for hours, as_of in [*checks, (0, 0)]:
        assert_same_as_replay(ledger, hours, as_of)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(log=commands, as_of=st.integers(0, RACES + 1))
def test_two_open_ledgers_keep_one_read_model_consistent(
    log: list[tuple[Any, ...]], as_of: int
) -> None:
    name = f"file:{uuid.uuid4().hex}?mode=memory&cache=shared"
    writer, reader = Ledger(name), Ledger(name)
    writer.declare_season(SEASON, by="t", recorded_at=START)
    for hour, cmd in enumerate(log, start=1):
        run(writer, cmd, START + timedelta(hours=hour))
        # Both catch up the same tables; whichever stores a batch first wins, the other re-reads.
        assert_same_as_replay(reader if hour % 2 else writer, 0, as_of)
    assert read_model(reader).position() == writer.head().position


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
    before = query_standings(ledger, "all")  # the read model is now caught up to here
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


def test_ledger_rebuild_recreates_the_read_model_and_answers_stay_the_same(
    runner: CliRunner, db_url: str, men_500m: Path
) -> None:
    for kind, name in (("season", "season.toml"), ("results", "results.csv")):
        result = runner.invoke(app, ["import", kind, str(men_500m / name), "--db", db_url])
        assert result.exit_code == 0, result.output
    ledger = Ledger(db_url)
    before = query_standings(ledger, "men-500m", as_of=date(2014, 3, 9))
    result = runner.invoke(app, ["rebuild", "--db", db_url])
    assert result.exit_code == 0, result.output
    head = ledger.head().position
    assert f"read model rebuilt: {head} events" in result.output
    other = Ledger(db_url)
    assert read_model(other).position() == head
    other.close()
    assert query_standings(ledger, "men-500m", as_of=date(2014, 3, 9)) == before
    assert before.standings[0].competitor == "Michel Mulder"
    assert before.standings[0].points == 578
    ledger.close()


def test_a_read_model_left_by_an_older_version_is_decoded_again_when_opened(
    db_url: str, men_500m: Path
) -> None:
    ledger = Ledger(db_url)
    ledger.import_season_file(men_500m / "season.toml", recorded_at=START)
    ledger.import_results_file(men_500m / "results.csv", recorded_at=START)
    expected = query_standings(ledger, "men-500m", as_of=date(2014, 3, 9))
    with read_model(ledger)._tx(commit=True) as c:
        # The first layout: its own position row, and facts with their fields copied out.
        c.execute("UPDATE read_position SET name = 'read-model-v1', position = 23")
        c.execute("DROP TABLE read_facts")
        c.execute(
            "CREATE TABLE read_facts (position BIGINT PRIMARY KEY, race BIGINT NOT NULL,"
            " kind SMALLINT NOT NULL, competitor TEXT, nation TEXT, place INTEGER, time TEXT,"
            " status TEXT)"
        )
    ledger.close()
    reopened = Ledger(db_url)
    try:
        assert query_standings(reopened, "men-500m", as_of=date(2014, 3, 9)) == expected
        assert expected.standings[0].competitor == "Michel Mulder"
        with read_model(reopened)._tx(commit=False) as c:
            rows = c.execute("SELECT name, position FROM read_position").fetchall()
        assert rows == [(TRACKER, reopened.head().position)]
    finally:
        reopened.close()


def test_facts_of_an_event_class_that_gained_a_version_are_decoded_by_the_library(
    monkeypatch: pytest.MonkeyPatch, db_url: str
) -> None:
    # No class is read directly: every fact goes through the library's decoder (and the
    # upcasters a new class version brings), when caught up and when queried.
    monkeypatch.setattr(readmodel, "_DIRECT", set())
    ledger = Ledger(db_url)
    ledger.declare_season(SEASON, by="t", recorded_at=START)
    for hour, cmd in enumerate(
        [
            ("results", 1, [(0, 1), (1, 2), (3, None)]),
            ("results", 3, [(0, 2), (1, 1), (2, 3)]),
            ("correct", 1, 1, 1),
            ("disqualify", 3, 1),
            ("reinstate", 3, 1),
            ("void", 5),
        ],
        start=1,
    ):
        run(ledger, cmd, START + timedelta(hours=hour))
    try:
        for hours in (0, 2, 3, 4):
            assert_same_as_replay(ledger, hours, 0)
        read_model(ledger).rebuild()
        assert_same_as_replay(ledger, 0, 0)
        lines = {r.competitor: r for r in query_results(ledger, "R1").results if r.nation}
        assert (lines["Bob"].recorded_place, lines["Bob"].time) == (1, None)  # corrected
        assert lines["Cleo"].status == "DNF"
        assert query_results(ledger, "R5").voided
    finally:
        ledger.close()


def test_unknown_and_ambiguous_ids_are_worded_as_before(ledger: Ledger) -> None:
    ledger.declare_season(SEASON, by="t", recorded_at=START)
    try:
        query_standings(ledger, "bset")
    except UnknownIdError as e:
        assert str(e) == "unknown cup 'bset' (did you mean best?)"
    else:
        raise AssertionError("an unknown cup was accepted")


def test_benchmark_smoke_run_writes_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    root = Path(__file__).resolve().parents[1]
    subprocess.run(
        [sys.executable, str(root / "benchmarks" / "run.py"), "--events", "3000", "--json", out],
        check=True,
        capture_output=True,
        cwd=tmp_path,
        timeout=300,
    )
    data = json.loads(out.read_text())
    for key in (
        "raw_scan_rows_per_s",
        "rebuild_events_per_s",
        "import_rows_per_s",
        "cli_standings_s",
        "verify_events_per_s",
    ):
        assert data[key] > 0, key
    assert set(data["query_ms_p50"]) == {"small", "large"}
    runs = data["import_runs_rows_per_s"]
    assert len(runs) == 3 and sorted(runs)[1] == data["import_rows_per_s"]
    assert data["events"] >= 2000
    assert {"targets", "machine", "ratios"} <= set(data)
