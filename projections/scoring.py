"""The scoring rules of contract §5 and §8, as pure functions over plain data.

A cup's rules are data (``CupRules``, read from the season file's cup); this module interprets
them, in the order a caller applies them:

1. ``classify`` a race: classified = has a place, no DNF/DNS/DQ status, not disqualified;
   effective place = 1 + classified competitors with a strictly better recorded place; race
   points = the table at that place (0 past the end; ties score alike) plus the entry's bonus,
   classified or not. A void race scores 0 for everyone, bonus included.
2. ``race_results``: what each competitor of a cup got in one race, or for a team cup what each
   team got: the sum of its ``per_race`` best-scoring members (all when absent), bonuses
   included unless ``bonus = false``, places looked up in the team cup's own table if it has
   one. A row with no team scores for no team.
3. ``standings``: counted results = all, the best N, or per part of the cup's calendar the best
   N of that part (a part without best counts all). Total = counted sum minus deductions.
   Excluded competitors are left out (no one moves up in the races). Listed: every competitor
   whose total is above 0, and every competitor with a deduction, whatever its total (a
   penalty never hides a competitor, and a total is never clamped at 0: a deduction larger
   than the points scored shows as a negative total). Highest total first; equal totals go to
   the cup's tie-breaks in order; still equal = shared rank; rank = 1 + the number strictly
   ahead; rows sharing a rank are ordered by name.

A caller scores a cup as of a date from the calendar of the races the cup scores (its own, or
its ``of`` cup's), as known, in date order: each race on or before the date becomes
``CupRace(race_results(entries, race_table, rules, voided=..., tables=season_tables),
rules.part_of(its index in that whole calendar))``, and ``standings(races, rules, names=...,
deductions=..., excluded=...)`` ranks them. A race keeps its part however few have been run.

Points are ``Decimal`` throughout. Pure: no I/O, and nothing of the ledger (the read side's
``projections.standings`` turns a folded cup into these inputs).
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

ZERO = Decimal(0)
TIEBREAKS = ("countback", "places", "places-counted", "first-to-score")


def table_points(table: Sequence[Decimal | int], place: int) -> Decimal:
    """Points for an effective place: the table's entry, or 0 past its end."""
    return Decimal(table[place - 1]) if place <= len(table) else ZERO


# --- Rules ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Part:
    """A stretch of consecutive races of a cup's calendar, and how many of its results count."""

    races: int | None = None  # None: the rest of the calendar
    best: int | None = None  # None: all its results count


@dataclass(frozen=True)
class CupRules:
    """How a cup scores, as the season file declares it (§5 and §8)."""

    best: int | None = None
    parts: tuple[Part, ...] = ()
    tiebreak: tuple[str, ...] = ("countback",)
    of: str | None = None  # a team cup: the cup whose races it scores
    per_race: int | None = None  # a team cup: how many members score per race (None: all)
    table: str | None = None  # a team cup: the season table members' places are looked up in
    bonus: bool = True  # a team cup: whether members' bonuses count

    def __post_init__(self) -> None:
        unknown = [rule for rule in self.tiebreak if rule not in TIEBREAKS]
        if unknown:
            raise ValueError(f"unknown tie-break {unknown[0]!r} (known: {', '.join(TIEBREAKS)})")

    @classmethod
    def from_cup(cls, cup: Mapping[str, Any]) -> CupRules:
        """The rules of a stored cup (the season file cup's ``model_dump(exclude_none=True)``)."""
        return cls(
            best=cup.get("best"),
            parts=tuple(Part(p.get("races"), p.get("best")) for p in cup.get("parts", ())),
            tiebreak=tuple(cup.get("tiebreak", ("countback",))),
            of=cup.get("of") if cup.get("teams") else None,
            per_race=cup.get("per_race"),
            table=cup.get("table"),
            bonus=cup.get("bonus", True),
        )

    @property
    def teams(self) -> bool:
        """Whether this is a team cup."""
        return self.of is not None

    def part_of(self, index: int) -> int:
        """The part holding the race at ``index`` (0-based, date order) of the whole calendar.

        Races past the parts' explicit counts belong to the last part; no parts is one part.
        """
        start = 0
        for number, part in enumerate(self.parts):
            if part.races is None or index < start + part.races:
                return number
            start += part.races
        return max(len(self.parts) - 1, 0)

    def best_of(self, part: int) -> int | None:
        """How many results of a part count (None: all); without parts, the cup's best."""
        return self.parts[min(part, len(self.parts) - 1)].best if self.parts else self.best


# --- One race ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """A competitor's result in one race, as scoring needs it."""

    key: Hashable  # who: any hashable identity
    place: int | None  # the recorded place
    classified: bool = True  # a place, no DNF/DNS/DQ status, not disqualified
    bonus: Decimal = ZERO  # points outside the table (a fastest lap), classified or not
    team: str | None = None  # the competitor's team in this race, for team cups


@dataclass(frozen=True)
class Scored:
    """An entry as scored: its effective place (None if unclassified) and its race points."""

    entry: Entry
    place: int | None
    points: Decimal  # table points at the effective place + bonus
    bonus: Decimal  # the bonus included in points (0 in a void race)


def classify(
    entries: Sequence[Entry], table: Sequence[Decimal | int], *, voided: bool = False
) -> list[Scored]:
    """Score a race: effective places and points, classified first in place order."""
    ranked = sorted(e.place for e in entries if e.classified and e.place is not None)
    scored = []
    for entry in entries:
        place = None
        if entry.classified and entry.place is not None:
            place = 1 + bisect_left(ranked, entry.place)
        bonus = ZERO if voided else entry.bonus
        placed = ZERO if voided or place is None else table_points(table, place)
        scored.append(Scored(entry, place, placed + bonus, bonus))
    return sorted(scored, key=lambda s: (s.place is None, s.place or 0))


@dataclass(frozen=True)
class RaceResult:
    """What a competitor (or a team) got in one race of a cup."""

    points: Decimal
    places: tuple[int, ...] = ()  # effective places of the classified results that scored it


def race_results(
    entries: Sequence[Entry],
    table: Sequence[Decimal | int],
    rules: CupRules,
    *,
    voided: bool = False,
    tables: Mapping[str, Sequence[Decimal | int]] | None = None,
) -> dict[Any, RaceResult]:
    """Each competitor's (or, in a team cup, each team's) result in one race of the cup.

    ``table`` is the race's own table; ``tables`` are the season's, for a team cup with a
    table of its own. A void race gives everyone 0 points and no places.
    """
    scored = classify(entries, table, voided=voided)
    if not rules.teams:
        return {s.entry.key: RaceResult(s.points, _places([s], voided)) for s in scored}
    own = None
    if rules.table is not None:
        if tables is None or rules.table not in tables:
            raise ValueError(f"the team cup's table {rules.table!r} is not among the tables given")
        own = tables[rules.table]
    members: dict[str, list[tuple[Decimal, Scored]]] = {}
    for s in scored:
        if s.entry.team:
            placed = s.points - s.bonus
            if own is not None:
                placed = ZERO if voided or s.place is None else table_points(own, s.place)
            points = placed + (s.bonus if rules.bonus else ZERO)
            members.setdefault(s.entry.team, []).append((points, s))
    results: dict[Any, RaceResult] = {}
    for team, cars in members.items():
        # The best-scoring members; of two on equal points, the better placed.
        cars.sort(key=lambda car: (-car[0], car[1].place is None, car[1].place or 0))
        scoring = cars[: rules.per_race]
        results[team] = RaceResult(
            sum((points for points, _ in scoring), ZERO), _places([s for _, s in scoring], voided)
        )
    return results


def _places(scored: Iterable[Scored], voided: bool) -> tuple[int, ...]:
    return () if voided else tuple(sorted(s.place for s in scored if s.place is not None))


# --- Standings -----------------------------------------------------------------------------


@dataclass(frozen=True)
class CupRace:
    """One race of a cup as taken into account, in date order: its part and its results."""

    results: Mapping[Any, RaceResult]  # by competitor key (any hashable), or by team
    part: int = 0  # CupRules.part_of(the race's index in the cup's whole calendar)


@dataclass(frozen=True)
class Tie:
    """How a competitor was told apart from another with an equal total, or that it was not."""

    other: Hashable
    rule: str | None  # the tie-break that decided; None: they share the rank
    ahead: bool  # whether the competitor ranks ahead of the other
    at: int = 0  # what was compared: the n-th best result (countback), n-th places; else 0
    mine: Decimal | int | None = None  # the values compared (first-to-score: race indexes)
    theirs: Decimal | int | None = None

    def detail(self) -> str:
        """The decisive comparison in words, e.g. "1st places 2 against 3"."""
        if self.rule is None:
            return "equal on every tie-break"
        if self.rule == "countback":
            return f"{_ordinal(self.at)}-best result {self.mine} against {self.theirs}"
        if self.rule == "first-to-score":
            mine, theirs = (int(v or 0) + 1 for v in (self.mine, self.theirs))
            return f"first points in race {mine} against race {theirs}"
        counted = " in counted results" if self.rule == "places-counted" else ""
        return f"{_ordinal(self.at)} places{counted} {self.mine} against {self.theirs}"


@dataclass(frozen=True)
class Standing:
    """A competitor's (or team's) line in a cup's standings."""

    key: Hashable
    rank: int
    total: Decimal  # counted points minus deductions
    counted: frozenset[int]  # indexes (into the races given) of the counted results
    countback: tuple[Decimal, ...]  # counted points, highest first
    deduction: Decimal = ZERO
    ties: tuple[Tie, ...] = ()  # against each competitor with an equal total, in rank order


@dataclass
class _Line:
    key: Hashable
    results: list[tuple[int, int, RaceResult]] = field(default_factory=list)
    counted: list[tuple[int, Decimal]] = field(default_factory=list)
    total: Decimal = ZERO
    deduction: Decimal = ZERO
    vectors: dict[str, tuple[Decimal | int, ...]] = field(default_factory=dict)
    order: tuple[Any, ...] = ()  # the sort key: total, then each tie-break, better first


def standings(
    races: Sequence[CupRace],
    rules: CupRules,
    *,
    names: Mapping[Any, tuple[str, ...]] | None = None,
    deductions: Mapping[Any, Decimal] | None = None,
    excluded: Iterable[Hashable] = (),
) -> list[Standing]:
    """A cup's standings from its races taken into account, in date order.

    ``names`` order rows that share a rank (default: ``(str(key),)``); ``deductions`` are each
    competitor's points penalties, added up; ``excluded`` competitors are left out.
    """
    left_out = set(excluded)
    lines: dict[Hashable, _Line] = {}
    for index, race in enumerate(races):
        for key, result in race.results.items():
            if key not in left_out:
                lines.setdefault(key, _Line(key)).results.append((index, race.part, result))
    for key, points in (deductions or {}).items():
        if key not in left_out and points:
            lines.setdefault(key, _Line(key)).deduction += points
    for line in lines.values():
        line.counted = counted(line.results, rules)
        line.total = sum((p for _, p in line.counted), ZERO) - line.deduction
    listed = [line for line in lines.values() if line.total > 0 or line.deduction]
    _fill_vectors(listed, rules.tiebreak, len(races))

    def name(line: _Line) -> tuple[str, ...]:
        return names[line.key] if names and line.key in names else (str(line.key),)

    listed.sort(key=lambda line: (line.order, name(line)))
    equal: dict[Decimal, list[_Line]] = {}
    for line in listed:
        equal.setdefault(line.total, []).append(line)
    table: list[Standing] = []
    for position, line in enumerate(listed):
        same = position > 0 and listed[position - 1].order == line.order
        table.append(
            Standing(
                key=line.key,
                rank=table[-1].rank if same else position + 1,
                total=line.total,
                counted=frozenset(index for index, _ in line.counted),
                countback=tuple(sorted((p for _, p in line.counted), reverse=True)),
                deduction=line.deduction,
                ties=tuple(
                    _tie(line, other, rules) for other in equal[line.total] if other is not line
                ),
            )
        )
    return table


def counted(
    results: Sequence[tuple[int, int, RaceResult]], rules: CupRules
) -> list[tuple[int, Decimal]]:
    """The (race index, points) that count of (race index, part, result): all, best N, per part.

    Of results on equal points, the earlier race counts.
    """
    by_part: dict[int, list[tuple[int, Decimal]]] = {}
    for index, part, result in results:
        by_part.setdefault(part, []).append((index, result.points))
    kept: list[tuple[int, Decimal]] = []
    for part, scores in sorted(by_part.items()):
        kept += sorted(scores, key=lambda s: (-s[1], s[0]))[: rules.best_of(part)]
    return sorted(kept)


def _fill_vectors(lines: list[_Line], rules: Sequence[str], races: int) -> None:
    """Each line's values under the tie-breaks, padded to one width so that all compare alike."""
    width = max((len(line.counted) for line in lines), default=0)
    deepest = max((p for line in lines for _, _, r in line.results for p in r.places), default=0)
    for line in lines:
        for rule in rules:
            line.vectors[rule] = _vector(rule, line, width, deepest, races)
        line.order = (-line.total, *(_better_first(rule, line.vectors[rule]) for rule in rules))


def _vector(rule: str, line: _Line, width: int, deepest: int, races: int) -> tuple[Any, ...]:
    """A line's values under one tie-break."""
    if rule == "countback":
        back = sorted((points for _, points in line.counted), reverse=True)
        return (*back, *[ZERO] * (width - len(back)))
    if rule == "first-to-score":
        # No points at all (a competitor listed for its deduction): after every first points.
        return (min((i for i, _, r in line.results if r.points > 0), default=races),)
    kept = {index for index, _ in line.counted} if rule == "places-counted" else None
    places = Counter(p for i, _, r in line.results if kept is None or i in kept for p in r.places)
    return tuple(places[place] for place in range(1, deepest + 1))


def _better_first(rule: str, vector: tuple[Any, ...]) -> tuple[Any, ...]:
    """A tie-break's values as a sort key: the better value sorts first."""
    return vector if rule == "first-to-score" else tuple(-v for v in vector)


def _tie(line: _Line, other: _Line, rules: CupRules) -> Tie:
    for rule in rules.tiebreak:
        mine, theirs = line.vectors[rule], other.vectors[rule]
        for at, (a, b) in enumerate(zip(mine, theirs, strict=True), 1):
            if a != b:
                if rule == "first-to-score":
                    return Tie(other.key, rule, a < b, 0, a, b)
                return Tie(other.key, rule, a > b, at, a, b)
    return Tie(other.key, None, False)


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
