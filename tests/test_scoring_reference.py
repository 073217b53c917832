"""A cup that uses none of §8 scores exactly as contract §5 says, on random races.

The reference below is §5 written out again, independently of the engine and by other means
(counting instead of bisecting, pairwise comparison instead of sorting), on whole numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from projections.scoring import CupRace, CupRules, Entry, race_results, standings

NAMES = ["Ada", "Bo", "Cy", "Di", "Ed", "Flo", "Gus", "Hal"]


@dataclass(frozen=True)
class Result:
    competitor: str
    place: int | None
    status: str | None  # None (finished), DNF, DNS or DQ
    disqualified: bool


@dataclass(frozen=True)
class Race:
    table: list[int]
    results: list[Result]
    voided: bool


# --- Contract §5, written out ------------------------------------------------------------------


def reference_points(race: Race) -> dict[str, int]:
    """Rules 1 to 3: classified, effective place, race points."""

    def classified(r: Result) -> bool:
        return r.place is not None and r.status is None and not r.disqualified

    points = {}
    for r in race.results:
        if race.voided or not classified(r):
            points[r.competitor] = 0
            continue
        others = [o.place for o in race.results if classified(o) and o.place is not None]
        place = 1 + len([o for o in others if r.place is not None and o < r.place])
        points[r.competitor] = race.table[place - 1] if place <= len(race.table) else 0
    return points


def reference_standings(
    races: list[Race], best: int | None
) -> list[tuple[int, str, int, frozenset[int]]]:
    """Rules 4 and 5: (rank, competitor, total, counted race indexes), in standings order."""
    results: dict[str, list[tuple[int, int]]] = {}
    for index, race in enumerate(races):
        for who, points in reference_points(race).items():
            results.setdefault(who, []).append((index, points))
    counted: dict[str, list[tuple[int, int]]] = {}
    for who, mine in results.items():
        kept = list(mine)
        if best is not None:
            # Drop the worst result (the later race of two equal ones) until best remain.
            while len(kept) > best:
                worst = min(kept, key=lambda r: (r[1], -r[0]))
                kept.remove(worst)
        counted[who] = kept
    total = {who: sum(p for _, p in kept) for who, kept in counted.items()}
    listed = [who for who in total if total[who] > 0]

    def ahead(a: str, b: str) -> bool:
        if total[a] != total[b]:
            return total[a] > total[b]
        back_a = sorted((p for _, p in counted[a]), reverse=True)
        back_b = sorted((p for _, p in counted[b]), reverse=True)
        for i in range(max(len(back_a), len(back_b))):
            x = back_a[i] if i < len(back_a) else 0
            y = back_b[i] if i < len(back_b) else 0
            if x != y:
                return x > y
        return False

    rank = {who: 1 + sum(ahead(other, who) for other in listed) for who in listed}
    order = sorted(listed, key=lambda who: (rank[who], who))
    return [(rank[w], w, total[w], frozenset(i for i, _ in counted[w])) for w in order]


# --- The engine, on the same races -------------------------------------------------------------


def engine_standings(
    races: list[Race], best: int | None
) -> list[tuple[int, str, int, frozenset[int]]]:
    cup = {"id": "cup", "name": "Cup", **({"best": best} if best is not None else {})}
    rules = CupRules.from_cup(cup)
    scored = []
    for race in races:
        entries = [
            Entry(
                r.competitor, r.place, r.place is not None and not r.status and not r.disqualified
            )
            for r in race.results
        ]
        table = [Decimal(p) for p in race.table]
        scored.append(CupRace(race_results(entries, table, rules, voided=race.voided)))
    lines = standings(scored, rules, names={name: (name,) for name in NAMES})
    out = []
    for line in lines:
        assert line.total == int(line.total)
        out.append((line.rank, str(line.key), int(line.total), line.counted))
    return out


def a_result(competitor: str) -> st.SearchStrategy[Result]:
    return st.builds(
        Result,
        competitor=st.just(competitor),
        place=st.one_of(st.none(), st.integers(1, 10)),
        status=st.sampled_from([None, None, None, "DNF", "DNS", "DQ"]),
        disqualified=st.sampled_from([False, False, False, True]),
    ).filter(lambda r: r.place is not None or r.status is not None)


@st.composite
def a_race(draw: st.DrawFn, tables: list[list[int]]) -> Race:
    who = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=len(NAMES), unique=True))
    return Race(
        table=draw(st.sampled_from(tables)),
        results=[draw(a_result(name)) for name in who],
        voided=draw(st.sampled_from([False] * 9 + [True])),
    )


@st.composite
def a_cup(draw: st.DrawFn) -> tuple[list[Race], int | None]:
    tables = draw(
        st.lists(st.lists(st.integers(0, 30), min_size=1, max_size=8), min_size=1, max_size=3)
    )
    races = draw(st.lists(a_race(tables), min_size=0, max_size=7))
    best = draw(st.one_of(st.none(), st.integers(1, 5)))
    return races, best


@settings(max_examples=200, deadline=None, database=None)
@given(cup=a_cup())
def test_a_cup_without_section_8_scores_as_section_5_says(
    cup: tuple[list[Race], int | None],
) -> None:
    races, best = cup
    assert engine_standings(races, best) == reference_standings(races, best)
