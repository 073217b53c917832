"""`ledger export results|standings|events`: the ledger's data as files other tools read."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from cli.common import (
    AsOfOption,
    DbOption,
    KnownAtOption,
    handles_errors,
    open_reader,
    to_date,
    to_datetime,
)
from ledger.errors import InputError
from projections.output import ExportFormat

app = typer.Typer(
    help="Write results, standings or the event log as CSV, JSON, JSON Lines or Markdown.",
    no_args_is_help=True,
)

ExportFormatOption = Annotated[
    ExportFormat | None,
    typer.Option("--format", "-f", help="Output format.", case_sensitive=False, show_default=False),
]
OutputOption = Annotated[
    Path | None,
    typer.Option("--output", "-o", help="Write to this file instead of standard output."),
]
CupOption = Annotated[str | None, typer.Option("--cup", help="Only this cup (or SEASON/CUP).")]


def _write(text: str, output: Path | None, what: str) -> None:
    if output is None:
        typer.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as e:
        raise InputError(f"--output {output}: cannot write ({e.strerror})") from None
    typer.echo(f"wrote {what} to {output}", err=True)


@app.command("results")
@handles_errors
def export_results(
    cup: CupOption = None,
    as_of: AsOfOption = None,
    known_at: KnownAtOption = None,
    fmt: ExportFormatOption = None,
    output: OutputOption = None,
    db: DbOption = None,
) -> None:
    """Export the current results as the importer's CSV (csv, json, jsonl or markdown).

    Corrections are applied; a disqualified competitor has status DQ and no place; results
    of a voided race are left out. Importing the CSV into a ledger holding the same season
    reproduces the same standings.

    Example: ledger export results --cup men-500m --output results.csv
    """
    from projections.api import results_export
    from projections.export import results_text

    export = results_export(
        open_reader(db),
        cup=cup,
        as_of=to_date(as_of),
        known_at=to_datetime(known_at, "--known-at"),
    )
    if export.voided:
        typer.echo(f"note: voided races left out: {', '.join(export.voided)}", err=True)
    text = results_text(export, fmt or ExportFormat.csv)
    _write(text, output, f"{len(export.results)} results")


@app.command("standings")
@handles_errors
def export_standings(
    cup: Annotated[str, typer.Option("--cup", help="The cup (or SEASON/CUP).", show_default=False)],
    as_of: AsOfOption = None,
    known_at: KnownAtOption = None,
    fmt: ExportFormatOption = None,
    output: OutputOption = None,
    db: DbOption = None,
) -> None:
    """Export a cup's standings: csv like the published tables, json, jsonl or markdown.

    Example: ledger export standings --cup men-500m --as-of 2014-03-09 --format markdown
    """
    from projections.api import standings
    from projections.export import standings_text

    table = standings(
        open_reader(db), cup, as_of=to_date(as_of), known_at=to_datetime(known_at, "--known-at")
    )
    _write(standings_text(table, fmt or ExportFormat.csv), output, f"{len(table.standings)} rows")


@app.command("events")
@handles_errors
def export_events(
    known_at: KnownAtOption = None,
    fmt: ExportFormatOption = None,
    output: OutputOption = None,
    db: DbOption = None,
) -> None:
    """Export the full event log for archiving: JSON Lines (default) or json, with hashes.

    One object per event: position, recorded_at, hash, topic, then the event's fields.

    Example: ledger export events --output ledger-archive.jsonl
    """
    if fmt not in (None, ExportFormat.jsonl, ExportFormat.json):
        raise InputError(f"--format {fmt}: the event log exports as jsonl or json")
    from projections.api import event_log
    from projections.export import write_events

    records = event_log(open_reader(db), known_at=to_datetime(known_at, "--known-at"))
    kind = fmt or ExportFormat.jsonl
    if output is None:
        write_events(records, kind, sys.stdout)
        return
    try:
        with output.open("w", encoding="utf-8") as out:
            count = write_events(records, kind, out)
    except OSError as e:
        raise InputError(f"--output {output}: cannot write ({e.strerror})") from None
    typer.echo(f"wrote {count} events to {output}", err=True)
