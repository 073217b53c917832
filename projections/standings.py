"""A cup's standings as of a date, as known at a time (contract §4 and §5).

``score(world, cup, as_of)`` is the pure scoring of one cup from a folded world (the races on
or before the date, by the rules the cup declares); ``standings`` shapes it as the contract's
table, and ``query_standings`` reads exactly the cup's events through the reader.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from ledger.application import Ledger
from ledger.errors import UnknownIdError
from ledger.fold import CupKey, CupState, RaceState, ResultState, World
from projections.frames import dataframe
from projections.models import Cut, HeadRef, Out
from projections.scoring import ZERO, Placing, Ranked, Score, classify, rank


class RaceScore(Out):
    """One race of a competitor's season: effective place, points, whether it counted."""

    race: str
    place: int | None
    points: Decimal
    counted: bool
    status: str | None = None


class StandingRow(Out):
    """A competitor's line in a cup's standings."""

    rank: int
    competitor: str
    nation: str | None
    points: Decimal
    results: list[RaceScore]
    competitor_id: str | None = None


class Standings(Out):
    """A cup's standings as of a date, as known at a time."""

    season: str
    cup: str
    cup_name: str
    best: int | None
    as_of: date | None
    known_at: datetime | None
    races: list[str]
    standings: list[StandingRow]
    head: HeadRef | None = None

    def to_dataframe(self) -> Any:
        """A pandas DataFrame: rank, competitor, nation, points, then each race's points."""
        records = []
        for row in self.standings:
            scored = {x.race: x.points for x in row.results}
            record: dict[str, Any] = {
                "rank": row.rank,
                "competitor": row.competitor,
                "nation": row.nation,
                "points": row.points,
            }
            records.append(record | {race: scored.get(race) for race in self.races})
        return dataframe(records, ["rank", "competitor", "nation", "points", *self.races])


def status_of(result: ResultState) -> str | None:
    """A result's status as shown: DNF, DNS, DQ, or disqualified."""
    return result.status or ("disqualified" if result.disqualified else None)


def cup_races(world: World, cup: CupKey, as_of: date | None) -> list[RaceState]:
    """A cup's races on or before ``as_of`` (its calendar as known), in date order."""
    races = [
        r
        for r in world.races.values()
        if (r.season, r.cup) == cup and (as_of is None or r.date <= as_of)
    ]
    return sorted(races, key=lambda r: (r.date, r.order))


@dataclass(frozen=True)
class Line:
    """One competitor's scoring in a cup: its ranked line and its race by race placings."""

    ranked: Ranked
    competitor_id: str
    name: str
    nation: str | None
    placings: list[tuple[int, RaceState, Placing]]


@dataclass(frozen=True)
class Scored:
    """A cup scored as of a date: its rules, the races taken into account, the lines."""

    cup: CupState
    races: list[RaceState]
    lines: list[Line]


def spec_of(world: World, cup: CupKey) -> CupState:
    """A declared cup, or an UnknownIdError."""
    spec = world.cup(cup)
    if spec is None:
        raise UnknownIdError(f"unknown cup {cup[0]}/{cup[1]}")
    return spec


def score(world: World, cup: CupKey, as_of: date | None) -> Scored:
    """Score a cup from a folded world, as of a date (pure)."""
    spec = spec_of(world, cup)
    races = cup_races(world, (cup[0], spec.rules.get("of") or cup[1]), as_of)
    counting = [r for r in races if not r.voided]
    scores: dict[Hashable, list[Score]] = {}
    names: dict[Hashable, tuple[str, str]] = {}
    labels: dict[str, tuple[str, str | None]] = {}
    placings: dict[str, list[tuple[int, RaceState, Placing]]] = {}
    for index, race in enumerate(counting):
        for placing in classify(list(race.results.values()), race.points):
            who = world.identity(placing.result.competitor_id)
            if who in spec.excluded:
                continue
            labels[who] = (placing.result.name, placing.result.nation)
            scores.setdefault(who, []).append(Score(index, placing.points))
            placings.setdefault(who, []).append((index, race, placing))
    for who, (name, nation) in labels.items():
        names[who] = (name, nation or "")
    deductions: dict[Hashable, Decimal] = {}
    for competitor, points in spec.deductions.values():
        who = world.identity(competitor)
        deductions[who] = deductions.get(who, ZERO) + points
    lines = [
        Line(ranked, str(ranked.key), *labels[str(ranked.key)], placings[str(ranked.key)])
        for ranked in rank(scores, spec.best, names, deductions)
    ]
    return Scored(spec, counting, lines)


def standings(
    world: World, cup: CupKey, *, as_of: date | None = None, known_at: datetime | None = None
) -> Standings:
    """A cup's standings from a folded world (already cut at ``known_at``), as of a date."""
    scored = score(world, cup, as_of)
    rows = [
        StandingRow(
            rank=line.ranked.rank,
            competitor=line.name,
            nation=line.nation,
            points=line.ranked.total,
            results=[
                RaceScore(
                    race=race.race,
                    place=placing.place,
                    points=placing.points,
                    counted=index in line.ranked.counted,
                    status=status_of(placing.result),
                )
                for index, race, placing in line.placings
            ],
            competitor_id=line.competitor_id,
        )
        for line in scored.lines
    ]
    return Standings(
        season=cup[0],
        cup=cup[1],
        cup_name=scored.cup.name,
        best=scored.cup.best,
        as_of=as_of,
        known_at=known_at,
        races=[r.race for r in scored.races],
        standings=rows,
    )


def query_standings(
    ledger: Ledger, cup: str, *, as_of: date | None = None, known_at: datetime | None = None
) -> Standings:
    """A cup's standings as of a date, as known at a time, with the head it was computed at."""
    with ledger.reading() as reader:
        cut = Cut.at(reader, known_at)
        key = reader.resolve_cup(cup, cut.upto)
        world = reader.cup_world(key, cut.upto)
    table = standings(world, key, as_of=as_of, known_at=known_at)
    return table.model_copy(update={"head": cut.head})
