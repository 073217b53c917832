"""Output models: what queries return, and what ``--format json`` prints (contract §4)."""

from __future__ import annotations

import datetime as _dt
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict

from projections.frames import dataframe


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class HeadRef(_Out):
    """The log position and hash a result was computed at."""

    position: int
    hash: str


class RaceScore(_Out):
    """One race of a competitor's season: effective place, points, whether it counted."""

    race: str
    place: int | None
    points: int
    counted: bool
    status: str | None = None


class StandingRow(_Out):
    """A competitor's line in a cup's standings."""

    rank: int
    competitor: str
    nation: str | None
    points: int
    results: list[RaceScore]


class Standings(_Out):
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


class ClassifiedResult(_Out):
    """A competitor's line in a race's classification."""

    place: int | None
    recorded_place: int | None
    competitor: str
    nation: str | None
    time: Decimal | None
    status: str | None
    disqualified: bool
    points: int


class RaceClassification(_Out):
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

    def to_dataframe(self) -> Any:
        """A pandas DataFrame of the classification; times as float seconds, for analysis."""
        columns = ["place", "competitor", "nation", "time", "status", "disqualified", "points"]
        records = [
            r.model_dump() | {"time": None if r.time is None else float(r.time)}
            for r in self.results
        ]
        return dataframe(records, columns)


class RaceSummary(_Out):
    """A scheduled race and how many results it has."""

    season: str
    race: str
    cup: str
    date: date
    location: str | None
    table: str
    results: int
    voided: bool
