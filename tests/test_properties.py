"""Properties of replay over random logs: chunking does not matter, known-at is a prefix."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.application import Ledger
from ledger.inputs import ResultRow, parse_season
from projections.fold import replay
from projections.read import query_standings
from projections.views import standings

SEASON = parse_season(
    """
[season]
id = "p"
name = "Property season"
[tables]
T = [10, 6, 4, 2, 1]
[[cups]]
id = "cup"
name = "Cup"
best = 3
"""
    + "".join(
        f'[[races]]\nid = "R{i}"\ncup = "cup"\ndate = 2020-0{i}-01\ntable = "T"\n'
        for i in range(1, 5)
    )
)
COMPETITORS = [("Anna", "NED"), ("Bob", "NED"), ("Bob", "BEL"), ("Cleo", "CAN"), ("Dan", "USA")]
START = datetime(2020, 1, 1, tzinfo=UTC)

# A command: (race number, [(competitor index, place or None for DNF)]) or a disqualification.
results_batch = st.tuples(
    st.integers(1, 4),
    st.lists(
        st.tuples(st.integers(0, len(COMPETITORS) - 1), st.none() | st.integers(1, 6)),
        min_size=1,
        max_size=5,
        unique_by=lambda pair: pair[0],
    ),
)
commands = st.lists(
    st.one_of(
        results_batch.map(lambda b: ("results", b)),
        st.tuples(st.integers(1, 4), st.integers(0, len(COMPETITORS) - 1)).map(
            lambda d: ("disqualify", d)
        ),
    ),
    min_size=1,
    max_size=12,
)


def fresh() -> Ledger:
    return Ledger(f"file:{uuid.uuid4().hex}?mode=memory&cache=shared")


def play(ledger: Ledger, log: list[tuple[str, Any]], upto: int | None = None) -> list[datetime]:
    """Apply commands at one hour apart; skip the ones the ledger refuses. Returns their times."""
    ledger.declare_season(SEASON, by="p", recorded_at=START)
    times = []
    for index, (kind, body) in enumerate(log[:upto]):
        when = START + timedelta(hours=index + 1)
        try:
            if kind == "results":
                race, entries = body
                rows = [
                    ResultRow(
                        line=n + 2,
                        race=f"R{race}",
                        competitor=COMPETITORS[c][0],
                        nation=COMPETITORS[c][1],
                        place=place,
                        status=None if place else "DNF",
                    )
                    for n, (c, place) in enumerate(entries)
                ]
                ledger.record_results(rows, by="p", recorded_at=when)
            else:
                race, c = body
                name, nation = COMPETITORS[c]
                ledger.disqualify(f"R{race}", name, nation=nation, reason="r", recorded_at=when)
        except Exception as e:  # the ledger's refusals are part of the random log
            assert type(e).__module__ == "ledger.errors", e
        times.append(when)
    return times


def table(ledger: Ledger, **query: Any) -> list[tuple[int, str, str | None, int]]:
    result = query_standings(ledger, "cup", **query)
    return [(r.rank, r.competitor, r.nation, r.points) for r in result.standings]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(log=commands, cuts=st.lists(st.integers(0, 60), max_size=6), as_of=st.integers(1, 5))
def test_standings_do_not_depend_on_how_the_log_is_chunked_when_read(
    log: list[tuple[str, Any]], cuts: list[int], as_of: int
) -> None:
    ledger = fresh()
    play(ledger, log)
    day = date(2020, as_of, 1) if as_of <= 4 else None
    whole = standings(replay(ledger.read_events()), "p", "cup", as_of=day)
    view = None
    bounds = [*sorted(set(cuts)), ledger.head().position]
    after = 0
    for bound in bounds:
        if bound <= after:
            continue
        view = replay(ledger.read_events(after=after, upto=bound), view)
        after = bound
    assert view is not None
    assert standings(view, "p", "cup", as_of=day) == whole


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(log=commands, cut=st.integers(0, 12), as_of=st.integers(1, 5))
def test_known_at_t_equals_a_fresh_ledger_holding_only_the_events_up_to_t(
    log: list[tuple[str, Any]], cut: int, as_of: int
) -> None:
    full = fresh()
    times = play(full, log)
    known_at = START + timedelta(hours=cut, minutes=30)
    truncated = fresh()
    play(truncated, log, upto=sum(1 for t in times if t <= known_at))
    day = date(2020, as_of, 1) if as_of <= 4 else None
    assert table(full, known_at=known_at, as_of=day) == table(truncated, as_of=day)
