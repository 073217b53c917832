"""`ledger chart`: a cup's season race by race, as a picture (PNG, SVG or PDF)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.common import (
    AsOfOption,
    DbOption,
    KnownAtOption,
    handles_errors,
    open_reader,
    to_date,
    to_datetime,
)
from ledger.errors import InputError


def register(app: typer.Typer) -> None:
    """Mount the chart command on the app."""
    app.command("chart")(chart)


@handles_errors
def chart(
    cup: Annotated[str, typer.Argument(help="Cup id, e.g. men-500m (or SEASON/CUP).")],
    as_of: AsOfOption = None,
    known_at: KnownAtOption = None,
    top: Annotated[
        int, typer.Option("--top", min=1, max=20, help="How many leading competitors to draw.")
    ] = 8,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="The picture: a .png, .svg or .pdf file (default CUP.png)."
        ),
    ] = None,
    diff: Annotated[
        bool,
        typer.Option(
            "--diff",
            help="Draw what changed between --known-at (dashed) and --vs (solid, default now).",
        ),
    ] = False,
    vs: Annotated[
        str | None, typer.Option("--vs", help="With --diff: the later time (ISO 8601 with offset).")
    ] = None,
    db: DbOption = None,
) -> None:
    """Draw a cup's cumulative points race by race for the leading competitors.

    With --diff, draw how the standings changed between two times (a correction, a
    disqualification): before dashed, after solid.

    Example: ledger chart men-500m --top 6 --output men-500m.png
    Example: ledger chart men-500m --diff --known-at 2014-03-16T20:00:00+00:00 --output change.svg
    """
    from cli.chart import check_output, draw_change, draw_season
    from projections.api import season_chart, season_chart_change
    from projections.progression import changed, leaders

    path = output or Path(f"{cup.replace('/', '-')}.png")
    check_output(path)
    if vs is not None and not diff:
        raise InputError("--vs goes with --diff: ledger chart CUP --diff --known-at T1 --vs T2")
    day, t1 = to_date(as_of), to_datetime(known_at, "--known-at")
    ledger = open_reader(db)
    if diff:
        if t1 is None:
            raise InputError("--diff needs --known-at T1 (and optionally --vs T2)")
        before, after = season_chart_change(
            ledger, cup, before=t1, after=to_datetime(vs, "--vs"), as_of=day
        )
        draw_change(before, after, changed(before, after, top), path)
    else:
        season = season_chart(ledger, cup, as_of=day, known_at=t1)
        draw_season(season, leaders(season, top), path)
    typer.echo(f"wrote {path}")
