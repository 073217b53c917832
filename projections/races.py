"""The race calendar: every race (of a season or cup) with its date, table and result count.

Dates and tables are as known at the time asked: a race moved later shows its new date only
from the moment the move was recorded.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, datetime

from ledger.application import Ledger
from ledger.errors import UnknownIdError
from ledger.fold import World
from ledger.ids import suggest
from ledger.reader import Reader
from projections.models import Cut, HeadRef, Out, day_chunks
from projections.output import with_head


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
        return _calendar(reader, keys, cut.upto, as_of)


def _calendar(
    reader: Reader, keys: Sequence[int], upto: int, as_of: date | None
) -> list[RaceSummary]:
    """These races (by key) as known at ``upto``, with their result counts, in date order."""
    world = reader.calendar_world(keys, upto)
    counted = reader.result_counts(keys, upto)
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


CALENDAR_CHUNK = 2_000  # races read at a time when listing every race, or a season's


def stream_calendar(
    ledger: Ledger,
    *,
    as_of: date | None = None,
    known_at: datetime | None = None,
    season: str | None = None,
    cup: str | None = None,
) -> tuple[HeadRef | None, Iterator[RaceSummary]]:
    """``query_calendar``'s races as they are read, and the head they are read at: every race
    (or a season's) a chunk of races at a time, the chunks in date order (the memory of a
    chunk, whatever the size of the ledger); a cup's at once. An unknown season or cup is
    refused here, before any race."""
    if cup is not None:
        listed, head = with_head(
            ledger,
            known_at,
            lambda: query_calendar(ledger, as_of=as_of, known_at=known_at, season=season, cup=cup),
        )
        return head, iter(listed)
    with ledger.reading() as reader:
        cut = Cut.at(reader, known_at)
        dated = reader.race_dates(cut.upto, season=season)
    if season is not None and not dated:
        known_season(ledger, season)
    chunks = day_chunks([(d, k) for d, k in dated if as_of is None or d <= as_of], CALENDAR_CHUNK)
    return cut.head, _calendar_chunks(ledger, chunks, cut.upto, as_of)


def _calendar_chunks(
    ledger: Ledger, chunks: list[list[int]], upto: int, as_of: date | None
) -> Iterator[RaceSummary]:
    with ledger.reading() as reader:  # read up to the same position, in a snapshot of its own
        for keys in chunks:
            yield from _calendar(reader, keys, upto, as_of)


def known_season(ledger: Ledger, season: str) -> None:
    """Refuse a season the ledger does not hold (a declared one may have no races yet)."""
    with ledger.reading() as reader:
        declared = [s for s, _ in reader.seasons(reader.head().position)]
    if season not in declared:
        raise UnknownIdError(f"unknown season {season!r}{suggest(season, declared)}")
