"""Why a competitor stands where it does: race by race, what counted, and how ties were broken."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict

from ledger.errors import AmbiguousIdError, UnknownIdError
from ledger.ids import suggest
from ledger.values import format_time
from projections.fold import LedgerView
from projections.history import ordinal
from projections.models import StandingRow, Standings
from projections.scoring import classify_results
from projections.views import cup_races, standings


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class ExplainedRace(_Out):
    """One race of the competitor: recorded and effective place, points, and whether it counted."""

    race: str
    date: date
    recorded_place: int | None
    place: int | None
    time: str | None
    status: str | None
    points: int
    counted: bool
    note: str


class TieBreak(_Out):
    """How the competitor and another with the same total were separated (or not)."""

    competitor: str
    nation: str | None
    rank: int
    how: str  # "countback" or "shared"
    detail: str


class Explanation(_Out):
    """A competitor's standing in a cup, explained."""

    season: str
    cup: str
    cup_name: str
    best: int | None
    as_of: date | None
    known_at: datetime | None
    competitor: str
    nation: str | None
    rank: int | None
    points: int
    countback: list[int]
    races: list[ExplainedRace]
    ties: list[TieBreak]


def find_competitor(
    view: LedgerView, season: str, cup: str, competitor: str, nation: str | None
) -> tuple[str, str | None]:
    """The (name, nation) a user means, among the cup's results; asks for --nation if shared."""
    known = {
        (r.competitor, r.nation)
        for race in cup_races(view, season, cup, None)
        for r in race.results.values()
    }
    wanted = competitor.strip().casefold()
    matches = sorted(
        (name, nat)
        for name, nat in known
        if name.casefold() == wanted and (nation is None or (nat or "") == nation)
    )
    if len(matches) == 1:
        return matches[0]
    if matches:
        nations = " or ".join(nat or "(none)" for _, nat in matches)
        raise AmbiguousIdError(f"{competitor!r} is ambiguous in {cup}; give --nation ({nations})")
    who = f"{competitor} ({nation})" if nation else competitor
    hint = suggest(competitor, [name for name, _ in known])
    raise UnknownIdError(f"{who} has no result in {season}/{cup}{hint}")


def countback(row: StandingRow) -> list[int]:
    """A row's counted points, highest first: what countback compares."""
    return sorted((r.points for r in row.results if r.counted), reverse=True)


def _tie_breaks(table: Standings, me: StandingRow) -> list[TieBreak]:
    mine = countback(me)
    breaks = []
    for other in table.standings:
        if other is me or other.points != me.points:
            continue
        theirs = countback(other)
        width = max(len(mine), len(theirs))
        a = mine + [0] * (width - len(mine))
        b = theirs + [0] * (width - len(theirs))
        differs = next((i for i in range(width) if a[i] != b[i]), None)
        if differs is None:
            how = "shared"
            detail = (
                f"shares rank {me.rank} with {other.competitor}: equal on {me.points} points"
                f" and on countback ({', '.join(map(str, a))})"
            )
        else:
            how = "countback"
            side = "ahead of" if a[differs] > b[differs] else "behind"
            detail = (
                f"{side} {other.competitor} (rank {other.rank}) on countback: both {me.points}"
                f" points; {ordinal(differs + 1)}-best result {a[differs]} against {b[differs]}"
            )
        breaks.append(
            TieBreak(
                competitor=other.competitor,
                nation=other.nation,
                rank=other.rank,
                how=how,
                detail=detail,
            )
        )
    return breaks


def explain(
    view: LedgerView,
    season: str,
    cup: str,
    competitor: str,
    *,
    nation: str | None = None,
    as_of: date | None = None,
    known_at: datetime | None = None,
) -> Explanation:
    """Explain a competitor's standing in a cup from a view (already cut at ``known_at``)."""
    name, nat = find_competitor(view, season, cup, competitor, nation)
    table = standings(view, season, cup, as_of=as_of, known_at=known_at)
    row = next((r for r in table.standings if (r.competitor, r.nation) == (name, nat)), None)
    counted = {r.race: r.counted for r in row.results} if row else {}
    races = []
    for race in cup_races(view, season, cup, as_of):
        placing = next(
            (
                p
                for p in classify_results(
                    list(race.results.values()), race.points, voided=race.voided
                )
                if (p.result.competitor, p.result.nation) == (name, nat)
            ),
            None,
        )
        if placing is None:
            continue
        result = placing.result
        is_counted = counted.get(race.race, False)
        if race.voided:
            note = "race void: no points for anyone"
        elif result.disqualified:
            note = "disqualified: no place, no points"
        elif placing.place is None:
            note = f"{result.status or 'no place'}: no points"
        elif is_counted:
            note = "counted"
        elif table.best is not None:
            note = f"dropped: not among the best {table.best}"
        else:
            note = "not counted"
        if placing.place is not None and placing.place != result.place:
            note += f" (recorded {ordinal(result.place or 0)}; moved up by disqualifications)"
        races.append(
            ExplainedRace(
                race=race.race,
                date=race.date,
                recorded_place=result.place,
                place=placing.place,
                time=format_time(result.time) or None,
                status="disqualified" if result.disqualified else result.status,
                points=placing.points,
                counted=is_counted,
                note=note,
            )
        )
    return Explanation(
        season=season,
        cup=cup,
        cup_name=table.cup_name,
        best=table.best,
        as_of=as_of,
        known_at=known_at,
        competitor=name,
        nation=nat,
        rank=row.rank if row else None,
        points=row.points if row else 0,
        countback=countback(row) if row else [],
        races=races,
        ties=_tie_breaks(table, row) if row else [],
    )
