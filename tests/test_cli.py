"""The command line of the foundation: import, standings, results, races, demo; and their errors."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from ledger.application import Ledger


def run(runner: CliRunner, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def head_position(db: str) -> int:
    ledger = Ledger(db)
    try:
        return ledger.head().position
    finally:
        ledger.close()


@pytest.fixture
def loaded(runner: CliRunner, db_url: str, men_500m: Path) -> str:
    assert run(runner, "import", "season", str(men_500m / "season.toml"), "--db", db_url)[0] == 0
    assert run(runner, "import", "results", str(men_500m / "results.csv"), "--db", db_url)[0] == 0
    return db_url


def assert_one_line_error(code: int, stderr: str, *fragments: str, exit_code: int = 1) -> None:
    assert code == exit_code
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_import_season_declares_the_season_and_its_races(
    runner: CliRunner, db_url: str, men_500m: Path
) -> None:
    code, out, _ = run(runner, "import", "season", str(men_500m / "season.toml"), "--db", db_url)
    assert code == 0
    assert "23 events" in out
    assert head_position(db_url) == 23


def test_import_results_records_every_row_with_who_and_source(
    runner: CliRunner, db_url: str, men_500m: Path
) -> None:
    run(runner, "import", "season", str(men_500m / "season.toml"), "--db", db_url,
        "--recorded-at", "2013-11-01T09:00:00+00:00")  # fmt: skip
    code, out, _ = run(
        runner,
        "import", "results", str(men_500m / "results.csv"),
        "--db", db_url, "--by", "Jane Referee", "--source", "ISU", "--recorded-at",
        "2014-03-20T10:00:00+01:00",
    )  # fmt: skip
    assert code == 0
    assert "recorded 330 results" in out
    ledger = Ledger(db_url)
    events = [e for _, e in ledger.read_events()]
    assert {e.by for e in events[23:]} == {"Jane Referee"}
    assert {e.source for e in events[23:]} == {"ISU"}
    assert ledger.head().recorded_at == "2014-03-20T09:00:00.000000+00:00"


def test_import_of_a_file_with_a_bad_row_writes_nothing_and_names_line_and_field(
    runner: CliRunner, loaded: str, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("race,place,competitor,nation,time,status\nCAL1-A,,X,NED,,\n", encoding="utf-8")
    before = head_position(loaded)
    code, _, err = run(runner, "import", "results", str(bad), "--db", loaded)
    assert_one_line_error(code, err, "line 2", "place")
    assert head_position(loaded) == before


def test_importing_the_same_results_twice_points_to_ledger_correct(
    runner: CliRunner, loaded: str, men_500m: Path
) -> None:
    before = head_position(loaded)
    code, _, err = run(runner, "import", "results", str(men_500m / "results.csv"), "--db", loaded)
    assert_one_line_error(code, err, "line 2", "ledger correct")
    assert head_position(loaded) == before


def test_importing_the_same_season_twice_is_refused(
    runner: CliRunner, loaded: str, men_500m: Path
) -> None:
    code, _, err = run(runner, "import", "season", str(men_500m / "season.toml"), "--db", loaded)
    assert_one_line_error(code, err, "already in the ledger")


def test_a_season_file_with_an_unknown_table_is_refused(
    runner: CliRunner, db_url: str, men_500m: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "season.toml"
    bad.write_text(
        (men_500m / "season.toml")
        .read_text(encoding="utf-8")
        .replace('table = "B"', 'table = "C"', 1),
        encoding="utf-8",
    )
    code, _, err = run(runner, "import", "season", str(bad), "--db", db_url)
    assert_one_line_error(code, err, "races[1] (CAL1-B)", "table 'C'")
    assert head_position(db_url) == 0


def test_recorded_at_in_the_future_is_refused(
    runner: CliRunner, db_url: str, men_500m: Path
) -> None:
    code, _, err = run(
        runner, "import", "season", str(men_500m / "season.toml"), "--db", db_url,
        "--recorded-at", "2999-01-01T00:00:00+00:00",
    )  # fmt: skip
    assert_one_line_error(code, err, "in the future")
    assert head_position(db_url) == 0


def test_a_missing_file_is_one_line(runner: CliRunner, db_url: str, tmp_path: Path) -> None:
    code, _, err = run(runner, "import", "results", str(tmp_path / "nope.csv"), "--db", db_url)
    assert_one_line_error(code, err, "no such file")


@pytest.mark.parametrize("fmt", ["table", "json", "csv", "markdown"])
def test_standings_prints_every_format(runner: CliRunner, loaded: str, fmt: str) -> None:
    code, out, _ = run(runner, "standings", "men-500m", "--format", fmt, "--db", loaded)
    assert code == 0
    assert "Ronald Mulder" in out
    if fmt == "json":
        data = json.loads(out)
        assert data["season"] == "isu-ss-wc-2013-14"
        assert data["cup"] == "men-500m"
        assert data["as_of"] is None and data["known_at"] is None
        assert data["standings"][0]["points"] == 782
        assert data["head"]["position"] == 353
        assert len(data["head"]["hash"]) == 64
    if fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(out)))
        assert rows[0] == {
            "rank": "1",
            "competitor": "Ronald Mulder",
            "nation": "NED",
            "points": "782",
        }
        assert len(rows) == 55
    if fmt == "markdown":
        assert "| 1 | Ronald Mulder | NED | 782 |" in out


def test_standings_json_lists_the_races_in_date_order_with_each_result(
    runner: CliRunner, loaded: str
) -> None:
    out = run(runner, "standings", "men-500m", "--format", "json", "--db", loaded)[1]
    data = json.loads(out)
    assert data["races"][:3] == ["CAL1-A", "CAL1-B", "CAL2-A"]
    assert data["races"][-2:] == ["HVN1", "HVN2"]
    first = data["standings"][0]
    assert {"race": "CAL1-A", "place": 1, "points": 100, "counted": True}.items() <= first[
        "results"
    ][0].items()
    assert sum(r["points"] for r in first["results"] if r["counted"]) == 782


def test_standings_known_at_before_the_results_shows_nobody(
    runner: CliRunner, db_url: str, men_500m: Path
) -> None:
    run(runner, "import", "season", str(men_500m / "season.toml"), "--db", db_url,
        "--recorded-at", "2013-11-01T09:00:00+00:00")  # fmt: skip
    run(runner, "import", "results", str(men_500m / "results.csv"), "--db", db_url,
        "--recorded-at", "2014-03-20T09:00:00+00:00")  # fmt: skip
    out = run(runner, "standings", "men-500m", "--known-at", "2014-03-19T00:00:00+00:00",
              "--format", "json", "--db", db_url)[1]  # fmt: skip
    data = json.loads(out)
    assert data["standings"] == []
    assert data["known_at"] == "2014-03-19T00:00:00Z" or data["known_at"].startswith("2014-03-19")


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["standings", "men-500"], ["unknown cup 'men-500'", "did you mean men-500m"]),
        (["standings", "men-500m", "--as-of", "9 March"], ["--as-of", "YYYY-MM-DD"]),
        (["standings", "men-500m", "--known-at", "2014-03-09T18:00"], ["--known-at", "offset"]),
        (["standings", "men-500m", "--known-at", "soon"], ["--known-at", "ISO 8601"]),
        (["results", "CAL1-C"], ["unknown race 'CAL1-C'", "did you mean"]),
    ],
)
def test_read_commands_reject_bad_arguments_in_one_line(
    runner: CliRunner, loaded: str, args: list[str], fragments: list[str]
) -> None:
    code, _, err = run(runner, *args, "--db", loaded)
    assert_one_line_error(code, err, *fragments)


def test_results_shows_a_races_places_times_and_points(runner: CliRunner, loaded: str) -> None:
    code, out, _ = run(runner, "results", "CAL1-A", "--format", "json", "--db", loaded)
    assert code == 0
    data = json.loads(out)
    top = data["results"][:2]
    assert (top[0]["place"], top[0]["competitor"], top[0]["time"], top[0]["points"]) == (
        1, "Ronald Mulder", "34.41", 100,
    )  # fmt: skip
    assert (top[1]["competitor"], top[1]["time"], top[1]["points"]) == ("Mo Tae-bum", "34.523", 80)
    table = run(runner, "results", "CAL1-A", "--db", loaded)[1]
    assert "Ronald Mulder" in table and "34.41" in table


def test_races_lists_the_calendar_with_result_counts(runner: CliRunner, loaded: str) -> None:
    code, out, _ = run(runner, "races", "--format", "csv", "--db", loaded)
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 22
    assert (rows[0]["season"], rows[0]["race"]) == ("isu-ss-wc-2013-14", "CAL1-A")
    assert rows[0]["date"] == "2013-11-08"
    assert sum(int(r["results"]) for r in rows) == 330


@pytest.mark.parametrize("chunk", [1, 2, 2000])
def test_races_read_a_chunk_at_a_time_come_in_date_order_a_moved_one_on_its_new_date(
    runner: CliRunner, loaded: str, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    # The calendar is read ``chunk`` races at a time, each chunk ending where a day ends:
    # the Calgary opener, moved past the Final, comes last; both races of a day keep their
    # order (the season file's), in TSV, CSV and JSON alike.
    monkeypatch.setattr("projections.races.CALENDAR_CHUNK", chunk)
    ledger = Ledger(loaded)
    before = ledger.head().recorded_at  # known then: the calendar as the season file has it
    ledger.reschedule_race("CAL1-A", race_date=date(2014, 3, 20), reason="re-run")
    ledger.close()
    assert before is not None
    out = run(runner, "races", "--format", "csv", "--db", loaded)[1]
    rows = list(csv.DictReader(io.StringIO(out)))
    # The season file's calendar, two races a day from Calgary to Inzell, then Heerenveen.
    days = [f"{venue}{n}-{half}" for venue in ("CAL", "SLC", "AST", "BER", "INZ")
            for n in (1, 2) for half in "AB"]  # fmt: skip
    assert [r["race"] for r in rows] == [*days[1:], "HVN1", "HVN2", "CAL1-A"]
    assert (len(rows), rows[-1]["date"], sum(int(r["results"]) for r in rows)) == (
        22,
        "2014-03-20",
        330,
    )
    tsv = run(runner, "races", "--format", "tsv", "--db", loaded)[1].splitlines()
    assert [line.split("\t")[1] for line in tsv[1:]] == [r["race"] for r in rows]
    data = json.loads(run(runner, "races", "--format", "json", "--db", loaded)[1])["data"]
    assert [r["race"] for r in data] == [r["race"] for r in rows]
    known = run(runner, "races", "--known-at", before, "--format", "csv", "--db", loaded)[1]
    assert [r["race"] for r in csv.DictReader(io.StringIO(known))][:2] == ["CAL1-A", "CAL1-B"]


def test_db_can_come_from_the_environment(
    runner: CliRunner, loaded: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEDGER_DB", loaded)
    code, out, _ = run(runner, "standings", "men-500m", "--format", "csv")
    assert code == 0
    assert "Ronald Mulder" in out


def test_a_db_path_in_a_missing_folder_is_one_line(runner: CliRunner, tmp_path: Path) -> None:
    code, _, err = run(runner, "races", "--db", str(tmp_path / "nowhere" / "x.db"))
    assert_one_line_error(code, err, "does not exist")


def test_a_file_that_is_not_a_ledger_is_one_line(runner: CliRunner, tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database file at all" * 100)
    code, _, err = run(runner, "races", "--db", str(junk))
    assert_one_line_error(code, err, str(junk))


def test_demo_shows_the_standings_as_of_9_march_and_the_final(
    runner: CliRunner, tmp_path: Path
) -> None:
    (tmp_path / "[x]").mkdir()
    db = tmp_path / "[x]" / "demo.db"  # a folder's brackets are text, not a style
    code, out, _ = run(runner, "demo", "--db", str(db))
    assert code == 0, out
    assert f"into {db}:" in out.replace("\n", "")
    assert f"--db {db}" in out.replace("\n", "")
    assert "Michel Mulder led with 578" in out
    assert "Ronald Mulder won with 782" in out
    ledger = Ledger(str(db))
    head = ledger.head()
    # 353 events for the season, recorded race day by race day up to 16 March, then the
    # story's correction (18 March), disqualification (20 March) and rename (21 March).
    assert head.position == 356
    assert head.recorded_at is not None and head.recorded_at.startswith("2014-03-21")
    assert "Known before the rename: 40. Bai Quiming (CHN) 17 points" in out
    assert "Known now: 40. Bai Qiuming (CHN) 17 points" in out


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["correct", "HVN2", "Michel Mulder", "--time", "34.94"], "Missing option '--reason'"),
        (["standings"], "Missing argument"),
        (["standings", "men-500m", "--format", "xml"], "'xml' is not one of"),
        (["frobnicate"], "No such command 'frobnicate'"),
    ],
)
def test_usage_mistakes_are_one_line_and_exit_code_2(
    runner: CliRunner, loaded: str, args: list[str], fragment: str
) -> None:
    before = head_position(loaded)
    code, _, err = run(runner, *args, "--db", loaded)
    assert_one_line_error(code, err, fragment, "--help", exit_code=2)
    assert head_position(loaded) == before


def test_results_as_of_a_date_before_the_race_shows_it_not_yet_raced(
    runner: CliRunner, loaded: str
) -> None:
    code, out, _ = run(
        runner, "results", "HVN2", "--as-of", "2014-03-09", "-f", "json", "--db", loaded
    )
    assert code == 0
    data = json.loads(out)
    assert (data["raced"], data["results"], data["as_of"]) == (False, [], "2014-03-09")
    on_the_day = json.loads(
        run(runner, "results", "HVN2", "--as-of", "2014-03-16", "-f", "json", "--db", loaded)[1]
    )
    assert on_the_day["raced"] is True
    assert on_the_day["results"][0]["competitor"] == "Jan Smeekens"


def test_races_as_of_a_date_lists_only_the_races_run_by_then(
    runner: CliRunner, loaded: str
) -> None:
    out = run(runner, "races", "--as-of", "2013-11-10", "--format", "csv", "--db", loaded)[1]
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["race"] for r in rows] == ["CAL1-A", "CAL1-B", "CAL2-A", "CAL2-B"]
