"""Amending everything around a result (contract §6), on both stores, through the CLI.

The mini season of ``tests/audit_helpers.py`` (hand-worked totals: Ann 18, Bea 18, Cat 11,
Eve 10, Dan 9, Kim Lee (KOR) 3, Kim Lee (USA) 2). Every command's happy path is checked on the
ledger's state afterwards; every refusal is one line on stderr, exit 1, and the head unchanged.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ledger.application import Ledger
from ledger.chain import Head
from tests.audit_helpers import invoke, setup_mini


@pytest.fixture
def db(runner: CliRunner, db_url: str, tmp_path: Path) -> str:
    setup_mini(runner, db_url, tmp_path)
    return db_url


def head(db: str) -> Head:
    """The ledger's head (read as a reader: nothing written)."""
    ledger = Ledger(db, readonly=True)
    try:
        return ledger.head()
    finally:
        ledger.close()


def refused(runner: CliRunner, db: str, *args: str) -> str:
    """Run a command that must be refused: one line, exit 1, nothing written."""
    before = head(db)
    code, out, err = invoke(runner, db, *args)
    assert code == 1, (args, out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in out + err
    assert head(db) == before
    return lines[0]


def standings(runner: CliRunner, db: str, *extra: str) -> dict[str, tuple[int, int]]:
    code, out, err = invoke(runner, db, "standings", "sprint", "--format", "json", *extra)
    assert code == 0, err
    return {
        f"{r['competitor']} ({r['nation']})": (r["rank"], r["points"])
        for r in json.loads(out)["standings"]
    }


def ok(runner: CliRunner, db: str, *args: str) -> str:
    code, out, err = invoke(runner, db, *args)
    assert code == 0, (args, out, err)
    return out


# --- rename ----------------------------------------------------------------------------------


def test_a_rename_moves_every_result_and_the_table_known_before_keeps_the_old_name(
    runner: CliRunner, db: str
) -> None:
    before = head(db)
    out = ok(runner, db, "rename", "Ann", "--to", "Anne", "--reason", "misspelt", "--by", "office")
    assert "Ann (NED) → Anne (NED)" in out
    now = standings(runner, db)
    assert now["Anne (NED)"] == (1, 18) and "Ann (NED)" not in now
    then = standings(runner, db, "--known-at", before.recorded_at or "")
    assert then["Ann (NED)"] == (1, 18) and "Anne (NED)" not in then
    # After the rename, commands name the competitor by the new name.
    ok(runner, db, "correct", "R1", "Anne", "--time", "40.00", "--reason", "photo finish")
    refused(runner, db, "correct", "R1", "Ann", "--time", "40.05", "--reason", "x")
    rows = json.loads(ok(runner, db, "history", "--competitor", "Anne", "--format", "json"))
    history = rows["data"] if isinstance(rows, dict) else rows
    assert [r["what"] for r in history] == ["recorded", "recorded", "renamed", "corrected"]


def test_a_rename_to_a_nation_changes_the_nation_of_those_results(
    runner: CliRunner, db: str
) -> None:
    ok(runner, db, "rename", "Cat", "--to", "Cat", "--to-nation", "SWE", "--reason", "nation")
    assert standings(runner, db)["Cat (SWE)"] == (3, 11)


def test_renaming_into_a_name_held_by_someone_else_merges_the_two(
    runner: CliRunner, db: str
) -> None:
    # Kim Lee (USA) raced only R1, as did Kim Lee (KOR): they share a race, so they are two.
    line = refused(
        runner, db, "rename", "Kim Lee", "--nation", "USA", "--to", "Kim Lee", "--to-nation",
        "KOR", "--reason", "one skater",
    )  # fmt: skip
    assert "both have a result in mini-2024/R1" in line
    # Eve raced R1 and R2, Dan too: a merge of Dan into Eve shares races, also refused; but a
    # new skater with a result only in R2 merges into Kim Lee (KOR), who raced only R1.
    ok(runner, db, "record", "R2", "K. Lee", "--nation", "KOR", "--place", "6")
    ok(runner, db, "rename", "K. Lee", "--nation", "KOR", "--to", "Kim Lee", "--reason", "same")
    table = standings(runner, db)
    assert table["Kim Lee (KOR)"] == (6, 6)  # 3 (6th in R1) + 3 (6th in R2)
    assert "K. Lee (KOR)" not in table


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("rename", "Nobody", "--to", "X", "--reason", "r"), "no competitor Nobody"),
        (("rename", "Kim Lee", "--to", "Kim Li", "--reason", "r"), "give --nation"),
        (("rename", "Ann", "--to", "Ann", "--reason", "r"), "already called that"),
        (("rename", "Ann", "--to", "Ann\x07", "--reason", "r"), "control character"),
        (("rename", "Ann", "--to", "Bea", "--to-nation", "GER", "--reason", "r"), "both have"),
        (("rename", "Ann", "--to", "Anne", "--reason", " "), "--reason may not be empty"),
    ],
)
def test_a_rename_that_cannot_be_is_refused(
    runner: CliRunner, db: str, args: tuple[str, ...], says: str
) -> None:
    assert says in refused(runner, db, *args)


# --- withdraw --------------------------------------------------------------------------------


def test_withdrawing_a_result_moves_everyone_behind_up(runner: CliRunner, db: str) -> None:
    ok(runner, db, "withdraw", "R1", "Ann", "--reason", "recorded in error")
    table = standings(runner, db)
    # Ann keeps R2 (8); in R1 Bea becomes 1st (10), Cat 2nd (8), Dan 3rd (6), Eve 4th (5)...
    assert table["Ann (NED)"] == (5, 8)
    assert table["Bea (GER)"] == (1, 20)
    assert table["Cat (NOR)"] == (2, 13)
    assert "withdrawn" in ok(runner, db, "history", "--race", "R1", "--changes")
    assert "no result" in refused(runner, db, "withdraw", "R1", "Ann", "--reason", "again")


# --- the calendar ------------------------------------------------------------------------------


def test_a_race_added_to_the_calendar_counts_from_when_it_was_added(
    runner: CliRunner, db: str
) -> None:
    before = head(db)
    ok(runner, db, "schedule", "mini-2024/R3", "--cup", "sprint", "--date", "2024-01-20",
       "--table", "A", "--location", "Inzell", "--reason", "added by the federation")  # fmt: skip
    ok(runner, db, "record", "R3", "Dan", "--nation", "USA", "--place", "1")
    assert standings(runner, db)["Dan (USA)"] == (1, 19)  # 9 + 10: ahead of Ann and Bea
    assert standings(runner, db, "--known-at", before.recorded_at or "")["Dan (USA)"] == (5, 9)
    races = json.loads(ok(runner, db, "races", "--format", "json"))
    listed = races["data"] if isinstance(races, dict) else races
    assert [r["race"] for r in listed] == ["R1", "R2", "R3"]


NEW = ("--cup", "sprint", "--date", "2024-02-01", "--table", "A")


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("schedule", "R3", *NEW), "SEASON/RACE"),
        (("schedule", "mini-2024/R1", *NEW), "already scheduled"),
        (("schedule", "mini-2024/R3", *NEW[:-1], "Z"), "no table 'Z'"),
        (("schedule", "mini-2024/R3", "--cup", "relay", *NEW[2:]), "no cup 'relay'"),
        (("schedule", "nope/R3", *NEW), "unknown season"),
        (("schedule", "mini-2024/R3", *NEW[:2], "--date", "2024-02-31", *NEW[4:]), "not a date"),
        (("reschedule", "R1", "--date", "2024-01-06"), "already on 2024-01-06"),
        (("reschedule", "R9", "--date", "2024-01-06"), "unknown race"),
        (("retable", "R1", "--table", "A"), "already scored by table A"),
        (("retable", "R1", "--table", "Q"), "no table 'Q'"),
        (("unvoid", "R1"), "not void"),
    ],
)  # fmt: skip
def test_a_calendar_change_that_cannot_be_is_refused(
    runner: CliRunner, db: str, args: tuple[str, ...], says: str
) -> None:
    assert says in refused(runner, db, *args, "--reason", "r")


def test_a_race_moved_past_an_as_of_date_leaves_the_standings_as_of_that_date(
    runner: CliRunner, db: str
) -> None:
    assert standings(runner, db, "--as-of", "2024-01-10")["Ann (NED)"] == (1, 10)
    ok(runner, db, "reschedule", "R1", "--date", "2024-01-12", "--reason", "postponed: fog")
    assert standings(runner, db, "--as-of", "2024-01-10") == {}
    assert standings(runner, db, "--as-of", "2024-01-12")["Ann (NED)"] == (1, 10)


def test_a_race_scored_by_another_table_and_a_void_undone(runner: CliRunner, db: str) -> None:
    path = Path(db).with_name("b.toml") if not db.startswith("postgres") else None
    del path  # the mini season declares table A only: a season with two tables
    ok(runner, db, "void", "R2", "--reason", "timing failure")
    assert standings(runner, db)["Bea (GER)"] == (2, 8)
    ok(runner, db, "unvoid", "R2", "--reason", "overturned on appeal")
    assert standings(runner, db)["Bea (GER)"] == (1, 18)
    refused(runner, db, "unvoid", "R2", "--reason", "twice")


# --- correct --clear-time ------------------------------------------------------------------------


@pytest.mark.parametrize("clear", [("--time", ""), ("--clear-time",)])
def test_a_time_entered_by_mistake_can_be_cleared(
    runner: CliRunner, db: str, clear: tuple[str, ...]
) -> None:
    out = ok(runner, db, "correct", "R1", "Ann", *clear, "--reason", "not timed")
    assert "time 40.10 → none" in out
    _, out, _ = invoke(runner, db, "results", "R1", "--format", "json")
    ann = next(r for r in json.loads(out)["results"] if r["competitor"] == "Ann")
    assert ann["time"] is None
    assert "nothing to correct" in refused(
        runner, db, "correct", "R1", "Ann", *clear, "--reason", "x"
    )


# --- revert -------------------------------------------------------------------------------------


def test_reverting_a_correction_restores_the_old_values_with_a_new_event(
    runner: CliRunner, db: str
) -> None:
    before = standings(runner, db)
    out = ok(runner, db, "correct", "R1", "Ann", "--place", "5", "--reason", "photo")
    position = head(db).position
    assert standings(runner, db) != before
    out = ok(runner, db, "revert", str(position), "--reason", "wrong skater")
    assert "place 5th → 1st" in out
    assert standings(runner, db) == before
    assert head(db).position == position + 2  # the revert's record, and the correction back


def test_a_revert_is_refused_when_a_later_event_changed_the_same_result(
    runner: CliRunner, db: str
) -> None:
    ok(runner, db, "correct", "R1", "Ann", "--place", "5", "--reason", "photo")
    first = head(db).position
    ok(runner, db, "disqualify", "R1", "Ann", "--reason", "false start")
    second = head(db).position
    line = refused(runner, db, "revert", str(first), "--reason", "r")
    assert f"position {second}" in line and "revert it first" in line
    ok(runner, db, "revert", str(second), "--reason", "appeal")
    ok(runner, db, "revert", str(first), "--reason", "now it can")


def test_reverting_a_results_file_withdraws_all_of_it_and_a_revert_can_be_reverted(
    runner: CliRunner, db: str
) -> None:
    ledger = Ledger(db, readonly=True)
    with ledger.reading() as reader:
        file_command = reader.command_of(head(db).position)
    assert file_command is not None and file_command.last - file_command.command == 11
    ok(runner, db, "revert", str(file_command.last), "--reason", "wrong file")
    assert standings(runner, db) == {}
    ok(runner, db, "revert", str(head(db).position), "--reason", "right file after all")
    assert standings(runner, db)["Ann (NED)"] == (1, 18)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("revert", "1"), "a declaration, which cannot be reverted"),
        (("revert", "2"), "a declaration, which cannot be reverted"),
        (("revert", "999"), "no event there"),
        (("revert", "0"), "whole number from 1"),
        (("revert", "x"), "whole number"),
    ],
)
def test_a_revert_that_cannot_be_is_refused(
    runner: CliRunner, db: str, args: tuple[str, ...], says: str
) -> None:
    assert says in refused(runner, db, *args, "--reason", "r")


# --- reconcile ---------------------------------------------------------------------------------


def test_reconciling_a_republished_file_records_exactly_the_differences(
    runner: CliRunner, db: str, tmp_path: Path
) -> None:
    exported = ok(runner, db, "export", "results")
    same = tmp_path / "same.csv"
    same.write_text(exported, encoding="utf-8")
    assert "nothing to reconcile" in refused(
        runner, db, "import", "results", str(same), "--reconcile", "--reason", "same file"
    )
    changed = (
        exported.replace("R1,1,Ann,NED,40.10,", "R1,1,Ann,NED,40.15,").replace(
            "R2,5,Dan,USA,,\n", ""
        )
        + "R2,5,Fay,FIN,,\n"
    )
    corrected = tmp_path / "corrected.csv"
    corrected.write_text(changed, encoding="utf-8")
    before = head(db)
    plan = ok(runner, db, "import", "results", str(corrected), "--reconcile", "--reason", "ISU",
              "--dry-run")  # fmt: skip
    assert head(db) == before
    assert plan.count("would record") == 3
    ok(runner, db, "import", "results", str(corrected), "--reconcile", "--reason", "ISU file 2")
    assert ok(runner, db, "export", "results") == changed
    assert head(db).position == before.position + 3  # one correction, a withdrawal, a result


def test_reconciling_a_file_that_names_an_unknown_race_is_refused_at_its_line(
    runner: CliRunner, db: str, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("race,place,competitor,nation\nR9,1,Ann,NED\n", encoding="utf-8")
    line = refused(runner, db, "import", "results", str(bad), "--reconcile", "--reason", "r")
    assert "line 2, field race" in line
    assert "--reconcile" in refused(runner, db, "import", "results", str(bad), "--reason", "r")
