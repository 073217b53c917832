"""`ledger rebuild`: drop the read model and decode the whole log into it again."""

from __future__ import annotations

import time

import typer

from cli.common import DbOption, handles_errors, open_ledger
from cli.progress import progress


def register(app: typer.Typer) -> None:
    """Mount the rebuild command on the app."""
    app.command("rebuild")(rebuild)


@handles_errors
def rebuild(db: DbOption = None) -> None:
    """Drop the read model that queries use and rebuild it from the whole log.

    Queries keep the read model up to date by themselves; rebuild after upgrading, or to
    measure. The log itself is never touched.

    Example: ledger rebuild --db 2013-14.db
    """
    from projections.readmodel import read_model

    ledger = open_ledger(db)
    started = time.perf_counter()
    with progress("rebuilding the read model", ledger.head().position) as advance:
        position = read_model(ledger).rebuild(advance=advance)
    seconds = time.perf_counter() - started
    typer.echo(f"read model rebuilt: {position} events in {seconds:.2f} s")
