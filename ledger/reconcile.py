"""Reconciling a re-published results file: the amendments that make the ledger hold it.

A results office receives a corrected official file for races it has already recorded. For the
races the file names, the file is compared with what the ledger holds, as the ledger would
export it (effective places, a disqualified competitor as ``DQ``), and the differences become
ordinary amendments: a late result for a competitor the ledger lacks, a withdrawal for a
result the file no longer has, a reinstatement for a disqualification the file drops, and a
correction for changed values. Identical rows are no change.

Places in a file are effective places (what an export writes). A correction sets a result's
recorded place to the file's; when a disqualified competitor ahead makes the recorded places
differ from the effective ones, every classified result of the race is given its file place.
The plan is checked by folding it (see ``plan_race``).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ledger.bulk import Identity
from ledger.events import (
    CompetitorDisqualified,
    DisqualificationWithdrawn,
    LedgerEvent,
    ResultCorrected,
    ResultRecorded,
    ResultWithdrawn,
    competitor_key,
)
from ledger.fold import RaceState, ResultState, World, apply
from ledger.values import ParsedRow

Values = tuple[int | None, Decimal | None, str | None, Decimal | None, str | None]


@dataclass(frozen=True)
class Wanted:
    """A file's row for one competitor of a race, as the export should read."""

    row: ParsedRow
    who: Identity

    @property
    def values(self) -> Values:
        """(place, time, status, bonus, team) as the file gives them."""
        r = self.row
        return (r.place, r.time, r.status, r.bonus, r.team)


def _same(competitor_id: str) -> str:
    return competitor_id


def exported(race: RaceState, identity: Callable[[str], str] = _same) -> dict[str, Values]:
    """What an export writes for each competitor of a race, by the competitor it counts for
    (merges followed): effective place, time, status (DQ for a disqualified one), bonus, team
    (the results of a void race, as they stand)."""
    from bisect import bisect_left

    places = sorted(r.place for r in race.results.values() if r.classified and r.place is not None)
    found: dict[str, Values] = {}
    for key, r in race.results.items():
        place = 1 + bisect_left(places, r.place) if r.classified and r.place is not None else None
        status = r.status or ("DQ" if r.disqualified else None)
        found[identity(key)] = (place, r.time, status, r.bonus, r.team)
    return found


Decision = tuple[type[LedgerEvent], dict[str, Any]]


def plan_race(
    race: RaceState, wanted: Sequence[Wanted], identity: Callable[[str], str] = _same
) -> list[Decision]:
    """The amendments that make one race export as the file's rows say (none if it does).

    Tried result by result first; if the race would still not export as the file says (a
    disqualified competitor ahead keeps recorded places apart from effective ones), every
    classified result gets the file's place as its recorded place. A file whose places no
    ranking gives (1, 3, 4: a result left out) is then recorded as given, as an import would
    record it, and ``ledger check`` points at the gap.

    ``identity`` gives the competitor a result counts for (``World.identity``): a result held
    under a name since merged into another is that other competitor's."""
    target = {identity(w.who.competitor_id): w.values for w in wanted}
    decisions: list[Decision] = []
    for every_place in (False, True):
        decisions = _decide(race, wanted, identity, every_place=every_place)
        trial = copy.deepcopy(race)
        world = World(races={trial.key: trial})
        for position, (cls, fields) in enumerate(decisions, 1):
            apply(world, position, _event(cls, fields))
        if exported(trial, identity) == target:
            return decisions
    return decisions


def _decide(
    race: RaceState, wanted: Sequence[Wanted], identity: Callable[[str], str], *, every_place: bool
) -> list[Decision]:
    context = {"season": race.season, "race": race.race, "cup": race.cup, "race_date": race.date}
    now = exported(race, identity)
    held_as = {identity(key): key for key in race.results}
    decisions: list[Decision] = []
    named = {identity(w.who.competitor_id) for w in wanted}
    for key, held in sorted(race.results.items()):
        if identity(key) not in named:
            decisions.append(
                (
                    ResultWithdrawn,
                    {
                        **context,
                        **_who(held),
                        **_old(held),
                        "disqualified": held.disqualified,
                    },
                )
            )
    for w in wanted:
        key = identity(w.who.competitor_id)
        result = race.results.get(held_as.get(key, key))
        place, time, status, bonus, team = w.values
        if result is None:
            decisions.append(
                (
                    ResultRecorded,
                    {
                        **context,
                        "competitor": w.who.name,
                        "nation": w.row.nation,
                        "competitor_id": w.who.competitor_id,
                        "athlete_id": w.row.athlete_id,
                        "place": place,
                        "time": time,
                        "status": status,
                        "bonus": bonus,
                        "team": team,
                    },
                )
            )
            continue
        if now[key] == w.values and not (every_place and result.place != place):
            continue
        if result.disqualified and status != "DQ":
            decisions.append((DisqualificationWithdrawn, {**context, **_who(result)}))
        if result.disqualified and status == "DQ":
            recorded: Values = (result.place, time, result.status, bonus, team)
        else:
            recorded = (place, time, status, bonus, team)
        if recorded != (result.place, result.time, result.status, result.bonus, result.team):
            decisions.append(
                (
                    ResultCorrected,
                    {
                        **context,
                        **_who(result),
                        **_old(result),
                        **dict(
                            zip(("place", "time", "status", "bonus", "team"), recorded, strict=True)
                        ),
                    },
                )
            )
    return decisions


def _who(result: ResultState) -> dict[str, Any]:
    return {
        "competitor": result.name,
        "nation": result.nation,
        "competitor_id": result.competitor_id,
    }


def _old(result: ResultState) -> dict[str, Any]:
    return {
        "old_place": result.place,
        "old_time": result.time,
        "old_status": result.status,
        "old_bonus": result.bonus,
        "old_team": result.team,
    }


def _event(cls: type[LedgerEvent], fields: dict[str, Any]) -> LedgerEvent:
    """An event to fold a plan with (ids and times do not matter to the fold)."""
    from datetime import UTC, datetime
    from uuid import UUID

    extra = {"reason": ""} if cls is not ResultRecorded else {}
    return cls(  # type: ignore[call-arg]
        originator_id=UUID(int=0),
        originator_version=1,
        timestamp=datetime(2000, 1, 1, tzinfo=UTC),
        by="",
        source=None,
        command=None,
        **fields,
        **extra,
    )


def describe(decisions: Sequence[Decision]) -> str:
    """A plan in a few words: how many results of each kind it records."""
    counts: dict[str, int] = {}
    for cls, _ in decisions:
        counts[cls.WHAT] = counts.get(cls.WHAT, 0) + 1
    return ", ".join(f"{n} {what}" for what, n in counts.items()) or "no change"


_ = (CompetitorDisqualified, competitor_key)
