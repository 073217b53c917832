"""`ledger verify`: recompute the hash chain and print the head digest to publish."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

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
from ledger.errors import IntegrityViolation
from ledger.store import redact

if TYPE_CHECKING:
    from ledger.application import Ledger
    from ledger.signing import Keyring


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
    keys: Annotated[
        Path | None,
        typer.Option(
            "--keys",
            help="A keyring of public keys: fail unless every event is signed by one of them.",
        ),
    ] = None,
    fmt: AnswerFormatOption = AnswerFormat.text,
    db: DbOption = None,
) -> None:
    """Re-read the whole log, recompute its hash chain, and print the head digest.

    Exits 1 naming the first bad position if any event was edited, inserted, deleted or
    reordered, or if the read model that queries use does not match the log (then
    `ledger rebuild` repairs it). The last line, `N events, head HEX`, is the digest to
    publish; later, `--expect-head HEX` checks that the log still contains that head.
    `--keys KEYRING` also checks every command's signature (`ledger keys new`, `--key`):
    an event appended without a key of the keyring fails, whoever computed its hash link.

    Example: ledger verify --db 2013-14.db --expect-head "$PUBLISHED_HEAD"

    Example: ledger verify --keys keyring.txt
    """
    keyring = None
    if keys is not None:
        from ledger.signing import Keyring

        keyring = Keyring.load(keys)
    ledger = open_reader(db)
    if fmt is AnswerFormat.json:
        from cli.render import print_answer
        from projections.verification import query_verify

        with progress("verifying", ledger.head().position) as advance:
            verified = query_verify(
                ledger, expect_head=expect_head, read_model=not chain_only, advance=advance
            )
        query = {"expect_head": verified.expect_head, "chain_only": chain_only}
        if keyring is None:
            print_answer("verify", query, verified.head, verified)
            return
        signed = _signatures(ledger, keyring, verified.head.position if verified.head else 0)
        query["keys"] = str(keys)
        print_answer("verify", query, verified.head, {**verified.model_dump(), "signed": signed})
        return
    with progress("verifying", ledger.head().position) as advance:
        result = ledger.verify(expect_head=expect_head, advance=advance, read_model=not chain_only)
    if result.expected_at is not None:
        typer.echo(f"published head found at position {result.expected_at}")
    if keyring is not None:
        signed = _signatures(ledger, keyring, result.events)
        by = ", ".join(f"{name} {count:,}" for name, count in sorted(signed.items()))
        typer.echo(f"every event signed by a key of the keyring: {by or 'no events'}")
    typer.echo(f"{result.events} events, head {result.head}")


def _signatures(ledger: Ledger, keyring: Keyring, events: int) -> dict[str, int]:
    """The events each holder of the keyring signed; an IntegrityViolation naming the first
    unsigned, unknown or bad signature if there is one."""
    from ledger.signing import check

    report = check(ledger.chain.signatures(), keyring, events)
    if not report.ok:
        raise IntegrityViolation(f"signatures: {report.problem()}")
    return report.signed


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
