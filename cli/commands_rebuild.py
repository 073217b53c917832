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

    Every write keeps the read model up to date in its own transaction; rebuild when
    `ledger verify` finds it does not match the log, or to measure. The log is never touched.

    Example: ledger rebuild --db 2013-14.db
    """
    ledger = open_ledger(db)
    started = time.perf_counter()
    with progress("rebuilding the read model", ledger.head().position) as advance:
        position = ledger.rebuild(advance=advance)
    seconds = time.perf_counter() - started
    typer.echo(f"read model rebuilt: {position} events in {seconds:.2f} s")
