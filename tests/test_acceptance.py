"""The bundled seasons replay to their published standings (compared with the published CSVs)."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app


def published(path: Path) -> dict[int, set[tuple[str, str, int]]]:
    """Published rows grouped by rank (rows sharing a rank may come in any order)."""
    by_rank: dict[int, set[tuple[str, str, int]]] = defaultdict(set)
    with path.open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            by_rank[int(row["rank"])].add((row["competitor"], row["nation"], int(row["points"])))
    return dict(by_rank)


def computed(rows: list[dict[str, object]]) -> dict[int, set[tuple[str, str, int]]]:
    by_rank: dict[int, set[tuple[str, str, int]]] = defaultdict(set)
    for row in rows:
        by_rank[int(str(row["rank"]))].add(
            (str(row["competitor"]), str(row["nation"]), int(str(row["points"])))
        )
    return dict(by_rank)


def import_season(runner: CliRunner, db: str, folder: Path) -> None:
    for kind, name in (("season", "season.toml"), ("results", "results.csv")):
        result = runner.invoke(app, ["import", kind, str(folder / name), "--db", db])
        assert result.exit_code == 0, result.output


def standings_json(runner: CliRunner, db: str, cup: str, *extra: str) -> dict[str, object]:
    result = runner.invoke(app, ["standings", cup, "--format", "json", "--db", db, *extra])
    assert result.exit_code == 0, result.output
    data: dict[str, object] = json.loads(result.stdout)
    return data


def test_men_500m_replays_to_all_55_published_rows(
    runner: CliRunner, db_url: str, men_500m: Path
) -> None:
    import_season(runner, db_url, men_500m)
    data = standings_json(runner, db_url, "men-500m")
    rows = data["standings"]
    assert isinstance(rows, list)
    assert len(rows) == 55
    assert computed(rows) == published(men_500m / "published-standings.csv")


@pytest.mark.parametrize(
    ("cup", "table"),
    [
        ("men-5000m-relay", "published-standings-men-5000m-relay.csv"),
        ("women-3000m-relay", "published-standings-women-3000m-relay.csv"),
    ],
)
def test_relay_cups_replay_to_their_published_top_five(
    runner: CliRunner, db_url: str, relays: Path, cup: str, table: str
) -> None:
    import_season(runner, db_url, relays)
    rows = standings_json(runner, db_url, cup)["standings"]
    assert isinstance(rows, list)
    assert computed(rows[:5]) == published(relays / table)


def test_men_500m_as_of_9_march_2014_is_led_by_michel_mulder_with_578(
    runner: CliRunner, db_url: str, men_500m: Path
) -> None:
    import_season(runner, db_url, men_500m)
    data = standings_json(runner, db_url, "men-500m", "--as-of", "2014-03-09")
    rows = data["standings"]
    assert isinstance(rows, list)
    assert (rows[0]["rank"], rows[0]["competitor"], rows[0]["points"]) == (1, "Michel Mulder", 578)
    assert data["as_of"] == "2014-03-09"
    assert data["races"][-1] == "INZ2-B"  # type: ignore[index]
    assert "HVN1" not in data["races"]  # type: ignore[operator]
