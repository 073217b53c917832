"""The audit trail: one row per event, saying who changed what (old → new), when and why.

A pure fold over ``(position, event)`` pairs. It keeps each result's current values as it goes,
so that a disqualification, which carries no values of its own, can still say which recorded
place it removed.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict

from ledger.domain import (
    CompetitorDisqualified,
    DisqualificationWithdrawn,
    LedgerEvent,
    RaceEvent,
    RaceScheduled,
    RaceVoided,
    ResultCorrected,
    ResultEvent,
    ResultRecorded,
    SeasonDeclared,
    competitor_key,
)
from ledger.errors import UnknownIdError
from ledger.ids import suggest
from ledger.values import format_time
from projections.fold import LedgerView, apply
from projections.scoring import ResultState

WHAT = {
    SeasonDeclared: "declared",
    RaceScheduled: "scheduled",
    ResultRecorded: "recorded",
    ResultCorrected: "corrected",
    CompetitorDisqualified: "disqualified",
    DisqualificationWithdrawn: "reinstated",
    RaceVoided: "voided",
}
CHANGES = frozenset({"corrected", "disqualified", "reinstated", "voided"})


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class ResultValues(_Out):
    """A result's values: recorded place, time and status."""

    place: int | None
    time: str | None
    status: str | None
    disqualified: bool = False


class HistoryEntry(_Out):
    """One event of the audit trail."""

    position: int
    recorded_at: datetime
    by: str
    what: str
    event: str
    season: str | None
    race: str | None
    race_date: date | None
    competitor: str | None
    nation: str | None
    old: ResultValues | None
    new: ResultValues | None
    change: str
    reason: str | None
    source: str | None


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, 11th, 21st."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def values_text(values: ResultValues | None) -> str:
    """A result's values as people write them: '3rd in 34.64', 'DNF', 'disqualified'."""
    if values is None:
        return "no result"
    parts = [ordinal(values.place)] if values.place is not None else []
    if values.time is not None:
        parts.append(f"in {values.time}")
    if values.status:
        parts.append(values.status)
    text = " ".join(parts) or "no place"
    return f"{text}, disqualified" if values.disqualified else text


def _values(state: ResultState | None) -> ResultValues | None:
    if state is None:
        return None
    return ResultValues(
        place=state.place,
        time=format_time(state.time) or None,
        status=state.status,
        disqualified=state.disqualified,
    )


def _correction_text(old: ResultValues, new: ResultValues) -> str:
    parts = []
    for field, label in (("place", "place"), ("time", "time"), ("status", "status")):
        before, after = getattr(old, field), getattr(new, field)
        if before != after:
            shown = (
                ordinal(v) if field == "place" and v else (v or "none") for v in (before, after)
            )
            parts.append(f"{label} {' → '.join(shown)}")
    return "; ".join(parts) or "no change"


def _change(event: LedgerEvent, old: ResultValues | None, new: ResultValues | None) -> str:
    if isinstance(event, SeasonDeclared):
        return (
            f"season {event.season!r} declared: {len(event.cups)} cups, {len(event.tables)} tables"
        )
    if isinstance(event, RaceScheduled):
        return f"race scheduled on {event.race_date}, scored by table {event.table}"
    if isinstance(event, RaceVoided):
        return "race void: no points for anyone"
    if isinstance(event, ResultRecorded):
        return values_text(new)
    if isinstance(event, ResultCorrected) and old is not None and new is not None:
        return _correction_text(old, new)
    if isinstance(event, CompetitorDisqualified):
        return f"{values_text(old)} → disqualified"
    if isinstance(event, DisqualificationWithdrawn):
        return f"disqualified → {values_text(new)} again"
    return type(event).__name__


def entries(events: Iterable[tuple[int, LedgerEvent]]) -> list[HistoryEntry]:
    """Every event as an audit-trail row, in log order."""
    view = LedgerView()
    rows = []
    for position, event in events:
        old = new = None
        if isinstance(event, ResultEvent):
            key = competitor_key(event.competitor, event.nation)
            results = view.races[(event.season, event.race)].results
            old = _values(results.get(key))
            apply(view, position, event)
            new = _values(results.get(key))
        else:
            apply(view, position, event)
        race = event if isinstance(event, RaceEvent) else None
        result = event if isinstance(event, ResultEvent) else None
        rows.append(
            HistoryEntry(
                position=position,
                recorded_at=event.recorded_at,
                by=event.by,
                what=WHAT.get(type(event), type(event).__name__),
                event=type(event).__name__,
                season=getattr(event, "season", None),
                race=race.race if race else None,
                race_date=race.race_date if race else None,
                competitor=result.competitor if result else None,
                nation=result.nation if result else None,
                old=None if isinstance(event, ResultRecorded) else old,
                new=new,
                change=_change(event, old, new),
                reason=getattr(event, "reason", None),
                source=event.source,
            )
        )
    return rows


def history(
    rows: Iterable[HistoryEntry],
    *,
    race: tuple[str, str] | None = None,
    competitor: str | None = None,
    nation: str | None = None,
    since: datetime | None = None,
    as_of: date | None = None,
    changes_only: bool = False,
) -> list[HistoryEntry]:
    """The audit-trail rows that match every filter given.

    ``since`` keeps events recorded at or after it; ``as_of`` keeps race events of races on or
    before that date; ``changes_only`` keeps corrections, disqualifications, reinstatements and
    voided races. A competitor's name is matched case-insensitively; an unknown name is an error.
    """
    rows = list(rows)
    if competitor is not None:
        wanted = competitor.strip().casefold()
        names = {r.competitor for r in rows if r.competitor}
        if not any(n.casefold() == wanted for n in names):
            raise UnknownIdError(f"unknown competitor {competitor!r}{suggest(competitor, names)}")

    def keep(row: HistoryEntry) -> bool:
        if race is not None and (row.season, row.race) != race:
            return False
        if competitor is not None and (row.competitor or "").casefold() != wanted:
            return False
        if nation is not None and (row.nation or "") != nation:
            return False
        if since is not None and row.recorded_at < since:
            return False
        if as_of is not None and row.race_date is not None and row.race_date > as_of:
            return False
        return not changes_only or row.what in CHANGES

    return [row for row in rows if keep(row)]
