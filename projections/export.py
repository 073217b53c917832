"""Pure shaping of exports: results as the importer's CSV, standings and the event log as text.

Results are exported as they stand (as known at a time): a corrected result is exported with
its corrected values, a disqualified competitor with status ``DQ`` and no place, and every
classified competitor with its effective place (1 + those classified strictly ahead). Importing
the export into a ledger holding the same season therefore reproduces the same standings. The
results of a voided race are left out (the file format cannot say "void"); the event log keeps
them.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any
from uuid import UUID

import orjson
from pydantic import BaseModel, ConfigDict

from ledger.errors import InputError
from ledger.values import RESULT_COLUMNS, format_time
from projections.fold import LedgerView
from projections.frames import dataframe
from projections.models import Standings
from projections.scoring import classify_results
from projections.views import cup_races


class ExportFormat(StrEnum):
    """The formats an export can be written in."""

    csv = "csv"
    json = "json"
    jsonl = "jsonl"
    markdown = "markdown"


class ResultLine(BaseModel):
    """One current result, as a row of the importer's CSV (plus its season and race date)."""

    model_config = ConfigDict(frozen=True)

    season: str
    race: str
    date: date
    place: int | None
    competitor: str
    nation: str | None
    time: Decimal | None
    status: str | None

    def csv_cells(self) -> list[str]:
        """The cells of the results file's columns: race,place,competitor,nation,time,status."""
        return [
            self.race,
            "" if self.place is None else str(self.place),
            self.competitor,
            self.nation or "",
            format_time(self.time),
            self.status or "",
        ]


class ResultsExport(BaseModel):
    """The current results of a ledger (or of a cup), and the voided races left out."""

    model_config = ConfigDict(frozen=True)

    results: list[ResultLine]
    voided: list[str]

    def to_dataframe(self) -> Any:
        """A pandas DataFrame of the results; times as float seconds, for analysis."""
        columns = ["season", "race", "date", "place", "competitor", "nation", "time", "status"]
        records = [
            r.model_dump() | {"time": None if r.time is None else float(r.time)}
            for r in self.results
        ]
        return dataframe(records, columns)


def current_results(
    view: LedgerView, cup: tuple[str, str] | None = None, as_of: date | None = None
) -> ResultsExport:
    """Every race's current results, in date order then place order, as the importer reads them.

    A race id is qualified as ``SEASON/RACE`` only when several seasons use it.
    """
    seasons_of = Counter(race for _season, race in view.races)
    if cup is None:
        races = sorted(
            (r for r in view.races.values() if as_of is None or r.date <= as_of),
            key=lambda r: (r.date, r.order),
        )
    else:
        races = cup_races(view, cup[0], cup[1], as_of)
    lines: list[ResultLine] = []
    voided: list[str] = []
    for race in races:
        name = race.race if seasons_of[race.race] == 1 else f"{race.season}/{race.race}"
        if race.voided:
            if race.results:
                voided.append(name)
            continue
        for placing in classify_results(list(race.results.values()), race.points):
            result = placing.result
            status = result.status or ("DQ" if result.disqualified else None)
            lines.append(
                ResultLine(
                    season=race.season,
                    race=name,
                    date=race.date,
                    place=placing.place,
                    competitor=result.competitor,
                    nation=result.nation,
                    time=result.time,
                    status=status,
                )
            )
    return ResultsExport(results=lines, voided=voided)


# --- text formats ------------------------------------------------------------------------


def delimited(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """CSV text with a header row and a final newline."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(["" if v is None else v for v in row] for row in rows)
    return out.getvalue()


def markdown(header: Sequence[str], rows: Iterable[Sequence[object]], right: set[int]) -> str:
    """A Markdown (GitHub) table, numbers right-aligned."""

    def cell(value: object) -> str:
        return "" if value is None else str(value).replace("|", "\\|")

    lines = ["| " + " | ".join(header) + " |"]
    lines.append(
        "| " + " | ".join("---:" if i in right else "---" for i in range(len(header))) + " |"
    )
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def plain(value: Any) -> Any:
    """A value as JSON-ready data; exact decimals stay exact (as text)."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, UUID):
        return value.hex
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def json_text(data: Any) -> str:
    """Indented JSON with a final newline."""
    return orjson.dumps(plain(data), option=orjson.OPT_INDENT_2).decode() + "\n"


def jsonl_text(records: Iterable[Any]) -> str:
    """JSON Lines: one compact object per line."""
    return "".join(orjson.dumps(plain(r)).decode() + "\n" for r in records)


def results_text(export: ResultsExport, fmt: ExportFormat) -> str:
    """Results in a format; CSV is exactly the importer's format."""
    if fmt is ExportFormat.csv:
        return delimited(RESULT_COLUMNS, (line.csv_cells() for line in export.results))
    if fmt is ExportFormat.markdown:
        return markdown(RESULT_COLUMNS, (line.csv_cells() for line in export.results), {1, 4})
    if fmt is ExportFormat.json:
        return json_text(export.results)
    return jsonl_text(export.results)


STANDINGS_COLUMNS = ("rank", "competitor", "nation", "points")


def standings_text(table: Standings, fmt: ExportFormat) -> str:
    """Standings in a format: CSV like the published tables, JSON as ``ledger standings``."""
    rows = [[r.rank, r.competitor, r.nation, r.points] for r in table.standings]
    if fmt is ExportFormat.csv:
        return delimited(STANDINGS_COLUMNS, rows)
    if fmt is ExportFormat.markdown:
        when = f"as of {table.as_of}" if table.as_of else "all races"
        known = f", as known at {table.known_at.isoformat()}" if table.known_at else ""
        title = f"**{table.cup_name}** ({table.season}/{table.cup}), {when}{known}"
        return f"{title}\n\n{markdown(STANDINGS_COLUMNS, rows, {0, 3})}"
    if fmt is ExportFormat.json:
        return json_text(table)
    return jsonl_text(
        {"season": table.season, "cup": table.cup, **row.model_dump(mode="json")}
        for row in table.standings
    )


# --- the event log ----------------------------------------------------------------------

EVENT_HEADER = ("position", "recorded_at", "hash", "topic")


def event_record(
    position: int, recorded_at: str, digest: str, topic: str, fields: Mapping[str, Any]
) -> dict[str, Any]:
    """One archived event: its place in the chain, then every field it carries.

    The library's ``timestamp`` is left out: it is ``recorded_at``.
    """
    record: dict[str, Any] = {
        "position": position,
        "recorded_at": recorded_at,
        "hash": digest,
        "topic": topic,
    }
    for key, value in fields.items():
        if key != "timestamp":
            record[key] = plain(value)
    return record


def events_text(records: Iterable[Mapping[str, Any]], fmt: ExportFormat) -> str:
    """The event log as JSON Lines (for archiving) or as one JSON list."""
    if fmt is ExportFormat.jsonl:
        return jsonl_text(records)
    if fmt is ExportFormat.json:
        return json_text(list(records))
    raise InputError(f"--format {fmt}: the event log exports as jsonl or json")
