"""Output formats, one way for every command and route: JSON, RFC 3339 times, CSV, Markdown.

Exact decimals (points, times, bonuses) are written as JSON numbers with their exact digits
(``12.5``, ``25``, ``34.410``), never through a float; times are RFC 3339 in UTC with ``Z``
(``2014-03-18T09:00:00Z``, with microseconds only when there are some); dates are
``YYYY-MM-DD``.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import PurePath
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

import orjson
from pydantic import BaseModel, ConfigDict, Field

from ledger.moments import rfc3339
from ledger.values import neutralised

if TYPE_CHECKING:
    from ledger.application import Ledger
    from projections.models import HeadRef

R = TypeVar("R")

_BREAKS = re.compile(r"[\t\r\n\v\f\x1c-\x1e\x85\u2028\u2029]+")
_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS


def decimal_text(value: Decimal) -> str:
    """An exact decimal as a JSON number's text, without an exponent."""
    return format(value, "f")


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return orjson.Fragment(decimal_text(value))
    if isinstance(value, datetime):
        return rfc3339(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, BaseModel):
        return value.model_dump(mode="python")
    if isinstance(value, UUID):
        return value.hex
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def json_bytes(data: Any, *, indent: bool = True) -> bytes:
    """Data (models, dicts, lists) as JSON bytes, decimals and times exact."""
    option = _OPTIONS | (orjson.OPT_INDENT_2 if indent else 0)
    return orjson.dumps(data, default=_default, option=option)


def json_text(data: Any) -> str:
    """Indented JSON with a final newline."""
    return json_bytes(data).decode() + "\n"


def jsonl_text(records: Iterable[Any]) -> str:
    """JSON Lines: one compact object per line."""
    return "".join(json_bytes(r, indent=False).decode() + "\n" for r in records)


class ExportFormat(StrEnum):
    """The formats an export can be written in."""

    csv = "csv"
    json = "json"
    jsonl = "jsonl"
    markdown = "markdown"


def delimited(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """CSV text with a header row and a final newline; no cell a spreadsheet would run as
    a formula (``neutralised``)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([neutralised(cell(v)) for v in row] for row in rows)
    return out.getvalue()


def csv_line(values: Iterable[object]) -> str:
    """One CSV record with its newline, formulas neutralised as ``delimited`` does."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow([neutralised(cell(v)) for v in values])
    return out.getvalue()


def markdown_row(values: Iterable[object]) -> str:
    """One row of a Markdown table with its newline."""
    return (
        "| " + " | ".join("" if v is None else str(v).replace("|", "\\|") for v in values) + " |\n"
    )


def markdown(header: Sequence[str], rows: Iterable[Sequence[object]], right: set[int]) -> str:
    """A Markdown (GitHub) table, numbers right-aligned."""
    rule = "| " + " | ".join("---:" if i in right else "---" for i in range(len(header))) + " |\n"
    return markdown_row(header) + rule + "".join(markdown_row(row) for row in rows)


class Head(BaseModel):
    """A log position and the chain's hash there."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    position: int = Field(ge=1)
    hash: str = Field(pattern=r"^[0-9a-f]{64}$")


class Envelope(BaseModel):
    """The one JSON shape of every command's answer (docs/json.md).

    An object answer has its own fields beside these (extra keys); a list answer is ``data``.
    """

    model_config = ConfigDict(extra="allow", frozen=True, defer_build=True)

    command: str = Field(description="The command that answered: standings, history, correct...")
    query: dict[str, Any] = Field(
        description="What was asked, every moment as the exact instant used (RFC 3339 UTC)"
    )
    head: Head | None = Field(
        description="The log position and chain hash the answer was computed at (null: empty log)"
    )
    data: list[Any] | None = Field(
        default=None, description="The answer, when it is a list (calendar, audit trail...)"
    )


def answer(
    command: str,
    query: dict[str, Any],
    head: Any,
    data: Any,
) -> dict[str, Any]:
    """The one JSON shape of every command's answer (see docs/json.md).

    ``command`` names it, ``query`` echoes what was asked (every time as the exact instant
    used, RFC 3339 UTC), ``head`` is the log position and hash the answer was computed at
    (null for an empty log). An answer that is one object (standings, a race's results, an
    explanation, a diff, a command's receipt) has its fields at the top level beside them, so
    that the standings keep contract §4's keys where they are; an answer that is a list (the
    calendar, the audit trail, warnings, seasons) is under ``data``.
    """
    if isinstance(head, BaseModel):
        head = head.model_dump(mode="python")
    body: dict[str, Any] = {"command": command, "query": query, "head": head}
    if isinstance(data, BaseModel):
        fields = data.model_dump(mode="python")
        fields.pop("head", None)
        body.update(fields)
    elif isinstance(data, dict):
        body.update({k: v for k, v in data.items() if k not in body})
    else:
        body["data"] = list(data)
    return body


def answer_text(command: str, query: dict[str, Any], head: Any, data: Any) -> str:
    """An answer as indented JSON text with a final newline."""
    return json_text(answer(command, query, head, data))


def answer_pieces(
    command: str, query: dict[str, Any], head: Any, lines: Iterable[bytes]
) -> Iterator[bytes]:
    """A list answer's envelope as its items come, each item a compact JSON line
    (``json_bytes(item, indent=False)``), one a line: the same JSON as ``answer_text``,
    written without holding the list."""
    opening = json_bytes(answer(command, query, head, []))
    assert opening.endswith(b'"data": []\n}')
    yield opening[: -len(b"[]\n}")] + b"["
    count = 0
    for line in lines:
        yield (b"\n    " if count == 0 else b",\n    ") + line
        count += 1
    yield b"\n  ]\n}\n" if count else b"]\n}\n"


# --- cells of delimited text -------------------------------------------------------------


def cell(value: object) -> str:
    """A value as a cell of machine-readable text: RFC 3339 UTC times, exact decimals."""
    if type(value) is str:  # most cells
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, datetime):
        return rfc3339(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def tsv_line(cells: Iterable[object]) -> str:
    """One line of tab-separated text: tabs and line breaks inside a value become spaces."""
    return "\t".join(_tsv_cell(cell(v)) for v in cells) + "\n"


def _tsv_cell(text: str) -> str:
    if not text.isprintable():  # every line break and tab is unprintable: most cells are not
        text = _BREAKS.sub(" ", text)
    return neutralised(text)


def tsv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """Tab-separated text with a header row and a final newline, no padding."""
    return tsv_line(header) + "".join(tsv_line(row) for row in rows)


# --- the head an answer was computed at ------------------------------------------------------


def head_at(ledger: Ledger, known_at: datetime | None) -> HeadRef | None:
    """The log position (and hash) a query as known at ``known_at`` reads up to."""
    from projections.models import Cut

    with ledger.reading() as reader:
        return Cut.at(reader, known_at).head


def with_head(ledger: Ledger, known_at: datetime | None, run: Callable[[], R]) -> tuple[R, Any]:
    """A query's answer and the head it was computed at, for queries whose answer does not
    carry it: the head is read before and after, and the query run again if a write came in
    between (a few times at most; then the answer may hold up to the later head)."""
    head = head_at(ledger, known_at)
    for _ in range(3):
        result = run()
        after = head_at(ledger, known_at)
        if after == head:
            break
        head = after
    return result, head
