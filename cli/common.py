"""What every command shares: options, value parsing, opening the ledger, one-line errors."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated, ParamSpec, TypeVar

import typer
from eventsourcing.persistence import PersistenceError

from ledger.application import Ledger
from ledger.errors import AmbiguousIdError, InputError, LedgerError
from ledger.moments import DateMeans, parse_moment
from ledger.store import COMMITS
from ledger.values import parse_nation, parse_place, parse_points, parse_status, parse_time

P = ParamSpec("P")
R = TypeVar("R")


class Format(StrEnum):
    """Output formats of the read commands."""

    table = "table"
    json = "json"
    csv = "csv"
    tsv = "tsv"
    markdown = "markdown"


class AnswerFormat(StrEnum):
    """Output formats of the commands that write (their receipt) and of verify."""

    text = "text"
    json = "json"


def _where_it_goes(value: Format | None) -> Format:
    # Only the command line resolves a missing --format by where stdout goes; a command called
    # as a function (the demo does) gets a table.
    if value is not None:
        return value
    return Format.table if is_terminal() else Format.tsv


_QUIET = False


def be_quiet(value: bool = True) -> None:
    """Leave out progress bars and notes: print only the answer and errors."""
    global _QUIET
    _QUIET = value


def quiet() -> bool:
    """Whether --quiet was given."""
    return _QUIET


def note(text: str) -> None:
    """A line for the person at the keyboard, on stderr (not with --quiet)."""
    if not _QUIET:
        typer.echo(text, err=True)


def _ledger_ids(ctx: typer.Context, what: str) -> list[str]:
    """Ids in the ledger the command line names, read-only; nothing on any error."""
    import os

    db = ctx.params.get("db") or os.environ.get("LEDGER_DB") or "ledger.db"
    try:
        if "://" not in db and not os.path.exists(db):
            return []
        book = Ledger(db, readonly=True)
        try:
            with book.reading() as reader:
                upto = reader.head().position
                if what == "season":
                    return [s for s, _ in reader.seasons(upto)]
                keys = reader.cups(upto) if what == "cup" else reader.all_races(upto)
        finally:
            book.close()
    except Exception:  # completion must never print a traceback into the user's shell
        return []
    # Bare ids (the preferred season's when several seasons have one), then qualified ones.
    return sorted({i for _, i in keys}) + sorted(f"{s}/{i}" for s, i in keys)


def complete_season(ctx: typer.Context, incomplete: str) -> list[str]:
    """Shell completion of season ids."""
    return [s for s in _ledger_ids(ctx, "season") if s.startswith(incomplete)]


def complete_cup(ctx: typer.Context, incomplete: str) -> list[str]:
    """Shell completion of cup ids (SEASON/CUP when several seasons have one)."""
    return [c for c in _ledger_ids(ctx, "cup") if c.startswith(incomplete)]


def complete_race(ctx: typer.Context, incomplete: str) -> list[str]:
    """Shell completion of race ids (SEASON/RACE when several seasons have one)."""
    return [r for r in _ledger_ids(ctx, "race") if r.startswith(incomplete)]


def _prefer(value: str | None) -> str | None:
    from ledger.reader import PREFERRED_SEASON

    value = value.strip() if value else None
    if value:
        PREFERRED_SEASON.set(value)
    return value


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
    str | None,
    typer.Option("--by", help="Who records this (default: $LEDGER_BY, else the OS user)."),
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
        help="Use only what was recorded by this moment: ISO 8601 with offset, a date, now,"
        " today, yesterday, or an age (7d).",
    ),
]
FormatOption = Annotated[
    Format | None,
    typer.Option(
        "--format",
        "-f",
        help="Output format (default: table on a terminal, tsv when piped).",
        case_sensitive=False,
        show_default=False,
        callback=_where_it_goes,
    ),
]
AnswerFormatOption = Annotated[
    AnswerFormat,
    typer.Option(
        "--format", "-f", help="Output format: text, or json (docs/json.md).", case_sensitive=False
    ),
]
SeasonOption = Annotated[
    str | None,
    typer.Option(
        "--season",
        envvar="LEDGER_SEASON",
        help="The season an unqualified race or cup id names when several seasons have it.",
        show_envvar=True,
        callback=_prefer,
        autocompletion=complete_season,
    ),
]
CupArg = Annotated[
    str,
    typer.Argument(help="Cup id, e.g. men-500m (or SEASON/CUP).", autocompletion=complete_cup),
]
RaceArg = Annotated[
    str,
    typer.Argument(help="Race id, e.g. HVN2 (or SEASON/RACE).", autocompletion=complete_race),
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
    message = hide_secrets(" ".join(message.splitlines()))
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(1)


def hide_secrets(text: str) -> str:
    """Text without any password of the stores the command was given (--db, --from, --to,
    $LEDGER_DB), whatever the URL's spelling: the last guard, should a message quote a part
    of a URL (the server quotes a database name) without the URL around it."""
    import os

    from ledger.store import redact_text, secrets_in

    text = redact_text(text)
    params = _ASKED["params"]
    given = [v for v in params.values() if isinstance(v, str)] if isinstance(params, dict) else []
    for value in [*given, os.environ.get("LEDGER_DB", "")]:
        if "@" in value or "password" in value.lower():
            for secret in secrets_in(value):
                text = text.replace(secret, "***")
    return text


_ASKED: dict[str, object] = {"command": "", "params": {}, "commits": 0}


def asked() -> tuple[str, dict[str, object]]:
    """The command running (``import results``) and the parameters it was given."""
    params = _ASKED["params"]
    assert isinstance(params, dict)
    return str(_ASKED["command"]), {k: v for k, v in params.items() if k not in ("db", "fmt")}


def handles_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn a rejected command into one line on stderr and exit code 1, never a traceback."""
    name = command.__name__.replace("_", " ")

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        _ASKED.update(command=name, params=dict(kwargs), commits=len(COMMITS))
        try:
            return command(*args, **kwargs)
        except LedgerError as e:
            hint = ""
            if isinstance(e, AmbiguousIdError) and "in several seasons" in str(e):
                hint = " (or give --season SEASON, or set LEDGER_SEASON)"
            raise fail(f"{e}{hint}") from None
        except PersistenceError as e:
            raise fail(f"the store refused the operation: {e}") from None
        except KeyboardInterrupt:
            raise fail(interrupted()) from None
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise
        except OSError as e:
            if e.filename is None:  # our own output failed: the command line's edge says so
                raise
            raise fail(f"{e.filename}: {e.strerror or e}") from None
        except Exception as e:
            # Not a refusal the ledger words itself: a store changed behind its back (a
            # state that does not decode, a read-model row of the wrong type) or a bug. Still
            # one line, and what was written said; LEDGER_DEBUG=1 shows the traceback.
            import os

            if os.environ.get("LEDGER_DEBUG"):
                raise
            raise fail(unexpected(e)) from None

    return wrapper


def unexpected(error: BaseException) -> str:
    """One line for an error no command words itself, saying what had been committed."""
    detail = " ".join(str(error).split())[:300]
    what = f"unexpected {type(error).__name__}" + (f" ({detail})" if detail else "")
    written = interrupted().removeprefix("interrupted")
    if written.startswith(";"):
        written = "; nothing was written"
    else:
        written = written.strip().removeprefix("after the ").replace(" was ", " had been ", 1)
        written = f"; {written}"
    return (
        f"{what}{written}; if the database was changed outside the ledger, `ledger verify`"
        " says where (and `ledger rebuild` repairs the read model)"
    )


def interrupted() -> str:
    """What an interruption (Ctrl-C) leaves: what the command had committed, or nothing."""
    since = _ASKED.get("commits", len(COMMITS))
    done = COMMITS[since if isinstance(since, int) else len(COMMITS) :]
    if not done:
        return "interrupted; nothing was written by the unfinished command"
    count = sum(c.last - c.first + 1 for c in done)
    events = "1 event" if count == 1 else f"{count:,} events"
    where = ", ".join(
        f"position {c.first}" if c.first == c.last else f"positions {c.first}–{c.last}"
        for c in done
    )
    what = str(_ASKED["command"]) or "command"
    return f"interrupted after the {what} was committed: {events} at {where}"


_KEY_FILE: list[Path] = []  # --key, as given (loaded when the ledger is opened)


def use_key(path: Path | None) -> Path | None:
    """Remember --key (or $LEDGER_KEY) for the command's ledger (``open_ledger``)."""
    _KEY_FILE.clear()
    if path is not None and str(path).strip():
        _KEY_FILE.append(path)
    return path


def open_ledger(db: str | None, *, create: bool = False) -> Ledger:
    """Open the ledger the user named, to write to it (``create``: a new one if missing),
    its commands signed with --key if one was given."""
    key = None
    if _KEY_FILE:
        from ledger.signing import SigningKey

        key = SigningKey.load(_KEY_FILE[0])
    ledger = Ledger(db, create=create)
    ledger.signing_key = key
    return ledger


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
