"""Contract §8, rule by rule, on the scoring rules engine (pure: no store, no files)."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from decimal import Decimal

import pytest

from projections.scoring import (
    CupRace,
    CupRules,
    Entry,
    Part,
    RaceResult,
    Standing,
    Tie,
    classify,
    race_results,
    standings,
)

D = Decimal
F1 = [D(p) for p in (25, 18, 15, 12, 10, 8, 6, 4, 2, 1)]


def race(points: Mapping[str, int | str], part: int = 0) -> CupRace:
    """A race of a cup given as each competitor's points (no places)."""
    return CupRace({who: RaceResult(D(p)) for who, p in points.items()}, part)


def placed(places: Mapping[str, int], table: Sequence[Decimal] = F1, part: int = 0) -> CupRace:
    """A race given as each competitor's recorded place, scored by a table."""
    entries = [Entry(who, place) for who, place in places.items()]
    return CupRace(race_results(entries, table, CupRules()), part)


def table(lines: list[Standing]) -> list[tuple[int, Hashable, Decimal]]:
    return [(line.rank, line.key, line.total) for line in lines]


def tie(lines: list[Standing], who: str, other: str) -> Tie:
    return next(t for t in next(x for x in lines if x.key == who).ties if t.other == other)


# --- One race --------------------------------------------------------------------------------


def test_decimal_points_are_exact_and_a_tie_on_a_decimal_place_scores_alike() -> None:
    half = [D("12.5"), D(9), D("7.5"), D(6), D("0.1"), D("0.2")]
    got = classify(
        [Entry("A", 1), Entry("B", 2), Entry("C", 2), Entry("D", 5), Entry("E", 6)], half
    )
    assert [(s.entry.key, s.place, s.points) for s in got] == [
        ("A", 1, D("12.5")),
        ("B", 2, D(9)),
        ("C", 2, D(9)),
        ("D", 4, D(6)),
        ("E", 5, D("0.1")),
    ]
    # 0.1 + 0.2 is exactly 0.3: no float ever comes near the points.
    races = [race({"A": "0.1"}), race({"A": "0.2"}), race({"B": "0.3"})]
    lines = standings(races, CupRules(tiebreak=()))
    assert table(lines) == [(1, "A", D("0.3")), (1, "B", D("0.3"))]


def test_a_bonus_counts_for_an_unclassified_competitor_and_adds_to_a_classified_one() -> None:
    got = classify(
        [Entry("A", 1, bonus=D(1)), Entry("B", None, False, bonus=D("0.5")), Entry("C", 2)], F1
    )
    assert {s.entry.key: s.points for s in got} == {"A": D(26), "B": D("0.5"), "C": D(18)}
    assert {s.entry.key: s.place for s in got} == {"A": 1, "B": None, "C": 2}


def test_a_disqualified_competitor_keeps_its_bonus_but_takes_no_place() -> None:
    # Disqualified: recorded 1st, not classified; the 2nd moves up to 1st.
    got = classify([Entry("A", 1, False, bonus=D(1)), Entry("B", 2)], F1)
    assert {s.entry.key: (s.place, s.points) for s in got} == {"A": (None, D(1)), "B": (1, D(25))}


def test_a_void_race_scores_nothing_for_anyone_bonus_included() -> None:
    got = classify(
        [Entry("A", 1, bonus=D(1)), Entry("B", None, False, bonus=D(1))], F1, voided=True
    )
    assert [s.points for s in got] == [D(0), D(0)]
    results = race_results([Entry("A", 1, bonus=D(1))], F1, CupRules(), voided=True)
    assert results == {"A": RaceResult(D(0), ())}


# --- Team cups -------------------------------------------------------------------------------

TEAM_RACE = [
    Entry("Hamilton", 1, team="Mercedes"),
    Entry("Verstappen", 2, team="Red Bull", bonus=D(1)),
    Entry("Bottas", 3, team="Mercedes"),
    Entry("Perez", 4, team="Red Bull"),
    Entry("Russell", 5, team="Mercedes"),  # a third car: per_race decides whether it scores
    Entry("Norris", None, False, team="McLaren", bonus=D(1)),
    Entry("Privateer", 6),  # no team: scores for no team
]


def team_cup(per_race: int | None = None, table: str | None = None, bonus: bool = True) -> CupRules:
    return CupRules(of="drivers", per_race=per_race, table=table, bonus=bonus)


def test_a_team_scores_its_best_member_with_per_race_1() -> None:
    got = race_results(TEAM_RACE, F1, team_cup(per_race=1))
    assert got == {
        "Mercedes": RaceResult(D(25), (1,)),
        "Red Bull": RaceResult(D(19), (2,)),  # 18 + the fastest lap's 1
        "McLaren": RaceResult(D(1), ()),  # a bonus without a place
    }


def test_a_team_scores_its_best_two_members_with_per_race_2_and_all_without_it() -> None:
    two = race_results(TEAM_RACE, F1, team_cup(per_race=2))
    assert two["Mercedes"] == RaceResult(D(40), (1, 3))  # 25 + 15; Russell's 10 does not score
    assert two["Red Bull"] == RaceResult(D(31), (2, 4))  # 18 + 1 + 12
    every = race_results(TEAM_RACE, F1, team_cup())
    assert every["Mercedes"] == RaceResult(D(50), (1, 3, 5))
    assert None not in every and "Privateer" not in every


def test_per_race_takes_the_best_scoring_members_not_the_first_listed() -> None:
    # The bonus makes the 3rd-placed car the team's best scorer: 15 + 11 > 18.
    entries = [Entry("L", 1), Entry("A", 2, team="T"), Entry("B", 3, team="T", bonus=D(11))]
    assert race_results(entries, F1, team_cup(per_race=1)) == {"T": RaceResult(D(26), (3,))}


def test_a_team_cup_with_a_table_of_its_own_looks_members_places_up_in_it() -> None:
    constructors = [D(9), D(6), D(4), D(3), D(2), D(1)]
    got = race_results(TEAM_RACE, F1, team_cup(table="C"), tables={"C": constructors})
    assert got["Mercedes"] == RaceResult(D(15), (1, 3, 5))  # 9 + 4 + 2, not 25 + 15 + 10
    assert got["Red Bull"] == RaceResult(D(10), (2, 4))  # 6 + 3 + the bonus 1
    with pytest.raises(ValueError, match="'C'"):
        race_results(TEAM_RACE, F1, team_cup(table="C"))


def test_a_team_cup_with_bonus_false_leaves_bonuses_out() -> None:
    got = race_results(TEAM_RACE, F1, team_cup(bonus=False))
    assert got["Red Bull"] == RaceResult(D(30), (2, 4))  # 18 + 12, without the 1
    assert got["McLaren"] == RaceResult(D(0), ())
    own = race_results(
        TEAM_RACE, F1, team_cup(table="C", bonus=False, per_race=1), tables={"C": [D(9), D(6)]}
    )
    assert own["Red Bull"] == RaceResult(D(6), (2,))


def test_team_standings_rows_are_named_by_the_team() -> None:
    races = [CupRace(race_results(TEAM_RACE, F1, team_cup(per_race=2)))]
    assert table(standings(races, team_cup(per_race=2))) == [
        (1, "Mercedes", D(40)),
        (2, "Red Bull", D(31)),
        (3, "McLaren", D(1)),
    ]


# --- Best N and parts --------------------------------------------------------------------------


def test_parts_count_the_best_n_of_each_part_of_the_calendar() -> None:
    rules = CupRules(parts=(Part(races=3, best=2), Part(best=1)))
    assert [rules.part_of(i) for i in range(6)] == [0, 0, 0, 1, 1, 1]
    races = [race({"A": p}, rules.part_of(i)) for i, p in enumerate([9, 6, 4, 1, 3, 2])]
    [line] = standings(races, rules)
    assert line.total == D(18)  # best 2 of (9, 6, 4) + best 1 of (1, 3, 2) = 15 + 3
    assert line.counted == {0, 1, 4}


def test_as_of_mid_season_a_race_keeps_its_part_of_the_whole_calendar() -> None:
    # Six races scheduled, parts of 3 and the rest; as of the 4th race only four have been run.
    rules = CupRules(parts=(Part(races=3, best=1), Part(best=1)))
    run = [race({"A": p}, rules.part_of(i)) for i, p in enumerate([9, 6, 4, 1])]
    [line] = standings(run, rules)
    # The 4th race is in part 2, even though it is the last race run: 9 + 1, not just 9.
    assert (line.total, line.counted) == (D(10), frozenset({0, 3}))


def test_a_part_without_best_counts_all_its_results_and_later_races_go_to_the_last_part() -> None:
    rules = CupRules(parts=(Part(races=2, best=1), Part(races=2)))
    assert [rules.part_of(i) for i in range(6)] == [0, 0, 1, 1, 1, 1]
    races = [race({"A": p}, rules.part_of(i)) for i, p in enumerate([5, 4, 3, 2, 1])]
    assert standings(races, rules)[0].total == D(11)  # 5 + (3 + 2 + 1)


def test_best_n_counts_the_earlier_race_of_two_on_equal_points() -> None:
    [line] = standings([race({"A": 10}), race({"A": 30}), race({"A": 10})], CupRules(best=2))
    assert (line.total, line.counted) == (D(40), frozenset({0, 1}))


# --- Tie-breaks ------------------------------------------------------------------------------


def test_countback_compares_counted_results_highest_first_with_missing_as_zero() -> None:
    # A: 25 + 5 + 5; B: 25 + 10; equal on 35, and B's second-best 10 beats A's 5.
    races = [race({"A": 25, "B": 10}), race({"A": 5, "B": 25}), race({"A": 5})]
    lines = standings(races, CupRules())
    assert table(lines) == [(1, "B", D(35)), (2, "A", D(35))]
    assert tie(lines, "A", "B") == Tie("B", "countback", False, 2, D(5), D(10))
    assert tie(lines, "B", "A").detail() == "2nd-best result 10 against 5"


def test_places_counts_wins_then_seconds_over_every_race_counted_or_not() -> None:
    # Best 1: A counts a win (25), B a win (25); B has a second win that does not count.
    races = [placed({"A": 1, "B": 2}), placed({"B": 1, "A": 2}), placed({"B": 1, "A": 2})]
    rules = CupRules(best=1, tiebreak=("places",))
    lines = standings(races, rules)
    assert table(lines) == [(1, "B", D(25)), (2, "A", D(25))]
    assert tie(lines, "A", "B") == Tie("B", "places", False, 1, 1, 2)
    assert tie(lines, "A", "B").detail() == "1st places 1 against 2"
    # Countback alone cannot tell them apart: both counted 25.
    assert table(standings(races, CupRules(best=1))) == [(1, "A", D(25)), (1, "B", D(25))]


def test_places_goes_on_to_second_places_when_wins_are_equal() -> None:
    races = [
        CupRace({"A": RaceResult(D(10), (1,)), "B": RaceResult(D(10), (1,))}),
        CupRace({"A": RaceResult(D(5), (2,)), "B": RaceResult(D(5), (3,))}),
    ]
    lines = standings(races, CupRules(tiebreak=("places",)))
    assert table(lines) == [(1, "A", D(15)), (2, "B", D(15))]
    assert tie(lines, "A", "B").detail() == "2nd places 1 against 0"


def test_places_counted_looks_only_at_the_counted_results() -> None:
    # Best 1: A counts a win; B counts a 2nd worth as much, and has an uncounted win.
    races = [
        CupRace({"A": RaceResult(D(10), (1,)), "B": RaceResult(D(1), (3,))}),
        CupRace({"B": RaceResult(D(10), (2,)), "A": RaceResult(D(1), (3,))}),
        CupRace({"B": RaceResult(D(0), (1,))}),  # a win in a race worth nothing
    ]
    counted_only = standings(races, CupRules(best=1, tiebreak=("places-counted",)))
    assert table(counted_only) == [(1, "A", D(10)), (2, "B", D(10))]
    assert tie(counted_only, "B", "A").detail() == "1st places in counted results 0 against 1"
    # Over every race, B's uncounted win and its 2nd place put it ahead instead.
    every = standings(races, CupRules(best=1, tiebreak=("places",)))
    assert table(every) == [(1, "B", D(10)), (2, "A", D(10))]
    assert tie(every, "A", "B").detail() == "2nd places 0 against 1"


def test_first_to_score_puts_the_earlier_first_points_ahead() -> None:
    races = [race({"B": 0, "A": 0}), race({"B": 10}), race({"A": 10})]
    lines = standings(races, CupRules(tiebreak=("first-to-score",)))
    assert table(lines) == [(1, "B", D(10)), (2, "A", D(10))]
    assert tie(lines, "A", "B") == Tie("B", "first-to-score", False, 0, 2, 1)
    assert tie(lines, "A", "B").detail() == "first points in race 3 against race 2"


def test_tie_breaks_apply_in_order_and_the_first_difference_decides() -> None:
    # Equal on countback (10, 10); A has a win, B none; B scored first.
    races = [
        CupRace({"B": RaceResult(D(10), (2,))}),
        CupRace({"A": RaceResult(D(10), (1,))}),
        CupRace({"A": RaceResult(D(10), (2,)), "B": RaceResult(D(10), (2,))}),
    ]
    one = standings(races, CupRules(tiebreak=("countback", "places", "first-to-score")))
    assert table(one) == [(1, "A", D(20)), (2, "B", D(20))]
    assert tie(one, "B", "A").rule == "places"
    other = standings(races, CupRules(tiebreak=("first-to-score", "places")))
    assert table(other) == [(1, "B", D(20)), (2, "A", D(20))]


def test_still_equal_competitors_share_the_rank_ordered_by_name_and_the_next_rank_skips() -> None:
    races = [race({"Zoë": 10, "Yann": 10, "Xavier": 20, "Wim": 5})]
    names = {"Zoë": ("Zoe",), "Yann": ("Yann",), "Xavier": ("Xavier",), "Wim": ("Wim",)}
    lines = standings(races, CupRules(), names=names)
    assert table(lines) == [
        (1, "Xavier", D(20)),
        (2, "Yann", D(10)),
        (2, "Zoë", D(10)),
        (4, "Wim", D(5)),
    ]
    assert tie(lines, "Yann", "Zoë") == Tie("Zoë", None, False)
    assert tie(lines, "Yann", "Zoë").detail() == "equal on every tie-break"
    assert next(x for x in lines if x.key == "Wim").ties == ()


def test_an_empty_tiebreak_list_leaves_every_equal_total_shared() -> None:
    races = [race({"A": 10, "B": 5}), race({"B": 5})]
    assert table(standings(races, CupRules(tiebreak=()))) == [(1, "A", D(10)), (1, "B", D(10))]


# --- Exclusions and deductions -----------------------------------------------------------------


def test_an_excluded_competitor_leaves_the_standings_but_no_one_moves_up_in_the_races() -> None:
    races = [placed({"S": 1, "V": 2, "F": 3}), placed({"V": 1, "S": 2, "F": 3})]
    lines = standings(races, CupRules(), excluded={"S"})
    # V keeps 18 for the 2nd place behind S: 25 + 18, not 25 + 25.
    assert table(lines) == [(1, "V", D(43)), (2, "F", D(30))]


def test_deductions_add_up_and_are_taken_after_best_n() -> None:
    races = [race({"A": 10, "B": 9}), race({"A": 8, "B": 1})]
    lines = standings(races, CupRules(best=1), deductions={"A": D(2) + D("1.5")})
    # A: best 1 of (10, 8) = 10, less 3.5 = 6.5; not (10 + 8) - 3.5, nor the best of (6.5, 4.5).
    assert table(lines) == [(1, "B", D(9)), (2, "A", D("6.5"))]
    assert lines[1].deduction == D("3.5")
    # Countback compares the points scored, before the deduction.
    assert lines[1].countback == (D(10),)


def test_a_deduction_beyond_the_points_scored_shows_a_negative_total_last() -> None:
    races = [race({"A": 3, "B": 1, "C": 0})]
    lines = standings(races, CupRules(), deductions={"A": D(5), "N": D(2), "B": D(0)})
    # A is not hidden by its penalty, nor is N, which has no result yet; C (0 points) is not
    # listed. A and N are equal on -2: A's countback (3) beats N's nothing.
    assert table(lines) == [(1, "B", D(1)), (2, "A", D(-2)), (3, "N", D(-2))]


# --- Rules as stored ---------------------------------------------------------------------------


def test_rules_read_from_a_stored_cup_default_to_section_5() -> None:
    assert CupRules.from_cup({"id": "men-500m", "name": "Men's 500 m"}) == CupRules()
    assert CupRules.from_cup({"id": "x", "name": "X", "best": 3}) == CupRules(best=3)


def test_rules_read_from_a_stored_team_cup_keep_every_key() -> None:
    stored = {
        "id": "constructors",
        "name": "Constructors",
        "parts": [{"races": 7, "best": 6}, {"best": 5}],
        "tiebreak": ["places", "first-to-score"],
        "of": "drivers",
        "teams": True,
        "per_race": 1,
        "table": "C",
        "bonus": False,
    }
    assert CupRules.from_cup(stored) == CupRules(
        parts=(Part(7, 6), Part(None, 5)),
        tiebreak=("places", "first-to-score"),
        of="drivers",
        per_race=1,
        table="C",
        bonus=False,
    )
    assert CupRules.from_cup(stored).teams


def test_an_unknown_tie_break_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown tie-break 'wins'"):
        CupRules(tiebreak=("countback", "wins"))
