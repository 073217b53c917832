"""The one fold: how each event changes the ledger, written once, in one table of transitions.

``apply(world, position, event)`` is the only place that says what an event does. The write
side folds the events of the races a command touches to check it; the read side folds the
events a query needs (one cup, one race, one competitor's career); the audit trail folds them
one at a time to say what each one changed. A new kind of event is its class in
``ledger.events`` and one entry in ``TRANSITIONS``; every consumer picks it up.

A ``World`` holds only what was loaded (the reader hands a fold exactly the events its question
needs, and the seasons, races and competitors they concern): a transition whose race or
competitor is not in the world changes nothing. The world is owned by the fold and changed in
place (a race of 10,000 results is not copied 10,000 times); the values inside it are frozen.
Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from ledger.events import (
    CommandReverted,
    CompetitorDisqualified,
    CompetitorExcluded,
    CompetitorReadmitted,
    CompetitorRenamed,
    DeductionCancelled,
    DisqualificationWithdrawn,
    LedgerEvent,
    PointsDeducted,
    RaceRescheduled,
    RaceRetabled,
    RaceScheduled,
    RaceUnvoided,
    RaceVoided,
    ResultCorrected,
    ResultRecorded,
    ResultRestored,
    ResultWithdrawn,
    SeasonDeclared,
    competitor_key,
)
from ledger.identity import canonical

RaceKey = tuple[str, str]
CupKey = tuple[str, str]


@dataclass(frozen=True, init=False)
class ResultState:
    """A competitor's current result in a race: the label it is held under, and its values."""

    competitor_id: str  # the competitor it was recorded for (see World.identity for merges)
    name: str
    nation: str | None
    place: int | None
    time: Decimal | None
    status: str | None
    disqualified: bool = False
    bonus: Decimal | None = None
    team: str | None = None

    def __init__(
        self,
        competitor_id: str,
        name: str,
        nation: str | None,
        place: int | None,
        time: Decimal | None,
        status: str | None,
        disqualified: bool = False,
        bonus: Decimal | None = None,
        team: str | None = None,
    ) -> None:
        # A fold makes one per result: set in one step, not field by field through the
        # frozen class's guard (a large import's results are made in half the time).
        self.__dict__.update(
            competitor_id=competitor_id,
            name=name,
            nation=nation,
            place=place,
            time=time,
            status=status,
            disqualified=disqualified,
            bonus=bonus,
            team=team,
        )

    @property
    def classified(self) -> bool:
        """Whether this result takes a place in the race's classification."""
        return self.place is not None and self.status is None and not self.disqualified

    @property
    def label(self) -> str:
        """Name and nation, as people write them."""
        return competitor_key(self.name, self.nation)

    def values(self) -> tuple[Any, ...]:
        """What a correction can change, in order: place, time, status, bonus, team."""
        return (self.place, self.time, self.status, self.bonus, self.team)


@dataclass
class RaceState:
    """A race: its calendar entry, its table, and its competitors' current results."""

    season: str
    race: str
    cup: str
    date: date
    table: str
    points: tuple[Decimal, ...]
    location: str | None
    venue: str | None
    order: int  # the log position that scheduled it: the order of races on the same date
    voided: bool = False
    results: dict[str, ResultState] = field(default_factory=dict)

    @property
    def key(self) -> RaceKey:
        """(season, race)."""
        return (self.season, self.race)

    @property
    def label(self) -> str:
        """The race's qualified id, as users type it."""
        return f"{self.season}/{self.race}"


@dataclass
class CupState:
    """A cup as declared (its rules, as stored), and who is excluded or penalised in it."""

    season: str
    cup: str
    name: str
    rules: dict[str, Any]
    excluded: dict[str, int] = field(default_factory=dict)  # competitor -> since position
    deductions: dict[int, tuple[str, Decimal]] = field(default_factory=dict)  # by position

    @property
    def best(self) -> int | None:
        """The best-N rule, if the cup has one."""
        best = self.rules.get("best")
        return int(best) if best is not None else None


@dataclass
class SeasonState:
    """A season as declared: its point tables and cups."""

    season: str
    name: str
    tables: dict[str, tuple[Decimal, ...]]
    cups: dict[str, CupState]


@dataclass
class CompetitorState:
    """What the fold knows of a competitor beyond its results: whom it was merged into, and
    its renames in order (position, old label, new label), for labelling a result that comes
    back after them."""

    competitor_id: str
    merged_into: str | None = None
    renames: list[tuple[int, tuple[str, str | None], tuple[str, str | None]]] = field(
        default_factory=list
    )

    def label(self, name: str, nation: str | None, after: int) -> tuple[str, str | None]:
        """The label a result written as (name, nation) at position `after` holds now: each
        later rename of that label applied, as the fold applies it to results."""
        for position, (old_name, old_nation), new in self.renames:
            if position > after and _held_under(name, nation, canonical(old_name), old_nation):
                name, nation = new
        return name, nation


def _held_under(name: str, nation: str | None, old: str, old_nation: str | None) -> bool:
    """Whether a result labelled (name, nation) is held under a label a rename moves (its
    canonical name ``old``, and ``old_nation``)."""
    return nation == old_nation and canonical(name) == old


@dataclass
class World:
    """The part of the ledger a fold has loaded, as of the last event applied."""

    seasons: dict[str, SeasonState] = field(default_factory=dict)
    races: dict[RaceKey, RaceState] = field(default_factory=dict)
    competitors: dict[str, CompetitorState] = field(default_factory=dict)
    position: int = 0
    recorded_at: datetime | None = None

    def identity(self, competitor_id: str) -> str:
        """The competitor a result counts for now: merges followed to their end."""
        seen = 0
        while (state := self.competitors.get(competitor_id)) is not None and state.merged_into:
            competitor_id = state.merged_into
            seen += 1
            if seen > len(self.competitors):  # a cycle only a tampered log could hold
                break
        return competitor_id

    def cup(self, key: CupKey) -> CupState | None:
        """A declared cup, if its season is loaded."""
        season = self.seasons.get(key[0])
        return season.cups.get(key[1]) if season is not None else None


# --- the transitions ---------------------------------------------------------------------

E = TypeVar("E", bound=LedgerEvent)
Transition = Callable[[World, int, Any], None]


def _declared(w: World, position: int, e: SeasonDeclared) -> None:
    w.seasons[e.season] = SeasonState(
        season=e.season,
        name=e.name,
        tables={name: tuple(map(Decimal, table)) for name, table in e.tables.items()},
        cups={c["id"]: CupState(e.season, c["id"], c["name"], dict(c)) for c in e.cups},
    )


def _scheduled(w: World, position: int, e: RaceScheduled) -> None:
    w.races[(e.season, e.race)] = RaceState(
        season=e.season,
        race=e.race,
        cup=e.cup,
        date=e.race_date,
        table=e.table,
        points=tuple(map(Decimal, e.points)),
        location=e.location,
        venue=e.venue,
        order=position,
    )


def _rescheduled(w: World, position: int, e: RaceRescheduled) -> None:
    if (race := w.races.get((e.season, e.race))) is not None:
        race.date = e.race_date


def _retabled(w: World, position: int, e: RaceRetabled) -> None:
    if (race := w.races.get((e.season, e.race))) is not None:
        race.table, race.points = e.table, tuple(map(Decimal, e.points))


def _voided(w: World, position: int, e: RaceVoided) -> None:
    if (race := w.races.get((e.season, e.race))) is not None:
        race.voided = True


def _unvoided(w: World, position: int, e: RaceUnvoided) -> None:
    if (race := w.races.get((e.season, e.race))) is not None:
        race.voided = False


def _recorded(w: World, position: int, e: ResultRecorded | ResultRestored) -> None:
    if (race := w.races.get((e.season, e.race))) is not None:
        race.results[e.competitor_id] = ResultState(
            e.competitor_id,
            e.competitor,
            e.nation,
            e.place,
            e.time,
            e.status,
            getattr(e, "disqualified", False),
            e.bonus,
            e.team,
        )


def _result(w: World, e: Any) -> tuple[RaceState, ResultState] | None:
    race = w.races.get((e.season, e.race))
    if race is None or (result := race.results.get(e.competitor_id)) is None:
        return None
    return race, result


def _corrected(w: World, position: int, e: ResultCorrected) -> None:
    if (found := _result(w, e)) is not None:
        race, result = found
        race.results[e.competitor_id] = replace(
            result, place=e.place, time=e.time, status=e.status, bonus=e.bonus, team=e.team
        )


def _disqualified(w: World, position: int, e: CompetitorDisqualified) -> None:
    if (found := _result(w, e)) is not None:
        race, result = found
        race.results[e.competitor_id] = replace(result, disqualified=True)


def _reinstated(w: World, position: int, e: DisqualificationWithdrawn) -> None:
    if (found := _result(w, e)) is not None:
        race, result = found
        race.results[e.competitor_id] = replace(result, disqualified=False)


def _withdrawn(w: World, position: int, e: ResultWithdrawn) -> None:
    if (found := _result(w, e)) is not None:
        del found[0].results[e.competitor_id]


def _renamed(w: World, position: int, e: CompetitorRenamed) -> None:
    """Every result held under the old label by this competitor now has the new label."""
    state = w.competitors.setdefault(e.competitor_id, CompetitorState(e.competitor_id))
    state.renames.append((position, (e.old_name, e.old_nation), (e.name, e.nation)))
    if e.unmerged_from is not None:
        state.merged_into = None  # first: the results to relabel are this competitor's again
    old_name = canonical(e.old_name)
    for race in w.races.values():
        for key, result in race.results.items():
            if (
                _held_under(result.name, result.nation, old_name, e.old_nation)
                and w.identity(result.competitor_id) == e.competitor_id
            ):
                race.results[key] = replace(result, name=e.name, nation=e.nation)
    if e.merged_into is not None:
        state.merged_into = e.merged_into


def _cup_state(w: World, e: Any) -> CupState | None:
    return w.cup((e.season, e.cup))


def _excluded(w: World, position: int, e: CompetitorExcluded) -> None:
    if (cup := _cup_state(w, e)) is not None:
        cup.excluded[e.competitor_id] = position


def _readmitted(w: World, position: int, e: CompetitorReadmitted) -> None:
    if (cup := _cup_state(w, e)) is not None:
        cup.excluded.pop(e.competitor_id, None)


def _deducted(w: World, position: int, e: PointsDeducted) -> None:
    if (cup := _cup_state(w, e)) is not None:
        cup.deductions[position] = (e.competitor_id, e.points)


def _deduction_cancelled(w: World, position: int, e: DeductionCancelled) -> None:
    if (cup := _cup_state(w, e)) is not None:
        cup.deductions.pop(e.deduction, None)


def _reverted(w: World, position: int, e: CommandReverted) -> None:
    """The compensating events that follow it say what changes."""


TRANSITIONS: dict[type[LedgerEvent], Transition] = {
    SeasonDeclared: _declared,
    RaceScheduled: _scheduled,
    RaceRescheduled: _rescheduled,
    RaceRetabled: _retabled,
    RaceVoided: _voided,
    RaceUnvoided: _unvoided,
    ResultRecorded: _recorded,
    ResultRestored: _recorded,
    ResultCorrected: _corrected,
    CompetitorDisqualified: _disqualified,
    DisqualificationWithdrawn: _reinstated,
    ResultWithdrawn: _withdrawn,
    CompetitorRenamed: _renamed,
    CompetitorExcluded: _excluded,
    CompetitorReadmitted: _readmitted,
    PointsDeducted: _deducted,
    DeductionCancelled: _deduction_cancelled,
    CommandReverted: _reverted,
}


def apply(world: World, position: int, event: LedgerEvent) -> World:
    """One fold step: the world after one more event."""
    TRANSITIONS[type(event)](world, position, event)
    world.position = position
    world.recorded_at = event.timestamp
    return world


def replay(events: Iterable[tuple[int, LedgerEvent]], world: World | None = None) -> World:
    """Fold (position, event) pairs, in log order, into a world (a new one unless given)."""
    world = World() if world is None else world
    for position, event in events:
        apply(world, position, event)
    return world
