"""A small, hand-worked season for the corrections and audit tests.

Table A pays 10, 8, 6, 5, 4, 3, 2 for places 1–7. Two races of the `sprint` cup:

    R1 (2024-01-06): 1 Ann NED 40.10, 2 Bea GER 40.20, 3 Cat NOR 40.30, 4 Dan USA, 5 Eve CAN,
                     6 Kim Lee KOR, 7 Kim Lee USA
    R2 (2024-01-13): 1 Bea, 2 Ann, 3 Eve, 4 Cat, 5 Dan

Totals: Ann 10+8 = 18, Bea 8+10 = 18 (equal countback [10, 8]: shared rank 1), Cat 6+5 = 11,
Eve 4+6 = 10, Dan 5+4 = 9, Kim Lee (KOR) 3, Kim Lee (USA) 2.
"""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from cli.main import app
from ledger.application import Ledger

SEASON = """
[season]
id = "mini-2024"
name = "Mini season"

[tables]
A = [10, 8, 6, 5, 4, 3, 2]

[[cups]]
id = "sprint"
name = "Sprint"

[[races]]
id = "R1"
cup = "sprint"
date = 2024-01-06
table = "A"

[[races]]
id = "R2"
cup = "sprint"
date = 2024-01-13
table = "A"
"""

RESULTS = """race,place,competitor,nation,time,status
R1,1,Ann,NED,40.10,
R1,2,Bea,GER,40.20,
R1,3,Cat,NOR,40.30,
R1,4,Dan,USA,,
R1,5,Eve,CAN,,
R1,6,Kim Lee,KOR,,
R1,7,Kim Lee,USA,,
R2,1,Bea,GER,,
R2,2,Ann,NED,,
R2,3,Eve,CAN,,
R2,4,Cat,NOR,,
R2,5,Dan,USA,,
"""

DECLARED = "2024-01-01T09:00:00+00:00"
RECORDED = "2024-01-13T21:00:00+00:00"


def setup_mini(runner: CliRunner, db: str, tmp: Path) -> None:
    """Declare the mini season and record its results (at DECLARED and RECORDED)."""
    (tmp / "season.toml").write_text(SEASON, encoding="utf-8")
    (tmp / "results.csv").write_text(RESULTS, encoding="utf-8")
    for args in (
        ["import", "season", str(tmp / "season.toml"), "--recorded-at", DECLARED],
        ["import", "results", str(tmp / "results.csv"), "--recorded-at", RECORDED],
    ):
        result = runner.invoke(app, [*args, "--db", db])
        assert result.exit_code == 0, result.output


def invoke(runner: CliRunner, db: str, *args: str) -> tuple[int, str, str]:
    """Run a command on the ledger: exit code, stdout, stderr."""
    result = runner.invoke(app, [*args, "--db", db])
    return result.exit_code, result.stdout, result.stderr


def totals(
    db: str, cup: str = "sprint", *extra: str
) -> dict[tuple[str, str | None], tuple[int, int]]:
    """(competitor, nation) → (rank, points), read through the CLI's JSON."""
    result = CliRunner().invoke(app, ["standings", cup, "--format", "json", "--db", db, *extra])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)["standings"]
    return {(r["competitor"], r["nation"]): (r["rank"], r["points"]) for r in rows}


def head(db: str) -> tuple[int, str]:
    """The ledger's head: position and hash."""
    ledger = Ledger(db)
    try:
        current = ledger.head()
        return current.position, current.hash
    finally:
        ledger.close()
