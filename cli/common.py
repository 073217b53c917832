"""What every command shares: options, value parsing, opening the ledger, one-line errors."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, ParamSpec, TypeVar

import typer
from eventsourcing.persistence import PersistenceError

from ledger.application import Ledger
from ledger.errors import InputError, LedgerError
from ledger.moments import DateMeans, parse_moment
from ledger.values import parse_nation, parse_place, parse_points, parse_status, parse_time

P = ParamSpec("P")
R = TypeVar("R")


class Format(StrEnum):
    """Output formats of the read commands."""

    table = "table"
    json = "json"
    csv = "csv"
    markdown = "markdown"


DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        envvar="LEDGER_DB",
        help="The ledger: a SQLite file (default ./ledger.db) or a postgresql:// URL.",
        show_envvar=True,
    ),
]
RecordedAtOption = Annotated[
    str | None,
    typer.Option(
        "--recorded-at",
        help="Backfill: the event's transaction time, ISO 8601 with offset"
        " (2014-03-09T18:00:00+00:00). Default: now.",
    ),
]
ByOption = Annotated[
    str | None, typer.Option("--by", help="Who records this (default: the OS user).")
]
SourceOption = Annotated[
    str | None,
    typer.Option("--source", help="The authority: a decision number, a URL, a document."),
]
AsOfOption = Annotated[
    str | None,
    typer.Option("--as-of", help="Count only races on or before this date (YYYY-MM-DD)."),
]
KnownAtOption = Annotated[
    str | None,
    typer.Option(
        "--known-at",
        help="Use only what was recorded by this time (ISO 8601 with offset).",
    ),
]
FormatOption = Annotated[
    Format, typer.Option("--format", "-f", help="Output format.", case_sensitive=False)
]
NationOption = Annotated[
    str | None, typer.Option("--nation", help="The competitor's nation, when the name is shared.")
]
ReasonOption = Annotated[
    str, typer.Option("--reason", help="Why (required; kept in the audit trail).")
]


def fail(message: str) -> typer.Exit:
    """Print one line on stderr and return the exit to raise."""
    # A file name or a value may hold a line break; the error stays one line regardless.
    message = " ".join(message.splitlines())
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(1)


def handles_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn a rejected command into one line on stderr and exit code 1, never a traceback."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except LedgerError as e:
            raise fail(str(e)) from None
        except PersistenceError as e:
            raise fail(f"the store refused the operation: {e}") from None
        except KeyboardInterrupt:
            raise fail("interrupted; nothing was written by the unfinished command") from None

    return wrapper


def open_ledger(db: str | None, *, create: bool = False) -> Ledger:
    """Open the ledger the user named, to write to it (``create``: a new one if missing)."""
    return Ledger(db, create=create)


def open_reader(db: str | None) -> Ledger:
    """Open the ledger the user named, to read it: it is never written, nor created."""
    return Ledger(db, readonly=True)


def to_datetime(value: str | None, option: str) -> datetime | None:
    """Parse a moment: ISO 8601 with offset, a date, now, today, yesterday, or an age (7d)."""
    if value is None:
        return None
    # A date as the lower bound of a range means its first moment, so that
    # --since 2014-03-17 keeps that day; everywhere else its last, so --known-at keeps it too.
    means: DateMeans = "start" if option == "--since" else "end"
    try:
        return parse_moment(value, datetime.now(UTC), date_means=means)
    except InputError as e:
        raise LedgerError(f"{option} {value!r}: {e}") from None


def to_date(value: str | None, option: str = "--as-of") -> date | None:
    """Parse a YYYY-MM-DD date."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise LedgerError(f"{option} {value!r}: not a date; use YYYY-MM-DD") from None


def _value(parser: Callable[[str], R], value: str, option: str) -> R:
    try:
        return parser(value)
    except ValueError as e:
        raise LedgerError(f"{option} {value!r}: {e}") from None


def to_place(value: str) -> int:
    """Parse --place."""
    return _value(parse_place, value, "--place")


def to_time(value: str) -> Decimal:
    """Parse --time."""
    return _value(parse_time, value, "--time")


def to_status(value: str) -> str | None:
    """Parse --status ('' or OK clears it)."""
    return None if value.strip().upper() in ("", "OK") else _value(parse_status, value, "--status")


def to_points(value: str, option: str) -> Decimal:
    """Parse points (--bonus, --points)."""
    return _value(parse_points, value, option)


def to_nation(value: str | None) -> str | None:
    """Parse --nation."""
    return None if value is None else _value(parse_nation, value, "--nation")


def is_terminal() -> bool:
    """Whether stdout is a terminal (progress bars and colours only then)."""
    return sys.stdout.isatty()
