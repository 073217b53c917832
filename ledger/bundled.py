"""The real seasons bundled with the package, for the demo, the tests and new users."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from importlib.resources import as_file, files
from pathlib import Path
from typing import TYPE_CHECKING

from ledger.inputs import ParsedRow, load_results, load_season

if TYPE_CHECKING:
    from ledger.application import Ledger

MEN_500M = "isu-ss-wc-2013-14-men-500m"
RELAYS = "isu-st-wc-2013-14-relays"
SEASONS = (MEN_500M, RELAYS)


def season_dir(name: str) -> Path:
    """The folder of a bundled season: season.toml, results.csv, published standings, NOTES."""
    with as_file(files("ledger") / "data" / "seasons" / name) as path:
        return Path(path)


def load_bundled(
    ledger: Ledger,
    name: str,
    *,
    by: str = "results office",
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Record a bundled season as it happened: declared a week before its first race, each
    race day's results recorded that evening (backfilled recorded times). Returns the events.

    ``progress(done, total)``, if given, is called after each race day."""
    folder = season_dir(name)
    season = load_season(folder / "season.toml")
    rows = load_results(folder / "results.csv")
    dates = {race.id: race.date for race in season.races}
    first = min(dates.values())
    declared = datetime.combine(first - timedelta(days=7), time(9), tzinfo=UTC)
    total = ledger.declare_season(
        season, by=by, source=f"{name}/season.toml", recorded_at=declared
    ).events
    by_day: dict[date, list[ParsedRow]] = {}
    for row in rows:
        by_day.setdefault(dates[row.race], []).append(row)
    for done, day in enumerate(sorted(by_day), 1):
        receipt = ledger.record_results(
            by_day[day],
            by=by,
            source=f"{name}/results.csv",
            recorded_at=datetime.combine(day, time(21), tzinfo=UTC),
            file=f"{name}/results.csv",
        )
        total += receipt.events
        if progress is not None:
            progress(done, len(by_day))
    return total
