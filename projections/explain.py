"""Why a competitor stands where it does: race by race, what counted, and how ties were broken."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from ledger.application import Ledger
from ledger.errors import AmbiguousIdError, UnknownIdError
from ledger.fold import CupKey, World
from ledger.identity import canonical, folded
from ledger.ids import suggest
from ledger.values import format_points
from projections.frames import frame_of
from projections.history import ordinal
from projections.models import Cut, ExactTime, HeadRef
from projections.models import Out as _Out
from projections.standings import (
    StandingRow,
    cup_races,
    placings,
    score,
    spec_of,
    standings,
    status_of,
)


class ExplainedRace(_Out):
    """One race of the competitor: recorded and effective place, points, and whether it counted."""

    race: str
    date: date
    recorded_place: int | None
    place: int | None
    time: ExactTime | None
    status: str | None
    points: Decimal
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
    points: Decimal
    countback: list[Decimal]
    results: list[ExplainedRace]  # race by race, as the standings' rows name them
    ties: list[TieBreak]
    excluded: bool = False
    head: HeadRef | None = None

    def to_dataframe(self) -> Any:
        """A pandas DataFrame of the competitor's races: places, points, what counted."""
        return frame_of(ExplainedRace, self.results)


def find_competitor(
    world: World, cup: CupKey, competitor: str, nation: str | None
) -> tuple[str, str, str | None]:
    """The (competitor id, name, nation) a user means among the cup's results (the same name,
    case aside, and the nation if given); asks for --nation if the name is shared."""
    spec = spec_of(world, cup)
    known = {
        (world.identity(r.competitor_id), r.name, r.nation)
        for race in cup_races(world, (cup[0], spec.rules.get("of") or cup[1]), None)
        for r in race.results.values()
    }
    for form, wanted in ((canonical, canonical(competitor)), (folded, folded(competitor))):
        matches = sorted(
            {(i, n, nat) for i, n, nat in known if form(n) == wanted and nation in (None, nat)},
            key=lambda m: (m[1], m[2] or ""),
        )
        if len({m[0] for m in matches}) == 1:
            return matches[-1]
        if matches:
            nations = " or ".join(nat or "(none)" for _, _, nat in matches)
            raise AmbiguousIdError(
                f"{competitor!r} is ambiguous in {cup[1]}; give --nation ({nations})"
            )
    who = f"{competitor} ({nation})" if nation else competitor
    hint = suggest(competitor, [name for _, name, _ in known])
    raise UnknownIdError(f"{who} has no result in {cup[0]}/{cup[1]}{hint}")


def countback(row: StandingRow) -> list[Decimal]:
    """A row's counted points, highest first: what countback compares."""
    return sorted((r.points for r in row.results if r.counted), reverse=True)


def _tie_breaks(world: World, cup: CupKey, key: str, as_of: date | None) -> list[TieBreak]:
    """How the competitor was told apart from each one with the same total, by which rule."""
    scored = score(world, cup, as_of)
    lines = {line.standing.key: line for line in scored.lines}
    me = lines.get(key)
    if me is None:
        return []
    total = format_points(me.standing.total)
    breaks = []
    for tie in me.standing.ties:
        other = lines[tie.other]
        if tie.rule is None:
            how = "shared"
            rules = ", ".join(scored.rules.tiebreak) or "no tie-break"
            detail = (
                f"shares rank {me.standing.rank} with {other.name}: equal on {total} points"
                f" and on every tie-break ({rules})"
            )
        else:
            how = tie.rule
            side = "ahead of" if tie.ahead else "behind"
            if tie.rule == "first-to-score":
                races = [r.race for r in scored.races]
                compared = f"first points in {races[int(tie.mine or 0)]} against" + (
                    f" {races[int(tie.theirs)]}"
                    if tie.theirs is not None and int(tie.theirs) < len(races)
                    else " none"
                )
            elif tie.rule == "countback":
                compared = (
                    f"{ordinal(tie.at)}-best result {format_points(_dec(tie.mine))} against"
                    f" {format_points(_dec(tie.theirs))}"
                )
            else:
                counted = " among counted results" if tie.rule == "places-counted" else ""
                compared = f"{ordinal(tie.at)} places{counted} {tie.mine} against {tie.theirs}"
            detail = (
                f"{side} {other.name} (rank {other.standing.rank}) on {tie.rule}: both {total}"
                f" points; {compared}"
            )
        breaks.append(
            TieBreak(
                competitor=other.name,
                nation=other.nation,
                rank=other.standing.rank,
                how=how,
                detail=detail,
            )
        )
    return breaks


def _dec(value: object) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value or 0))


def explain(
    world: World,
    cup: CupKey,
    competitor: str,
    *,
    nation: str | None = None,
    as_of: date | None = None,
    known_at: datetime | None = None,
) -> Explanation:
    """Explain a competitor's (in a team cup: a team's) standing in a cup from a folded world
    (pure)."""
    if spec_of(world, cup).rules.get("teams"):
        return _explain_team(world, cup, competitor, as_of=as_of, known_at=known_at)
    ident, name, nat = find_competitor(world, cup, competitor, nation)
    table = standings(world, cup, as_of=as_of, known_at=known_at)
    spec = spec_of(world, cup)
    row = next((r for r in table.standings if r.competitor_id == ident), None)
    counted = {r.race: r.counted for r in row.results} if row else {}
    races = []
    for race in cup_races(world, (cup[0], spec.rules.get("of") or cup[1]), as_of):
        placing = next(
            (p for p in placings(race) if world.identity(p.result.competitor_id) == ident),
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
        if result.bonus:
            note += f" (+{format_points(result.bonus)} bonus)"
        races.append(
            ExplainedRace(
                race=race.race,
                date=race.date,
                recorded_place=result.place,
                place=placing.place,
                time=result.time,
                status=status_of(result),
                points=placing.points,
                counted=is_counted,
                note=note,
            )
        )
    return Explanation(
        season=cup[0],
        cup=cup[1],
        cup_name=table.cup_name,
        best=table.best,
        as_of=as_of,
        known_at=known_at,
        competitor=row.competitor if row else name,
        nation=row.nation if row else nat,
        rank=row.rank if row else None,
        points=row.points if row else Decimal(0),
        countback=countback(row) if row else [],
        results=races,
        ties=_tie_breaks(world, cup, ident, as_of) if row else [],
        excluded=ident in spec.excluded,
    )


def _explain_team(
    world: World, cup: CupKey, team: str, *, as_of: date | None, known_at: datetime | None
) -> Explanation:
    """A team's standing in a team cup: race by race, its points and the members who scored
    them (the cup's ``per_race`` best), what counted, and how ties were broken."""
    scored = score(world, cup, as_of)
    table = standings(world, cup, as_of=as_of, known_at=known_at)
    teams = sorted(
        {
            r.team
            for race in cup_races(world, (cup[0], scored.rules.of or cup[1]), None)
            for r in race.results.values()
            if r.team
        }
    )
    wanted = next((t for form in (canonical, folded) for t in teams if form(t) == form(team)), None)
    if wanted is None:
        raise UnknownIdError(f"no team {team} in {cup[0]}/{cup[1]}{suggest(team, teams)}")
    line = next((line for line in scored.lines if line.name == wanted), None)
    row = next((r for r in table.standings if r.competitor == wanted), None)
    per_race = scored.rules.per_race
    races = []
    for index, race, place, points, _ in line.scores if line else []:
        members = [p for p in placings(race) if p.result.team == wanted]
        members.sort(key=lambda p: (-p.points, p.place is None, p.place or 0))
        scorers = members[:per_race] if per_race else members
        counted = index in line.standing.counted if line else False
        by = ", ".join(
            f"{p.result.name} ({ordinal(p.place) if p.place else p.result.status or 'no place'},"
            f" {format_points(p.points)})"
            for p in scorers
        )
        note = "counted" if counted else "dropped: not among the counted results"
        races.append(
            ExplainedRace(
                race=race.race,
                date=race.date,
                recorded_place=place,
                place=place,
                time=None,
                status=None,
                points=points,
                counted=counted,
                note=f"{note}; scored by {by}" if by else note,
            )
        )
    return Explanation(
        season=cup[0],
        cup=cup[1],
        cup_name=table.cup_name,
        best=table.best,
        as_of=as_of,
        known_at=known_at,
        competitor=wanted,
        nation=None,
        rank=row.rank if row else None,
        points=row.points if row else Decimal(0),
        countback=countback(row) if row else [],
        results=races,
        ties=_tie_breaks(world, cup, wanted, as_of) if row else [],
    )


def query_explain(
    ledger: Ledger,
    cup: str,
    competitor: str,
    *,
    nation: str | None = None,
    as_of: date | None = None,
    known_at: datetime | None = None,
) -> Explanation:
    """A competitor's standing in a cup, explained, reading only the cup's events."""
    with ledger.reading() as reader:
        cut = Cut.at(reader, known_at)
        key = reader.resolve_cup(cup, cut.upto)
        world = reader.cup_world(key, cut.upto)
    x = explain(world, key, competitor, nation=nation, as_of=as_of, known_at=known_at)
    return x.model_copy(update={"head": cut.head})
