"""The thin I/O layer of the audit queries: read the log once, hand it to the pure functions."""

from __future__ import annotations

from datetime import date, datetime

from ledger.application import Ledger
from ledger.domain import LedgerEvent, RaceEvent
from projections.checks import DataWarning, checks
from projections.diff import Side, StandingsDiff, diff
from projections.explain import Explanation, explain
from projections.fold import replay
from projections.history import HistoryEntry, entries, history
from projections.views import resolve_cup, resolve_race


def load_events(ledger: Ledger, known_at: datetime | None = None) -> list[tuple[int, LedgerEvent]]:
    """The log in order (only the events recorded at or before ``known_at``, if given)."""
    upto = ledger.position_at(known_at) if known_at is not None else None
    return list(ledger.read_events(upto=upto))


def query_history(
    ledger: Ledger,
    *,
    race: str | None = None,
    competitor: str | None = None,
    nation: str | None = None,
    since: datetime | None = None,
    as_of: date | None = None,
    known_at: datetime | None = None,
    changes_only: bool = False,
) -> list[HistoryEntry]:
    """The audit trail, filtered."""
    events = load_events(ledger, known_at)
    key = resolve_race(replay(events), race) if race is not None else None
    return history(
        entries(events),
        race=key,
        competitor=competitor,
        nation=nation,
        since=since,
        as_of=as_of,
        changes_only=changes_only,
    )


def last_entry(ledger: Ledger) -> HistoryEntry:
    """The audit-trail row of the newest event (what a command just recorded)."""
    return entries(ledger.read_events())[-1]


def query_checks(
    ledger: Ledger,
    race: str | None = None,
    *,
    races: list[tuple[str, str]] | None = None,
    known_at: datetime | None = None,
) -> list[DataWarning]:
    """Data warnings of one race, of the given (season, race) keys, or of every race."""
    view = replay(load_events(ledger, known_at))
    if race is not None:
        races = [resolve_race(view, race)]
    return checks(view, races)


def checks_after(ledger: Ledger, position: int) -> list[DataWarning]:
    """Data warnings of the races that events after ``position`` touched (what an import wrote)."""
    events = load_events(ledger)
    touched = sorted(
        {(e.season, e.race) for p, e in events if p > position and isinstance(e, RaceEvent)}
    )
    return checks(replay(events), touched)


def query_explain(
    ledger: Ledger,
    cup: str,
    competitor: str,
    *,
    nation: str | None = None,
    as_of: date | None = None,
    known_at: datetime | None = None,
) -> Explanation:
    """A competitor's standing in a cup, explained."""
    view = replay(load_events(ledger, known_at))
    season, cup_id = resolve_cup(view, cup)
    return explain(view, season, cup_id, competitor, nation=nation, as_of=as_of, known_at=known_at)


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
    events = load_events(ledger)
    head = events[-1][0] if events else 0
    before_pos = ledger.position_at(known_at) if known_at is not None else head
    after_known: datetime | None
    if vs is not None:
        after_pos, after_known = ledger.position_at(vs), vs
    elif vs_as_of is not None:
        after_pos, after_known = before_pos, known_at
    else:
        after_pos, after_known = head, None
    season, cup_id = resolve_cup(replay(events), cup)
    return diff(
        events,
        entries(events),
        season,
        cup_id,
        Side(as_of=as_of, known_at=known_at, position=before_pos),
        Side(
            as_of=vs_as_of if vs_as_of is not None else as_of,
            known_at=after_known,
            position=after_pos,
        ),
    )
