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
from ledger.application import Ledger, Receipt
from ledger.errors import InputError
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
    reconcile: Annotated[
        bool,
        typer.Option(
            "--reconcile",
            help="A re-published file: record the late results, corrections and withdrawals"
            " that make the races it names hold exactly what it says (needs --reason).",
        ),
    ] = False,
    reason: Annotated[
        str | None, typer.Option("--reason", help="With --reconcile: why the file changed.")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="With --reconcile: print the plan, write nothing.")
    ] = False,
    fmt: AnswerFormatOption = AnswerFormat.text,
) -> None:
    """Record a CSV file of results, all or nothing (or reconcile a re-published one).

    Example: ledger import results results.csv --season isu-ss-wc-2013-14 --source "ISU"
    Example: ledger import results corrected.csv --reconcile --reason "ISU corrected file"
    """
    if (reason is not None or dry_run) and not reconcile:
        raise InputError("--reason and --dry-run go with --reconcile")
    if reconcile:
        if reason is None:
            raise InputError("--reconcile needs --reason: say why the file changed")
        _reconcile(
            open_ledger(db),
            file,
            reason=reason,
            by=by,
            source=source,
            recorded_at=recorded_at,
            dry_run=dry_run,
            fmt=fmt,
        )
        return
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


def _reconcile(
    ledger: Ledger,
    file: Path,
    *,
    reason: str,
    by: str | None,
    source: str | None,
    recorded_at: str | None,
    dry_run: bool,
    fmt: AnswerFormat,
) -> None:
    """Reconcile the ledger with a re-published file (or, ``dry_run``, print the plan)."""
    from cli.commands_change import done
    from projections.history import written

    receipt = ledger.reconcile_results_file(
        file,
        reason=reason,
        by=by,
        source=source,
        recorded_at=to_datetime(recorded_at, "--recorded-at"),
        dry_run=dry_run,
    )
    if dry_run:
        rows = written(receipt)
        if fmt is AnswerFormat.json:
            print_receipt(receipt, rows, dry_run=True)
            return
        for entry in rows:
            who = f"{entry.competitor} ({entry.nation})" if entry.nation else entry.competitor
            typer.echo(f"would record: {entry.what} {entry.race} {who}: {entry.change}")
        typer.echo(f"{len(receipt.written)} changes; nothing was written (--dry-run)")
        return
    done(receipt, fmt)
    _warn(ledger, receipt)


def _warn(ledger: Ledger, receipt: Receipt) -> None:
    """The data warnings of the races a command touched, as it left them."""
    from projections.checks import warnings_after

    touched = list(receipt.after.races) if receipt.after is not None else []
    for warning in warnings_after(ledger, receipt.after or World(), touched):
        note(f"warning: {warning.message}")
