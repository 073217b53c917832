"""Read commands: standings, a race's results, the race calendar."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.common import (
    AsOfOption,
    CupArg,
    DbOption,
    FormatOption,
    KnownAtOption,
    RaceArg,
    SeasonOption,
    complete_cup,
    complete_season,
    handles_errors,
    open_reader,
    to_date,
    to_datetime,
)
from cli.render import render_races, render_results, render_standings
from projections.races import stream_calendar
from projections.results import query_results
from projections.standings import query_standings


def register(app: typer.Typer) -> None:
    """Mount the read commands on the app."""
    app.command("standings")(standings)
    app.command("results")(results)
    app.command("races")(races)


@handles_errors
def standings(
    cup: CupArg,
    as_of: AsOfOption = None,
    known_at: KnownAtOption = None,
    season: SeasonOption = None,
    fmt: FormatOption = None,
    db: DbOption = None,
) -> None:
    """A cup's standings as of a date, as known at a time.

    Example: ledger standings men-500m --as-of 2014-03-09 --format json
    """
    day, moment = to_date(as_of), to_datetime(known_at, "--known-at")
    table = query_standings(open_reader(db), cup, as_of=day, known_at=moment)
    query = {"cup": cup, "season": season, "as_of": day, "known_at": moment}
    render_standings(table, fmt, query)


@handles_errors
def results(
    race: RaceArg,
    as_of: AsOfOption = None,
    known_at: KnownAtOption = None,
    season: SeasonOption = None,
    fmt: FormatOption = None,
    db: DbOption = None,
) -> None:
    """A race's classification: places, times and points.

    Example: ledger results HVN2 --known-at 2014-03-17T12:00:00+00:00
    """
    day, moment = to_date(as_of), to_datetime(known_at, "--known-at")
    classification = query_results(open_reader(db), race, as_of=day, known_at=moment)
    query = {"race": race, "season": season, "as_of": day, "known_at": moment}
    render_results(classification, fmt, query)


@handles_errors
def races(
    season: Annotated[
        str | None,
        typer.Option("--season", help="Only this season's races.", autocompletion=complete_season),
    ] = None,
    cup: Annotated[
        str | None,
        typer.Option(
            "--cup", help="Only this cup's races (or SEASON/CUP).", autocompletion=complete_cup
        ),
    ] = None,
    as_of: AsOfOption = None,
    known_at: KnownAtOption = None,
    fmt: FormatOption = None,
    db: DbOption = None,
) -> None:
    """The scheduled races, with dates and how many results each has.

    Example: ledger races --season isu-ss-wc-2013-14 --as-of 2013-12-31 --format csv
    """
    day, moment = to_date(as_of), to_datetime(known_at, "--known-at")
    ledger = open_reader(db)
    if season is not None and cup is not None and "/" not in cup:
        cup = f"{season}/{cup}"  # the season's cup of that id

    head, listed = stream_calendar(ledger, as_of=day, known_at=moment, season=season, cup=cup)
    query = {"season": season, "cup": cup, "as_of": day, "known_at": moment}
    render_races(listed, fmt, query, head)
