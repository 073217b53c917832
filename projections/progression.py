"""A cup's season race by race: each competitor's counted total after every race (pure).

This is what ``ledger chart`` draws. The total after race k is what the standings would show
with the cup's first k races only, best-N rule included.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from projections.fold import LedgerView
from projections.frames import dataframe
from projections.models import HeadRef
from projections.scoring import Score, counted_results
from projections.views import cup_races, standings


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


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
    points: int
    cumulative: list[int]

    @property
    def key(self) -> tuple[str, str | None]:
        """Who this is: name and nation."""
        return (self.competitor, self.nation)

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
    view: LedgerView,
    season: str,
    cup: str,
    *,
    as_of: date | None = None,
    known_at: datetime | None = None,
    axis: list[RaceTick] | None = None,
) -> Progression:
    """Every ranked competitor's running total over the cup's races (or over a given axis).

    Without an axis, the axis is the cup's races up to the last one with results: races not
    yet raced would only draw flat lines.
    """
    table = standings(view, season, cup, as_of=as_of, known_at=known_at)
    if axis is None:
        races = cup_races(view, season, cup, as_of)
        raced = [i for i, r in enumerate(races) if r.results and not r.voided]
        kept = races[: raced[-1] + 1] if raced else []
        axis = [RaceTick(race=r.race, date=r.date, location=r.location) for r in kept]
    series = []
    for row in table.standings:
        points = {x.race: x.points for x in row.results}
        scores = [Score(i, points.get(tick.race, 0)) for i, tick in enumerate(axis)]
        series.append(
            Series(
                competitor=row.competitor,
                nation=row.nation,
                rank=row.rank,
                points=row.points,
                cumulative=[
                    sum(s.points for s in counted_results(scores[: k + 1], table.best))
                    for k in range(len(scores))
                ],
            )
        )
    return Progression(
        season=season,
        cup=cup,
        cup_name=table.cup_name,
        season_name=view.seasons[season].name,
        as_of=as_of,
        known_at=known_at,
        races=axis,
        series=series,
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
            new[key] = gone.model_copy(update={"rank": 0, "points": 0, "cumulative": zero})
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


def _shift(before: Series | None, after: Series) -> tuple[int | None, int | None]:
    """How many places and points a competitor moved; None for out of or into the standings."""
    if before is None or not before.rank or not after.rank:
        return (None, None)
    return (abs(before.rank - after.rank), abs(before.points - after.points))


def key_changed(before: Series | None, after: Series) -> bool:
    """Whether a competitor's line differs before and after."""
    return before is None or before.cumulative != after.cumulative or before.rank != after.rank
