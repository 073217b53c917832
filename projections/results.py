"""A race's classification: effective places, times and points, as known at a time."""

from __future__ import annotations

import datetime as _dt
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import Field

from ledger.application import Ledger
from ledger.fold import RaceKey, World
from projections.frames import dataframe
from projections.models import Cut, ExactTime, HeadRef, Out
from projections.standings import placings, status_of


class ClassifiedResult(Out):
    """A competitor's line in a race's classification."""

    place: int | None
    recorded_place: int | None
    competitor: str
    nation: str | None
    time: ExactTime | None
    status: str | None
    disqualified: bool
    points: Decimal
    bonus: Decimal | None = None
    team: str | None = None
    competitor_id: str | None = None


class Amendment(Out):
    """A change to the race or its results after they were recorded: old → new, why, who."""

    position: int
    recorded_at: datetime
    by: str
    what: str
    competitor: str | None
    nation: str | None
    change: str
    reason: str | None
    source: str | None


class RaceClassification(Out):
    """A race's classification: places, times and points."""

    season: str
    race: str
    cup: str
    date: date
    location: str | None
    venue: str | None
    table: str
    voided: bool
    known_at: datetime | None
    results: list[ClassifiedResult]
    as_of: _dt.date | None = None
    raced: bool = True  # False when the race is after the as-of date: no results yet
    head: HeadRef | None = None
    amendments: list[Amendment] = Field(default_factory=list)  # changed since recorded

    def to_dataframe(self) -> Any:
        """A pandas DataFrame of the classification."""
        columns = ["place", "competitor", "nation", "time", "status", "disqualified", "points"]
        return dataframe([r.model_dump() for r in self.results], columns)


def classification(
    world: World,
    race_key: RaceKey,
    *,
    known_at: datetime | None = None,
    as_of: date | None = None,
) -> RaceClassification:
    """A race's classification from a folded world (pure).

    As of a date before the race, the race has not been run: it is listed with no results.
    """
    race = world.races[race_key]
    raced = as_of is None or race.date <= as_of
    return RaceClassification(
        as_of=as_of,
        raced=raced,
        season=race.season,
        race=race.race,
        cup=race.cup,
        date=race.date,
        location=race.location,
        venue=race.venue,
        table=race.table,
        voided=race.voided,
        known_at=known_at,
        results=[
            ClassifiedResult(
                place=p.place,
                recorded_place=p.result.place,
                competitor=p.result.name,
                nation=p.result.nation,
                time=p.result.time,
                status=status_of(p.result),
                disqualified=p.result.disqualified,
                points=p.points,
                bonus=p.result.bonus,
                team=p.result.team,
                competitor_id=world.identity(p.result.competitor_id),
            )
            for p in placings(race)
            if raced
        ],
    )


def query_results(
    ledger: Ledger, race: str, *, as_of: date | None = None, known_at: datetime | None = None
) -> RaceClassification:
    """A race's classification, as known at a time (empty as of a date before the race)."""
    with ledger.reading() as reader:
        cut = Cut.at(reader, known_at)
        key = reader.resolve_race(race, cut.upto)
        race_key = reader.race_key(key)
        assert race_key is not None
        events = reader.races_world_events([race_key], cut.upto)
    world = reader.fold_into(World(), events)
    result = classification(world, key, known_at=known_at, as_of=as_of)
    return result.model_copy(update={"head": cut.head, "amendments": amendments(events, key)})


def amendments(events: list[Any], race: RaceKey) -> list[Amendment]:
    """The amendments among a race's events (and its competitors' renames), as the audit
    trail words them (pure)."""
    from projections.history import AMENDMENTS, rows

    def wanted(position: int, event: Any) -> bool:
        if event.WHAT not in AMENDMENTS:
            return False
        return (getattr(event, "season", None), getattr(event, "race", None)) == race or (
            event.WHAT == "renamed"
        )

    return [
        Amendment(
            position=r.position,
            recorded_at=r.recorded_at,
            by=r.by,
            what=r.what,
            competitor=r.competitor,
            nation=r.nation,
            change=r.change,
            reason=r.reason,
            source=r.source,
        )
        for r in rows(events, wanted)
    ]
