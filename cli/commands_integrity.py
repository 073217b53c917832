"""`ledger verify`: recompute the hash chain and print the head digest to publish."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.common import DbOption, handles_errors, open_ledger
from cli.progress import progress


def register(app: typer.Typer) -> None:
    """Mount the integrity commands on the app."""
    app.command("verify")(verify)


@handles_errors
def verify(
    expect_head: Annotated[
        str | None,
        typer.Option(
            "--expect-head",
            help="A head digest published earlier: fail unless the log still contains it.",
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """Re-read the whole log, recompute its hash chain, and print the head digest.

    Exits 1 naming the first bad position if any event was edited, inserted, deleted or
    reordered. The last line, `N events, head HEX`, is the digest to publish; later,
    `--expect-head HEX` checks that the log still contains that head.

    Example: ledger verify --db 2013-14.db --expect-head "$PUBLISHED_HEAD"
    """
    ledger = open_ledger(db)
    with progress("verifying", ledger.head().position) as advance:
        result = ledger.verify(expect_head=expect_head, advance=advance)
    if result.expected_at is not None:
        typer.echo(f"published head found at position {result.expected_at}")
    typer.echo(f"{result.events} events, head {result.head}")
