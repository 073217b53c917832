"""Data warnings that are not errors: results that are recorded as given but look wrong.

- A time that contradicts the places: a better place with a slower time (the men's 500 m
  HVN2 bronze of 34.64, faster than the winner's 34.78, as the source publishes it).
- A place sequence with a gap that no tie explains (1, 2, 4 with no tie at 2), or a place
  that a tie should have skipped (1, 1, 2). Places missing after the last one recorded are not
  gaps: sources often leave out those who scored nothing.

Disqualified results keep their recorded place here: a disqualification explains a gap in
the effective places, not in the recorded ones.
"""

from __future__ import annotations

from collections import Counter

from pydantic import BaseModel, ConfigDict

from ledger.values import format_time
from projections.fold import LedgerView, RaceState
from projections.history import ordinal
from projections.scoring import ResultState


class DataWarning(BaseModel):
    """A result that looks wrong, with the race it is in."""

    model_config = ConfigDict(frozen=True)

    season: str
    race: str
    kind: str
    message: str


def _who(result: ResultState) -> str:
    return f"{result.competitor} ({result.nation})" if result.nation else result.competitor


def _times(race: RaceState) -> list[DataWarning]:
    timed = sorted(
        (r for r in race.results.values() if r.place is not None and r.time and r.status is None),
        key=lambda r: (r.place or 0, r.competitor),
    )
    warnings = []
    for result in timed:
        slower_ahead = [
            a
            for a in timed
            if a.place is not None
            and result.place is not None
            and a.place < result.place
            and a.time is not None
            and result.time is not None
            and a.time > result.time
        ]
        if slower_ahead:
            ahead = slower_ahead[0]
            warnings.append(
                DataWarning(
                    season=race.season,
                    race=race.race,
                    kind="time-contradicts-place",
                    message=(
                        f"{race.race}: {_who(result)}, {ordinal(result.place or 0)} in"
                        f" {format_time(result.time)}, is faster than {_who(ahead)},"
                        f" {ordinal(ahead.place or 0)} in {format_time(ahead.time)}"
                    ),
                )
            )
    return warnings


def _gaps(race: RaceState) -> list[DataWarning]:
    counts = Counter(r.place for r in race.results.values() if r.place is not None)
    warnings = []
    expected, previous = 1, 0
    for place in sorted(counts):
        if place != expected:
            tied = counts.get(previous, 0)
            if place < expected:
                problem = (
                    f"a {tied}-way tie for {ordinal(previous)} should be followed"
                    f" by {ordinal(expected)}"
                )
            else:
                missing = ", ".join(ordinal(p) for p in range(expected, place))
                problem = f"no {missing}, and no tie explains it"
            warnings.append(
                DataWarning(
                    season=race.season,
                    race=race.race,
                    kind="place-gap",
                    message=f"{race.race}: places jump from {ordinal(previous)} to"
                    f" {ordinal(place)}: {problem}"
                    if previous
                    else f"{race.race}: the first place recorded is {ordinal(place)}: {problem}",
                )
            )
        expected, previous = place + counts[place], place
    return warnings


def check_race(race: RaceState) -> list[DataWarning]:
    """Every data warning of one race."""
    return _times(race) + _gaps(race)


def checks(view: LedgerView, races: list[tuple[str, str]] | None = None) -> list[DataWarning]:
    """Data warnings of the given races (default: every race), in date order."""
    chosen = [view.races[key] for key in races] if races is not None else list(view.races.values())
    chosen.sort(key=lambda r: (r.date, r.season, r.order))
    return [warning for race in chosen for warning in check_race(race)]
