"""`ledger grant`: who may read, record or administer a shared ledger (PostgreSQL roles)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.common import (
    AnswerFormat,
    AnswerFormatOption,
    DbOption,
    handles_errors,
    note,
    open_ledger,
)
from cli.outputs import ForceOption, output_file
from ledger.errors import InputError

keys = typer.Typer(help="Signing keys: make one for each recorder (Ed25519).", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Mount the trust commands on the app."""
    app.command("grant")(grant)
    app.add_typer(keys, name="keys")


@keys.command("new")
@handles_errors
def keys_new(
    output: Annotated[
        Path,
        typer.Option("--output", "-o", help="Where to write the private key (PEM, mode 600)."),
    ],
    name: Annotated[
        str | None,
        typer.Option("--name", help="The holder's name in the keyring (default: the file's)."),
    ] = None,
    force: ForceOption = False,
    fmt: AnswerFormatOption = AnswerFormat.text,
) -> None:
    """Make a new Ed25519 signing key; print its public half as a line of a keyring.

    Keep the private key file to yourself, and give `--key FILE` (or set LEDGER_KEY) to
    every command that writes: its events are then signed. Publish the printed line in the
    keyring that `ledger verify --keys KEYRING` checks signatures against.

    Example: ledger keys new --output jury.key --name jury >> keyring.txt
    """
    from ledger.signing import keyring_line, new_key

    holder = (name or output.stem).strip()
    if not holder or any(c.isspace() or not c.isprintable() for c in holder) or len(holder) > 64:
        raise InputError(f"--name {holder!r}: one word of up to 64 visible characters")
    pem, public, ident = new_key()
    with output_file(output, None, force=force, private=True) as out:
        out.write(pem)
    line = keyring_line(holder, public)
    if fmt is AnswerFormat.json:
        from cli.render import print_answer

        query = {"output": str(output), "name": holder}
        made = {"key_id": ident, "name": holder, "keyring_line": line}
        print_answer("keys new", query, None, made)
        return
    note(f"wrote the private key {ident} to {output}; add this line to the keyring:")
    typer.echo(line)


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
