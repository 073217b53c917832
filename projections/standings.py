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
from projections.scoring import (
    ZERO,
    CupRace,
    CupRules,
    Entry,
    Standing,
    classify,
    race_results,
)
from projections.scoring import standings as rank


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


def clean(points: Decimal) -> Decimal:
    """Points as written: 25 (not 25.0), 12.5 (not 12.50)."""
    if points == points.to_integral_value():
        return points.quantize(Decimal(1))
    return points.normalize()


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
class Placing:
    """A result as scored in its race: effective place (None if unclassified) and points."""

    result: ResultState
    place: int | None
    points: Decimal


def entry(result: ResultState, who: Hashable) -> Entry:
    """A result as the scoring rules take it."""
    return Entry(who, result.place, result.classified, result.bonus or ZERO, result.team)


def placings(race: RaceState) -> list[Placing]:
    """A race scored: effective places and points (bonuses included), classified first in
    place order, then by name."""
    results = list(race.results.values())
    by_id = {r.competitor_id: r for r in results}
    scored = classify([entry(r, r.competitor_id) for r in results], race.points, voided=race.voided)
    found = [Placing(by_id[str(s.entry.key)], s.place, s.points) for s in scored]
    return sorted(
        found, key=lambda p: (p.place is None, p.place or 0, p.result.name, p.result.nation or "")
    )


@dataclass(frozen=True)
class Line:
    """One competitor's (or team's) scoring in a cup: its standing and race-by-race scores."""

    standing: Standing
    competitor_id: str | None  # None for a team
    name: str
    nation: str | None
    scores: list[tuple[int, RaceState, int | None, Decimal, str | None]]  # index, race, place...


@dataclass(frozen=True)
class Scored:
    """A cup scored as of a date: its rules, the races taken into account, the lines."""

    cup: CupState
    rules: CupRules
    races: list[RaceState]
    lines: list[Line]


def spec_of(world: World, cup: CupKey) -> CupState:
    """A declared cup, or an UnknownIdError."""
    spec = world.cup(cup)
    if spec is None:
        raise UnknownIdError(f"unknown cup {cup[0]}/{cup[1]}")
    return spec


def score(world: World, cup: CupKey, as_of: date | None) -> Scored:
    """Score a cup from a folded world, as of a date, by the rules it declares (pure).

    The races are those the cup scores (its own, or a team cup's ``of`` cup's) on its
    calendar as known; each keeps its part of the whole calendar however few have been run.
    Void races are left out (they score nothing); excluded competitors are left out of the
    standings (nobody moves up in the races); deductions come off the totals.
    """
    spec = spec_of(world, cup)
    rules = CupRules.from_cup(spec.rules)
    calendar = cup_races(world, (cup[0], rules.of or cup[1]), None)
    tables = world.seasons[cup[0]].tables
    taken = [
        (index, race)
        for index, race in enumerate(calendar)
        if (as_of is None or race.date <= as_of) and not race.voided
    ]
    races: list[CupRace] = []
    names: dict[Any, tuple[str, ...]] = {}
    labels: dict[Any, tuple[str, str | None]] = {}
    scores: dict[Any, list[tuple[int, RaceState, int | None, Decimal, str | None]]] = {}
    for position, (index, race) in enumerate(taken):
        results = list(race.results.values())
        entries = [entry(r, world.identity(r.competitor_id)) for r in results]
        by_key = {e.key: r for e, r in zip(entries, results, strict=True)}
        outcome = race_results(entries, race.points, rules, tables=tables)
        races.append(CupRace(outcome, rules.part_of(index)))
        if rules.teams:
            for team, got in outcome.items():
                labels[team] = (str(team), None)
                place = min(got.places) if got.places else None
                scores.setdefault(team, []).append((position, race, place, got.points, None))
            continue
        for scored in classify(entries, race.points):
            who = scored.entry.key
            result = by_key[who]
            labels[who] = (result.name, result.nation)
            scores.setdefault(who, []).append(
                (position, race, scored.place, outcome[who].points, status_of(result))
            )
    for who, (name, nation) in labels.items():
        names[who] = (name, nation or "")
    deductions: dict[Any, Decimal] = {}
    if not rules.teams:
        for competitor, points in spec.deductions.values():
            who = world.identity(competitor)
            if who in labels:  # a deduction comes off a standing; none before a first race
                deductions[who] = deductions.get(who, ZERO) + points
    excluded = {world.identity(c) for c in spec.excluded}
    lines = []
    for standing in rank(races, rules, names=names, deductions=deductions, excluded=excluded):
        name, nation = labels.get(standing.key, (str(standing.key), None))
        lines.append(
            Line(
                standing,
                None if rules.teams else str(standing.key),
                name,
                nation,
                scores.get(standing.key, []),
            )
        )
    return Scored(spec, rules, [race for _, race in taken], lines)


def standings(
    world: World, cup: CupKey, *, as_of: date | None = None, known_at: datetime | None = None
) -> Standings:
    """A cup's standings from a folded world (already cut at ``known_at``), as of a date."""
    scored = score(world, cup, as_of)
    rows = [
        StandingRow(
            rank=line.standing.rank,
            competitor=line.name,
            nation=line.nation,
            points=clean(line.standing.total),
            results=[
                RaceScore(
                    race=race.race,
                    place=place,
                    points=clean(points),
                    counted=index in line.standing.counted,
                    status=status,
                )
                for index, race, place, points, status in line.scores
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
