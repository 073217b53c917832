"""`ledger export results|standings|events`: the ledger's data as files other tools read."""

from __future__ import annotations

from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from cli.common import (
    AsOfOption,
    DbOption,
    KnownAtOption,
    complete_cup,
    handles_errors,
    note,
    open_reader,
    to_date,
    to_datetime,
)
from cli.outputs import ForceOption, check_output, destination, write_output
from projections.output import ExportFormat, answer_text, head_at


class EventFormat(StrEnum):
    """The formats the event log is archived in."""

    jsonl = "jsonl"
    json = "json"


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
EventFormatOption = Annotated[
    EventFormat,
    typer.Option("--format", "-f", help="jsonl (one event a line) or json.", case_sensitive=False),
]
CupOption = Annotated[
    str | None,
    typer.Option("--cup", help="Only this cup (or SEASON/CUP).", autocompletion=complete_cup),
]


def _write(text: str, output: Path | None, db: str | None, force: bool, what: str) -> None:
    if output is None:
        typer.echo(text, nl=False)
        return
    write_output(text.encode("utf-8"), output, db, force=force)
    note(f"wrote {what} to {output}")


@app.command("results")
@handles_errors
def export_results(
    cup: CupOption = None,
    as_of: AsOfOption = None,
    known_at: KnownAtOption = None,
    fmt: ExportFormatOption = None,
    output: OutputOption = None,
    force: ForceOption = False,
    db: DbOption = None,
) -> None:
    """Export the current results as the importer's CSV (csv, json, jsonl or markdown).

    Corrections are applied; a disqualified competitor has status DQ and no place; results
    of a voided race are left out. Importing the CSV into a ledger holding the same season
    reproduces the same standings.

    Example: ledger export results --cup men-500m --output results.csv
    """
    from projections.export import results_parts, write_results

    if output is not None:
        check_output(output, db, force=force)
    ledger = open_reader(db)
    day, moment = to_date(as_of), to_datetime(known_at, "--known-at")
    query = {"cup": cup, "as_of": day, "known_at": moment}
    chosen = fmt or ExportFormat.csv
    # Made a chunk of races at a time (by several processes on a large SQLite file) and
    # written as they come: the memory of a chunk, whatever the size of the ledger.
    head, parts = results_parts(
        ledger,
        cup=cup,
        as_of=day,
        known_at=moment,
        cells=chosen in (ExportFormat.csv, ExportFormat.markdown),
        parallel=True,
    )
    with destination(output, db, force=force) as out:
        count, voided = write_results(parts, chosen, out, query, head)
    if voided:
        note(f"note: voided races left out: {', '.join(voided)}")
    if output is not None:
        note(f"wrote {count} results to {output}")


@app.command("standings")
@handles_errors
def export_standings(
    cup: Annotated[str, typer.Option("--cup", help="The cup (or SEASON/CUP).", show_default=False)],
    as_of: AsOfOption = None,
    known_at: KnownAtOption = None,
    fmt: ExportFormatOption = None,
    output: OutputOption = None,
    force: ForceOption = False,
    db: DbOption = None,
) -> None:
    """Export a cup's standings: csv like the published tables, json, jsonl or markdown.

    Example: ledger export standings --cup men-500m --as-of 2014-03-09 --format markdown
    """
    from projections.api import standings
    from projections.export import standings_text

    if output is not None:
        check_output(output, db, force=force)
    day, moment = to_date(as_of), to_datetime(known_at, "--known-at")
    table = standings(open_reader(db), cup, as_of=day, known_at=moment)
    if fmt is ExportFormat.json:  # exactly what `ledger standings --format json` prints
        query = {"cup": cup, "season": None, "as_of": day, "known_at": moment}
        text = answer_text("standings", query, table.head, table)
    else:
        text = standings_text(table, fmt or ExportFormat.csv)
    _write(text, output, db, force, f"{len(table.standings)} rows")


@app.command("events")
@handles_errors
def export_events(
    known_at: KnownAtOption = None,
    fmt: EventFormatOption = EventFormat.jsonl,
    output: OutputOption = None,
    force: ForceOption = False,
    db: DbOption = None,
) -> None:
    """Export the full event log for archiving: JSON Lines (default) or json, with hashes.

    One object per event: position, recorded_at, hash, topic, then the event's fields;
    json is the one envelope of every answer (docs/json.md), the events under "data".

    Example: ledger export events --output ledger-archive.jsonl
    """
    from projections.export import stream_event_blocks

    if output is not None:
        check_output(output, db, force=force)  # before the work, and again when it is done
    ledger = open_reader(db)
    moment = to_datetime(known_at, "--known-at")
    head = head_at(ledger, moment)
    blocks = stream_event_blocks(ledger, known_at=moment, parallel=True)
    with destination(output, db, force=force) as out:
        count = _events(blocks, fmt, out, {"known_at": moment}, head)
    if output is not None:
        note(f"wrote {count} events to {output}")


def _events(blocks: Any, fmt: EventFormat, out: Any, query: dict[str, Any], head: Any) -> int:
    """Write the event log as JSON Lines, or as the envelope with the events under data,
    to a binary stream."""
    from projections.export import write_event_blocks
    from projections.output import answer_pieces

    if fmt is EventFormat.jsonl:
        return write_event_blocks(blocks, ExportFormat.jsonl, out)
    count = 0

    def items() -> Iterator[bytes]:  # a block's lines, each an item of the list
        nonlocal count
        for block in blocks:
            count += block.count(b"\n") + 1
            yield block.replace(b"\n", b",\n    ")

    for piece in answer_pieces("export events", query, head, items()):
        out.write(piece)
    return count
