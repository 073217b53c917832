"""`ledger copy`: copy a ledger between stores, chain and all."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.common import handles_errors
from cli.progress import progress
from ledger.copy import LedgerCopy
from ledger.store import redact


def register(app: typer.Typer) -> None:
    """Mount the copy command on the app."""
    app.command("copy")(copy)


@handles_errors
def copy(
    source: Annotated[
        str,
        typer.Option(
            "--from",
            help="The ledger to copy: a SQLite file or a postgresql:// URL.",
            show_default=False,
        ),
    ],
    target: Annotated[
        str,
        typer.Option(
            "--to",
            help="Where to copy it: a new or empty ledger, or an earlier copy to bring up to date.",
            show_default=False,
        ),
    ],
    show_progress: Annotated[
        bool, typer.Option("--progress/--no-progress", help="A progress bar on a terminal.")
    ] = True,
) -> None:
    """Copy a ledger to another store, keeping order, recorded times and hashes.

    The target must be empty or an earlier copy of the same ledger (then only the newer
    events are copied). Every event is re-hashed on the way; the copy's head is the source's.

    Example: ledger copy --from 2013-14.db --to postgresql://results@db.example:5432/ledger
    """
    with LedgerCopy(source, target) as job:
        if show_progress:
            with progress("copying", job.todo) as advance:
                done = job.run(advance=advance)
        else:
            done = job.run()
    events = "event" if done.copied == 1 else "events"
    if done.copied == 0 and done.kept:
        typer.echo(f"{redact(target)} was up to date already")
    elif done.kept:
        typer.echo(
            f"copied {done.copied} new {events} to {redact(target)}, after its first {done.kept}"
        )
    else:
        typer.echo(f"copied {done.copied} {events} to {redact(target)}")
    typer.echo(f"{done.head.position} events, head {done.head.hash}")
