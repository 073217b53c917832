"""The seasons and their cups: what the ledger holds, as known at a time.

``season_list`` and ``cup_list`` are the pure parts, over a folded world of the seasons'
declarations and their races' calendar entries; ``query_seasons`` and ``query_cups`` read
exactly those through the reader (one declaration per season, the calendar events of its
races), never a result.
"""

from __future__ import annotations

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


def cup_summary(world: World, cup: CupState, as_of: date | None = None) -> CupSummary:
    """A cup with the races it scores (on or before ``as_of``), from a folded world (pure)."""
    of = cup.rules.get("of")
    dates = sorted(
        r.date
        for r in world.races.values()
        if (r.season, r.cup) == (cup.season, of or cup.cup) and (as_of is None or r.date <= as_of)
    )
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
    world: World, order: list[str], *, as_of: date | None = None
) -> list[SeasonSummary]:
    """The seasons of a folded world, in ``order`` (declaration order), with their cups (pure)."""
    found = []
    for name in order:
        season = world.seasons.get(name)
        if season is None:
            continue
        dates = sorted(
            r.date
            for r in world.races.values()
            if r.season == name and (as_of is None or r.date <= as_of)
        )
        found.append(
            SeasonSummary(
                season=name,
                name=season.name,
                cups=[cup_summary(world, cup, as_of) for cup in season.cups.values()],
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


def _calendar(reader: Reader, names: list[str], upto: int) -> World:
    """The seasons' declarations and their races' calendar entries, folded at ``upto``."""
    keys = [k for name in names for k in reader.race_keys(season=name, upto=upto)]
    world = reader.calendar_world(keys, upto)
    missing = [name for name in names if name not in world.seasons]  # seasons without races
    return reader.fold(reader.season_events(missing, upto), world=world) if missing else world


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
        world = _calendar(reader, names, cut.upto)
    return SeasonList(
        known_at=known_at, seasons=season_list(world, names, as_of=as_of), head=cut.head
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
