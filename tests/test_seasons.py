"""A ledger of several seasons: a default season for unqualified ids, a results file read as
one season's, and the seasons, cups and competitors it holds, a career across them."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cli.main import app
from ledger.application import Ledger
from ledger.parallel import in_order
from projections.seasons import query_seasons, stream_seasons
from tests.audit_helpers import RESULTS, SEASON, setup_mini

LATER = "2025-01-20T10:00:00+00:00"
SECOND = SEASON.replace('id = "mini-2024"', 'id = "mini-2025"').replace("2024-01", "2025-01")


@pytest.fixture
def two(runner: CliRunner, db_url: str, tmp_path: Path) -> str:
    """The mini season of 2024 with its results, and a 2025 season of the same ids."""
    setup_mini(runner, db_url, tmp_path)
    (tmp_path / "second.toml").write_text(SECOND, encoding="utf-8")
    result = runner.invoke(
        app, ["import", "season", str(tmp_path / "second.toml"), "--db", db_url,
              "--recorded-at", "2025-01-01T09:00:00Z"]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return db_url


def answer(runner: CliRunner, db: str, *args: str, env: dict[str, str] | None = None) -> Any:
    result = runner.invoke(app, [*args, "--format", "json", "--db", db], env=env)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_an_id_in_several_seasons_needs_a_season_and_says_how(runner: CliRunner, two: str) -> None:
    result = runner.invoke(app, ["standings", "sprint", "--db", two])
    assert result.exit_code == 1
    assert "say which: mini-2024/sprint, mini-2025/sprint" in result.stderr
    assert "--season" in result.stderr and "LEDGER_SEASON" in result.stderr


def test_season_and_ledger_season_choose_among_seasons(runner: CliRunner, two: str) -> None:
    chosen = answer(runner, two, "standings", "sprint", "--season", "mini-2024")
    assert (chosen["season"], chosen["standings"][0]["points"]) == ("mini-2024", 18)
    assert chosen["query"]["season"] == "mini-2024"
    by_env = answer(runner, two, "standings", "sprint", env={"LEDGER_SEASON": "mini-2025"})
    assert (by_env["season"], by_env["standings"]) == ("mini-2025", [])
    qualified = answer(runner, two, "results", "mini-2024/R1", env={"LEDGER_SEASON": "mini-2025"})
    assert qualified["season"] == "mini-2024"  # a qualified id is never overridden


def test_a_write_names_the_default_seasons_race(runner: CliRunner, two: str) -> None:
    late = ["record", "R1", "Zed", "--nation", "SWE", "--place", "1", "--recorded-at", LATER]
    result = runner.invoke(app, [*late, "--db", two], env={"LEDGER_SEASON": "mini-2025"})
    assert result.exit_code == 0, result.output
    assert "mini-2025/R1 Zed (SWE)" in result.stdout
    assert answer(runner, two, "results", "mini-2025/R1")["results"][0]["competitor"] == "Zed"


def test_a_results_file_is_read_as_the_season_given(
    runner: CliRunner, two: str, tmp_path: Path
) -> None:
    rows = tmp_path / "2025.csv"
    rows.write_text(RESULTS, encoding="utf-8")
    refused = runner.invoke(app, ["import", "results", str(rows), "--db", two])
    assert refused.exit_code == 1 and "is in several seasons" in refused.stderr
    wrong = runner.invoke(
        app, ["import", "results", str(rows), "--season", "mini-2026", "--db", two]
    )
    assert wrong.exit_code == 1 and "unknown season 'mini-2026'" in wrong.stderr
    rows.with_name("typo.csv").write_text("race,place,competitor\nR9,1,Ann\n", encoding="utf-8")
    typo = runner.invoke(
        app, ["import", "results", str(tmp_path / "typo.csv"), "--season", "mini-2025",
              "--db", two]
    )  # fmt: skip
    assert typo.exit_code == 1
    assert "line 2, field race: season mini-2025 has no race 'R9'" in typo.stderr
    done = answer(runner, two, "import", "results", str(rows), "--season", "mini-2025",
                  "--recorded-at", LATER)  # fmt: skip
    assert done["events"] == 12
    assert {r["season"] for r in done["written"]} == {"mini-2025"}


def test_seasons_and_cups_list_what_the_ledger_holds(runner: CliRunner, two: str) -> None:
    seasons = answer(runner, two, "seasons")["data"]
    assert [(s["season"], s["races"], s["first"], s["last"]) for s in seasons] == [
        ("mini-2024", 2, "2024-01-06", "2024-01-13"),
        ("mini-2025", 2, "2025-01-06", "2025-01-13"),
    ]
    cups = answer(runner, two, "cups", "--season", "mini-2025")["data"]
    assert [(c["season"], c["cup"], c["name"], c["races"]) for c in cups] == [
        ("mini-2025", "sprint", "Sprint", 2)
    ]
    before = answer(runner, two, "seasons", "--known-at", "2024-12-31")["data"]
    assert [s["season"] for s in before] == ["mini-2024"]


def test_seasons_read_a_chunk_at_a_time_list_the_same(
    runner: CliRunner, two: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One season to a chunk: the JSON answer and the streamed formats say the same."""
    monkeypatch.setattr("projections.seasons.CHUNK", 1)
    seasons = answer(runner, two, "seasons")["data"]
    assert [(s["season"], s["races"], s["first"], s["last"]) for s in seasons] == [
        ("mini-2024", 2, "2024-01-06", "2024-01-13"),
        ("mini-2025", 2, "2025-01-06", "2025-01-13"),
    ]
    result = runner.invoke(app, ["seasons", "--format", "tsv", "--db", two])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "season\tname\tcups\traces\tfirst\tlast",
        "mini-2024\tMini season\t1\t2\t2024-01-06\t2024-01-13",
        "mini-2025\tMini season\t1\t2\t2025-01-06\t2025-01-13",
    ]
    table = runner.invoke(app, ["seasons", "--format", "markdown", "--db", two])
    assert table.exit_code == 0, table.output
    assert table.stdout.count("| mini-20") == 2 and table.stdout.rstrip().endswith("2 seasons")


def test_seasons_read_by_several_processes_come_out_in_order(
    runner: CliRunner, two: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A season to a chunk and three processes: on a SQLite file the chunks are read by
    forked processes, on PostgreSQL here; the seasons come out the same, in order."""
    third = SECOND.replace('id = "mini-2025"', 'id = "mini-2026"').replace("2025-01", "2026-01")
    (tmp_path / "third.toml").write_text(third, encoding="utf-8")
    added = runner.invoke(app, ["import", "season", str(tmp_path / "third.toml"), "--db", two])
    assert added.exit_code == 0, added.output
    monkeypatch.setattr("projections.seasons.CHUNK", 1)
    monkeypatch.setattr("projections.seasons.processes_for_parts", lambda parts: 3)
    forked: list[int] = []

    def spied(*args: Any) -> Any:
        forked.append(args[1])
        return in_order(*args)

    monkeypatch.setattr("projections.seasons.in_order", spied)
    ledger = Ledger(two, readonly=True)
    try:
        rows = list(stream_seasons(ledger, parallel=True))
        listed = query_seasons(ledger, parallel=True)
    finally:
        ledger.close()
    expected = [
        (f"mini-{year}", 1, 2, date(year, 1, 6), date(year, 1, 13)) for year in (2024, 2025, 2026)
    ]
    assert [(r.season, r.cups, r.races, r.first, r.last) for r in rows] == expected
    assert [
        (s.season, len(s.cups), s.cups[0].races, s.cups[0].first, s.cups[0].last)
        for s in listed.seasons
    ] == expected
    assert forked == ([] if two.startswith("postgresql") else [3, 3])


def test_races_of_a_season_or_a_cup(runner: CliRunner, two: str) -> None:
    everything = answer(runner, two, "races")["data"]
    assert len(everything) == 4
    later = answer(runner, two, "races", "--season", "mini-2025")["data"]
    assert [(r["season"], r["race"], r["results"]) for r in later] == [
        ("mini-2025", "R1", 0),
        ("mini-2025", "R2", 0),
    ]
    cup = answer(runner, two, "races", "--season", "mini-2024", "--cup", "sprint")["data"]
    assert [(r["season"], r["results"]) for r in cup] == [("mini-2024", 7), ("mini-2024", 5)]
    unknown = runner.invoke(app, ["races", "--season", "mini-2026", "--db", two])
    assert unknown.exit_code == 1 and "unknown season 'mini-2026'" in unknown.stderr


def test_competitors_are_found_by_any_part_of_a_name_in_any_case(
    runner: CliRunner, two: str
) -> None:
    found = answer(runner, two, "competitors", "KIM")["data"]
    assert [(c["competitor"], c["nation"], c["results"], c["seasons"]) for c in found] == [
        ("Kim Lee", "KOR", 1, ["mini-2024"]),
        ("Kim Lee", "USA", 1, ["mini-2024"]),
    ]
    assert (
        answer(runner, two, "competitors", "lee", "--nation", "usa")["data"][0]["nation"] == "USA"
    )
    assert len(answer(runner, two, "competitors")["data"]) == 7
    assert answer(runner, two, "competitors", "ｋｉｍ")["data"] == found  # full-width letters
    assert answer(runner, two, "competitors", "%")["data"] == []  # a text, not a pattern


def test_a_career_spans_the_seasons_with_points_and_rank_per_cup(
    runner: CliRunner, two: str, tmp_path: Path
) -> None:
    rows = tmp_path / "2025.csv"
    rows.write_text("race,place,competitor,nation\nR1,3,Bea,GER\n", encoding="utf-8")
    assert runner.invoke(app, ["import", "results", str(rows), "--season", "mini-2025",
                               "--recorded-at", LATER, "--db", two]).exit_code == 0  # fmt: skip
    career = answer(runner, two, "competitor", "bea")
    assert (career["competitor"], career["nation"]) == ("Bea", "GER")
    assert [(s["season"], s["cup"], s["rank"], s["points"], s["results"])
            for s in career["standings"]] == [
        ("mini-2024", "sprint", 1, 18, 2),
        ("mini-2025", "sprint", 1, 10, 1),
    ]  # fmt: skip
    assert [(r["season"], r["race"], r["place"], r["points"]) for r in career["results"]] == [
        ("mini-2024", "R1", 2, 8),
        ("mini-2024", "R2", 1, 10),
        ("mini-2025", "R1", 1, 10),  # recorded 3rd, the only one classified
    ]
    table = runner.invoke(app, ["competitor", "Bea", "-f", "table", "--db", two])
    assert "mini-2025/sprint (Sprint): rank 1, 10 points from 1 results" in table.stdout
    shared = runner.invoke(app, ["competitor", "Kim Lee", "--db", two])
    assert shared.exit_code == 1 and "give --nation (KOR or USA)" in shared.stderr
    nobody = runner.invoke(app, ["competitor", "Bee", "--db", two])
    assert nobody.exit_code == 1 and "unknown competitor 'Bee' (did you mean Bea?)" in nobody.stderr
