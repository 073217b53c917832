"""The Formula 1 seasons kept in a ledger as a results office would keep them, compared with
F1DB's published standings after every round (drivers and constructors).

Each round's results are imported on the evening of the race (``--recorded-at``), the 1997
exclusion with the `ledger exclude` command of its ``amendments.txt`` on the day the FIA decided
it. The standings after round N are asked of the ledger as of the race's date: as known the
next morning for the rounds the source gives as known then, and as known today from the round an
amendment applies from (F1DB's final 1997 table lists Michael Schumacher without a rank). The
expected rows are F1DB's, read from the season folders (see tests/test_f1_seasons.py for the
reading and for the three rounds the source itself gets wrong).
"""

from __future__ import annotations

import csv
import json
import shlex
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from ledger.application import Ledger
from ledger.bundled import season_dir
from ledger.inputs import load_season, parse_results
from projections.standings import query_standings
from tests.test_f1_seasons import CUPS, F1, Row, inconsistencies, published, row_of

RUNNER = CliRunner()


def evening(day: date) -> datetime:
    return datetime.combine(day, time(20), tzinfo=UTC)


def amendments(folder: Path) -> list[tuple[int, list[str]]]:
    """(from round, the command's words after `ledger`) for each line of amendments.txt."""
    path = folder / "amendments.txt"
    found = []
    for line in path.read_text("utf-8").splitlines() if path.exists() else []:
        if line.startswith("from round "):
            start, command = line.removeprefix("from round ").split(": ", 1)
            found.append((int(start), shlex.split(command)[1:]))
    return found


def kept(tmp_path: Path, name: str) -> tuple[str, dict[str, date]]:
    """A ledger holding the season, imported round by round through the CLI, and the amendments
    recorded on the date their reason gives; returns the file and each race's date."""
    folder = season_dir(name)
    db = str(tmp_path / f"{name}.db")
    dates: dict[str, date] = {}
    lines: dict[str, list[str]] = defaultdict(list)
    with (folder / "results.csv").open(encoding="utf-8", newline="") as f:
        header, *rows = list(csv.reader(f))
    for row in rows:
        lines[row[0]].append(",".join(f'"{c}"' if "," in c else c for c in row))
    for race in load_season(folder / "season.toml").races:
        dates[race.id] = race.date
    declared = evening(min(dates.values()) - timedelta(days=7))
    ledger_run(
        db, "import", "season", str(folder / "season.toml"), "--recorded-at", declared.isoformat()
    )
    for race_id, day in sorted(dates.items(), key=lambda item: item[1]):
        if race_id not in lines:
            continue
        csv_path = tmp_path / f"{race_id}.csv"
        csv_path.write_text("\n".join([",".join(header), *lines[race_id]]) + "\n", "utf-8")
        ledger_run(
            db, "import", "results", str(csv_path), "--recorded-at", evening(day).isoformat()
        )
    for _, words in amendments(folder):
        # 1997's exclusion: decided by the FIA on 11 November 1997, after the last round.
        decided = datetime(1997, 11, 11, 18, tzinfo=UTC)
        ledger_run(db, *words, "--recorded-at", decided.isoformat())
    return db, dates


def ledger_run(db: str, *args: str) -> str:
    result = RUNNER.invoke(app, [*args, "--db", db])
    assert result.exit_code == 0, (args, result.stderr)
    return result.stdout


def rows_of(db: str, cup: str, as_of: date, known_at: datetime) -> set[Row]:
    ledger = Ledger(db, readonly=True)
    try:
        table = query_standings(ledger, cup, as_of=as_of, known_at=known_at)
    finally:
        ledger.close()
    return {(r.rank, r.competitor, r.nation or "", r.points) for r in table.standings}


@pytest.fixture(scope="module")
def ledgers(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[str, dict[str, date]]]:
    return {name: kept(tmp_path_factory.mktemp(name), name) for name in F1}


@pytest.mark.parametrize(("name", "cup"), CUPS)  # constructors from 1958
def test_the_ledger_gives_the_published_standings_after_every_round(
    ledgers: dict[str, tuple[str, dict[str, date]]], name: str, cup: str
) -> None:
    folder = season_dir(name)
    db, _ = ledgers[name]
    known = {i.round: i for i in inconsistencies(folder) if i.cup == cup}
    amended_from = min((start for start, _ in amendments(folder)), default=None)
    today = datetime.now(UTC)
    for published_round in published(folder, cup):
        later = amended_from is not None and published_round.number >= amended_from
        known_at = today if later else evening(published_round.date) + timedelta(hours=12)
        got = rows_of(db, cup, published_round.date, known_at)
        assert not {(r[1], r[2]) for r in got} & published_round.unranked
        odd = known.get(published_round.number)
        if odd is None:
            assert got == published_round.ranked, f"{name} {cup} round {published_round.number}"
        else:
            ours, theirs = (
                row_of(got, odd.competitor),
                row_of(published_round.ranked, odd.competitor),
            )
            assert (ours[0], ours[3], theirs[0]) == (odd.rank, odd.points, odd.source_rank)


def test_the_1997_exclusion_is_absent_from_the_standings_as_known_before_it(
    ledgers: dict[str, tuple[str, dict[str, date]]],
) -> None:
    db, dates = ledgers["f1-1997"]
    final = max(dates.values())
    schumacher = ("Michael Schumacher", "GER")
    before = rows_of(db, "drivers", final, datetime(1997, 11, 10, tzinfo=UTC))
    after = rows_of(db, "drivers", final, datetime(1997, 11, 12, tzinfo=UTC))
    assert (2, *schumacher, Decimal(78)) in before
    assert (3, "Heinz-Harald Frentzen", "GER", Decimal(42)) in before
    assert (2, "Heinz-Harald Frentzen", "GER", Decimal(42)) in after
    assert all((r[1], r[2]) != schumacher for r in after)
    # His race results stand: he won in Monaco.
    monaco = json.loads(ledger_run(db, "results", "R05-monaco", "--format", "json"))
    assert monaco["results"][0]["competitor"] == "Michael Schumacher"
    # The constructors' cup keeps his points.
    constructors = rows_of(db, "constructors", final, datetime.now(UTC))
    assert (2, "Ferrari", "", Decimal(102)) in constructors
    # The history says who excluded him, when and why.
    history = json.loads(ledger_run(db, "history", "--since", "1997-11-01", "--format", "json"))
    (row,) = history["data"]
    assert row["recorded_at"].startswith("1997-11-11")
    assert "World Motor Sport Council" in row["reason"]


def test_1988_the_best_eleven_make_senna_champion_with_fewer_points_than_prost(
    ledgers: dict[str, tuple[str, dict[str, date]]],
) -> None:
    db, _ = ledgers["f1-1988"]
    table = json.loads(ledger_run(db, "standings", "drivers", "--format", "json"))
    top = [(r["competitor"], r["points"]) for r in table["standings"][:2]]
    assert top == [("Ayrton Senna", 90), ("Alain Prost", 87)]
    results = parse_results((season_dir("f1-1988") / "results.csv").read_text("utf-8"))
    scored = {"Ayrton Senna": Decimal(0), "Alain Prost": Decimal(0)}
    table_points = [9, 6, 4, 3, 2, 1]
    for row in results:
        if row.competitor in scored and row.place and row.place <= 6 and not row.status:
            scored[row.competitor] += table_points[row.place - 1]
    assert scored == {"Ayrton Senna": Decimal(94), "Alain Prost": Decimal(105)}
