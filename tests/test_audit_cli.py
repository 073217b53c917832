"""`ledger history|diff|explain|check`, and the warnings `import results` prints."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from tests.audit_helpers import RECORDED, head, invoke, setup_mini

BEFORE = "2024-01-14T00:00:00+00:00"  # after the results, before any change
DQ_AT = "2024-01-20T10:00:00+00:00"
FIX_AT = "2024-01-21T10:00:00+00:00"


@pytest.fixture
def db(runner: CliRunner, db_url: str, tmp_path: Path) -> str:
    """The mini season (tests.audit_helpers) with two changes recorded after the races."""
    setup_mini(runner, db_url, tmp_path)
    dq = ["disqualify", "R1", "Ann", "--reason", "false start missed", "--by", "jury"]
    dq += ["--source", "jury report 1", "--recorded-at", DQ_AT]
    fix = ["correct", "R2", "Dan", "--time", "41.02", "--reason", "timing sheet"]
    fix += ["--by", "office", "--recorded-at", FIX_AT]
    for args in (dq, fix):
        code, _, err = invoke(runner, db_url, *args)
        assert code == 0, err
    return db_url


def as_json(runner: CliRunner, db: str, *args: str) -> object:
    """A command's answer: an object's fields, or a list answer's data (docs/json.md)."""
    code, out, err = invoke(runner, db, *args, "--format", "json")
    assert code == 0, err
    answer = json.loads(out)
    assert answer["command"] == args[0]
    return answer.get("data", answer)


def test_history_lists_every_event_with_who_what_why_and_source(runner: CliRunner, db: str) -> None:
    rows = as_json(runner, db, "history")
    assert isinstance(rows, list)
    # 1 season + 2 races + 12 results + 1 disqualification + 1 correction
    assert len(rows) == 17 == head(db)[0]
    assert [r["position"] for r in rows] == list(range(1, 18))
    dq, fix = rows[-2], rows[-1]
    assert (dq["what"], dq["competitor"], dq["by"], dq["reason"], dq["source"]) == (
        "disqualified",
        "Ann",
        "jury",
        "false start missed",
        "jury report 1",
    )
    assert dq["change"] == "1st in 40.10 → disqualified"
    assert dq["recorded_at"].startswith("2024-01-20T10:00:00")
    assert fix["old"]["time"] is None and fix["new"]["time"] == "41.02"
    assert fix["change"] == "time none → 41.02"


def test_history_of_the_log_listed_by_several_processes_in_stretches_says_the_same(
    runner: CliRunner, db: str, monkeypatch: pytest.MonkeyPatch, forks: list[int]
) -> None:
    """Stretches of 1, then 2 positions, three processes (forked on a SQLite file, one on
    PostgreSQL): each stretch is read from its start, with what its rows need to say what
    changed, and the lines come out in log order."""
    alone = {f: invoke(runner, db, "history", "--format", f)[1] for f in ("tsv", "csv")}
    monkeypatch.setattr("projections.history.BLOCK_ROWS", 1)
    monkeypatch.setattr("projections.history.HISTORY_STRETCH", 2)
    monkeypatch.setattr("projections.history.processes_for", lambda events: 3)
    rows = as_json(runner, db, "history")
    assert len(forks) == (0 if db.startswith("postgresql:") else 2)
    assert isinstance(rows, list)
    assert [r["position"] for r in rows] == list(range(1, 18))
    assert rows[-2]["change"] == "1st in 40.10 → disqualified"  # Ann's result, from position 4
    assert rows[-1]["change"] == "time none → 41.02"
    for fmt, text in alone.items():
        code, out, err = invoke(runner, db, "history", "--format", fmt)
        assert (code, err) == (0, "") and out == text
        lines = out.splitlines()
        assert len(lines) == 18 and lines[1].startswith("1\t1\t" if fmt == "tsv" else "1,1,")
    since = as_json(runner, db, "history", "--since", DQ_AT)
    assert isinstance(since, list) and [r["what"] for r in since] == ["disqualified", "corrected"]
    assert as_json(runner, db, "history", "--known-at", BEFORE, "--changes") == []


def test_history_filters_by_race_competitor_and_time(runner: CliRunner, db: str) -> None:
    r1 = as_json(runner, db, "history", "--race", "R1")
    assert isinstance(r1, list)
    assert {r["race"] for r in r1} == {"R1"} and len(r1) == 1 + 7 + 1
    ann = as_json(runner, db, "history", "--competitor", "ann")
    assert isinstance(ann, list)
    assert [r["what"] for r in ann] == ["recorded", "recorded", "disqualified"]
    since = as_json(runner, db, "history", "--since", DQ_AT)
    assert isinstance(since, list)
    assert [r["what"] for r in since] == ["disqualified", "corrected"]
    known = as_json(runner, db, "history", "--known-at", BEFORE, "--changes")
    assert known == []
    kim = as_json(runner, db, "history", "--competitor", "Kim Lee", "--nation", "KOR")
    assert isinstance(kim, list)
    assert [(r["competitor"], r["nation"]) for r in kim] == [("Kim Lee", "KOR")]


def test_history_of_an_unknown_competitor_is_an_error(runner: CliRunner, db: str) -> None:
    code, _, err = invoke(runner, db, "history", "--competitor", "Anne")
    assert code == 1
    assert "unknown competitor 'Anne' (did you mean Ann?)" in err
    # One line and nothing else, in every format: no header or envelope printed before it.
    for fmt in ("table", "markdown", "tsv", "csv", "json"):
        for asked in (["--race", "R9"], ["--by", "nobody"], ["--competitor", "Anne"]):
            code, out, err = invoke(runner, db, "history", *asked, "--format", fmt)
            assert (code, out, len(err.splitlines())) == (1, "", 1), (fmt, asked)
        code, out, _ = invoke(runner, db, "history", "--by", "nobody", "--commands")
        assert (code, out) == (1, "")


def test_history_table_shows_the_change_and_the_reason(runner: CliRunner, db: str) -> None:
    result = runner.invoke(
        app, ["history", "--changes", "--format", "table", "--db", db], env={"COLUMNS": "200"}
    )
    code, out = result.exit_code, result.stdout
    assert code == 0
    assert "2 events" in out
    assert "false start missed" in out and "jury report 1" in out


def test_history_on_a_narrow_terminal_is_one_record_per_event(runner: CliRunner, db: str) -> None:
    args = ["history", "--changes", "--format", "table", "--db", db]
    narrow = runner.invoke(app, args, env={"COLUMNS": "60"}).stdout
    wide = runner.invoke(app, args, env={"COLUMNS": "250"}).stdout
    # Narrow: every field whole on a line of its own, titled; wide: one table row per event.
    assert "  why: false start missed" in narrow and "  source: jury report 1" in narrow
    assert "why:" not in wide and "false start missed" in wide
    assert max(len(line) for line in narrow.splitlines()) <= 60
    assert "2 events" in narrow and "2 events" in wide


def test_diff_between_knowledge_times_names_the_event_behind_each_move(
    runner: CliRunner, db: str
) -> None:
    # Before: Ann 18 and Bea 18 share rank 1, Cat 11, Eve 10, Dan 9, Kim KOR 3, Kim USA 2.
    # After Ann's disqualification (see test_corrections_cli): Bea 20, Cat 13, Eve 11, Dan 10,
    # Ann 8, Kim KOR 4, Kim USA 3. Everyone moves; the time correction moves no one.
    data = as_json(runner, db, "diff", "sprint", "--known-at", BEFORE)
    assert isinstance(data, dict)
    moves = {m["competitor"] + " " + m["nation"]: m for m in data["moves"]}
    assert {k: (m["rank_before"], m["rank_after"]) for k, m in moves.items()} == {
        "Bea GER": (1, 1),
        "Cat NOR": (3, 2),
        "Eve CAN": (4, 3),
        "Dan USA": (5, 4),
        "Ann NED": (1, 5),
        "Kim Lee KOR": (6, 6),
        "Kim Lee USA": (7, 7),
    }
    assert (moves["Ann NED"]["points_before"], moves["Ann NED"]["points_after"]) == (18, 8)
    causes = {
        k: [(c["position"], c["what"], c["race"]) for c in m["causes"]] for k, m in moves.items()
    }
    dq = (16, "disqualified", "R1")
    # Dan's own time correction touched his result, so it is listed too, though it moved nothing.
    assert causes == {k: [dq, (17, "corrected", "R2")] if k == "Dan USA" else [dq] for k in moves}
    assert moves["Cat NOR"]["overtook"] == ["Ann"]
    # Bea shared rank 1 with Ann before and is ahead of her after: that counts as overtaking.
    assert moves["Ann NED"]["overtaken_by"] == ["Bea", "Cat", "Dan", "Eve"]


def test_diff_between_dates_names_the_races_in_between(runner: CliRunner, db: str) -> None:
    # As known before the changes: as of R1's date, Ann 10, Bea 8, Cat 6, Dan 5, Eve 4, ...
    # As of R2's date: Ann 18, Bea 18, Cat 11, Eve 10, Dan 9. R2 is the cause of every move.
    data = as_json(
        runner,
        db,
        "diff",
        "sprint",
        "--as-of",
        "2024-01-06",
        "--vs-as-of",
        "2024-01-13",
        "--known-at",
        BEFORE,
    )
    assert isinstance(data, dict)
    moves = {m["competitor"]: m for m in data["moves"] if m["nation"] != "KOR"}
    assert (moves["Bea"]["rank_before"], moves["Bea"]["rank_after"]) == (2, 1)
    assert (moves["Bea"]["points_before"], moves["Bea"]["points_after"]) == (8, 18)
    assert [(c["kind"], c["race"], c["change"]) for c in moves["Bea"]["causes"]] == [
        ("race", "R2", "1st on 2024-01-13: +10 points")
    ]
    assert (moves["Eve"]["rank_before"], moves["Eve"]["rank_after"]) == (5, 4)
    assert "Kim Lee" not in moves  # the Kim Lees did not race R2: nothing moved for them


def test_diff_needs_something_to_compare(runner: CliRunner, db: str) -> None:
    code, _, err = invoke(runner, db, "diff", "sprint")
    assert code == 1
    assert "say what to compare" in err


def test_explain_shows_each_race_and_the_shared_rank(runner: CliRunner, db: str) -> None:
    data = as_json(runner, db, "explain", "sprint", "Bea", "--known-at", BEFORE)
    assert isinstance(data, dict)
    assert (data["rank"], data["points"], data["countback"]) == (1, 18, [10, 8])
    assert [(r["race"], r["place"], r["points"], r["counted"]) for r in data["results"]] == [
        ("R1", 2, 8, True),
        ("R2", 1, 10, True),
    ]
    assert [(t["competitor"], t["how"]) for t in data["ties"]] == [("Ann", "shared")]


def test_explain_after_a_disqualification_shows_the_moved_up_place(
    runner: CliRunner, db: str
) -> None:
    data = as_json(runner, db, "explain", "sprint", "Cat")
    assert isinstance(data, dict)
    r1 = data["results"][0]
    assert (r1["recorded_place"], r1["place"], r1["points"]) == (3, 2, 8)
    ann = as_json(runner, db, "explain", "sprint", "Ann")
    assert isinstance(ann, dict)
    assert (ann["results"][0]["status"], ann["results"][0]["points"]) == ("disqualified", 0)
    assert ann["points"] == 8


def test_explain_asks_for_nation_when_a_name_is_shared(runner: CliRunner, db: str) -> None:
    code, _, err = invoke(runner, db, "explain", "sprint", "Kim Lee")
    assert code == 1
    assert "give --nation (KOR or USA)" in err
    code, out, _ = invoke(
        runner, db, "explain", "sprint", "Kim Lee", "--nation", "USA", "--format", "table"
    )
    assert code == 0
    assert "Kim Lee (USA)" in out and "rank 7, 3 points" in out


def test_explain_shows_countback_and_dropped_results_in_a_best_n_cup(
    runner: CliRunner, db_url: str, relays: Path
) -> None:
    for kind, name in (("season", "season.toml"), ("results", "results.csv")):
        assert invoke(runner, db_url, "import", kind, str(relays / name))[0] == 0
    data = as_json(runner, db_url, "explain", "men-5000m-relay", "CAN")
    assert isinstance(data, dict)
    races = data["results"]
    counted = [r for r in races if r["counted"]]
    assert len(counted) == 3  # the cup counts each team's best 3 results
    assert data["points"] == sum(r["points"] for r in counted)
    assert all(r["note"].startswith("dropped") for r in races if not r["counted"] and r["points"])
    assert data["countback"] == sorted((r["points"] for r in counted), reverse=True)


def test_check_flags_the_bronze_faster_than_the_winner(
    runner: CliRunner, db_url: str, men_500m: Path
) -> None:
    assert invoke(runner, db_url, "import", "season", str(men_500m / "season.toml"))[0] == 0
    code, out, err = invoke(runner, db_url, "import", "results", str(men_500m / "results.csv"))
    assert code == 0
    assert err.strip() == (
        "warning: HVN2: Michel Mulder (NED), 3rd in 34.64, is faster than"
        " Jan Smeekens (NED), 1st in 34.78"
    )
    code, out, _ = invoke(runner, db_url, "check", "--format", "table")
    assert (code, out.strip()) == (0, err.strip())
    code, out, _ = invoke(runner, db_url, "check", "HVN1", "--format", "table")
    assert (code, out.strip()) == (0, "no warnings")
    assert invoke(runner, db_url, "check", "--strict")[0] == 1
    fix = ["correct", "HVN2", "Michel Mulder", "--time", "34.94", "--reason", "typo"]
    assert invoke(runner, db_url, *fix)[0] == 0
    assert invoke(runner, db_url, "check", "HVN2", "-f", "table")[1].strip() == "no warnings"
    assert invoke(runner, db_url, "check", "--strict")[0] == 0


def test_check_flags_a_place_gap_that_no_tie_explains(
    runner: CliRunner, db: str, tmp_path: Path
) -> None:
    late = tmp_path / "late.csv"
    late.write_text("race,place,competitor,nation\nR2,8,Gus,SWE\nR2,8,Hal,DEN\nR2,9,Ivo,CRO\n")
    code, _, err = invoke(runner, db, "import", "results", str(late), "--recorded-at", FIX_AT)
    assert code == 0
    assert err.splitlines() == [
        "warning: R2: places jump from 5th to 8th: no 6th, 7th, and no tie explains it",
        "warning: R2: places jump from 8th to 9th: a 2-way tie for 8th should be followed by 10th",
    ]
    data = as_json(runner, db, "check", "R2")
    assert isinstance(data, list)
    assert [w["kind"] for w in data] == ["place-gap", "place-gap"]
    assert as_json(runner, db, "check", "R2", "--known-at", RECORDED) == []


def test_every_new_command_has_help_with_an_example(runner: CliRunner) -> None:
    for command in (
        "correct", "disqualify", "reinstate", "record", "void", "history", "diff", "explain",
        "check",
    ):  # fmt: skip
        result = runner.invoke(app, [command, "--help"])
        assert result.exit_code == 0
        assert "Example: ledger " + command in result.stdout


def test_the_demo_tells_the_correction_story(runner: CliRunner) -> None:
    result = runner.invoke(app, ["demo"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Michel Mulder led with 578" in out and "Ronald Mulder won with 782" in out
    assert out.index("Ronald Mulder won with 782") < out.index("$ ledger correct")
    assert "time 34.64 → 34.94" in out
    assert "POL #16 (POL): 6th → disqualified" in out
    assert "206 → 161 (-45)" in out


def test_check_with_a_season_alone_checks_that_season_s_races_a_chunk_at_a_time(
    runner: CliRunner, db_url: str, men_500m: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert invoke(runner, db_url, "import", "season", str(men_500m / "season.toml"))[0] == 0
    assert invoke(runner, db_url, "import", "results", str(men_500m / "results.csv"))[0] == 0
    other = tmp_path / "other.toml"
    other.write_text(  # its race dated before the men's 500 m, and declared after them
        '[season]\nid = "other"\nname = "Other"\n[tables]\nT = [3, 2, 1]\n'
        '[[cups]]\nid = "c"\nname = "C"\n'
        '[[races]]\nid = "O1"\ncup = "c"\ndate = 2000-01-01\ntable = "T"\n',
        encoding="utf-8",
    )
    gap = tmp_path / "gap.csv"
    gap.write_text("race,place,competitor,nation\nO1,1,Ann,NED\nO1,3,Bea,NED\n", encoding="utf-8")
    assert invoke(runner, db_url, "import", "season", str(other))[0] == 0
    assert invoke(runner, db_url, "import", "results", str(gap))[0] == 0
    bronze = (
        "warning: HVN2: Michel Mulder (NED), 3rd in 34.64, is faster than"
        " Jan Smeekens (NED), 1st in 34.78"
    )
    hole = "warning: O1: places jump from 1st to 3rd: no 2nd, and no tie explains it"
    for args, expected in (
        (["--season", "other"], [hole]),
        (["--season", "isu-ss-wc-2013-14"], [bronze]),
        ([], [hole, bronze]),  # every race, in date order (not the order declared)
    ):
        code, out, _ = invoke(runner, db_url, "check", *args, "--format", "table")
        assert (code, out.strip().splitlines()) == (0, expected), args
    code, out, err = invoke(runner, db_url, "check", "--season", "othr")
    assert (code, out, err) == (1, "", "error: unknown season 'othr' (did you mean other?)\n")
    # Folded a race at a time, every race's warnings come out the same, in the same order.
    whole = as_json(runner, db_url, "check")
    monkeypatch.setattr("projections.checks.CHECK_CHUNK", 1)
    assert as_json(runner, db_url, "check") == whole
    assert len(whole) == 2


def test_races_of_one_day_in_two_seasons_are_checked_in_season_order_by_several_processes(
    runner: CliRunner,
    db_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    forks: list[int],
) -> None:
    """One race to a chunk and three processes (forked on a SQLite file, one process on
    PostgreSQL): the warnings come in date order, then season, then the race's order, even
    where one day's races were declared in another order, and land in other processes."""
    for season, declared in (("zeta", ("Z1", "Z2")), ("alpha", ("A1", "A2"))):
        toml = tmp_path / f"{season}.toml"
        toml.write_text(
            f'[season]\nid = "{season}"\nname = "{season}"\n[tables]\nT = [3, 2, 1]\n'
            '[[cups]]\nid = "c"\nname = "C"\n'
            + "".join(
                f'[[races]]\nid = "{race}"\ncup = "c"\ndate = 2000-01-0{n}\ntable = "T"\n'
                for n, race in enumerate(declared, 1)
            ),
            encoding="utf-8",
        )
        results = tmp_path / f"{season}.csv"
        results.write_text(  # a gap in every race: 1st, then 3rd
            "race,place,competitor\n"
            + "".join(f"{race},1,Ann\n{race},3,Bea\n" for race in declared),
            encoding="utf-8",
        )
        assert invoke(runner, db_url, "import", "season", str(toml))[0] == 0
        assert invoke(runner, db_url, "import", "results", str(results))[0] == 0
    monkeypatch.setattr("projections.checks.CHECK_CHUNK", 1)
    monkeypatch.setattr("projections.checks.processes_for_parts", lambda parts: 3)
    warned = as_json(runner, db_url, "check")
    # Two chunks, a day each (a chunk ends only where a day does): one forked process.
    assert len(forks) == (0 if db_url.startswith("postgresql:") else 1)
    assert isinstance(warned, list)
    assert [(w["season"], w["race"]) for w in warned] == [
        ("alpha", "A1"),  # 2000-01-01, alpha before zeta, though declared after it
        ("zeta", "Z1"),
        ("alpha", "A2"),  # 2000-01-02
        ("zeta", "Z2"),
    ]
