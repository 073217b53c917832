"""`ledger export`: results as the importer reads them (round trip), standings, the log."""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from ledger.application import Ledger
from ledger.bundled import MEN_500M, load_bundled

AFTER_SEASON = datetime(2014, 3, 17, 9, 0, tzinfo=UTC)
DQ_AT = "2014-03-17T12:00:00+00:00"
CORRECTED_AT = "2014-03-17T13:00:00+00:00"


def run(runner: CliRunner, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def season_db(db_url: str) -> Iterator[str]:
    """The men's 500 m season, recorded race day by race day."""
    ledger = Ledger(db_url)
    load_bundled(ledger, MEN_500M)
    ledger.close()
    yield db_url


@pytest.fixture
def changed_db(season_db: str) -> str:
    """The season, then a disqualification and a correction after the Final."""
    ledger = Ledger(season_db)
    ledger.disqualify(
        "HVN2",
        "Ronald Mulder",
        reason="false start missed by the starter",
        recorded_at=datetime.fromisoformat(DQ_AT),
    )
    ledger.correct_result(
        "INZ2-A",
        "Jan Smeekens",
        place=4,
        time=Decimal("34.99"),
        reason="photo finish reviewed",
        recorded_at=datetime.fromisoformat(CORRECTED_AT),
    )
    ledger.close()
    return season_db


def standings_json(runner: CliRunner, db: str, *extra: str) -> dict[str, object]:
    code, out, err = run(runner, "standings", "men-500m", "--format", "json", "--db", db, *extra)
    assert code == 0, err
    data: dict[str, object] = json.loads(out)
    return data


def comparable(data: dict[str, object]) -> dict[str, object]:
    """The standings without what depends on the ledger rather than on the results."""
    return {k: v for k, v in data.items() if k not in ("head", "known_at")}


def dq_as_recorded(data: dict[str, object]) -> dict[str, object]:
    """The standings with a later disqualification shown as a recorded DQ."""
    text = json.dumps(data).replace('"status": "disqualified"', '"status": "DQ"')
    result: dict[str, object] = json.loads(text)
    return result


def reimport(runner: CliRunner, folder: Path, results: Path, db: str) -> None:
    assert run(runner, "import", "season", str(folder / "season.toml"), "--db", db)[0] == 0
    code, _, err = run(runner, "import", "results", str(results), "--db", db)
    assert code == 0, err


def published(path: Path) -> dict[int, set[tuple[str, str, int]]]:
    by_rank: dict[int, set[tuple[str, str, int]]] = defaultdict(set)
    with path.open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            by_rank[int(row["rank"])].add((row["competitor"], row["nation"], int(row["points"])))
    return dict(by_rank)


# --- results ------------------------------------------------------------------------------


def test_exported_results_reimport_to_the_published_standings(
    runner: CliRunner, season_db: str, men_500m: Path, tmp_path: Path
) -> None:
    out = tmp_path / "results.csv"
    code, _, err = run(runner, "export", "results", "--output", str(out), "--db", season_db)
    assert code == 0, err
    copy = str(tmp_path / "copy.db")
    reimport(runner, men_500m, out, copy)

    assert comparable(standings_json(runner, copy)) == comparable(standings_json(runner, season_db))
    code, table, _ = run(runner, "export", "standings", "--cup", "men-500m", "--db", copy)
    assert code == 0
    assert published(men_500m / "published-standings.csv") == published_rows(table)


def published_rows(text: str) -> dict[int, set[tuple[str, str, int]]]:
    by_rank: dict[int, set[tuple[str, str, int]]] = defaultdict(set)
    for row in csv.DictReader(io.StringIO(text)):
        by_rank[int(row["rank"])].add((row["competitor"], row["nation"], int(row["points"])))
    return dict(by_rank)


def test_results_after_a_disqualification_and_a_correction_round_trip_exactly(
    runner: CliRunner, changed_db: str, men_500m: Path, tmp_path: Path
) -> None:
    out = tmp_path / "results.csv"
    assert run(runner, "export", "results", "-o", str(out), "--db", changed_db)[0] == 0
    copy = str(tmp_path / "copy.db")
    reimport(runner, men_500m, out, copy)

    original = standings_json(runner, changed_db)
    reimported = standings_json(runner, copy)
    # The results file can only say DQ; the original says the competitor was disqualified
    # after the race. Everything else (ranks, points, places, counted results) is identical.
    assert comparable(reimported) == comparable(dq_as_recorded(original))
    assert "disqualified" in json.dumps(original) and "disqualified" not in json.dumps(reimported)
    # The change is really in there: Ronald Mulder lost the 120 points of his 2nd place.
    rows = original["standings"]
    assert isinstance(rows, list)
    ronald = next(r for r in rows if r["competitor"] == "Ronald Mulder")
    assert ronald["points"] == 782 - 120


def test_a_disqualified_competitor_is_exported_as_dq_without_a_place(
    runner: CliRunner, changed_db: str
) -> None:
    code, out, _ = run(runner, "export", "results", "--db", changed_db)
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0]) == ["race", "place", "competitor", "nation", "time", "status"]
    hvn2 = [r for r in rows if r["race"] == "HVN2"]
    ronald = next(r for r in hvn2 if r["competitor"] == "Ronald Mulder")
    assert (ronald["place"], ronald["status"], ronald["time"]) == ("", "DQ", "34.89")
    assert [r["place"] for r in hvn2[:3]] == ["1", "2", "3"]
    # Moved from 1st to a recorded 4th, he ties the 4th, who is now 3rd: places 1, 2, 3, 3, 5.
    inz2a = [r for r in rows if r["race"] == "INZ2-A"]
    assert [r["place"] for r in inz2a[:5]] == ["1", "2", "3", "3", "5"]
    smeekens = next(r for r in inz2a if r["competitor"] == "Jan Smeekens")
    assert (smeekens["place"], smeekens["time"]) == ("3", "34.99")


def test_results_known_before_the_change_are_exported_as_they_were(
    runner: CliRunner, changed_db: str
) -> None:
    code, out, _ = run(
        runner, "export", "results", "--known-at", "2014-03-17T00:00:00+00:00", "--db", changed_db
    )
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    ronald = next(r for r in rows if r["race"] == "HVN2" and r["competitor"] == "Ronald Mulder")
    assert (ronald["place"], ronald["status"]) == ("2", "")


def test_results_as_of_a_date_stop_at_that_date(runner: CliRunner, season_db: str) -> None:
    code, out, _ = run(
        runner, "export", "results", "--cup", "men-500m", "--as-of", "2013-11-10", "--db", season_db
    )
    assert code == 0
    races = {r["race"] for r in csv.DictReader(io.StringIO(out))}
    assert races == {"CAL1-A", "CAL1-B", "CAL2-A", "CAL2-B"}


def test_results_in_json_jsonl_and_markdown_carry_the_same_rows(
    runner: CliRunner, season_db: str
) -> None:
    outputs = {
        fmt: run(runner, "export", "results", "--format", fmt, "--db", season_db)
        for fmt in ("csv", "json", "jsonl", "markdown")
    }
    assert all(code == 0 for code, _, _ in outputs.values())
    rows = list(csv.DictReader(io.StringIO(outputs["csv"][1])))
    answer = json.loads(outputs["json"][1])
    assert (answer["command"], answer["head"]["position"]) == ("export results", 353)
    as_json = answer["data"]
    as_jsonl = [json.loads(line) for line in outputs["jsonl"][1].splitlines()]
    markdown = outputs["markdown"][1].splitlines()
    assert len(rows) == len(as_json) == len(as_jsonl) == len(markdown) - 2 == 330
    assert as_json == as_jsonl
    first = as_json[0]
    assert first == {
        "season": "isu-ss-wc-2013-14",
        "race": "CAL1-A",
        "date": "2013-11-08",
        "place": 1,
        "competitor": "Ronald Mulder",
        "nation": "NED",
        "time": "34.41",
        "status": None,
        "id": None,
        "bonus": None,
        "team": None,
    }
    assert markdown[0] == "| race | place | competitor | nation | time | status |"
    assert markdown[2] == "| CAL1-A | 1 | Ronald Mulder | NED | 34.41 |  |"


def test_race_ids_are_qualified_only_when_two_seasons_share_them(
    runner: CliRunner, tmp_path: Path
) -> None:
    db = str(tmp_path / "two.db")
    for season in ("cup-a", "cup-b"):
        toml = tmp_path / f"{season}.toml"
        toml.write_text(
            f'[season]\nid = "{season}"\nname = "{season}"\n[tables]\nA = [10, 5]\n'
            f'[[cups]]\nid = "{season}-sprint"\nname = "Sprint"\n'
            f'[[races]]\nid = "R1"\ncup = "{season}-sprint"\ndate = 2020-01-01\ntable = "A"\n'
            f'[[races]]\nid = "{season}-R2"\ncup = "{season}-sprint"\ndate = 2020-01-02\n'
            'table = "A"\n',
            encoding="utf-8",
        )
        assert run(runner, "import", "season", str(toml), "--db", db)[0] == 0
        results = tmp_path / f"{season}.csv"
        results.write_text(
            f"race,place,competitor\n{season}/R1,1,Ann\n{season}-R2,1,Bob\n", encoding="utf-8"
        )
        assert run(runner, "import", "results", str(results), "--db", db)[0] == 0
    code, out, _ = run(runner, "export", "results", "--db", db)
    assert code == 0
    races = [r["race"] for r in csv.DictReader(io.StringIO(out))]
    assert sorted(races) == ["cup-a-R2", "cup-a/R1", "cup-b-R2", "cup-b/R1"]


def test_a_voided_race_is_left_out_with_a_note(runner: CliRunner, season_db: str) -> None:
    ledger = Ledger(season_db)
    ledger.void_race("SLC2-B", reason="timing system failure")
    ledger.close()
    code, out, err = run(runner, "export", "results", "--db", season_db)
    assert code == 0
    assert "SLC2-B" not in {r["race"] for r in csv.DictReader(io.StringIO(out))}
    assert "voided races left out: SLC2-B" in err


@pytest.mark.parametrize("chunk", [1, 2, 2000])
def test_a_moved_race_is_exported_on_its_new_date_whatever_the_chunks(
    runner: CliRunner, season_db: str, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    # The export folds ``chunk`` races at a time, in date order: the Calgary opener, moved
    # past the Final, comes last, and drops out of an export as of the day before the move.
    monkeypatch.setattr("projections.export.EXPORT_CHUNK", chunk)
    ledger = Ledger(season_db)
    ledger.reschedule_race(
        "CAL1-A", race_date=date(2014, 3, 20), reason="re-run", recorded_at=AFTER_SEASON
    )
    ledger.close()

    def races(*extra: str) -> list[str]:
        code, out, err = run(runner, "export", "results", "--db", season_db, *extra)
        assert code == 0, err
        return list(dict.fromkeys(r["race"] for r in csv.DictReader(io.StringIO(out))))

    moved = races()
    assert (moved[0], moved[-1], len(moved)) == ("CAL1-B", "CAL1-A", 22)  # the season file's 22
    assert races("--as-of", "2014-03-19") == moved[:-1]
    before = races("--known-at", "2014-03-17T08:00:00Z")
    assert before == ["CAL1-A", *moved[:-1]]
    assert races("--as-of", "2013-11-10", "--known-at", "2014-03-17T08:00:00Z") == [
        "CAL1-A",
        "CAL1-B",
        "CAL2-A",
        "CAL2-B",
    ]


@pytest.mark.parametrize("chunk", [1, 2000])
def test_the_columns_of_an_export_are_those_some_result_has_even_in_its_last_chunk(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    monkeypatch.setattr("projections.export.EXPORT_CHUNK", chunk)
    db = str(tmp_path / "cols.db")
    toml = tmp_path / "season.toml"
    toml.write_text(
        '[season]\nid = "s"\nname = "S"\n[tables]\nA = [10, 5]\n'
        '[[cups]]\nid = "c"\nname = "C"\n'
        + "".join(
            f'[[races]]\nid = "R{n}"\ncup = "c"\ndate = 2020-01-0{n}\ntable = "A"\n'
            for n in (1, 2, 3)
        ),
        encoding="utf-8",
    )
    assert run(runner, "import", "season", str(toml), "--db", db)[0] == 0
    results = tmp_path / "results.csv"
    results.write_text(
        "race,place,competitor,id,bonus\nR1,1,Ann,FED-1,\nR1,2,Bob,,\nR2,1,Bob,,\nR3,1,Cy|Dee,,2\n",
        encoding="utf-8",
    )
    code, _, err = run(runner, "import", "results", str(results), "--db", db)
    assert code == 0, err
    code, out, _ = run(runner, "export", "results", "--db", db)
    assert (code, out) == (
        0,
        "race,place,competitor,nation,time,status,id,bonus\n"
        "R1,1,Ann,,,,FED-1,\nR1,2,Bob,,,,,\nR2,1,Bob,,,,,\nR3,1,Cy|Dee,,,,,2\n",
    )
    code, out, _ = run(runner, "export", "results", "--format", "markdown", "--db", db)
    assert (code, out) == (
        0,
        "| race | place | competitor | nation | time | status | id | bonus |\n"
        "| --- | ---: | --- | --- | ---: | --- | --- | --- |\n"
        "| R1 | 1 | Ann |  |  |  | FED-1 |  |\n"
        "| R1 | 2 | Bob |  |  |  |  |  |\n"
        "| R2 | 1 | Bob |  |  |  |  |  |\n"
        "| R3 | 1 | Cy\\|Dee |  |  |  |  | 2 |\n",
    )
    target = tmp_path / "out.csv"
    code, _, err = run(runner, "export", "results", "--db", db, "--output", str(target))
    assert (code, err.strip()) == (0, f"wrote 4 results to {target}")
    assert target.read_text(encoding="utf-8").splitlines()[-1] == "R3,1,Cy|Dee,,,,,2"


# --- standings ----------------------------------------------------------------------------


def test_standings_export_as_csv_matches_the_published_table(
    runner: CliRunner, season_db: str, men_500m: Path, tmp_path: Path
) -> None:
    out = tmp_path / "standings.csv"
    code, _, err = run(
        runner, "export", "standings", "--cup", "men-500m", "-o", str(out), "--db", season_db
    )
    assert code == 0
    assert "wrote 55 rows" in err
    text = out.read_text(encoding="utf-8")
    assert text.splitlines()[0] == "rank,competitor,nation,points"
    assert published_rows(text) == published(men_500m / "published-standings.csv")


def test_standings_export_as_json_is_the_standings_commands_json(
    runner: CliRunner, season_db: str
) -> None:
    code, out, _ = run(
        runner, "export", "standings", "--cup", "men-500m", "-f", "json", "--db", season_db
    )
    assert code == 0
    assert comparable(json.loads(out)) == comparable(standings_json(runner, season_db))


def test_standings_export_as_jsonl_and_markdown_has_a_line_per_competitor(
    runner: CliRunner, season_db: str
) -> None:
    code, jsonl, _ = run(
        runner, "export", "standings", "--cup", "men-500m", "--as-of", "2014-03-09",
        "-f", "jsonl", "--db", season_db,
    )  # fmt: skip
    assert code == 0
    lines = [json.loads(line) for line in jsonl.splitlines()]
    assert (lines[0]["rank"], lines[0]["competitor"], lines[0]["points"]) == (
        1,
        "Michel Mulder",
        578,
    )
    assert {line["cup"] for line in lines} == {"men-500m"}
    code, md, _ = run(
        runner, "export", "standings", "--cup", "men-500m", "-f", "markdown", "--db", season_db
    )
    assert code == 0
    table = [line for line in md.splitlines() if line.startswith("|")]
    assert len(table) == 2 + 55
    assert table[2] == "| 1 | Ronald Mulder | NED | 782 |"


# --- the event log ------------------------------------------------------------------------


def test_the_event_log_exports_as_json_lines_with_the_chain_hashes(
    runner: CliRunner, changed_db: str, tmp_path: Path
) -> None:
    out = tmp_path / "archive.jsonl"
    code, _, _ = run(runner, "export", "events", "--output", str(out), "--db", changed_db)
    assert code == 0
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    ledger = Ledger(changed_db)
    rows = ledger.chain.chain_rows(0, 10_000)
    head = ledger.head()
    ledger.close()
    assert len(records) == len(rows) == head.position
    assert [r["position"] for r in records] == list(range(1, head.position + 1))
    assert [r["hash"] for r in records] == [row.hash for row in rows]
    assert records[-1]["hash"] == head.hash
    assert records[0]["topic"] == "results-ledger:SeasonDeclared"
    dq = records[-2]
    assert dq["topic"] == "results-ledger:CompetitorDisqualified"
    assert (dq["race"], dq["competitor"], dq["recorded_at"][:19]) == (
        "HVN2",
        "Ronald Mulder",
        "2014-03-17T12:00:00",
    )
    assert dq["reason"] == "false start missed by the starter"
    correction = records[-1]
    assert (correction["old_place"], correction["place"], correction["time"]) == (1, 4, "34.99")


def test_the_event_log_as_json_is_one_list_and_can_stop_at_a_time(
    runner: CliRunner, changed_db: str
) -> None:
    code, out, _ = run(
        runner, "export", "events", "-f", "json", "--known-at", DQ_AT, "--db", changed_db
    )
    assert code == 0
    answer = json.loads(out)
    records = answer["data"]
    assert answer["head"]["position"] == records[-1]["position"]
    assert records[-1]["topic"] == "results-ledger:CompetitorDisqualified"
    assert all(r["topic"] != "results-ledger:ResultCorrected" for r in records)


# --- errors -------------------------------------------------------------------------------


def assert_one_line_error(code: int, err: str, *fragments: str, exit_code: int = 1) -> None:
    assert code == exit_code
    assert len(err.strip().splitlines()) == 1, err
    for fragment in fragments:
        assert fragment in err


def test_the_event_log_does_not_export_as_csv(runner: CliRunner, season_db: str) -> None:
    code, out, err = run(runner, "export", "events", "-f", "csv", "--db", season_db)
    assert_one_line_error(code, err, "'csv' is not one of 'jsonl', 'json'", exit_code=2)
    assert out == ""


def test_exporting_an_unknown_cup_suggests_the_closest(runner: CliRunner, season_db: str) -> None:
    for kind in ("results", "standings"):
        code, _, err = run(runner, "export", kind, "--cup", "men-500", "--db", season_db)
        assert_one_line_error(code, err, "unknown cup 'men-500'", "did you mean men-500m")


def test_exporting_into_a_missing_folder_is_one_line_and_writes_nothing(
    runner: CliRunner, season_db: str, tmp_path: Path
) -> None:
    target = tmp_path / "nowhere" / "results.csv"
    code, _, err = run(runner, "export", "results", "-o", str(target), "--db", season_db)
    assert_one_line_error(code, err, str(target))
    assert not target.exists()


def test_each_exported_line_is_the_event_record_as_json_whatever_the_names(
    tmp_path: Path,
) -> None:
    """The event log is written from the stored bytes (``event_line``); each line must be what
    encoding ``event_record`` gives, for names with quotes, backslashes, braces, non-Latin
    letters, emoji, and text that looks like the transcoder's own typed values."""
    from ledger.inputs import parse_season
    from projections.export import event_record, stream_event_blocks
    from projections.output import json_bytes

    ledger = Ledger(str(tmp_path / "ledger.db"))
    ledger.declare_season(
        parse_season(
            '[season]\nid = "s"\nname = "S \\"quoted\\" \\\\ {x}"\n[tables]\nA = [10, 5.5, 1]\n'
            '[[cups]]\nid = "c"\nname = "C"\n[[races]]\nid = "R1"\ncup = "c"\n'
            'date = 2024-01-01\ntable = "A"\nlocation = "Zürich"\n'
        ),
        by='a "clerk"',
    )
    names = ['{"_type_":"decimal","_data_":"1"}', 'Anna "the Flash" \\ Berg', "李 明 🏅", "}"]
    for place, name in enumerate(names, 1):
        ledger.record_result("R1", name, place=place, time=Decimal(f"3{place}.120"), by="x")
    ledger.correct_result("R1", "李 明 🏅", time=None, reason='a "typo" \\', by="x")
    ledger.deduct("c", "}", points=Decimal("0.5"), reason="r", by="x")
    lines = b"\n".join(stream_event_blocks(ledger)).split(b"\n")
    expected = [
        json_bytes(event_record(pos, at, digest, topic, bytes(state)), indent=False)
        for rows in ledger.chain.chain_batches(0, 100)
        for pos, _, _, topic, at, state, digest, _ in rows
    ]
    assert len(lines) == ledger.head().position == len(expected)
    assert lines == expected
    assert json.loads(lines[2])["competitor"] == '{"_type_":"decimal","_data_":"1"}'
    ledger.close()
