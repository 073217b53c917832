"""`ledger chart`: a cup's season race by race, as a picture (PNG, SVG or PDF)."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

import typer

from cli.common import (
    AsOfOption,
    DbOption,
    KnownAtOption,
    handles_errors,
    open_ledger,
    to_date,
    to_datetime,
)
from cli.outputs import ForceOption, OutputTarget
from ledger.errors import InputError
from ledger.moments import rfc3339
from ledger.store import is_postgres


class Kind(StrEnum):
    """What a chart shows."""

    season = "season"
    diff = "diff"
    slope = "slope"


class Measure(StrEnum):
    """What a slope chart's two columns compare."""

    rank = "rank"
    points = "points"


def register(app: typer.Typer) -> None:
    """Mount the chart command on the app."""
    app.command("chart")(chart)


def ledger_name(db: str) -> str:
    """What a footer calls the ledger: a SQLite file's name, a PostgreSQL database's name."""
    if is_postgres(db):
        # Never the URL: it may carry a user and a password.
        return urlsplit(db).path.lstrip("/") or "PostgreSQL"
    return Path(db).name


@handles_errors
def chart(
    cup: Annotated[str, typer.Argument(help="Cup id, e.g. men-500m (or SEASON/CUP).")],
    kind: Annotated[
        Kind,
        typer.Option(
            "--kind",
            help="season: running totals race by race; diff: how they changed between"
            " --known-at and --vs; slope: rank or points before and after, side by side.",
            case_sensitive=False,
        ),
    ] = Kind.season,
    as_of: AsOfOption = None,
    known_at: KnownAtOption = None,
    top: Annotated[
        int,
        typer.Option(
            "--top",
            min=1,
            max=20,
            help="How many competitors to draw (diff, slope: those moved most, then leaders).",
        ),
    ] = 8,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="The picture: a .png, .svg or .pdf file (default CUP.png)."
        ),
    ] = None,
    force: ForceOption = False,
    diff: Annotated[bool, typer.Option("--diff", help="The same as --kind diff.")] = False,
    vs: Annotated[
        str | None,
        typer.Option("--vs", help="With --kind diff or slope: the later time (default now)."),
    ] = None,
    measure: Annotated[
        Measure,
        typer.Option("--measure", help="With --kind slope: compare ranks or points."),
    ] = Measure.rank,
    source: Annotated[
        str | None,
        typer.Option("--source", help="The source named in the footer (default: the ledger)."),
    ] = None,
    db: DbOption = None,
) -> None:
    """Draw a cup's cumulative points race by race for the leading competitors.

    --kind diff draws how the standings changed between two times (a correction, a
    disqualification), before dashed and after solid; --kind slope puts each competitor's rank
    before and after side by side. Both show those the change moved most, then the leaders.

    Example: ledger chart men-500m --top 6 --output men-500m.png

    Example: ledger chart men-500m --diff --known-at 2014-03-17 --output change.svg

    Example: ledger chart men-500m --kind slope --known-at 2014-03-17 --vs 2014-03-21
    """
    if diff and kind is Kind.slope:
        raise InputError("--diff is --kind diff: give one of --diff and --kind slope")
    kind = Kind.diff if diff else kind
    path = OutputTarget(output or Path(f"{cup.replace('/', '-')}.png"), db, force=force)
    # matplotlib and the chart's queries are loaded by this command only.
    from cli.chart import check_output, draw_change, draw_season, draw_slope
    from projections.api import season_chart, season_chart_change
    from projections.progression import changed, leaders

    check_output(path)
    if vs is not None and kind is Kind.season:
        raise InputError(
            "--vs goes with --diff (or --kind slope): ledger chart CUP --diff --known-at T1 --vs T2"
        )
    day, t1 = to_date(as_of), to_datetime(known_at, "--known-at")
    # One reading of the clock, after the options' own: "now" in the footer is the moment the
    # chart was computed at, and no later than a --known-at now.
    now = datetime.now(UTC)
    ledger = open_ledger(db)
    credit = source or ledger_name(ledger.db)
    if kind is Kind.season:
        season = season_chart(ledger, cup, as_of=day, known_at=t1 or now)
        draw_season(season, leaders(season, top), path, credit)
    else:
        if t1 is None:
            named = "--diff" if kind is Kind.diff else "--kind slope"
            raise InputError(f"{named} needs --known-at T1 (and optionally --vs T2)")
        t2 = to_datetime(vs, "--vs")
        if t2 is None and t1 > now:
            raise InputError(
                f"--known-at {rfc3339(t1)} is later than now: nothing to compare; give an"
                " earlier --known-at (yesterday, 7d) or a later --vs"
            )
        before, after = season_chart_change(ledger, cup, before=t1, after=t2 or now, as_of=day)
        pairs = changed(before, after, top)
        if kind is Kind.diff:
            draw_change(before, after, pairs, path, credit)
        else:
            draw_slope(before, after, pairs, path, credit, measure=measure)
    typer.echo(f"wrote {path}")
