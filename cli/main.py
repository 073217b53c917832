"""The `ledger` command line: parse, call the Ledger, render. Nothing else lives here."""

from __future__ import annotations

import typer

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

app = typer.Typer(
    name="ledger",
    help="An event-sourced, auditable ledger of sports results and points-table standings.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
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
