"""How a cup's standings changed between two knowledge times and/or two dates, and why.

Each side is a (as-of date, log position) pair. A competitor *moves* when its rank, points or
name differ between the sides. The causes of a move are

- the events recorded between the two positions that changed the competitor's points in one
  of the cup's races (a correction of its own result, or a disqualification, withdrawal or
  correction of someone ahead of it in that race, a voided or moved race, another table), a
  change of its name, or of its standing in the cup (an exclusion, a deduction), found by
  folding those events one at a time, and
- for two dates, the cup's races between them in which the competitor scored.

A move also lists, by name, whom the competitor overtook and who overtook it (competitors
ranked on both sides whose order relative to it flipped). Competitors are matched by their
id, so a renamed competitor is one competitor that moved (or not), under its new name.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from ledger.application import Ledger
from ledger.events import CompetitorRenamed, CupEvent, LedgerEvent, RaceEvent, ResultEvent
from ledger.fold import CupKey, RaceState, World, apply
from ledger.reader import Positioned
from ledger.values import format_points
from projections.frames import frame_of
from projections.history import change_text, entry, ordinal, subject
from projections.models import Cut, HeadRef
from projections.models import Out as _Out
from projections.standings import cup_races, placings, spec_of, standings

Key = str  # a competitor's id


class Side(_Out):
    """One side of a diff: the date and the knowledge time (log position) it was taken at."""

    as_of: date | None
    known_at: datetime | None
    position: int


class Cause(_Out):
    """Why a competitor's standing changed: an event recorded in between, or a race run."""

    kind: str  # "event" or "race"
    race: str | None
    position: int | None
    recorded_at: datetime | None
    by: str | None
    what: str
    change: str
    reason: str | None
    source: str | None


class Move(_Out):
    """A competitor whose rank, points or name differ between the two sides."""

    competitor: str
    nation: str | None
    competitor_id: str
    name_before: str | None
    rank_before: int | None
    rank_after: int | None
    points_before: Decimal
    points_after: Decimal
    causes: list[Cause]
    overtook: list[str]  # ahead of it before, behind it after
    overtaken_by: list[str]  # behind it before, ahead of it after


class StandingsDiff(_Out):
    """The moves in a cup's standings between two sides."""

    season: str
    cup: str
    cup_name: str
    before: Side
    after: Side
    moves: list[Move]
    head: HeadRef | None = None

    def to_dataframe(self) -> Any:
        """A pandas DataFrame of the moves: ranks and points before and after, and why."""
        return frame_of(Move, self.moves)


def race_points(world: World, race: RaceState) -> dict[Key, Decimal]:
    """Each competitor's points in a race, as the race stands."""
    return {world.identity(p.result.competitor_id): p.points for p in placings(race)}


def _cause(position: int, event: LedgerEvent, old: object, new: object, race: str | None) -> Cause:
    row = entry(position, event, old, new)  # type: ignore[arg-type]
    who = f"{row.competitor} ({row.nation})" if row.nation else row.competitor
    if isinstance(event, ResultEvent):
        text = f"{who} {row.what}" + (
            f": {row.change}" if row.what in ("corrected", "recorded") else ""
        )
    elif isinstance(event, CompetitorRenamed | CupEvent):
        text = f"{row.what}: {row.change}"
    else:
        text = row.change
    return Cause(
        kind="event",
        race=race,
        position=position,
        recorded_at=row.recorded_at,
        by=row.by,
        what=row.what,
        change=text,
        reason=row.reason,
        source=row.source,
    )


def _event_causes(
    events: Sequence[Positioned],
    cup: CupKey,
    race_cup: CupKey,
    lo: int,
    hi: int,
    latest: date | None,
) -> dict[Key, list[Cause]]:
    causes: dict[Key, list[Cause]] = {}
    world = World()
    for position, event in events:
        if position <= lo:
            apply(world, position, event)
            continue
        if position > hi:
            break
        race = world.races.get((event.season, event.race)) if isinstance(event, RaceEvent) else None
        relevant = race is not None and (race.season, race.cup) == race_cup
        if race is not None and relevant and latest is not None:
            relevant = race.date <= latest or (
                isinstance(event, RaceEvent) and event.race_date <= latest
            )
        before = race_points(world, race) if race is not None and relevant else {}
        old = subject(world, event)
        apply(world, position, event)
        new = subject(world, event)
        touched: set[Key] = set()
        if race is not None and relevant:
            after = race_points(world, race)
            touched = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
            if isinstance(event, ResultEvent):
                touched.add(world.identity(event.competitor_id))
        elif isinstance(event, CompetitorRenamed):
            touched = {world.identity(event.competitor_id), event.competitor_id}
        elif isinstance(event, CupEvent) and (event.season, event.cup) == cup:
            touched = {world.identity(event.competitor_id)}
        for key in touched:
            causes.setdefault(key, []).append(
                _cause(position, event, old, new, race.race if race is not None else None)
            )
    return causes


def _race_causes(
    world: World, race_cup: CupKey, lo: date | None, hi: date | None
) -> dict[Key, list[Cause]]:
    causes: dict[Key, list[Cause]] = {}
    for race in cup_races(world, race_cup, hi):
        if lo is not None and race.date <= lo:
            continue
        for placing in placings(race):
            if placing.points:
                causes.setdefault(world.identity(placing.result.competitor_id), []).append(
                    Cause(
                        kind="race",
                        race=race.race,
                        position=None,
                        recorded_at=None,
                        by=None,
                        what="raced",
                        change=f"{ordinal(placing.place) if placing.place else 'unplaced'}"
                        f" on {race.date}: +{format_points(placing.points)} points",
                        reason=None,
                        source=None,
                    )
                )
    return causes


def _date_window(a: date | None, b: date | None) -> tuple[date | None, date | None] | None:
    if a == b:
        return None
    if a is None or (b is not None and b < a):
        return b, a
    return a, b


def diff(events: Sequence[Positioned], cup: CupKey, before: Side, after: Side) -> StandingsDiff:
    """The moves in a cup's standings between two sides, with their causes (pure).

    ``events`` are every event of the cup (its races, its competitors' renames, its
    exclusions and deductions, its season) up to at least the later position, in log order.
    """
    world_before = World()
    world_after = World()
    for position, event in events:
        if position <= before.position:
            apply(world_before, position, event)
        if position <= after.position:
            apply(world_after, position, event)
    spec = spec_of(world_after, cup)
    race_cup = (cup[0], spec.rules.get("of") or cup[1])
    table_before = standings(world_before, cup, as_of=before.as_of)
    table_after = standings(world_after, cup, as_of=after.as_of)
    sides = [
        {r.competitor_id: r for r in t.standings if r.competitor_id}
        for t in (table_before, table_after)
    ]
    ranks = [{k: r.rank for k, r in side.items()} for side in sides]
    lo, hi = sorted((before.position, after.position))
    latest = None if None in (before.as_of, after.as_of) else max(before.as_of, after.as_of)  # type: ignore[type-var]
    causes = _event_causes(events, cup, race_cup, lo, hi, latest)
    window = _date_window(before.as_of, after.as_of)
    if window is not None:
        for key, more in _race_causes(world_after, race_cup, *window).items():
            causes.setdefault(key, []).extend(more)
    moves = []
    for key in sides[0].keys() | sides[1].keys():
        old, new = sides[0].get(key), sides[1].get(key)
        same = (
            old is not None
            and new is not None
            and (old.rank, old.points, old.competitor) == (new.rank, new.points, new.competitor)
        )
        if same:
            continue
        shown = new or old
        assert shown is not None
        overtook: list[str] = []
        overtaken_by: list[str] = []
        if old and new:
            ahead = [
                {k for k, rank in side.items() if rank < mine}
                for side, mine in ((ranks[0], old.rank), (ranks[1], new.rank))
            ]
            overtook = sorted(sides[1][k].competitor for k in ahead[0] - ahead[1] if k in ranks[1])
            overtaken_by = sorted(
                sides[1][k].competitor
                for k in ahead[1] - ahead[0]
                if k in ranks[0] and k in sides[1]
            )
        moves.append(
            Move(
                competitor=shown.competitor,
                nation=shown.nation,
                competitor_id=key,
                name_before=old.competitor
                if old and new and old.competitor != new.competitor
                else None,
                rank_before=old.rank if old else None,
                rank_after=new.rank if new else None,
                points_before=old.points if old else Decimal(0),
                points_after=new.points if new else Decimal(0),
                causes=causes.get(key, []),
                overtook=overtook,
                overtaken_by=overtaken_by,
            )
        )
    moves.sort(key=lambda m: (m.rank_after is None, m.rank_after or 0, m.competitor))
    return StandingsDiff(
        season=cup[0],
        cup=cup[1],
        cup_name=table_after.cup_name,
        before=before,
        after=after,
        moves=moves,
    )


def query_diff(
    ledger: Ledger,
    cup: str,
    *,
    known_at: datetime | None = None,
    vs: datetime | None = None,
    as_of: date | None = None,
    vs_as_of: date | None = None,
) -> StandingsDiff:
    """How a cup's standings moved from (as_of, known_at) to (vs_as_of, vs).

    A knowledge diff (``known_at`` given, ``vs_as_of`` not) compares against ``vs`` or
    everything recorded, at the same date. A date diff (``vs_as_of`` given) compares two
    dates, both as known at ``known_at`` unless ``vs`` sets the second side's knowledge time.
    """
    with ledger.reading() as reader:
        now = Cut.at(reader, None)
        first = Cut.at(reader, known_at)
        if vs is not None:
            second = Cut.at(reader, vs)
        elif vs_as_of is not None:
            second = first
        else:
            second = now
        top = max(first.upto, second.upto)
        key = reader.resolve_cup(cup, top)
        events = reader.cup_events(key, top)
    result = diff(
        events,
        key,
        Side(as_of=as_of, known_at=known_at, position=first.upto),
        Side(
            as_of=vs_as_of if vs_as_of is not None else as_of,
            known_at=second.known_at,
            position=second.upto,
        ),
    )
    return result.model_copy(update={"head": now.head})


_ = change_text
