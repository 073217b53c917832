"""How a cup's standings changed between two knowledge times and/or two dates, and why.

Each side is a (as-of date, log position) pair. A competitor *moves* when its rank or points
differ between the sides. The causes of a move are

- the events recorded between the two positions that changed the competitor's points in one
  of the cup's races (a correction of its own result, or a disqualification, reinstatement or
  correction of someone ahead of it in that race, or a voided race), found by replaying those
  events one at a time, and
- for two dates, the cup's races between them in which the competitor scored.

A move also lists, by name, whom the competitor overtook and who overtook it (competitors
ranked on both sides whose order relative to it flipped).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict

from ledger.domain import LedgerEvent, RaceEvent, ResultEvent
from projections.fold import LedgerView, RaceState, apply, replay
from projections.history import HistoryEntry, ordinal
from projections.scoring import classify_results
from projections.views import standings

Key = tuple[str, str | None]


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class Side(_Out):
    """One side of a diff: the date and the knowledge time (log position) it was taken at."""

    as_of: date | None
    known_at: datetime | None
    position: int


class Cause(_Out):
    """Why a competitor's points changed: an event recorded in between, or a race in between."""

    kind: str  # "event" or "race"
    race: str
    position: int | None
    recorded_at: datetime | None
    by: str | None
    what: str
    change: str
    reason: str | None
    source: str | None


class Move(_Out):
    """A competitor whose rank or points differ between the two sides."""

    competitor: str
    nation: str | None
    rank_before: int | None
    rank_after: int | None
    points_before: int
    points_after: int
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


def race_points(race: RaceState) -> dict[Key, int]:
    """Each competitor's points in a race, as the race stands."""
    return {
        (p.result.competitor, p.result.nation): p.points
        for p in classify_results(list(race.results.values()), race.points, voided=race.voided)
    }


def _event_causes(
    events: Sequence[tuple[int, LedgerEvent]],
    entries: dict[int, HistoryEntry],
    season: str,
    cup: str,
    lo: int,
    hi: int,
    latest: date | None,
) -> dict[Key, list[Cause]]:
    causes: dict[Key, list[Cause]] = {}
    view = replay(e for e in events if e[0] <= lo)
    for position, event in events:
        if position <= lo or position > hi:
            continue
        race = view.races.get((event.season, event.race)) if isinstance(event, RaceEvent) else None
        relevant = (
            race is not None
            and (race.season, race.cup) == (season, cup)
            and (latest is None or race.date <= latest)
        )
        before = race_points(race) if race is not None and relevant else {}
        apply(view, position, event)
        if race is None or not relevant:
            continue
        after = race_points(race)
        touched = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
        if isinstance(event, ResultEvent):
            touched.add((event.competitor, event.nation))
        entry = entries[position]
        for key in touched:
            causes.setdefault(key, []).append(
                Cause(
                    kind="event",
                    race=race.race,
                    position=position,
                    recorded_at=entry.recorded_at,
                    by=entry.by,
                    what=entry.what,
                    change=_describe(entry),
                    reason=entry.reason,
                    source=entry.source,
                )
            )
    return causes


def _describe(entry: HistoryEntry) -> str:
    if entry.competitor is None:
        return entry.change
    who = f"{entry.competitor} ({entry.nation})" if entry.nation else entry.competitor
    if entry.what in ("corrected", "recorded"):
        return f"{who} {entry.what}: {entry.change}"
    return f"{who} {entry.what}"


def _race_causes(
    view: LedgerView, season: str, cup: str, lo: date | None, hi: date | None
) -> dict[Key, list[Cause]]:
    causes: dict[Key, list[Cause]] = {}
    for race in sorted(view.races.values(), key=lambda r: (r.date, r.order)):
        if (race.season, race.cup) != (season, cup):
            continue
        if (lo is not None and race.date <= lo) or (hi is not None and race.date > hi):
            continue
        for placing in classify_results(
            list(race.results.values()), race.points, voided=race.voided
        ):
            if placing.points:
                key = (placing.result.competitor, placing.result.nation)
                causes.setdefault(key, []).append(
                    Cause(
                        kind="race",
                        race=race.race,
                        position=None,
                        recorded_at=None,
                        by=None,
                        what="raced",
                        change=f"{ordinal(placing.place or 0)} on {race.date}:"
                        f" +{placing.points} points",
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


def diff(
    events: Sequence[tuple[int, LedgerEvent]],
    entries: Sequence[HistoryEntry],
    season: str,
    cup: str,
    before: Side,
    after: Side,
) -> StandingsDiff:
    """The moves in a cup's standings between two sides, with their causes.

    ``events`` is the log up to at least the later position, ``entries`` its audit trail
    (``projections.history.entries``), used to describe the causes.
    """
    view_before = replay(e for e in events if e[0] <= before.position)
    view_after = replay(e for e in events if e[0] <= after.position)
    table_before = standings(view_before, season, cup, as_of=before.as_of)
    table_after = standings(view_after, season, cup, as_of=after.as_of)
    ranks: list[dict[Key, tuple[int, int]]] = [
        {(r.competitor, r.nation): (r.rank, r.points) for r in t.standings}
        for t in (table_before, table_after)
    ]
    lo, hi = sorted((before.position, after.position))
    latest = None if None in (before.as_of, after.as_of) else max(before.as_of, after.as_of)  # type: ignore[type-var]
    causes = _event_causes(events, {e.position: e for e in entries}, season, cup, lo, hi, latest)
    window = _date_window(before.as_of, after.as_of)
    if window is not None:
        for key, more in _race_causes(view_after, season, cup, *window).items():
            causes.setdefault(key, []).extend(more)
    moves = []
    for key in ranks[0].keys() | ranks[1].keys():
        old, new = ranks[0].get(key), ranks[1].get(key)
        if old == new:
            continue
        competitor, nation = key
        overtook: list[str] = []
        overtaken_by: list[str] = []
        if old and new:
            ahead = [
                {k for k, v in side.items() if v[0] < mine[0]}
                for side, mine in ((ranks[0], old), (ranks[1], new))
            ]
            overtook = sorted(k[0] for k in ahead[0] - ahead[1] if k in ranks[1])
            overtaken_by = sorted(k[0] for k in ahead[1] - ahead[0] if k in ranks[0])
        moves.append(
            Move(
                competitor=competitor,
                nation=nation,
                rank_before=old[0] if old else None,
                rank_after=new[0] if new else None,
                points_before=old[1] if old else 0,
                points_after=new[1] if new else 0,
                causes=causes.get(key, []),
                overtook=overtook,
                overtaken_by=overtaken_by,
            )
        )
    moves.sort(key=lambda m: (m.rank_after is None, m.rank_after or 0, m.competitor))
    return StandingsDiff(
        season=season,
        cup=cup,
        cup_name=table_after.cup_name,
        before=before,
        after=after,
        moves=moves,
    )
