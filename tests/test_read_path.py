"""Every query read through the read model equals the same query over a full replay.

Random logs are written through the ``Ledger`` as a results office would: files of results
with ties and DNFs, late results, corrections (a time cleared too), disqualifications and
reinstatements, withdrawals, voided and un-voided races, races moved across other races' dates
and scored by another table, renames (a merge among them), exclusions and deductions, and
reverts of any of those, each recorded at its own time (some backdated before races run later).
The read path answers from the read model, reading only the events a question needs; the full
replay folds every event of the log with the same pure fold (``ledger.fold.replay``) and asks
the same pure functions. At random (as-of, known-at) pairs, the two must be equal: standings,
a race's results, the calendar, explanations, the audit trail with each filter, diffs, data
checks, exports and the season race by race. And known at T must equal a fresh ledger holding
only the commands recorded up to T.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.application import Ledger
from ledger.errors import LedgerError
from ledger.events import CompetitorRenamed, RaceEvent, ResultEvent
from ledger.fold import World, replay
from ledger.inputs import ResultRow, parse_season
from projections import checks as checks_module
from projections import diff as diff_module
from projections import export, history, progression
from projections import races as races_module
from projections.checks import query_checks
from projections.diff import Side, query_diff
from projections.explain import explain, query_explain
from projections.export import query_results_export
from projections.history import query_history
from projections.progression import query_progression
from projections.races import query_races
from projections.results import classification, query_results
from projections.seasons import SeasonRow, query_seasons, season_list, stream_seasons
from projections.standings import cup_races, query_standings, standings

RACES = 5
SEASON = parse_season(
    """
[season]
id = "s"
name = "Random season"
[tables]
T = [10, 6, 4, 2, 1]
U = [3, 2.5, 1, 0.5]
[[cups]]
id = "all"
name = "Every race counts"
tiebreak = ["places", "first-to-score"]
[[cups]]
id = "best"
name = "The best of each half counts"
parts = [{ races = 1, best = 1 }, { best = 1 }]
tiebreak = ["places-counted"]
[[cups]]
id = "teams"
name = "Teams over every race"
of = "all"
teams = true
per_race = 1
"""
    + "".join(
        f'[[races]]\nid = "R{i}"\ncup = "{"all" if i % 2 else "best"}"\n'
        f'date = 2020-0{i}-01\ntable = "{"T" if i < 4 else "U"}"\n'
        for i in range(1, RACES + 1)
    )
)
CUPS = (("s", "all"), ("s", "best"))
SCORED = (*CUPS, ("s", "teams"))  # the cups whose standings are compared
PEOPLE = [("Anna", "NED"), ("Bob", "NED"), ("Bob", "BEL"), ("Cleo", "CAN"), ("Dan", None)]
TEAMS = ["Red", "Blue", "Red", "Blue", None]  # each person's team in the team cup's races
NEW_NAMES = [("Anne", "NED"), ("Bob", "NED"), ("Cleo", "USA"), ("Daniel", None)]
START = datetime(2020, 1, 1, tzinfo=UTC)

race_no = st.integers(1, RACES)
person = st.integers(0, len(PEOPLE) - 1)
results_file = st.tuples(
    st.just("results"),
    race_no,
    st.lists(
        st.tuples(person, st.none() | st.integers(1, 5), st.sampled_from([None, "0.5", "1"])),
        min_size=1,
        max_size=5,
        unique_by=lambda pair: pair[0],
    ),
)
ops = st.one_of(
    results_file,
    results_file,
    results_file,
    st.tuples(st.just("record"), race_no, person, st.integers(1, 6)),
    st.tuples(st.just("correct"), race_no, person, st.integers(1, 6), st.booleans()),
    st.tuples(st.sampled_from(["disqualify", "reinstate", "withdraw"]), race_no, person),
    st.tuples(st.sampled_from(["void", "unvoid"]), race_no),
    st.tuples(st.just("reschedule"), race_no, st.integers(1, 160)),
    st.tuples(st.just("retable"), race_no, st.sampled_from(["T", "U"])),
    st.tuples(st.just("rename"), person, st.integers(0, len(NEW_NAMES) - 1)),
    st.tuples(st.sampled_from(["exclude", "readmit"]), person, st.sampled_from(CUPS)),
    st.tuples(st.just("deduct"), person, st.sampled_from(CUPS)),
    st.tuples(st.just("revert"), st.integers(0, 40)),
)
# Most races get results first, race day by race day, so that the amendments that follow,
# recorded after later races, mostly apply.
race_days = st.lists(
    st.lists(
        st.tuples(person, st.none() | st.integers(1, 5), st.sampled_from([None, "0.5", "1"])),
        min_size=1,
        max_size=5,
        unique_by=lambda pair: pair[0],
    ),
    min_size=0,
    max_size=RACES,
).map(lambda days: [("results", race, rows) for race, rows in enumerate(days, start=1)])
logs = st.tuples(race_days, st.lists(ops, min_size=1, max_size=16)).map(
    lambda parts: [*parts[0], *parts[1]]
)


def fresh() -> Ledger:
    return Ledger(f"file:{uuid.uuid4().hex}?mode=memory&cache=shared")


def run(ledger: Ledger, op: tuple[Any, ...], when: datetime, commands: list[int]) -> None:
    """One command of a random log; the ledger's refusals are part of it (and skipped)."""
    kind, *args = op
    common: dict[str, Any] = {"by": "office", "recorded_at": when}
    try:
        if kind == "results":
            race, entries = args
            rows = [
                ResultRow(
                    line=n + 2,
                    race=f"R{race}",
                    competitor=PEOPLE[c][0],
                    nation=PEOPLE[c][1],
                    place=place,
                    status=None if place else "DNF",
                    bonus=None if bonus is None else Decimal(bonus),  # even when not classified
                    team=TEAMS[c] if race % 2 else None,  # the team cup is over the odd races
                )
                for n, (c, place, bonus) in enumerate(entries)
            ]
            receipt = ledger.record_results(rows, **common)
        elif kind == "record":
            race, c, place = args
            name, nation = PEOPLE[c]
            receipt = ledger.record_result(f"R{race}", name, nation=nation, place=place, **common)
        elif kind == "correct":
            race, c, place, clear = args
            name, nation = PEOPLE[c]
            receipt = ledger.correct_result(
                f"R{race}",
                name,
                nation=nation,
                place=place,
                time=None if clear else Decimal(f"3{place}.5"),
                reason="r",
                **common,
            )
        elif kind in ("disqualify", "reinstate", "withdraw"):
            race, c = args
            name, nation = PEOPLE[c]
            method = ledger.withdraw_result if kind == "withdraw" else getattr(ledger, kind)
            receipt = method(f"R{race}", name, nation=nation, reason="r", **common)
        elif kind in ("void", "unvoid"):
            method = ledger.void_race if kind == "void" else ledger.unvoid_race
            receipt = method(f"R{args[0]}", reason="r", **common)
        elif kind == "reschedule":
            race, days = args
            day = date(2020, 1, 1) + timedelta(days=days)
            receipt = ledger.reschedule_race(f"R{race}", race_date=day, reason="r", **common)
        elif kind == "retable":
            race, table = args
            receipt = ledger.retable_race(f"R{race}", table=table, reason="r", **common)
        elif kind == "rename":
            c, new = args
            (name, nation), (to, to_nation) = PEOPLE[c], NEW_NAMES[new]
            receipt = ledger.rename_competitor(
                name, nation=nation, to=to, to_nation=to_nation, reason="r", **common
            )
        elif kind in ("exclude", "readmit", "deduct"):
            c, cup = args
            name, nation = PEOPLE[c]
            if kind == "deduct":
                receipt = ledger.deduct(
                    "/".join(cup), name, nation=nation, points=Decimal("1.5"), reason="r", **common
                )
            else:
                receipt = getattr(ledger, kind)(
                    "/".join(cup), name, nation=nation, reason="r", **common
                )
        else:
            if not commands:
                return
            receipt = ledger.revert(commands[args[0] % len(commands)], reason="r", **common)
    except LedgerError:
        return
    commands.append(receipt.command)


def play(ledger: Ledger, log: list[tuple[Any, ...]], upto: int | None = None) -> list[datetime]:
    """Declare the season, then run the commands an hour apart (some backdated before the
    races they change are run: race dates are months apart). Returns the commands' times."""
    ledger.declare_season(SEASON, by="office", recorded_at=START)
    commands: list[int] = []
    times = []
    for index, op in enumerate(log[:upto]):
        when = START + timedelta(days=index * 9, hours=1)
        run(ledger, op, when, commands)
        times.append(when)
    return times


def replayed(ledger: Ledger, known_at: datetime | None) -> tuple[World, int]:
    """The full replay: every event of the log up to the known-at time, folded."""
    upto = ledger.position_at(known_at) if known_at is not None else ledger.head().position
    return replay(ledger.read_events(upto=upto)), upto


def merged(ids: set[str], events: list[Any]) -> set[str]:
    """These competitors and those merged with or into them, either way, transitively."""
    found = set(ids)
    while True:
        more = {
            other
            for _, e in events
            if isinstance(e, CompetitorRenamed)
            for pair in [(e.competitor_id, e.merged_into), (e.competitor_id, e.unmerged_from)]
            if pair[1] is not None and (pair[0] in found or pair[1] in found)
            for other in pair
        } - found
        if not more:
            return found
        found |= more


def moment(hours: int) -> datetime | None:
    return None if hours < 0 else START + timedelta(hours=hours * 50)


def day(n: int) -> date | None:
    return None if n > RACES else date(2020, 1, 1) + timedelta(days=32 * n)


settings_for_logs = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@settings_for_logs
@given(log=logs, hours=st.integers(-1, 60), as_of=st.integers(0, RACES + 1))
def test_standings_results_calendar_and_explanations_equal_a_full_replay(
    log: list[tuple[Any, ...]], hours: int, as_of: int
) -> None:
    ledger = fresh()
    play(ledger, log)
    known_at, on = moment(hours), day(as_of)
    world, _ = replayed(ledger, known_at)
    for cup in SCORED:
        ours = query_standings(ledger, "/".join(cup), as_of=on, known_at=known_at)
        theirs = standings(world, cup, as_of=on, known_at=known_at)
        assert ours.model_copy(update={"head": None}) == theirs
        for row in theirs.standings[:3]:
            mine = query_explain(
                ledger,
                "/".join(cup),
                row.competitor,
                nation=row.nation,
                as_of=on,
                known_at=known_at,
            )
            full = explain(
                world, cup, row.competitor, nation=row.nation, as_of=on, known_at=known_at
            )
            assert mine.model_copy(update={"head": None}) == full
    for race in world.races:
        mine_race = query_results(ledger, "/".join(race), as_of=on, known_at=known_at)
        assert mine_race.model_copy(update={"head": None, "amendments": []}) == classification(
            world, race, known_at=known_at, as_of=on
        )
    calendar = query_races(ledger, as_of=on, known_at=known_at)
    expected = sorted(
        (r for r in world.races.values() if on is None or r.date <= on),
        key=lambda r: (r.date, r.season, r.order),
    )
    assert [(r.race, r.date, r.table, r.results, r.voided) for r in calendar] == [
        (r.race, r.date, r.table, len(r.results), r.voided) for r in expected
    ]
    # Streamed a chunk of races at a time, each chunk ending where a day ends: the same.
    for chunk in (1, 3):
        default, races_module.CALENDAR_CHUNK = races_module.CALENDAR_CHUNK, chunk
        try:
            _, streamed = races_module.stream_calendar(ledger, as_of=on, known_at=known_at)
            assert list(streamed) == calendar
        finally:
            races_module.CALENDAR_CHUNK = default
    # The seasons and cups, their races counted and dated from the read model.
    listed = query_seasons(ledger, as_of=on, known_at=known_at)
    assert listed.seasons == season_list(world, list(world.seasons), as_of=on)
    assert list(stream_seasons(ledger, as_of=on, known_at=known_at)) == [
        SeasonRow(
            season=s.season,
            name=s.name,
            cups=len(s.cups),
            races=s.races,
            first=s.first,
            last=s.last,
        )
        for s in season_list(world, list(world.seasons), as_of=on)
    ]
    ledger.close()


@settings_for_logs
@given(
    log=logs,
    hours=st.integers(-1, 60),
    since=st.integers(-1, 60),
    pick=person,
    chunk=st.sampled_from([1, 3, history.SELECTED_CHUNK]),
)
def test_the_audit_trail_with_each_filter_equals_a_full_replay(
    log: list[tuple[Any, ...]], hours: int, since: int, pick: int, chunk: int
) -> None:
    # ``chunk``: the selected events are folded that many at a time, each with its context;
    # a listing of the log is made in stretches of ``chunk`` positions, then twice that.
    defaults = history.SELECTED_CHUNK, history.BLOCK_ROWS, history.HISTORY_STRETCH
    history.SELECTED_CHUNK, history.BLOCK_ROWS, history.HISTORY_STRETCH = chunk, chunk, 2 * chunk
    try:
        _audit_trail_equals_a_full_replay(log, hours, since, pick)
    finally:
        history.SELECTED_CHUNK, history.BLOCK_ROWS, history.HISTORY_STRETCH = defaults


def _audit_trail_equals_a_full_replay(
    log: list[tuple[Any, ...]], hours: int, since: int, pick: int
) -> None:
    ledger = fresh()
    play(ledger, log)
    known_at, start = moment(hours), moment(since)
    upto = ledger.position_at(known_at) if known_at is not None else ledger.head().position
    events = list(ledger.read_events(upto=upto))
    after = ledger.position_at(start - timedelta(microseconds=1)) if start is not None else 0

    def full(wanted: Any) -> list[history.HistoryEntry]:
        return list(history.rows(events, wanted))

    # Unfiltered, and a stretch of the log.
    assert query_history(ledger, known_at=known_at) == full(lambda p, e: True)
    assert query_history(ledger, known_at=known_at, since=start) == full(lambda p, e: p > after)
    assert query_history(ledger, known_at=known_at, changes_only=True) == full(
        lambda p, e: e.WHAT in history.AMENDMENTS
    )
    # Listed a stretch at a time, each from its start (as the processes of a parallel
    # listing do): the same rows.
    for asked in ({}, {"since": start}, {"changes_only": True}):
        f = history.Filters(**asked)
        with ledger.reading() as reader:
            first, last = history._span(reader, f, known_at)
            keep, bounds = history._keeper(f, first, last), history._stretches(first, last)
            stretched = [
                row
                for k in range(len(bounds) - 1)
                for row in history._streamed(reader, bounds[k], bounds[k + 1], keep)
            ]
        assert stretched == query_history(ledger, known_at=known_at, **asked)
    # A race: its events, and the renames of its competitors (and of those merged with them).
    for race in ("R1", "R4"):
        ids = merged(
            {e.competitor_id for _, e in events if isinstance(e, ResultEvent) and e.race == race},
            events,
        )

        def of_race(p: int, e: Any, race: str = race, ids: set[str] = ids) -> bool:
            if isinstance(e, RaceEvent):
                return e.race == race
            return isinstance(e, CompetitorRenamed) and e.competitor_id in ids

        assert query_history(ledger, known_at=known_at, race=race) == full(of_race)
    # An author, a command.
    assert query_history(ledger, known_at=known_at, by="office") == full(lambda p, e: True)
    assert query_history(ledger, known_at=known_at, by="office", since=start) == full(
        lambda p, e: p > after
    )
    if events:
        position = events[len(events) // 2][0]
        command = events[len(events) // 2][1].command
        got = query_history(ledger, known_at=known_at, command=position)
        assert got == full(lambda p, e: e.command == command)
    # A competitor, by a name it holds at the end of the cut (renames followed).
    world = replay(events)
    names = sorted(
        {(r.name, r.nation) for race in world.races.values() for r in race.results.values()},
        key=lambda held: (held[0], held[1] or ""),  # a name may be held with and without a nation
    )
    if names:
        name, nation = names[pick % len(names)]
        holders = {
            world.identity(r.competitor_id)
            for race in world.races.values()
            for r in race.results.values()
            if (r.name, r.nation) == (name, nation)
        }
        everyone = merged(holders, events)
        mine = query_history(ledger, known_at=known_at, competitor=name, nation=nation)
        theirs = full(lambda p, e: getattr(e, "competitor_id", None) in everyone)
        assert mine == theirs
        since = query_history(
            ledger, known_at=known_at, competitor=name, nation=nation, since=start
        )
        assert since == full(
            lambda p, e: p > after and getattr(e, "competitor_id", None) in everyone
        )
    ledger.close()


@settings_for_logs
@given(
    log=logs,
    first=st.integers(-1, 60),
    second=st.integers(-1, 60),
    as_of=st.integers(0, RACES + 1),
    vs_as_of=st.integers(0, RACES + 1),
    chunk=st.sampled_from([1, 3, export.EXPORT_CHUNK]),
)
def test_diffs_checks_exports_and_the_season_race_by_race_equal_a_full_replay(
    log: list[tuple[Any, ...]], first: int, second: int, as_of: int, vs_as_of: int, chunk: int
) -> None:
    # ``chunk``: an export and a check fold that many races at a time, in date order.
    defaults = export.EXPORT_CHUNK, checks_module.CHECK_CHUNK
    export.EXPORT_CHUNK = checks_module.CHECK_CHUNK = chunk
    try:
        _diffs_checks_exports_equal_a_full_replay(log, first, second, as_of, vs_as_of)
    finally:
        export.EXPORT_CHUNK, checks_module.CHECK_CHUNK = defaults


def _diffs_checks_exports_equal_a_full_replay(
    log: list[tuple[Any, ...]], first: int, second: int, as_of: int, vs_as_of: int
) -> None:
    ledger = fresh()
    play(ledger, log)
    t1, t2 = moment(first), moment(second)
    events = list(ledger.read_events())
    head = ledger.head().position
    p1 = ledger.position_at(t1) if t1 is not None else head
    p2 = ledger.position_at(t2) if t2 is not None else head
    for cup in SCORED:
        mine = query_diff(ledger, "/".join(cup), known_at=t1, vs=t2, as_of=day(as_of))
        theirs = diff_module.diff(
            events,
            cup,
            Side(as_of=day(as_of), known_at=t1, position=p1),
            Side(as_of=day(as_of), known_at=t2, position=p2),
        )
        assert mine.model_copy(update={"head": None}) == theirs
        if day(vs_as_of) is None:
            continue  # a date diff needs a second date
        dated = query_diff(
            ledger, "/".join(cup), known_at=t1, as_of=day(as_of), vs_as_of=day(vs_as_of)
        )
        assert dated.model_copy(update={"head": None}) == diff_module.diff(
            events,
            cup,
            Side(as_of=day(as_of), known_at=t1, position=p1),
            Side(as_of=day(vs_as_of), known_at=t1, position=p1),
        )
    world, _ = replayed(ledger, t1)
    assert query_checks(ledger, known_at=t1) == checks_module.checks(world.races.values())
    dated = [r for r in world.races.values() if day(as_of) is None or r.date <= day(as_of)]
    everything = export.current_results(world, dated, set())
    assert query_results_export(ledger, known_at=t1, as_of=day(as_of)) == everything
    assert query_results_export(ledger, season="s", known_at=t1, as_of=day(as_of)) == everything
    for cup in SCORED:
        got = query_results_export(ledger, cup="/".join(cup), known_at=t1, as_of=day(as_of))
        raced = ("s", "all") if cup == ("s", "teams") else cup  # a team cup's: its `of` cup's
        expected = (
            export.current_results(world, cup_races(world, raced, day(as_of)), set())
            if cup[0] in world.seasons
            else None
        )
        assert expected is not None
        assert got == expected
        chart = query_progression(ledger, "/".join(cup), known_at=t1, as_of=day(as_of))
        assert chart.model_copy(update={"head": None}) == progression.progression(
            world, cup, as_of=day(as_of), known_at=t1
        )
    ledger.close()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(log=logs, cut=st.integers(0, 16), as_of=st.integers(0, RACES + 1))
def test_known_at_t_equals_a_fresh_ledger_holding_only_the_commands_up_to_t(
    log: list[tuple[Any, ...]], cut: int, as_of: int
) -> None:
    full = fresh()
    times = play(full, log)
    known_at = START + timedelta(days=cut * 9, hours=2)
    truncated = fresh()
    play(truncated, log, upto=sum(1 for t in times if t <= known_at))
    for cup in SCORED:
        a = query_standings(full, "/".join(cup), known_at=known_at, as_of=day(as_of))
        b = query_standings(truncated, "/".join(cup), as_of=day(as_of))
        assert a.model_copy(update={"head": None, "known_at": None}) == b.model_copy(
            update={"head": None}
        )
        assert a.head == b.head  # the same log, to the hash
    full.close()
    truncated.close()


def test_the_audit_trail_of_a_command_over_many_races_equals_a_full_replay(db_url: str) -> None:
    """A file of 250 results over all the races, then a re-published file that moves every
    one of them: its command changes more results than one statement reads (a race's split
    between two), and each change's old value must be found."""
    ledger = Ledger(db_url)
    ledger.declare_season(SEASON, by="office", recorded_at=START)

    def rows(reverse: bool) -> list[ResultRow]:
        return [
            ResultRow(
                line=n + 2,
                race=f"R{n % RACES + 1}",
                competitor=f"Skater {n:03}",
                place=50 - n // RACES if reverse else n // RACES + 1,
            )
            for n in range(250)
        ]

    imported = ledger.record_results(
        rows(False), by="office", recorded_at=START + timedelta(hours=1)
    )
    later = START + timedelta(days=400)
    moved = ledger.reconcile_results(rows(True), reason="republished", by="jury", recorded_at=later)
    ledger.disqualify("R2", "Skater 001", reason="false start", by="referee", recorded_at=later)
    events = list(ledger.read_events())

    def full(wanted: Any) -> list[history.HistoryEntry]:
        return list(history.rows(events, wanted))

    changed = query_history(ledger, command=moved.command)
    assert len(changed) == 250
    assert changed == full(lambda p, e: e.command == moved.command)
    assert query_history(ledger, by="jury") == changed
    assert query_history(ledger, by="referee") == full(lambda p, e: e.by == "referee")
    assert query_history(ledger, by="office", since=START + timedelta(minutes=30)) == full(
        lambda p, e: e.command == imported.command
    )
    # An author and a race together; and chunk by chunk, as a large selection is read.
    assert query_history(ledger, by="jury", race="R2") == full(
        lambda p, e: e.command == moved.command and getattr(e, "race", None) == "R2"
    )
    chunk = history.SELECTED_CHUNK
    history.SELECTED_CHUNK = 7
    try:
        assert query_history(ledger, command=moved.command) == changed
        assert query_history(ledger, by="jury") == changed
        assert query_history(ledger, by="referee", race="R2") == full(
            lambda p, e: e.by == "referee"
        )
        assert query_history(ledger, competitor="Skater 001") == full(
            lambda p, e: getattr(e, "competitor", None) == "Skater 001"
        )
        # The jury's next change is to a result recorded after its first command: a chunk
        # holding both must read that result's events up to its last position, not its first.
        late = later + timedelta(days=1)
        ledger.record_result("R3", "Skater 900", place=51, by="office", recorded_at=late)
        ledger.correct_result(
            "R3", "Skater 900", place=52, reason="photo", by="jury", recorded_at=late
        )
        events = list(ledger.read_events())
        assert query_history(ledger, by="jury") == list(
            history.rows(events, lambda p, e: e.by == "jury")
        )
    finally:
        history.SELECTED_CHUNK = chunk
    ledger.close()
