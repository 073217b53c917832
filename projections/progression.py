"""A cup's season race by race: each competitor's counted total after every race (pure).

This is what ``ledger chart`` draws. The total after race k is what the standings would show
with the cup's first k races only, best-N rule included.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from ledger.application import Ledger
from ledger.errors import UnknownIdError
from ledger.fold import CupKey, World
from projections.frames import dataframe
from projections.models import Cut, HeadRef
from projections.models import Out as _Out
from projections.scoring import ZERO, CupRules, RaceResult, counted
from projections.standings import cup_races, spec_of, standings


class RaceTick(_Out):
    """A race on the chart's axis."""

    race: str
    date: date
    location: str | None


class Series(_Out):
    """A competitor's counted total after each race of the axis, and final rank and points."""

    competitor: str
    nation: str | None
    rank: int
    points: Decimal
    cumulative: list[Decimal]
    competitor_id: str | None = None

    @property
    def key(self) -> tuple[str, str | None]:
        """Who this is: the competitor's id (so that a rename is one line that moved), else
        name and nation (a team)."""
        return (self.competitor_id, None) if self.competitor_id else (self.competitor, self.nation)

    @property
    def label(self) -> str:
        """Name and nation, as a legend shows them."""
        return f"{self.competitor} ({self.nation})" if self.nation else self.competitor


class Progression(_Out):
    """A cup's standings race by race, as of a date, as known at a time (at a log head)."""

    season: str
    cup: str
    cup_name: str
    season_name: str
    as_of: date | None
    known_at: datetime | None
    races: list[RaceTick]
    series: list[Series]
    head: HeadRef | None = None

    def to_dataframe(self) -> Any:
        """A pandas DataFrame, one row per competitor and race: the running total after it."""
        records = [
            {
                "rank": s.rank,
                "competitor": s.competitor,
                "nation": s.nation,
                "race": tick.race,
                "date": tick.date,
                "total": total,
            }
            for s in self.series
            for tick, total in zip(self.races, s.cumulative, strict=True)
        ]
        return dataframe(records, ["rank", "competitor", "nation", "race", "date", "total"])


def progression(
    world: World,
    cup: CupKey,
    *,
    as_of: date | None = None,
    known_at: datetime | None = None,
    axis: list[RaceTick] | None = None,
) -> Progression:
    """Every ranked competitor's running total over the cup's races (or over a given axis).

    Without an axis, the axis is the cup's races up to the last one with results: races not
    yet raced would only draw flat lines.
    """
    table = standings(world, cup, as_of=as_of, known_at=known_at)
    spec = spec_of(world, cup)
    if axis is None:
        races = cup_races(world, (cup[0], spec.rules.get("of") or cup[1]), as_of)
        raced = [i for i, r in enumerate(races) if r.results and not r.voided]
        kept = races[: raced[-1] + 1] if raced else []
        axis = [RaceTick(race=r.race, date=r.date, location=r.location) for r in kept]
    rules = CupRules.from_cup(spec.rules)
    calendar = [r.race for r in cup_races(world, (cup[0], rules.of or cup[1]), None)]
    parts = {race: rules.part_of(index) for index, race in enumerate(calendar)}
    series = []
    for row in table.standings:
        points = {x.race: x.points for x in row.results}
        scores = [
            (i, parts.get(tick.race, 0), RaceResult(points.get(tick.race, ZERO)))
            for i, tick in enumerate(axis)
        ]
        series.append(
            Series(
                competitor=row.competitor,
                nation=row.nation,
                rank=row.rank,
                points=row.points,
                cumulative=[
                    sum((p for _, p in counted(scores[: k + 1], rules)), ZERO)
                    for k in range(len(scores))
                ],
                competitor_id=row.competitor_id,
            )
        )
    return Progression(
        season=cup[0],
        cup=cup[1],
        cup_name=table.cup_name,
        season_name=world.seasons[cup[0]].name,
        as_of=as_of,
        known_at=known_at,
        races=axis,
        series=series,
    )


def query_progression(
    ledger: Ledger, cup: str, *, as_of: date | None = None, known_at: datetime | None = None
) -> Progression:
    """A cup race by race (what ``ledger chart`` draws), reading only the cup's events."""
    with ledger.reading() as reader:
        cut = Cut.at(reader, known_at)
        key = reader.resolve_cup(cup, cut.upto)
        world = reader.cup_world(key, cut.upto)
    chart = progression(world, key, as_of=as_of, known_at=known_at)
    return chart.model_copy(update={"head": cut.head})


def query_change(
    ledger: Ledger,
    cup: str,
    *,
    before: datetime,
    after: datetime | None = None,
    as_of: date | None = None,
) -> tuple[Progression, Progression]:
    """The cup race by race as known at ``before`` and at ``after`` (default: now), both over
    the later one's races, so that the lines can be compared."""
    with ledger.reading() as reader:
        late = Cut.at(reader, after)
        early = Cut.at(reader, before)
        key = reader.resolve_cup(cup, late.upto)
        events = reader.cup_events(key, late.upto)
    world_after = reader.fold_into(World(), events)
    world_before = reader.fold_into(World(), [(p, e) for p, e in events if p <= early.upto])
    chart_after = progression(world_after, key, as_of=as_of, known_at=after)
    if key[0] not in world_before.seasons:
        raise UnknownIdError(
            f"cup {key[0]}/{key[1]} was not declared yet at {before.isoformat()};"
            " choose a later --known-at"
        )
    chart_before = progression(
        world_before, key, as_of=as_of, known_at=before, axis=chart_after.races
    )
    return (
        chart_before.model_copy(update={"head": early.head}),
        chart_after.model_copy(update={"head": late.head}),
    )


def leaders(chart: Progression, top: int) -> list[Series]:
    """The ``top`` leading competitors, in rank order."""
    return chart.series[:top]


def changed(
    before: Progression, after: Progression, top: int
) -> list[tuple[Series | None, Series]]:
    """Who the change moved most, then the leaders for context: ``top`` in all, each before/after.

    Someone who dropped out of the standings (or entered them) moved most of all, and appears
    with an all-zero "after" line (or no "before"). The others who moved come by how far, in
    rank and in points, each as a share of the largest such move (the larger share first, their
    sum breaking ties, then the later standings). The leaders follow, in rank order.
    """
    old = {s.key: s for s in before.series}
    new = {s.key: s for s in after.series}
    zero = [0] * len(after.races)
    for key, gone in old.items():
        if key not in new:
            new[key] = gone.model_copy(
                update={"rank": 0, "points": ZERO, "cumulative": [ZERO] * len(zero)}
            )
    order = sorted(new.values(), key=_standing)
    moved = [s for s in order if key_changed(old.get(s.key), s)]
    shifts = {s.key: _shift(old.get(s.key), s) for s in moved}
    ranks = max((r for r, _ in shifts.values() if r is not None), default=0) or 1
    points = max((p for _, p in shifts.values() if p is not None), default=0) or 1

    def size(series: Series) -> tuple[float, float]:
        rank, point = shifts[series.key]
        if rank is None or point is None:
            return (2.0, 2.0)  # out of (or into) the standings: a bigger move than any shift
        shares = (rank / ranks, point / points)
        return (max(shares), sum(shares))

    # sorted() is stable, reversed too: among equal moves, the better placed comes first.
    biggest = sorted(moved, key=size, reverse=True)[:top]
    shown = {s.key for s in biggest}
    context = [s for s in order if s.rank and s.key not in shown][: top - len(biggest)]
    return [(old.get(s.key), s) for s in biggest + context]


def _standing(series: Series) -> tuple[bool, int, str]:
    return (series.rank == 0, series.rank, series.competitor)


def _shift(before: Series | None, after: Series) -> tuple[int | None, float | None]:
    """How many places and points a competitor moved; None for out of or into the standings."""
    if before is None or not before.rank or not after.rank:
        return (None, None)
    return (abs(before.rank - after.rank), float(abs(before.points - after.points)))


def key_changed(before: Series | None, after: Series) -> bool:
    """Whether a competitor's line differs before and after."""
    return (
        before is None
        or before.cumulative != after.cumulative
        or before.rank != after.rank
        or before.label != after.label  # renamed (or moved to another nation)
    )
