"""The values a results file and a command share: places, times, statuses, nations.

Plain functions, no models: the command line parses its options with them without loading
the file models (``ledger.inputs``), which cost a query's start-up a few tens of ms.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import NamedTuple

STATUSES = ("DNF", "DNS", "DQ")

MAX_PLACE = 10_000
MAX_TIME = Decimal(86_400)
MAX_POINTS = Decimal(1_000_000)
MAX_TEXT = 200
MAX_ID = 64
# The results file's columns: the contract's six, then a federation's athlete id, bonus points
# outside the table and the competitor's team (contract §8).
RESULT_COLUMNS = ("race", "place", "competitor", "nation", "time", "status", "id", "bonus", "team")
REQUIRED_COLUMNS = ("race", "competitor")


class ParsedRow(NamedTuple):
    """One row of a results file, validated: what recording it needs.

    A plain tuple, as a file of 50,000 rows is read into 50,000 of them (``ResultRow``, the
    model that validates a row, gives one with ``to_parsed``).
    """

    line: int
    race: str
    competitor: str
    nation: str | None
    place: int | None
    time: Decimal | None
    status: str | None
    athlete_id: str | None = None
    bonus: Decimal | None = None
    team: str | None = None


# ASCII digits only: \d would also take Arabic-Indic and other digits.
_SECONDS = re.compile(r"(\d{1,5})(\.\d{1,6})?", re.ASCII)
_MINUTES = re.compile(r"(\d{1,4}):([0-5]\d(\.\d{1,6})?)", re.ASCII)
_HOURS = re.compile(r"(\d{1,2}):([0-5]\d):([0-5]\d(\.\d{1,6})?)", re.ASCII)
_NATION = re.compile(r"[A-Z]{2,4}", re.ASCII)


def parse_time(text: str) -> Decimal:
    """A race time, ``34.41``, ``1:08.94`` or ``1:36:06.857``, as exact decimal seconds."""
    text = text.strip()
    if _SECONDS.fullmatch(text):
        seconds = Decimal(text)
    elif match := _MINUTES.fullmatch(text):
        seconds = int(match.group(1)) * 60 + Decimal(match.group(2))
    elif match := _HOURS.fullmatch(text):
        seconds = int(match.group(1)) * 3600 + int(match.group(2)) * 60 + Decimal(match.group(3))
    else:
        raise ValueError("a time is seconds (34.41), m:ss.xx (1:08.94) or h:mm:ss (1:36:06.857)")
    if not 0 < seconds < MAX_TIME:
        raise ValueError("a time must be above 0 and under 24 hours")
    return seconds


def parse_place(text: str) -> int:
    """A place: a positive integer."""
    text = text.strip()
    if not text.isdigit() or not text.isascii():
        raise ValueError("a place is a positive whole number")
    place = int(text) if len(text) <= 9 else MAX_PLACE + 1
    if not 1 <= place <= MAX_PLACE:
        raise ValueError(f"a place is between 1 and {MAX_PLACE}")
    return place


def parse_status(text: str) -> str | None:
    """A status: empty (finished), DNF, DNS or DQ."""
    text = text.strip()
    if not text:
        return None
    # ASCII first: "ſ".upper() is "S", so "dnſ" would otherwise pass for DNS.
    text = text.upper() if text.isascii() else text
    if text not in STATUSES:
        raise ValueError("status is empty, DNF, DNS or DQ")
    return text


def parse_nation(text: str) -> str | None:
    """A nation code such as NED, or None when empty."""
    text = text.strip()
    if not text:
        return None
    text = text.upper() if text.isascii() else text  # "ß".upper() is "SS"
    if not _NATION.fullmatch(text):
        raise ValueError("a nation is a 2–4 letter code such as NED")
    return text


_POINTS = re.compile(r"\d{1,7}(\.\d{1,6})?", re.ASCII)
_ATHLETE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}", re.ASCII)


def parse_points(text: str) -> Decimal:
    """Points: a non-negative decimal such as 1 or 0.5, kept exact."""
    text = text.strip()
    if not _POINTS.fullmatch(text):
        raise ValueError("points are a non-negative decimal such as 1 or 0.5")
    points = Decimal(text)
    if points > MAX_POINTS:
        raise ValueError(f"points are at most {MAX_POINTS}")
    return points


def parse_athlete_id(text: str) -> str | None:
    """A federation's athlete id (letters, digits, . _ : / -), or None when empty."""
    text = text.strip()
    if not text:
        return None
    if not _ATHLETE.fullmatch(text):
        raise ValueError(
            f"an athlete id is up to {MAX_ID} letters, digits and . _ : / - (e.g. ISU12345)"
        )
    return text


def format_points(points: Decimal | None) -> str:
    """Points as people write them: 25, 12.5 (no trailing zeros, no exponent)."""
    if points is None:
        return ""
    text = format(points.normalize(), "f") if points != points.to_integral_value() else None
    return text if text is not None else str(int(points))


def format_time(seconds: Decimal | None) -> str:
    """A time as people write it: 34.41, 1:08.94 from a minute up, 1:36:06.857 from an hour."""
    if seconds is None:
        return ""
    if seconds < 60:
        return str(seconds)
    minutes, rest = divmod(seconds, 60)
    text = str(rest)
    padded = f"{'0' if len(text.split('.')[0]) < 2 else ''}{text}"
    if minutes < 60:
        return f"{int(minutes)}:{padded}"
    hours, within = divmod(int(minutes), 60)
    return f"{hours}:{within:02d}:{padded}"


# --- cells a spreadsheet would run --------------------------------------------------------

# A cell starting with one of these is a formula to a spreadsheet (OWASP "CSV injection"):
# `=HYPERLINK(...)`, `@SUM(...)`, `-2+3+cmd|' /C calc'!A0`, and tab or CR before any of them.
FORMULA_STARTS = "=+-@\t\r"
_NEEDS_QUOTE = re.compile(r"'*[=+\-@\t\r]")
_STARTS = frozenset(("'", *FORMULA_STARTS))  # what a cell to neutralise starts with
_QUOTED = re.compile(r"'+[=+\-@\t\r]")
# A negative number or time is data, not a formula, and stays as it is: -1.5, -12, -1:08.94.
_NEGATIVE_NUMBER = re.compile(r"-[0-9]+(?:[.:][0-9]+)*")


def neutralised(text: str) -> str:
    """A CSV cell a spreadsheet will show rather than run: one ``'`` before a cell that would
    start a formula (and before one that already starts with quotes then such a character,
    so that ``unneutralised`` gives every text back exactly)."""
    if text[:1] in _STARTS and _NEEDS_QUOTE.match(text) and not _NEGATIVE_NUMBER.fullmatch(text):
        return "'" + text
    return text


def unneutralised(text: str) -> str:
    """The inverse of ``neutralised``: one leading ``'`` removed when quotes and then a
    formula's first character follow it."""
    if text[:1] == "'" and _QUOTED.match(text):
        return text[1:]
    return text
