"""`ledger import season|results`: record files, all or nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.common import (
    AnswerFormat,
    AnswerFormatOption,
    ByOption,
    DbOption,
    RecordedAtOption,
    SourceOption,
    complete_season,
    handles_errors,
    note,
    open_ledger,
    to_datetime,
)
from cli.progress import tracker
from cli.render import print_receipt
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
    fmt: AnswerFormatOption = AnswerFormat.text,
) -> None:
    """Declare a season, its point tables, cups and races from a TOML file.

    Example: ledger import season season.toml --recorded-at 2013-11-01T09:00:00+00:00
    """
    ledger = open_ledger(db, create=True)
    receipt = ledger.import_season_file(
        file, by=by, source=source, recorded_at=to_datetime(recorded_at, "--recorded-at")
    )
    if fmt is AnswerFormat.json:
        from projections.history import written

        print_receipt(receipt, written(receipt))
        return
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
    season: Annotated[
        str | None,
        typer.Option(
            "--season",
            envvar="LEDGER_SEASON",
            show_envvar=True,
            help="The season whose races the file's unqualified race ids are.",
            autocompletion=complete_season,
        ),
    ] = None,
    fmt: AnswerFormatOption = AnswerFormat.text,
) -> None:
    """Record a CSV file of results, all or nothing.

    Example: ledger import results results.csv --season isu-ss-wc-2013-14 --source "ISU"
    """
    ledger = open_ledger(db, create=True)
    with tracker(f"recording {file.name}") as report:
        receipt = ledger.import_results_file(
            file,
            by=by,
            source=source,
            recorded_at=to_datetime(recorded_at, "--recorded-at"),
            progress=report,
            season=season.strip() if season else None,
        )
    from projections.checks import warnings_after  # the races the file touched, as it left them

    touched = list(receipt.after.races) if receipt.after is not None else []
    warnings = warnings_after(ledger, receipt.after or World(), touched)
    if fmt is AnswerFormat.json:
        from projections.history import stream_history

        rows = stream_history(ledger, command=receipt.command)
        print_receipt(receipt, rows, warnings=warnings)
        return
    typer.echo(
        f"recorded {receipt.events} results from {file.name};"
        f" head {receipt.head.position} {receipt.head.hash}"
    )
    for warning in warnings:
        note(f"warning: {warning.message}")
