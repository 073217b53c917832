"""The fold from the event log to a view of seasons, cups, races and current results.

``apply(view, event) -> view`` is a pure fold step: the view depends only on the events given,
in the order given; no I/O, no clock. The view is owned by the fold (it is updated in place
for speed, as a season holds thousands of events), so callers build a fresh one per replay.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from functools import singledispatch

from ledger.domain import (
    CompetitorDisqualified,
    DisqualificationWithdrawn,
    LedgerEvent,
    RaceScheduled,
    RaceVoided,
    ResultCorrected,
    ResultRecorded,
    SeasonDeclared,
    competitor_key,
)
from projections.scoring import ResultState


@dataclass
class CupState:
    """A cup as declared."""

    season: str
    cup: str
    name: str
    best: int | None


@dataclass
class SeasonState:
    """A season as declared."""

    season: str
    name: str
    tables: dict[str, list[int]]
    cups: dict[str, CupState]


@dataclass
class RaceState:
    """A race and its competitors' current results."""

    season: str
    race: str
    cup: str
    date: date
    table: str
    points: list[int]
    location: str | None
    venue: str | None
    order: int
    voided: bool = False
    results: dict[str, ResultState] = field(default_factory=dict)


@dataclass
class LedgerView:
    """Everything the log says, as of the last event applied."""

    seasons: dict[str, SeasonState] = field(default_factory=dict)
    races: dict[tuple[str, str], RaceState] = field(default_factory=dict)
    position: int = 0
    recorded_at: datetime | None = None


@singledispatch
def _apply(event: LedgerEvent, view: LedgerView) -> None:
    """Events this view does not need leave it unchanged."""


@_apply.register
def _(event: SeasonDeclared, view: LedgerView) -> None:
    view.seasons[event.season] = SeasonState(
        season=event.season,
        name=event.name,
        tables={k: list(v) for k, v in event.tables.items()},
        cups={
            c["id"]: CupState(event.season, c["id"], c["name"], c.get("best")) for c in event.cups
        },
    )


@_apply.register
def _(event: RaceScheduled, view: LedgerView) -> None:
    view.races[(event.season, event.race)] = RaceState(
        season=event.season,
        race=event.race,
        cup=event.cup,
        date=event.race_date,
        table=event.table,
        points=list(event.points),
        location=event.location,
        venue=event.venue,
        order=len(view.races),
    )


@_apply.register
def _(event: ResultRecorded, view: LedgerView) -> None:
    race = view.races[(event.season, event.race)]
    race.results[competitor_key(event.competitor, event.nation)] = ResultState(
        event.competitor, event.nation, event.place, event.time, event.status, False
    )


@_apply.register
def _(event: ResultCorrected, view: LedgerView) -> None:
    results = view.races[(event.season, event.race)].results
    key = competitor_key(event.competitor, event.nation)
    results[key] = replace(results[key], place=event.place, time=event.time, status=event.status)


@_apply.register
def _(event: CompetitorDisqualified, view: LedgerView) -> None:
    results = view.races[(event.season, event.race)].results
    key = competitor_key(event.competitor, event.nation)
    results[key] = replace(results[key], disqualified=True)


@_apply.register
def _(event: DisqualificationWithdrawn, view: LedgerView) -> None:
    results = view.races[(event.season, event.race)].results
    key = competitor_key(event.competitor, event.nation)
    results[key] = replace(results[key], disqualified=False)


@_apply.register
def _(event: RaceVoided, view: LedgerView) -> None:
    view.races[(event.season, event.race)].voided = True


def apply(view: LedgerView, position: int, event: LedgerEvent) -> LedgerView:
    """One fold step: the view after one more event."""
    _apply(event, view)
    view.position = position
    view.recorded_at = event.timestamp
    return view


def replay(events: Iterable[tuple[int, LedgerEvent]], view: LedgerView | None = None) -> LedgerView:
    """Fold (position, event) pairs, in log order, into a view (a new one unless given)."""
    view = LedgerView() if view is None else view
    for position, event in events:
        apply(view, position, event)
    return view
