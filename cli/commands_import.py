"""`ledger import season|results`: record files, all or nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.common import (
    ByOption,
    DbOption,
    RecordedAtOption,
    SourceOption,
    handles_errors,
    open_ledger,
    to_datetime,
)
from cli.progress import tracker
from ledger.fold import World

app = typer.Typer(help="Record a season file or a results file.", no_args_is_help=True)

FileArg = Annotated[Path, typer.Argument(help="The file to import.", show_default=False)]


@app.command("season")
@handles_errors
def import_season(
    file: FileArg,
    db: DbOption = None,
    recorded_at: RecordedAtOption = None,
    by: ByOption = None,
    source: SourceOption = None,
) -> None:
    """Declare a season, its point tables, cups and races from a TOML file.

    Example: ledger import season season.toml --recorded-at 2013-11-01T09:00:00+00:00
    """
    ledger = open_ledger(db, create=True)
    receipt = ledger.import_season_file(
        file, by=by, source=source, recorded_at=to_datetime(recorded_at, "--recorded-at")
    )
    typer.echo(
        f"declared season from {file.name}: {receipt.events} events;"
        f" head {receipt.head.position} {receipt.head.hash}"
    )


@app.command("results")
@handles_errors
def import_results(
    file: FileArg,
    db: DbOption = None,
    recorded_at: RecordedAtOption = None,
    by: ByOption = None,
    source: SourceOption = None,
) -> None:
    """Record a CSV file of results, all or nothing.

    Example: ledger import results results.csv --source "ISU communication 1832"
    """
    ledger = open_ledger(db, create=True)
    with tracker(f"recording {file.name}") as report:
        receipt = ledger.import_results_file(
            file,
            by=by,
            source=source,
            recorded_at=to_datetime(recorded_at, "--recorded-at"),
            progress=report,
        )
    typer.echo(
        f"recorded {receipt.events} results from {file.name};"
        f" head {receipt.head.position} {receipt.head.hash}"
    )
    from projections.checks import warnings_after  # the races the file touched, as it left them

    touched = list(receipt.after.races) if receipt.after is not None else []
    for warning in warnings_after(ledger, receipt.after or World(), touched):
        typer.echo(f"warning: {warning.message}", err=True)
