"""The `ledger` command line: parse, call the Ledger, render. Nothing else lives here."""

from __future__ import annotations

import functools
import sys
from collections.abc import Sequence
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from cli import (
    commands_audit,
    commands_change,
    commands_chart,
    commands_copy,
    commands_demo,
    commands_export,
    commands_import,
    commands_integrity,
    commands_read,
    commands_rebuild,
)


class OneLineErrors(TyperGroup):
    """Usage mistakes (a missing option, a bad value) get one line and exit code 1, like
    every other rejected command, instead of click's usage block and exit code 2."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        """Run the command line, translating usage errors."""
        run = functools.partial(
            super().main,
            args,
            prog_name,
            complete_var,
            windows_expand_args=windows_expand_args,
            **extra,
        )
        if not standalone_mode:
            return run(standalone_mode=False)
        try:
            code = run(standalone_mode=False)
        except typer.Abort:
            typer.echo("error: aborted; nothing was written", err=True)
            sys.exit(1)
        except typer.TyperException as e:  # click's usage errors
            ctx = getattr(e, "ctx", None)
            if type(e).__name__ == "NoArgsIsHelpError" and ctx is not None:
                typer.echo(ctx.get_help())
                sys.exit(0)
            hint = f"; see {ctx.command_path} --help" if ctx is not None else ""
            text = e.format_message() if hasattr(e, "format_message") else str(e)
            text = " ".join(text.replace("Value error, ", "").splitlines()).rstrip(".")
            typer.echo(f"error: {text}{hint}", err=True)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


app = typer.Typer(
    cls=OneLineErrors,
    name="ledger",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(show: bool) -> None:
    if show:
        from importlib.metadata import version  # tens of ms: only when asked

        typer.echo(f"ledger (results-ledger) {version('results-ledger')}")
        raise typer.Exit()


@app.callback()
def main(
    show_version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """An event-sourced, auditable ledger of sports results and points-table standings.

    Example: ledger standings men-500m --as-of 2014-03-09
    """


app.add_typer(commands_import.app, name="import")
commands_read.register(app)
commands_demo.register(app)
commands_change.register(app)
commands_audit.register(app)
commands_copy.register(app)
commands_integrity.register(app)
commands_chart.register(app)
commands_rebuild.register(app)
app.add_typer(commands_export.app, name="export")


def run() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    run()
