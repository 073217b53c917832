"""Pure queries over a folded view: standings, race classifications, the race list."""

from __future__ import annotations

from collections.abc import Hashable
from datetime import date, datetime

from ledger.errors import UnknownIdError
from ledger.ids import resolve
from projections.fold import LedgerView, RaceState
from projections.models import (
    ClassifiedResult,
    RaceClassification,
    RaceScore,
    RaceSummary,
    StandingRow,
    Standings,
)
from projections.scoring import Score, classify_results, rank


def resolve_cup(view: LedgerView, ref: str) -> tuple[str, str]:
    """The (season, cup) a user's id names."""
    keys = [(s.season, c) for s in view.seasons.values() for c in s.cups]
    return resolve(ref, keys, "cup")


def resolve_race(view: LedgerView, ref: str) -> tuple[str, str]:
    """The (season, race) a user's id names."""
    return resolve(ref, view.races, "race")


def cup_races(view: LedgerView, season: str, cup: str, as_of: date | None) -> list[RaceState]:
    """The cup's races on or before ``as_of``, in date order (then schedule order)."""
    races = [
        r
        for r in view.races.values()
        if r.season == season and r.cup == cup and (as_of is None or r.date <= as_of)
    ]
    return sorted(races, key=lambda r: (r.date, r.order))


def standings(
    view: LedgerView,
    season: str,
    cup: str,
    *,
    as_of: date | None = None,
    known_at: datetime | None = None,
) -> Standings:
    """A cup's standings from a view (already cut at ``known_at``), as of a date."""
    spec = view.seasons[season].cups.get(cup)
    if spec is None:
        raise UnknownIdError(f"unknown cup {season}/{cup}")
    races = [r for r in cup_races(view, season, cup, as_of) if not r.voided]
    scores: dict[Hashable, list[Score]] = {}
    names: dict[Hashable, tuple[str, str]] = {}
    details: dict[Hashable, list[tuple[int, RaceState, int | None, int, str | None]]] = {}
    for index, race in enumerate(races):
        for placing in classify_results(list(race.results.values()), race.points):
            result = placing.result
            key = (result.competitor, result.nation)
            names[key] = (result.competitor, result.nation or "")
            scores.setdefault(key, []).append(Score(index, placing.points))
            status = result.status or ("disqualified" if result.disqualified else None)
            details.setdefault(key, []).append((index, race, placing.place, placing.points, status))
    rows = []
    for line in rank(scores, spec.best, names):
        competitor, nation = names[line.key]
        rows.append(
            StandingRow(
                rank=line.rank,
                competitor=competitor,
                nation=nation or None,
                points=line.total,
                results=[
                    RaceScore(
                        race=race.race,
                        place=place,
                        points=points,
                        counted=index in line.counted,
                        status=status,
                    )
                    for index, race, place, points, status in details[line.key]
                ],
            )
        )
    return Standings(
        season=season,
        cup=cup,
        cup_name=spec.name,
        best=spec.best,
        as_of=as_of,
        known_at=known_at,
        races=[r.race for r in races],
        standings=rows,
    )


def classification(
    view: LedgerView,
    season: str,
    race_id: str,
    *,
    known_at: datetime | None = None,
    as_of: date | None = None,
) -> RaceClassification:
    """A race's classification from a view: effective places, times and points.

    As of a date before the race, the race has not been run: it is listed with no results.
    """
    race = view.races[(season, race_id)]
    raced = as_of is None or race.date <= as_of
    return RaceClassification(
        as_of=as_of,
        raced=raced,
        season=race.season,
        race=race.race,
        cup=race.cup,
        date=race.date,
        location=race.location,
        venue=race.venue,
        table=race.table,
        voided=race.voided,
        known_at=known_at,
        results=[
            ClassifiedResult(
                place=p.place,
                recorded_place=p.result.place,
                competitor=p.result.competitor,
                nation=p.result.nation,
                time=p.result.time,
                status=p.result.status,
                disqualified=p.result.disqualified,
                points=p.points,
            )
            for p in classify_results(list(race.results.values()), race.points, voided=race.voided)
            if raced
        ],
    )


def race_list(view: LedgerView, cup: str | None = None) -> list[RaceSummary]:
    """Every scheduled race (optionally of one cup), in date order."""
    races = sorted(view.races.values(), key=lambda r: (r.date, r.season, r.order))
    return [
        RaceSummary(
            season=r.season,
            race=r.race,
            cup=r.cup,
            date=r.date,
            location=r.location,
            table=r.table,
            results=len(r.results),
            voided=r.voided,
        )
        for r in races
        if cup is None or r.cup == cup
    ]
