"""`ledger demo`: a real season, replayed into a fresh ledger, told by the ledger's own queries."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.columns import Columns
from rich.table import Table

from cli.common import handles_errors, open_ledger
from cli.progress import tracker
from cli.render import console, standings_title
from ledger.bundled import MEN_500M, load_bundled
from projections.models import Standings
from projections.read import query_standings

AS_OF = date(2014, 3, 9)


def register(app: typer.Typer) -> None:
    """Mount the demo on the app."""
    app.command("demo")(demo)


def _top(table: Standings, n: int = 10) -> Table:
    out = Table(title=standings_title(table), title_justify="left")
    for name, justify in (("Rank", "right"), ("Competitor", "left"), ("Points", "right")):
        out.add_column(name, justify=justify)  # type: ignore[arg-type]
    for row in table.standings[:n]:
        out.add_row(str(row.rank), f"{row.competitor} ({row.nation})", str(row.points))
    return out


@handles_errors
def demo(
    db: Annotated[
        Path | None,
        typer.Option(
            "--db", help="Keep the demo ledger in this SQLite file (default: a temporary one)."
        ),
    ] = None,
) -> None:
    """Replay the 2013–14 men's 500 m World Cup into a ledger and show its standings.

    Example: ledger demo --db demo.db
    """
    with tempfile.TemporaryDirectory() as scratch:
        path = db or Path(scratch) / "demo.db"
        ledger = open_ledger(str(path))
        out = console()
        with tracker("replaying the season, race day by race day") as report:
            events = load_bundled(ledger, MEN_500M, progress=report)
        out.print(
            f"Recorded {events} events into {path}: the season, then each race day's"
            " results on the evening of the race.\n"
        )
        before = query_standings(ledger, "men-500m", as_of=AS_OF)
        final = query_standings(ledger, "men-500m")
        out.print(Columns([_top(before), _top(final)], padding=(0, 4)))
        leader = before.standings[0]
        champion = final.standings[0]
        out.print(
            f"\nAs of {AS_OF}, {leader.competitor} led with {leader.points};"
            f" after the Final in Heerenveen, {champion.competitor} won with {champion.points}."
        )
        if db is not None:
            out.print(f"Try: ledger standings men-500m --as-of 2013-12-08 --db {path}")
        ledger.close()
