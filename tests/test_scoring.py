"""Contract §5, rule by rule, on the pure scoring functions (no store involved)."""

from __future__ import annotations

from decimal import Decimal

from projections.scoring import (
    CupRace,
    CupRules,
    Entry,
    RaceResult,
    classify,
    counted,
    standings,
)

TABLE = [Decimal(p) for p in (100, 80, 70, 60, 50)]


def result(name: str, place: int | None, status: str | None = None, dq: bool = False) -> Entry:
    return Entry(name, place, classified=place is not None and status is None and not dq)


def scored(
    results: list[Entry], table: list[Decimal] = TABLE
) -> dict[object, tuple[int | None, Decimal]]:
    return {s.entry.key: (s.place, s.points) for s in classify(results, table)}


def ranks(scores: dict[str, list[int]], best: int | None = None) -> list[tuple[int, str, int]]:
    width = max(len(points) for points in scores.values())
    races = [
        CupRace({n: RaceResult(Decimal(p[i])) for n, p in scores.items() if i < len(p)})
        for i in range(width)
    ]
    lines = standings(races, CupRules(best=best), names={name: (name,) for name in scores})
    return [(line.rank, str(line.key), int(line.total)) for line in lines]


def test_a_tie_for_first_gives_both_the_winners_points_and_the_next_is_third() -> None:
    got = scored([result("A", 1), result("B", 1), result("C", 3)])
    assert got == {"A": (1, 100), "B": (1, 100), "C": (3, 70)}


def test_a_tie_followed_by_a_skipped_place_scores_the_place_after_the_gap() -> None:
    got = scored([result("A", 1), result("B", 2), result("C", 2), result("D", 4)])
    assert got == {"A": (1, 100), "B": (2, 80), "C": (2, 80), "D": (4, 60)}


def test_a_place_past_the_end_of_the_table_scores_zero() -> None:
    got = scored([result(f"S{i}", i) for i in range(1, 8)])
    assert got["S5"] == (5, 50)
    assert got["S6"] == (6, 0)
    assert got["S7"] == (7, 0)


def test_dnf_dns_and_dq_statuses_are_not_classified_and_score_nothing() -> None:
    got = scored(
        [result("A", None, "DNF"), result("B", None, "DNS"), result("C", 1, "DQ"), result("D", 2)]
    )
    assert got == {"A": (None, 0), "B": (None, 0), "C": (None, 0), "D": (1, 100)}


def test_disqualification_moves_everyone_behind_up() -> None:
    # Recorded 1, 2, 3, 4; the 2nd is disqualified: 3rd becomes 2nd, 4th becomes 3rd.
    got = scored([result("A", 1), result("B", 2, dq=True), result("C", 3), result("D", 4)])
    assert got == {"A": (1, 100), "B": (None, 0), "C": (2, 80), "D": (3, 70)}


def test_disqualifying_one_of_two_tied_competitors_leaves_the_other_in_that_place() -> None:
    got = scored([result("A", 1), result("B", 2, dq=True), result("C", 2), result("D", 4)])
    assert got == {"A": (1, 100), "B": (None, 0), "C": (2, 80), "D": (3, 70)}


def test_a_void_race_scores_nothing_for_anyone() -> None:
    placings = classify([result("A", 1), result("B", 2)], TABLE, voided=True)
    assert [(p.place, p.points) for p in placings] == [(1, 0), (2, 0)]


def test_times_do_not_decide_places() -> None:
    # An entry carries no time at all: only places are compared.
    assert scored([result("Fast", 2), result("Slow", 1)]) == {"Slow": (1, 100), "Fast": (2, 80)}


def test_standings_order_by_total_highest_first() -> None:
    assert ranks({"A": [10, 5], "B": [30], "C": [20]}) == [(1, "B", 30), (2, "C", 20), (3, "A", 15)]


def test_countback_decides_an_equal_total_by_the_best_single_result() -> None:
    # Both 100 points; A's best result is 60, B's is 50: A is ahead.
    assert ranks({"B": [50, 50], "A": [40, 60]}) == [(1, "A", 100), (2, "B", 100)]


def test_countback_compares_element_by_element_with_missing_results_as_zero() -> None:
    # A: 50, 30, 20; B: 50, 30, 10, 10. Equal until the third element: 20 > 10.
    assert ranks({"B": [50, 30, 10, 10], "A": [50, 30, 20]}) == [(1, "A", 100), (2, "B", 100)]
    # C: 60; D: 50, 10. 60 > 50 at once.
    assert ranks({"D": [50, 10], "C": [60]}) == [(1, "C", 60), (2, "D", 60)]


def test_when_countback_fails_the_rank_is_shared_and_the_next_rank_skips() -> None:
    got = ranks({"Z": [30, 20], "Y": [20, 30], "X": [100], "W": [10]})
    # Z and Y are identical after sorting: shared 2nd, ordered by name; W is 4th.
    assert got == [(1, "X", 100), (2, "Y", 50), (2, "Z", 50), (4, "W", 10)]


def test_competitors_with_no_points_are_not_in_the_standings() -> None:
    assert ranks({"A": [0, 0], "B": [1]}) == [(1, "B", 1)]


def test_best_n_drops_the_worst_results() -> None:
    # Best 3 of 4: A drops its 10 and keeps 25 + 19 + 15 = 59; B keeps 20 + 20 + 20 = 60.
    assert ranks({"A": [25, 10, 19, 15], "B": [20, 20, 20, 20]}, best=3) == [
        (1, "B", 60),
        (2, "A", 59),
    ]


def test_best_n_counts_the_earlier_race_when_dropped_results_tie_on_points() -> None:
    results = [(i, 0, RaceResult(Decimal(p))) for i, p in enumerate((10, 30, 10))]
    assert counted(results, CupRules(best=2)) == [(0, 10), (1, 30)]


def test_countback_uses_only_the_counted_results_under_best_n() -> None:
    # Best 2: A counts 50+50 (drops 40), B counts 60+40 (drops 1): equal 100, B's 60 wins.
    assert ranks({"A": [50, 50, 40], "B": [60, 40, 1]}, best=2) == [(1, "B", 100), (2, "A", 100)]
