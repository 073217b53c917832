"""`ledger correct|disqualify|reinstate|record|void`: what they write, and what they refuse."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ledger.application import Ledger
from ledger.events import (
    CompetitorDisqualified,
    DisqualificationWithdrawn,
    RaceVoided,
    ResultCorrected,
    ResultRecorded,
)
from tests.audit_helpers import head, invoke, setup_mini, totals

WHY = ["--reason", "jury decision", "--by", "referee", "--source", "decision 7"]


@pytest.fixture
def db(runner: CliRunner, db_url: str, tmp_path: Path) -> str:
    """The mini season (see tests.audit_helpers), recorded."""
    setup_mini(runner, db_url, tmp_path)
    return db_url


def last_event(db: str) -> object:
    ledger = Ledger(db)
    try:
        return list(ledger.read_events())[-1][1]
    finally:
        ledger.close()


def test_correcting_a_time_records_the_old_and_new_values_and_leaves_the_points(
    runner: CliRunner, db: str
) -> None:
    before = totals(db)
    code, out, _ = invoke(runner, db, "correct", "R1", "Cat", "--time", "40.35", *WHY)
    assert code == 0
    assert "time 40.30 → 40.35" in out
    event = last_event(db)
    assert isinstance(event, ResultCorrected)
    assert (event.old_time, event.time) == (Decimal("40.30"), Decimal("40.35"))
    assert (event.old_place, event.place) == (3, 3)
    assert (event.reason, event.by, event.source) == ("jury decision", "referee", "decision 7")
    assert out.rstrip().endswith(head(db)[1])
    assert totals(db) == before


def test_correcting_a_place_changes_the_standings(runner: CliRunner, db: str) -> None:
    # R2: Dan corrected from 5th to 3rd, level with Eve (a dead heat). Dan's effective place is
    # 1 + 2 better (Bea, Ann) = 3rd: 6 points, total 5 + 6 = 11, rank 3 behind Ann and Bea (18).
    # Cat (recorded 4th in R2) now has 4 classified ahead (Bea, Ann, Eve, Dan): 5th, 4 points,
    # total 6 + 4 = 10. Eve keeps 3rd: 6 points, total 4 + 6 = 10.
    code, out, _ = invoke(runner, db, "correct", "R2", "Dan", "--place", "3", *WHY)
    assert code == 0, out
    assert "place 5th → 3rd" in out
    after = totals(db)
    assert after[("Dan", "USA")] == (3, 11)
    assert after[("Cat", "NOR")][1] == 10
    assert after[("Eve", "CAN")][1] == 4 + 6


def test_disqualification_moves_everyone_behind_up(runner: CliRunner, db: str) -> None:
    # Ann is disqualified from R1. Everyone who placed behind her moves up one place:
    #   R1: Bea 1st 10, Cat 2nd 8, Dan 3rd 6, Eve 4th 5, Kim Lee KOR 5th 4, Kim Lee USA 6th 3.
    #   Totals with R2 (Bea 10, Ann 8, Eve 6, Cat 5, Dan 4):
    #   Bea 20, Cat 13, Eve 11, Dan 10, Ann 8, Kim Lee KOR 4, Kim Lee USA 3.
    code, out, _ = invoke(runner, db, "disqualify", "R1", "ann", *WHY)
    assert code == 0, out
    assert "disqualified mini-2024/R1 Ann (NED): 1st in 40.10 → disqualified" in out
    assert isinstance(last_event(db), CompetitorDisqualified)
    assert totals(db) == {
        ("Bea", "GER"): (1, 20),
        ("Cat", "NOR"): (2, 13),
        ("Eve", "CAN"): (3, 11),
        ("Dan", "USA"): (4, 10),
        ("Ann", "NED"): (5, 8),
        ("Kim Lee", "KOR"): (6, 4),
        ("Kim Lee", "USA"): (7, 3),
    }


def test_reinstating_restores_the_standings(runner: CliRunner, db: str) -> None:
    before = totals(db)
    assert invoke(runner, db, "disqualify", "R1", "Ann", *WHY)[0] == 0
    code, out, _ = invoke(runner, db, "reinstate", "R1", "Ann", "--reason", "appeal upheld")
    assert code == 0, out
    assert "disqualified → 1st in 40.10 again" in out
    assert isinstance(last_event(db), DisqualificationWithdrawn)
    assert totals(db) == before
    assert before[("Ann", "NED")] == (1, 18)


def test_a_late_result_is_recorded_and_scores(runner: CliRunner, db: str) -> None:
    # Fay finished 6th in R2 (3 points); her result arrived late.
    code, out, _ = invoke(
        runner, db, "record", "R2", "Fay", "--nation", "fin", "--place", "6", "--time", "41.5"
    )
    assert code == 0, out
    assert "recorded mini-2024/R2 Fay (FIN): 6th in 41.5" in out
    event = last_event(db)
    assert isinstance(event, ResultRecorded)
    assert (event.nation, event.place, event.time) == ("FIN", 6, Decimal("41.5"))
    assert totals(db)[("Fay", "FIN")][1] == 3


def test_a_voided_race_scores_nothing_but_keeps_its_results(runner: CliRunner, db: str) -> None:
    code, out, _ = invoke(runner, db, "void", "R2", *WHY)
    assert code == 0, out
    assert isinstance(last_event(db), RaceVoided)
    # Only R1 counts: Ann 10, Bea 8, Cat 6, Dan 5, Eve 4, Kim Lee KOR 3, Kim Lee USA 2.
    assert {k: v[1] for k, v in totals(db).items()} == {
        ("Ann", "NED"): 10,
        ("Bea", "GER"): 8,
        ("Cat", "NOR"): 6,
        ("Dan", "USA"): 5,
        ("Eve", "CAN"): 4,
        ("Kim Lee", "KOR"): 3,
        ("Kim Lee", "USA"): 2,
    }
    code, out, _ = invoke(runner, db, "results", "R2", "--format", "csv")
    assert code == 0
    assert out.count("\n") == 6  # the header and R2's five results, still on record


def test_nation_settles_a_shared_name(runner: CliRunner, db: str) -> None:
    code, out, _ = invoke(runner, db, "disqualify", "R1", "Kim Lee", "--nation", "usa", *WHY)
    assert code == 0, out
    event = last_event(db)
    assert isinstance(event, CompetitorDisqualified)
    assert (event.competitor, event.nation) == ("Kim Lee", "USA")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["correct", "R1", "Kim Lee", "--place", "5", *WHY], "give --nation (KOR or USA)"),
        (["disqualify", "R1", "Kim Lee", *WHY], "give --nation (KOR or USA)"),
        (["correct", "R2", "Kim Lee", "--nation", "KOR", "--place", "6", *WHY], "no result"),
        (["correct", "R1", "Zed", "--place", "2", *WHY], "Zed has no result"),
        (["correct", "R1", "Ann", *WHY], "say what to correct"),
        (["correct", "R1", "Ann", "--place", "1", *WHY], "nothing to correct"),
        (["correct", "R1", "Ann", "--place", "0", *WHY], "--place '0'"),
        (["correct", "R1", "Ann", "--time", "fast", *WHY], "--time 'fast'"),
        (["correct", "R1", "Ann", "--place", "2", "--reason", "  "], "--reason may not be empty"),
        (["disqualify", "R1", "Ann", "--reason", ""], "--reason may not be empty"),
        (["reinstate", "R1", "Ann", *WHY], "is not disqualified"),
        (["correct", "R9", "Ann", "--place", "2", *WHY], "unknown race 'R9'"),
        (["record", "R1", "Ann", "--nation", "NED", "--place", "3"], "already has a result"),
        (["record", "R1", "Fay", "--nation", "FIN"], "needs --place"),
        (["void", "R1", "--reason", " "], "--reason may not be empty"),
        (
            ["correct", "R1", "Ann", "--place", "2", *WHY, "--recorded-at", "2024-01-02T00:00:00Z"],
            "recorded times may not go backwards",
        ),
    ],
)
def test_a_rejected_change_is_one_line_and_writes_nothing(
    runner: CliRunner, db: str, args: list[str], message: str
) -> None:
    before, standings = head(db), totals(db)
    code, out, err = invoke(runner, db, *args)
    assert code == 1
    assert message in err
    assert err.count("\n") == 1 and err.startswith("error: ")
    assert "Traceback" not in out + err
    assert head(db) == before
    assert totals(db) == standings


def test_disqualifying_twice_is_refused_and_writes_nothing(runner: CliRunner, db: str) -> None:
    assert invoke(runner, db, "disqualify", "R1", "Ann", *WHY)[0] == 0
    before = head(db)
    code, _, err = invoke(runner, db, "disqualify", "R1", "Ann", *WHY)
    assert code == 1
    assert "already disqualified" in err
    assert head(db) == before


def test_voiding_twice_is_refused_and_writes_nothing(runner: CliRunner, db: str) -> None:
    assert invoke(runner, db, "void", "R1", *WHY)[0] == 0
    before = head(db)
    code, _, err = invoke(runner, db, "void", "R1", *WHY)
    assert (code, head(db)) == (1, before)
    assert "already void" in err


def test_by_defaults_to_the_os_user(runner: CliRunner, db: str) -> None:
    import getpass

    assert invoke(runner, db, "correct", "R1", "Cat", "--time", "40.31", "--reason", "typo")[0] == 0
    event = last_event(db)
    assert isinstance(event, ResultCorrected)
    assert event.by == getpass.getuser()
    assert event.source is None
