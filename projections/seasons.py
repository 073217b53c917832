"""The seasons and their cups: what the ledger holds, as known at a time.

``season_list`` and ``cup_summary`` are the pure parts, over a folded world of the seasons'
declarations and their races' calendar; ``query_seasons`` and ``query_cups`` read exactly
those through the reader (one declaration per season; each race's cup and date from the read
model, folding the calendar events only of the races that were rescheduled), never a result.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from ledger.application import Ledger
from ledger.errors import UnknownIdError
from ledger.fold import CupState, World
from ledger.ids import suggest
from ledger.reader import Reader
from projections.frames import frame_of
from projections.models import Cut, HeadRef, Out


class CupSummary(Out):
    """A cup of a season: its name, its rules in brief, and the races it scores."""

    season: str
    cup: str
    name: str
    best: int | None
    of: str | None  # a team cup scores the races of this cup
    teams: bool
    races: int
    first: date | None
    last: date | None


class SeasonSummary(Out):
    """A declared season: its cups and the dates its calendar spans."""

    season: str
    name: str
    cups: list[CupSummary]
    races: int
    first: date | None
    last: date | None


class SeasonList(Out):
    """The seasons a ledger holds, as known at a time."""

    known_at: datetime | None
    seasons: list[SeasonSummary]
    head: HeadRef | None = None

    def to_dataframe(self) -> Any:
        """A pandas DataFrame, one season a row (its cups as a list)."""
        return frame_of(SeasonSummary, self.seasons)


class CupList(Out):
    """The cups of one season, or of every season, as known at a time."""

    season: str | None
    known_at: datetime | None
    cups: list[CupSummary]
    head: HeadRef | None = None

    def to_dataframe(self) -> Any:
        """A pandas DataFrame, one cup a row."""
        return frame_of(CupSummary, self.cups)


Calendar = Iterable[tuple[str, str, date]]  # (season, cup, date) of each race


def calendar_of(world: World) -> Calendar:
    """The calendar of a folded world's races."""
    return [(r.season, r.cup, r.date) for r in world.races.values()]


def _dates_by_cup(calendar: Calendar, as_of: date | None) -> dict[tuple[str, str], list[date]]:
    """Each (season, cup)'s race dates on or before ``as_of``, sorted, in one pass."""
    dates: dict[tuple[str, str], list[date]] = {}
    for season, cup, day in calendar:
        if as_of is None or day <= as_of:
            dates.setdefault((season, cup), []).append(day)
    for found in dates.values():
        found.sort()
    return dates


def cup_summary(
    world: World,
    cup: CupState,
    as_of: date | None = None,
    dates_by_cup: dict[tuple[str, str], list[date]] | None = None,
) -> CupSummary:
    """A cup with the races it scores (on or before ``as_of``), from a folded world (pure)."""
    of = cup.rules.get("of")
    by_cup = _dates_by_cup(calendar_of(world), as_of) if dates_by_cup is None else dates_by_cup
    dates = by_cup.get((cup.season, str(of) if of else cup.cup), [])
    return CupSummary(
        season=cup.season,
        cup=cup.cup,
        name=cup.name,
        best=cup.best,
        of=str(of) if of else None,
        teams=bool(cup.rules.get("teams")),
        races=len(dates),
        first=dates[0] if dates else None,
        last=dates[-1] if dates else None,
    )


def season_list(
    world: World,
    order: list[str],
    *,
    as_of: date | None = None,
    calendar: Calendar | None = None,
) -> list[SeasonSummary]:
    """The seasons of a folded world, in ``order`` (declaration order), with their cups and
    the dates of their races (``calendar``, or the world's own races) (pure)."""
    by_cup = _dates_by_cup(calendar_of(world) if calendar is None else calendar, as_of)
    by_season: dict[str, list[date]] = {}
    for (season_id, _), cup_dates in by_cup.items():
        by_season.setdefault(season_id, []).extend(cup_dates)
    found = []
    for name in order:
        season = world.seasons.get(name)
        if season is None:
            continue
        dates = sorted(by_season.get(name, []))
        found.append(
            SeasonSummary(
                season=name,
                name=season.name,
                cups=[cup_summary(world, cup, as_of, by_cup) for cup in season.cups.values()],
                races=len(dates),
                first=dates[0] if dates else None,
                last=dates[-1] if dates else None,
            )
        )
    return found


def _declared(reader: Reader, upto: int, season: str | None) -> list[str]:
    declared = [name for name, _ in reader.seasons(upto)]
    if season is None:
        return declared
    if season not in declared:
        raise UnknownIdError(f"unknown season {season!r}{suggest(season, declared)}")
    return [season]


def query_seasons(
    ledger: Ledger,
    *,
    season: str | None = None,
    as_of: date | None = None,
    known_at: datetime | None = None,
) -> SeasonList:
    """The seasons declared (or the one named), as known at a time, in declaration order."""
    with ledger.reading() as reader:
        cut = Cut.at(reader, known_at)
        names = _declared(reader, cut.upto, season)
        world = reader.fold(reader.season_events(names, cut.upto))
        calendar = reader.calendar(cut.upto, season)
    return SeasonList(
        known_at=known_at,
        seasons=season_list(world, names, as_of=as_of, calendar=calendar),
        head=cut.head,
    )


def query_cups(
    ledger: Ledger,
    *,
    season: str | None = None,
    known_at: datetime | None = None,
) -> CupList:
    """The cups of a season (or of every season), in declaration order."""
    listed = query_seasons(ledger, season=season, known_at=known_at)
    cups = [cup for s in listed.seasons for cup in s.cups]
    return CupList(season=season, known_at=known_at, cups=cups, head=listed.head)
