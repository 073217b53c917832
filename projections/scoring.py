"""The scoring rules of contract §5, as pure functions over plain data.

Rules are data (a race's point table, a cup's best-N); this module interprets them:

1. classified = has a place, no DNF/DNS/DQ status, not disqualified;
2. effective place = 1 + classified competitors with a strictly better recorded place;
3. race points = table[effective place] (0 past the end; ties score alike; void races score 0);
4. counted results = all, or the best N; total = their sum;
5. standings: total > 0, by total, then countback over the counted results (sorted highest
   first, compared element by element, missing = 0); still equal = shared rank;
   rank = 1 + number strictly ahead.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from ledger.fold import ResultState


@dataclass(frozen=True)
class Placing:
    """A result as scored: effective place (None if unclassified) and points."""

    result: ResultState
    place: int | None
    points: Decimal


ZERO = Decimal(0)


def table_points(table: Sequence[Decimal], place: int) -> Decimal:
    """Points for a place: the table's entry, or 0 past its end."""
    return table[place - 1] if place <= len(table) else ZERO


def classify(
    results: Sequence[ResultState], table: Sequence[Decimal], *, voided: bool = False
) -> list[Placing]:
    """Score a race: effective places and points (bonus included), classified first."""
    places = sorted(r.place for r in results if r.classified and r.place is not None)
    placings = []
    for result in results:
        bonus = result.bonus or ZERO
        if result.classified and result.place is not None:
            place = 1 + bisect_left(places, result.place)
            points = ZERO if voided else table_points(table, place) + bonus
            placings.append(Placing(result, place, points))
        else:
            placings.append(Placing(result, None, ZERO if voided else bonus))
    return sorted(
        placings,
        key=lambda p: (p.place is None, p.place or 0, p.result.name, p.result.nation or ""),
    )


@dataclass(frozen=True)
class Score:
    """One race result of a competitor in a cup: the race's index in date order and points."""

    race_index: int
    points: Decimal


@dataclass(frozen=True)
class Ranked:
    """A competitor's line in a cup's standings."""

    key: Hashable
    rank: int
    total: Decimal
    counted: frozenset[int]  # race indexes of the counted results
    countback: tuple[Decimal, ...]  # counted points, highest first
    decided_by_countback: bool  # whether countback separated it from an equal total


def counted_results(scores: Sequence[Score], best: int | None) -> list[Score]:
    """The results that count: all, or the best N (an earlier race wins a points tie)."""
    if best is None:
        return list(scores)
    return sorted(scores, key=lambda s: (-s.points, s.race_index))[:best]


def rank(
    scores: Mapping[Hashable, Sequence[Score]],
    best: int | None,
    name: Mapping[Hashable, tuple[str, str]],
    deductions: Mapping[Hashable, Decimal] | None = None,
) -> list[Ranked]:
    """Rank competitors by total then countback; equal ones share a rank, ordered by name."""
    lines = []
    for key, competitor_scores in scores.items():
        counted = counted_results(competitor_scores, best)
        total = sum((s.points for s in counted), ZERO) - (deductions or {}).get(key, ZERO)
        if total > 0:
            back = tuple(sorted((s.points for s in counted), reverse=True))
            lines.append((key, total, frozenset(s.race_index for s in counted), back))
    width = max((len(line[3]) for line in lines), default=0)

    def order(
        line: tuple[Hashable, Decimal, frozenset[int], tuple[Decimal, ...]],
    ) -> tuple[Decimal, ...]:
        padded = line[3] + (ZERO,) * (width - len(line[3]))
        return (-line[1], *(-p for p in padded))

    lines.sort(key=lambda line: (order(line), name[line[0]]))
    orders_by_total: dict[Decimal, set[tuple[Decimal, ...]]] = defaultdict(set)
    for line in lines:
        orders_by_total[line[1]].add(order(line))
    ranked: list[Ranked] = []
    for index, line in enumerate(lines):
        same_as_previous = index > 0 and order(lines[index - 1]) == order(line)
        position = ranked[-1].rank if same_as_previous else index + 1
        decided = len(orders_by_total[line[1]]) > 1
        ranked.append(Ranked(line[0], position, line[1], line[2], line[3], decided))
    return ranked
