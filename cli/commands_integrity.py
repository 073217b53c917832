"""`ledger verify`: recompute the hash chain and print the head digest to publish."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.common import (
    AnswerFormat,
    AnswerFormatOption,
    DbOption,
    handles_errors,
    open_ledger,
    open_reader,
)
from cli.progress import progress
from ledger.store import redact


def register(app: typer.Typer) -> None:
    """Mount the integrity commands on the app."""
    app.command("verify")(verify)
    app.command("init")(init)


@handles_errors
def verify(
    expect_head: Annotated[
        str | None,
        typer.Option(
            "--expect-head",
            help="A head digest published earlier: fail unless the log still contains it.",
        ),
    ] = None,
    chain_only: Annotated[
        bool,
        typer.Option(
            "--chain-only", help="Check the hash chain only, not the read model beside it."
        ),
    ] = False,
    fmt: AnswerFormatOption = AnswerFormat.text,
    db: DbOption = None,
) -> None:
    """Re-read the whole log, recompute its hash chain, and print the head digest.

    Exits 1 naming the first bad position if any event was edited, inserted, deleted or
    reordered, or if the read model that queries use does not match the log (then
    `ledger rebuild` repairs it). The last line, `N events, head HEX`, is the digest to
    publish; later, `--expect-head HEX` checks that the log still contains that head.

    Example: ledger verify --db 2013-14.db --expect-head "$PUBLISHED_HEAD"
    """
    ledger = open_reader(db)
    if fmt is AnswerFormat.json:
        from cli.render import print_answer
        from projections.verification import query_verify

        with progress("verifying", ledger.head().position) as advance:
            verified = query_verify(
                ledger, expect_head=expect_head, read_model=not chain_only, advance=advance
            )
        query = {"expect_head": verified.expect_head, "chain_only": chain_only}
        print_answer("verify", query, verified.head, verified)
        return
    with progress("verifying", ledger.head().position) as advance:
        result = ledger.verify(expect_head=expect_head, advance=advance, read_model=not chain_only)
    if result.expected_at is not None:
        typer.echo(f"published head found at position {result.expected_at}")
    typer.echo(f"{result.events} events, head {result.head}")


@handles_errors
def init(db: DbOption = None) -> None:
    """Create a new, empty ledger (a SQLite file, or the tables in a PostgreSQL database).

    Reads never create a ledger; `ledger init` or the first import does. Opening an existing
    ledger with it changes nothing.

    Example: ledger init --db 2013-14.db
    """
    ledger = open_ledger(db, create=True)
    head = ledger.head()
    typer.echo(f"ledger ready at {redact(ledger.db)}: {head.position} events, head {head.hash}")
