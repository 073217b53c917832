"""Output formats, one way for every command and route: JSON, RFC 3339 times, CSV, Markdown.

Exact decimals (points, times, bonuses) are written as JSON numbers with their exact digits
(``12.5``, ``25``, ``34.410``), never through a float; times are RFC 3339 in UTC with ``Z``
(``2014-03-18T09:00:00Z``, with microseconds only when there are some); dates are
``YYYY-MM-DD``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any
from uuid import UUID

import orjson
from pydantic import BaseModel

from ledger.moments import rfc3339

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
    body: dict[str, Any] = {"command": command, "query": query, "head": head}
    if isinstance(data, BaseModel):
        fields = data.model_dump(mode="python")
        fields.pop("head", None)
        body.update(fields)
    elif isinstance(data, dict):
        body.update(data)
    else:
        body["data"] = list(data)
    return body
