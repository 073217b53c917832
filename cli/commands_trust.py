"""`ledger grant`: who may read, record or administer a shared ledger (PostgreSQL roles)."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.common import (
    AnswerFormat,
    AnswerFormatOption,
    DbOption,
    handles_errors,
    open_ledger,
)
from ledger.errors import InputError


def register(app: typer.Typer) -> None:
    """Mount the trust commands on the app."""
    app.command("grant")(grant)


@handles_errors
def grant(
    role: Annotated[str, typer.Argument(help="A PostgreSQL role that exists (CREATE ROLE).")],
    reader: Annotated[bool, typer.Option("--reader", help="SELECT only.")] = False,
    recorder: Annotated[
        bool, typer.Option("--recorder", help="Read, and append: never UPDATE, DELETE, TRUNCATE.")
    ] = False,
    admin: Annotated[
        bool, typer.Option("--admin", help="Own the ledger's tables (triggers, rebuild).")
    ] = False,
    fmt: AnswerFormatOption = AnswerFormat.text,
    db: DbOption = None,
) -> None:
    """Give a PostgreSQL role the rights of a reader, a recorder or an admin of the ledger.

    A reader may only SELECT. A recorder may append through the ledger (INSERT; no UPDATE,
    DELETE or TRUNCATE privilege on the log or the chain). An admin owns the ledger's tables.
    Any rights the role had on the ledger are replaced. Run it as the ledger's owner.

    Example: ledger grant results_office --recorder --db postgresql://owner@db/results
    """
    levels = [
        name
        for name, given in (("reader", reader), ("recorder", recorder), ("admin", admin))
        if given
    ]
    if len(levels) != 1:
        raise InputError("give one of --reader, --recorder and --admin")
    ledger = open_ledger(db)
    statements = ledger.grant(role, levels[0])
    if fmt is AnswerFormat.json:
        from cli.render import print_answer

        query = {"role": role, "level": levels[0]}
        print_answer(
            "grant",
            query,
            ledger.head(),
            {"role": role, "level": levels[0], "statements": statements},
        )
        return
    typer.echo(f"granted {levels[0]} to {role} ({len(statements)} statements)")
