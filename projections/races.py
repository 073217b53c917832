"""The race calendar: every race (of a season or cup) with its date, table and result count.

Dates and tables are as known at the time asked: a race moved later shows its new date only
from the moment the move was recorded.
"""

from __future__ import annotations

from datetime import date, datetime

from ledger.application import Ledger
from ledger.errors import UnknownIdError
from ledger.fold import World
from ledger.ids import suggest
from projections.models import Cut, Out


class RaceSummary(Out):
    """A scheduled race and how many results it has."""

    season: str
    race: str
    cup: str
    date: date
    location: str | None
    table: str
    results: int
    voided: bool


def race_list(
    world: World, counts: dict[tuple[str, str], int], *, as_of: date | None = None
) -> list[RaceSummary]:
    """Every race of a folded world on or before ``as_of``, in date order, with how many
    results each holds (pure)."""
    races = sorted(world.races.values(), key=lambda r: (r.date, r.season, r.order))
    return [
        RaceSummary(
            season=r.season,
            race=r.race,
            cup=r.cup,
            date=r.date,
            location=r.location,
            table=r.table,
            results=counts.get(r.key, len(r.results)),
            voided=r.voided,
        )
        for r in races
        if as_of is None or r.date <= as_of
    ]


def query_races(
    ledger: Ledger,
    *,
    as_of: date | None = None,
    known_at: datetime | None = None,
    season: str | None = None,
    cup: str | None = None,
) -> list[RaceSummary]:
    """The scheduled races (of a season, or of a cup), with their result counts."""
    with ledger.reading() as reader:
        cut = Cut.at(reader, known_at)
        if cup is not None:
            key = reader.resolve_cup(cup, cut.upto)
            keys = reader.cup_race_keys(key, cut.upto)
        else:
            keys = reader.race_keys(season=season, upto=cut.upto)
        world = reader.calendar_world(keys, cut.upto)
        counted = reader.result_counts(keys, cut.upto)
    counts = {race.key: counted.get(race.order, 0) for race in world.races.values()}
    return race_list(world, counts, as_of=as_of)


def query_calendar(
    ledger: Ledger,
    *,
    as_of: date | None = None,
    known_at: datetime | None = None,
    season: str | None = None,
    cup: str | None = None,
) -> list[RaceSummary]:
    """``query_races`` as ``ledger races`` lists them: only the named season's, and an
    UnknownIdError for a season the ledger does not hold (a declared one may have no races)."""
    found = query_races(ledger, as_of=as_of, known_at=known_at, season=season, cup=cup)
    if season is not None:
        found = [r for r in found if r.season == season]
        if not found:
            known_season(ledger, season)
    return found


def known_season(ledger: Ledger, season: str) -> None:
    """Refuse a season the ledger does not hold (a declared one may have no races yet)."""
    with ledger.reading() as reader:
        declared = [s for s, _ in reader.seasons(reader.head().position)]
    if season not in declared:
        raise UnknownIdError(f"unknown season {season!r}{suggest(season, declared)}")
