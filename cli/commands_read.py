"""Read commands: standings, a race's results, the race calendar."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.common import (
    AsOfOption,
    DbOption,
    Format,
    FormatOption,
    KnownAtOption,
    handles_errors,
    open_reader,
    to_date,
    to_datetime,
)
from cli.render import render_races, render_results, render_standings
from projections.races import query_races
from projections.results import query_results
from projections.standings import query_standings


def register(app: typer.Typer) -> None:
    """Mount the read commands on the app."""
    app.command("standings")(standings)
    app.command("results")(results)
    app.command("races")(races)


@handles_errors
def standings(
    cup: Annotated[str, typer.Argument(help="Cup id, e.g. men-500m (or SEASON/CUP).")],
    as_of: AsOfOption = None,
    known_at: KnownAtOption = None,
    fmt: FormatOption = Format.table,
    db: DbOption = None,
) -> None:
    """A cup's standings as of a date, as known at a time.

    Example: ledger standings men-500m --as-of 2014-03-09 --format json
    """
    table = query_standings(
        open_reader(db),
        cup,
        as_of=to_date(as_of),
        known_at=to_datetime(known_at, "--known-at"),
    )
    render_standings(table, fmt)


@handles_errors
def results(
    race: Annotated[str, typer.Argument(help="Race id, e.g. CAL1-A (or SEASON/RACE).")],
    as_of: AsOfOption = None,
    known_at: KnownAtOption = None,
    fmt: FormatOption = Format.table,
    db: DbOption = None,
) -> None:
    """A race's classification: places, times and points.

    Example: ledger results HVN2 --known-at 2014-03-17T12:00:00+00:00
    """
    classification = query_results(
        open_reader(db),
        race,
        as_of=to_date(as_of),
        known_at=to_datetime(known_at, "--known-at"),
    )
    render_results(classification, fmt)


@handles_errors
def races(
    as_of: AsOfOption = None,
    known_at: KnownAtOption = None,
    fmt: FormatOption = Format.table,
    db: DbOption = None,
) -> None:
    """The scheduled races, with dates and how many results each has.

    Example: ledger races --as-of 2013-12-31 --format csv
    """
    calendar = query_races(
        open_reader(db), as_of=to_date(as_of), known_at=to_datetime(known_at, "--known-at")
    )
    render_races(calendar, fmt)
