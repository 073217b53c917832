"""Every command that takes a race, cup or competitor id suggests the closest ids if it is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from ledger.application import Ledger
from ledger.bundled import MEN_500M, load_bundled

KNOWN_AT = ["--known-at", "2014-03-17T00:00:00+00:00"]


@pytest.fixture(scope="module")
def season_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The men's 500 m season, shared: every command below is refused, so none writes."""
    db = str(tmp_path_factory.mktemp("suggestions") / "ledger.db")
    ledger = Ledger(db)
    load_bundled(ledger, MEN_500M)
    ledger.close()
    return db


RACE = ["did you mean CAL1-A"]
CUP = ["did you mean men-500m"]
REASON = ["--reason", "a reason"]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["results", "CAL1A"], RACE),
        (["standings", "men500m"], CUP),
        (["chart", "men500m"], CUP),
        (["export", "results", "--cup", "men500m"], CUP),
        (["export", "standings", "--cup", "men500m"], CUP),
        (["correct", "CAL1A", "Ronald Mulder", "--place", "2", *REASON], RACE),
        (["disqualify", "CAL1A", "Ronald Mulder", *REASON], RACE),
        (["reinstate", "CAL1A", "Ronald Mulder", *REASON], RACE),
        (["void", "CAL1A", *REASON], RACE),
        (["record", "CAL1A", "Someone New", "--place", "30"], RACE),
        (["history", "--race", "CAL1A"], RACE),
        (["diff", "men500m", *KNOWN_AT], CUP),
        (["explain", "men500m", "Ronald Mulder"], CUP),
        (
            ["correct", "CAL1-A", "Ronald Muldr", "--place", "2", *REASON],
            ["did you mean Ronald Mulder"],
        ),
        (["disqualify", "CAL1-A", "ronald mulder jr", *REASON], ["did you mean Ronald Mulder"]),
        (["explain", "men-500m", "Ronald Muldr"], ["did you mean Ronald Mulder"]),
    ],
)
def test_a_mistyped_id_is_one_line_that_suggests_the_closest(
    runner: CliRunner, season_db: str, args: list[str], expected: list[str]
) -> None:
    before = Ledger(season_db)
    head = before.head()
    before.close()
    result = runner.invoke(app, [*args, "--db", season_db])
    assert result.exit_code == 1, result.output
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    for fragment in expected:
        assert fragment in result.stderr
    after = Ledger(season_db)
    assert after.head() == head  # nothing was written
    after.close()


def test_a_mistyped_race_in_a_results_file_names_the_line_and_suggests(
    runner: CliRunner, season_db: str, tmp_path: Path
) -> None:
    results = tmp_path / "late.csv"
    results.write_text("race,place,competitor\nHVN-2,30,Someone New\n", encoding="utf-8")
    result = runner.invoke(app, ["import", "results", str(results), "--db", season_db])
    assert result.exit_code == 1
    assert "line 2, field race: unknown race 'HVN-2' (did you mean HVN2" in result.stderr
