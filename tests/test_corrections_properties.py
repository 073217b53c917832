"""Properties of random logs of results, corrections, disqualifications and reinstatements."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.application import Ledger
from ledger.domain import LedgerEvent, Race, Season
from ledger.errors import LedgerError
from ledger.inputs import parse_season
from projections.fold import LedgerView, replay
from projections.read import query_standings
from projections.views import classification, standings

TABLE = [10, 8, 6, 5, 4, 3]
RACES = {"R1": date(2024, 1, 6), "R2": date(2024, 1, 13)}
PEOPLE = [("Ann", "NED"), ("Bea", "GER"), ("Cat", "NOR"), ("Kim", "KOR"), ("Kim", "USA")]
START = datetime(2024, 1, 1, 9, tzinfo=UTC)

Op = tuple[str, str, int, int, int | None, str | None]
ops = st.lists(
    st.tuples(
        st.sampled_from(["record", "record", "correct", "disqualify", "reinstate"]),
        st.sampled_from(sorted(RACES)),
        st.integers(0, len(PEOPLE) - 1),
        st.integers(1, 7),
        st.one_of(st.none(), st.integers(3400, 3600)),
        st.sampled_from([None, None, None, "DNF"]),
    ),
    max_size=30,
)


def apply_op(race: Race, op: Op, moment: datetime) -> None:
    """Apply one random command to a race aggregate; commands the race refuses are skipped."""
    kind, _, who, place, hundredths, status = op
    name, nation = PEOPLE[who]
    time = None if hundredths is None else Decimal(hundredths) / 100
    common: dict[str, Any] = {"by": "prop", "source": None, "timestamp": moment}
    try:
        if kind == "record":
            race.record_result(
                competitor=name, nation=nation, place=place, time=time, status=status, **common
            )
        elif kind == "correct":
            race.correct_result(
                competitor=name,
                nation=nation,
                place=place,
                time=time,
                status=status,
                reason="r",
                **common,
            )
        elif kind == "disqualify":
            race.disqualify(competitor=name, nation=nation, reason="r", **common)
        else:
            race.reinstate(competitor=name, nation=nation, reason="r", **common)
    except LedgerError:
        pass


def build(commands: Sequence[Op]) -> tuple[list[tuple[int, LedgerEvent]], dict[str, Race]]:
    """The log (position, event) that the commands produce, in memory, and the race aggregates."""
    season = Season.declare(
        season="p",
        name="P",
        tables={"A": TABLE},
        cups=[{"id": "c", "name": "C"}],
        by="prop",
        source=None,
        timestamp=START,
    )
    races = {
        rid: Race.schedule(
            season="p",
            race=rid,
            cup="c",
            race_date=day,
            table="A",
            points=TABLE,
            location=None,
            venue=None,
            by="prop",
            source=None,
            timestamp=START,
        )
        for rid, day in RACES.items()
    }
    log: list[LedgerEvent] = [*season.collect_events()]
    for race in races.values():
        log += race.collect_events()
    for index, op in enumerate(commands):
        race = races[op[1]]
        apply_op(race, op, START + timedelta(minutes=index + 1))
        log += race.collect_events()
    return [(i + 1, e) for i, e in enumerate(log)], races


def table(view: LedgerView, as_of: date | None = None) -> object:
    return standings(view, "p", "c", as_of=as_of).model_dump()


def extend(
    log: list[tuple[int, LedgerEvent]], races: dict[str, Race], extra: Sequence[Op]
) -> list[tuple[int, LedgerEvent]]:
    more = list(log)
    for op in extra:
        race = races[op[1]]
        apply_op(race, op, START + timedelta(days=30, minutes=len(more)))
        more += [(len(more) + 1, e) for e in race.collect_events()]
    return more


@settings(max_examples=60, deadline=None)
@given(ops, st.lists(st.integers(0, 60), max_size=5))
def test_standings_do_not_depend_on_how_the_log_is_chunked(
    commands: list[Op], cuts: list[int]
) -> None:
    log, _ = build(commands)
    whole = replay(log)
    view = LedgerView()
    previous = 0
    for cut in [*sorted(c % (len(log) + 1) for c in cuts), len(log)]:
        view = replay(log[previous:cut], view)
        previous = cut
    assert table(view) == table(whole)
    assert table(view, date(2024, 1, 6)) == table(whole, date(2024, 1, 6))


@settings(max_examples=60, deadline=None)
@given(ops, st.sampled_from(sorted(RACES)), st.integers(0, len(PEOPLE) - 1))
def test_disqualify_then_reinstate_restores_the_standings(
    commands: list[Op], race_id: str, who: int
) -> None:
    log, races = build(commands)
    entry = races[race_id].entry(*PEOPLE[who])
    if entry is None or entry.disqualified:
        return
    before = replay(log)
    after = replay(
        extend(
            log,
            races,
            [
                ("disqualify", race_id, who, 1, None, None),
                ("reinstate", race_id, who, 1, None, None),
            ],
        )
    )
    assert len(after.races[("p", race_id)].results) == len(before.races[("p", race_id)].results)
    assert table(after) == table(before)


@settings(max_examples=60, deadline=None)
@given(
    ops,
    st.sampled_from(sorted(RACES)),
    st.integers(0, len(PEOPLE) - 1),
    st.integers(1, 7),
    st.sampled_from([None, "DNS"]),
)
def test_a_correction_followed_by_its_inverse_restores_the_standings(
    commands: list[Op], race_id: str, who: int, place: int, status: str | None
) -> None:
    log, races = build(commands)
    entry = races[race_id].entry(*PEOPLE[who])
    if entry is None or (entry.place, entry.status) == (place, status):
        return
    old = (entry.place, entry.time, entry.status)
    hundredths = None if entry.time is None else int(entry.time * 100)
    more = extend(log, races, [("correct", race_id, who, place, hundredths, status)])
    assert len(more) == len(log) + 1, "the correction is recorded"
    race = races[race_id]
    name, nation = PEOPLE[who]
    race.correct_result(
        competitor=name,
        nation=nation,
        place=old[0],
        time=old[1],
        status=old[2],
        reason="undo",
        by="prop",
        source=None,
        timestamp=START + timedelta(days=60),
    )
    more += [(len(more) + 1, e) for e in race.collect_events()]
    assert table(replay(more)) == table(replay(log))
    assert classification(replay(more), "p", race_id) == classification(replay(log), "p", race_id)


SEASON_TOML = """
[season]
id = "p"
name = "P"
[tables]
A = [10, 8, 6, 5, 4, 3]
[[cups]]
id = "c"
name = "C"
[[races]]
id = "R1"
cup = "c"
date = 2024-01-06
table = "A"
[[races]]
id = "R2"
cup = "c"
date = 2024-01-13
table = "A"
"""


def run_on_ledger(ledger: Ledger, op: Op, moment: datetime) -> None:
    kind, race, who, place, hundredths, status = op
    name, nation = PEOPLE[who]
    time = None if hundredths is None else Decimal(hundredths) / 100
    common: dict[str, Any] = {"nation": nation, "by": "prop", "recorded_at": moment}
    try:
        if kind == "record":
            ledger.record_result(race, name, place=place, time=time, status=status, **common)
        elif kind == "correct":
            ledger.correct_result(
                race, name, place=place, time=time, status=status, reason="r", **common
            )
        elif kind == "disqualify":
            ledger.disqualify(race, name, reason="r", **common)
        else:
            ledger.reinstate(race, name, reason="r", **common)
    except LedgerError:
        pass


@settings(max_examples=15, deadline=None)
@given(ops, st.integers(0, 40), st.sampled_from([None, date(2024, 1, 6)]))
def test_known_at_t_equals_replaying_only_the_events_up_to_t(
    commands: list[Op], cut: int, as_of: date | None
) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        ledger = Ledger(str(Path(scratch) / "p.db"))
        try:
            ledger.declare_season(parse_season(SEASON_TOML), recorded_at=START)
            for index, op in enumerate(commands):
                run_on_ledger(ledger, op, START + timedelta(minutes=index + 1))
            known_at = START + timedelta(minutes=cut % (len(commands) + 1), seconds=30)
            stored = query_standings(ledger, "c", as_of=as_of, known_at=known_at)
            everything = list(ledger.read_events())
        finally:
            ledger.close()
    prefix = [(p, e) for p, e in everything if e.recorded_at <= known_at]
    # The same commands, applied in memory and cut at the same time, give the same standings.
    memory, _ = build(commands)
    memory_prefix = [(p, e) for p, e in memory if e.recorded_at <= known_at]
    expected = standings(replay(prefix), "p", "c", as_of=as_of, known_at=known_at)
    assert stored.standings == expected.standings
    assert stored.standings == standings(replay(memory_prefix), "p", "c", as_of=as_of).standings
    assert stored.head is not None or not prefix
