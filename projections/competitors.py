"""Competitors: finding them by name, and a competitor's career across seasons.

``query_competitors`` searches the names held (``read_labels``: every name and nation a
competitor holds, in the canonical form of ``ledger.identity``, case aside), so an answer
costs what it returns, never a read of the log. ``career`` is the pure part of a career,
over the folded world of the competitor's races and the standings of their cups;
``query_competitor`` reads exactly those through the reader (``Reader.career_world``, then
each cup).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from ledger.application import Ledger
from ledger.errors import AmbiguousIdError, UnknownIdError
from ledger.events import competitor_key
from ledger.fold import CupKey, World
from ledger.ids import suggest
from ledger.reader import Held, Reader
from projections.frames import frame_of
from projections.models import Cut, ExactTime, HeadRef, Out
from projections.standings import Standings, clean, placings, standings, status_of


class CompetitorMatch(Out):
    """A competitor whose name matches a search: who, and where it has results."""

    competitor_id: str
    competitor: str
    nation: str | None
    athlete_id: str | None
    results: int
    seasons: list[str]


class CompetitorList(Out):
    """The competitors whose names contain a text (all of them, for none)."""

    search: str | None
    nation: str | None
    known_at: datetime | None
    competitors: list[CompetitorMatch]
    head: HeadRef | None = None

    def to_dataframe(self) -> Any:
        """A pandas DataFrame, one competitor a row."""
        return frame_of(CompetitorMatch, self.competitors)


class CareerResult(Out):
    """One race of a competitor's career: its effective place and race points."""

    season: str
    race: str
    cup: str
    date: date
    place: int | None
    recorded_place: int | None
    time: ExactTime | None
    status: str | None
    points: Decimal
    counted: bool
    voided: bool


class CupStanding(Out):
    """Where a competitor stands in one cup (as of the date asked)."""

    season: str
    cup: str
    cup_name: str
    rank: int | None
    points: Decimal
    results: int


class Career(Out):
    """A competitor's results, points and ranks, in every season the ledger holds."""

    competitor_id: str
    competitor: str
    nation: str | None
    names: list[str]
    as_of: date | None
    known_at: datetime | None
    standings: list[CupStanding]
    results: list[CareerResult]
    head: HeadRef | None = None

    def to_dataframe(self) -> Any:
        """A pandas DataFrame of the career's results, race by race."""
        return frame_of(CareerResult, self.results)


# --- searching ------------------------------------------------------------------------------


def matches(
    held: list[Held], counts: dict[str, dict[str, int]], athletes: dict[str, str]
) -> list[CompetitorMatch]:
    """The competitors found, with their results by season (pure)."""
    return [
        CompetitorMatch(
            competitor_id=h.competitor_id,
            competitor=h.name,
            nation=h.nation,
            athlete_id=athletes.get(h.competitor_id),
            results=sum(counts.get(h.competitor_id, {}).values()),
            seasons=sorted(s for s, n in counts.get(h.competitor_id, {}).items() if n > 0),
        )
        for h in held
    ]


def query_competitors(
    ledger: Ledger,
    search: str | None = None,
    *,
    nation: str | None = None,
    known_at: datetime | None = None,
) -> CompetitorList:
    """The competitors holding a name that contains ``search`` (case aside), as known at a
    time, by name; every competitor when ``search`` is empty."""
    with ledger.reading() as reader:
        cut = Cut.at(reader, known_at)
        held = reader.labels_like(search or "", cut.upto, nation)
        counts: dict[str, dict[str, int]] = {}
        for h in held:
            merged = reader.merged_with({h.key}, cut.upto)
            by_season: dict[str, int] = {}
            for seasons in reader.results_held(merged, cut.upto).values():
                for season, n in seasons.items():
                    by_season[season] = by_season.get(season, 0) + n
            counts[h.competitor_id] = by_season
        athlete = reader.athlete_of(h.key for h in held)
    athletes = {h.competitor_id: athlete[h.key] for h in held if h.key in athlete}
    return CompetitorList(
        search=search,
        nation=nation,
        known_at=known_at,
        competitors=matches(held, counts, athletes),
        head=cut.head,
    )


# --- a career -------------------------------------------------------------------------------


def career(
    world: World,
    competitor_id: str,
    tables: dict[CupKey, Standings],
    held: list[Held],
    *,
    as_of: date | None = None,
    known_at: datetime | None = None,
) -> Career:
    """A competitor's career from its folded races and their cups' standings (pure)."""
    who = world.identity(competitor_id)
    rows = {
        key: next((r for r in table.standings if r.competitor_id == who), None)
        for key, table in tables.items()
    }
    counted = {(key[0], x.race): x.counted for key, row in rows.items() if row for x in row.results}
    results = []
    for race in sorted(world.races.values(), key=lambda r: (r.date, r.season, r.order)):
        if as_of is not None and race.date > as_of:
            continue
        for p in placings(race):
            if world.identity(p.result.competitor_id) == who:
                results.append(
                    CareerResult(
                        season=race.season,
                        race=race.race,
                        cup=race.cup,
                        date=race.date,
                        place=p.place,
                        recorded_place=p.result.place,
                        time=p.result.time,
                        status=status_of(p.result),
                        points=clean(p.points),
                        counted=counted.get((race.season, race.race), False),
                        voided=race.voided,
                    )
                )
    cups = []
    for (season, cup), table in tables.items():
        row = rows[(season, cup)]
        cups.append(
            CupStanding(
                season=season,
                cup=cup,
                cup_name=table.cup_name,
                rank=row.rank if row else None,
                points=row.points if row else Decimal(0),
                results=sum(1 for r in results if (r.season, r.cup) == (season, cup)),
            )
        )
    label = held[0] if held else None
    return Career(
        competitor_id=who,
        competitor=label.name if label else who,
        nation=label.nation if label else None,
        names=[competitor_key(h.name, h.nation) for h in held],
        as_of=as_of,
        known_at=known_at,
        standings=cups,
        results=results,
    )


def find(reader: Reader, name: str, nation: str | None, upto: int) -> Held:
    """The one competitor holding a name (and nation, if given), or a one-line error."""
    held = [h for h in reader.holders(name, upto) if nation is None or h.nation == nation]
    if len({h.competitor_id for h in held}) > 1:
        nations = " or ".join(sorted(h.nation or "(none)" for h in held))
        raise AmbiguousIdError(f"{name!r} is ambiguous; give --nation ({nations})")
    if not held:
        words = name.split()
        near = reader.labels_like((max(words, key=len) if words else name)[:2], upto)
        names = [h.name for h in near]
        raise UnknownIdError(
            f"unknown competitor {competitor_key(name, nation)!r}{suggest(name, names)}"
        )
    return held[0]


def query_competitor(
    ledger: Ledger,
    competitor_id: str | None = None,
    *,
    name: str | None = None,
    nation: str | None = None,
    as_of: date | None = None,
    known_at: datetime | None = None,
) -> Career:
    """A competitor's career (by id, or by name and nation), as of a date, as known at a time."""
    with ledger.reading() as reader:
        cut = Cut.at(reader, known_at)
        if competitor_id is None:
            if name is None:
                raise UnknownIdError("say which competitor: an id, or a name")
            competitor_id = find(reader, name, nation, cut.upto).competitor_id
        key = reader.competitor_keys([competitor_id]).get(competitor_id)
        if key is None or not reader.competitor_positions([key], cut.upto):
            raise UnknownIdError(f"unknown competitor {competitor_id!r}")
        world = reader.career_world([key], cut.upto)
        who = world.identity(competitor_id)
        held = reader.labels_of(reader.competitor_keys([who]).values(), cut.upto)
        cups: set[CupKey] = set()
        for race in world.races.values():
            if any(world.identity(r.competitor_id) == who for r in race.results.values()):
                season = world.seasons.get(race.season)
                spec = season.cups.get(race.cup) if season else None
                if spec is not None and not spec.rules.get("teams"):
                    cups.add((race.season, race.cup))
        tables = {
            cup: standings(reader.cup_world(cup, cut.upto), cup, as_of=as_of, known_at=known_at)
            for cup in sorted(cups, key=lambda c: (_first(world, c), c))
        }
    result = career(world, competitor_id, tables, held, as_of=as_of, known_at=known_at)
    return result.model_copy(update={"head": cut.head})


def _first(world: World, cup: CupKey) -> date:
    return min(r.date for r in world.races.values() if (r.season, r.cup) == cup)
