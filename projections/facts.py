"""Race-level facts: the events that change a race's results, flattened to rows, and their fold.

The read model (``projections.readmodel``) stores one row per such event; a query folds the
rows of the races it needs, in log order, into the same ``RaceState`` that ``projections.fold``
builds from the events themselves, so the scoring that follows is the same code.

Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from decimal import Decimal
from typing import Any, NamedTuple

from ledger.domain import (
    CompetitorDisqualified,
    DisqualificationWithdrawn,
    RaceVoided,
    ResultCorrected,
    ResultRecorded,
    competitor_key,
)
from projections.fold import RaceState
from projections.scoring import ResultState

RECORDED, CORRECTED, DISQUALIFIED, WITHDRAWN, VOIDED = 1, 2, 3, 4, 5

KINDS: dict[str, int] = {
    ResultRecorded.TOPIC: RECORDED,
    ResultCorrected.TOPIC: CORRECTED,
    CompetitorDisqualified.TOPIC: DISQUALIFIED,
    DisqualificationWithdrawn.TOPIC: WITHDRAWN,
    RaceVoided.TOPIC: VOIDED,
}


class Fact(NamedTuple):
    """One race-level event as a row: what happened to whom in which race (by its position)."""

    position: int
    race: int  # the position of the race's RaceScheduled event: the race's key
    kind: int
    competitor: str | None
    nation: str | None
    place: int | None
    time: str | None  # exact decimal text, as stored
    status: str | None


def _data(value: Any) -> Any:
    """The payload of a transcoded value ({"_type_": ..., "_data_": ...}), or None."""
    return None if value is None else value["_data_"]


def fact(position: int, race: int, kind: int, state: Mapping[str, Any]) -> Fact:
    """The fact of one stored event's decoded state (the transcoder's JSON object)."""
    if kind <= CORRECTED:
        return Fact(
            position,
            race,
            kind,
            state["competitor"],
            state["nation"],
            state["place"],
            _data(state["time"]),
            state["status"],
        )
    return Fact(position, race, kind, state.get("competitor"), state.get("nation"), *_NONE3)


_NONE3 = (None, None, None)


def apply_facts(races: Mapping[int, RaceState], facts: Iterable[Fact]) -> None:
    """Fold facts, in log order, into their races (keyed like ``Fact.race``)."""
    for f in facts:
        race = races[f.race]
        if f.kind == VOIDED:
            race.voided = True
            continue
        assert f.competitor is not None
        key = competitor_key(f.competitor, f.nation)
        results = race.results
        if f.kind == RECORDED:
            time = None if f.time is None else Decimal(f.time)
            results[key] = ResultState(f.competitor, f.nation, f.place, time, f.status, False)
        elif f.kind == CORRECTED:
            time = None if f.time is None else Decimal(f.time)
            results[key] = replace(results[key], place=f.place, time=time, status=f.status)
        elif f.kind == DISQUALIFIED:
            results[key] = replace(results[key], disqualified=True)
        elif f.kind == WITHDRAWN:
            results[key] = replace(results[key], disqualified=False)
