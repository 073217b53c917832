"""Queries over the history: the audit trail, standings diffs, explanations, data checks."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer
from rich import box
from rich.table import Table

from cli.common import (
    AsOfOption,
    DbOption,
    KnownAtOption,
    NationOption,
    handles_errors,
    open_reader,
    to_date,
    to_datetime,
    to_nation,
)
from cli.render import console, to_json
from ledger.errors import InputError
from ledger.values import format_points
from projections.output import json_bytes

if TYPE_CHECKING:  # the audit queries: loaded by the commands that run them
    from collections.abc import Iterable

    from projections.checks import DataWarning
    from projections.diff import Move, StandingsDiff
    from projections.explain import Explanation
    from projections.history import HistoryEntry


class AuditFormat(StrEnum):
    """Output formats of the audit queries."""

    table = "table"
    json = "json"


FormatOption = Annotated[
    AuditFormat, typer.Option("--format", "-f", help="Output format.", case_sensitive=False)
]
CupArg = Annotated[str, typer.Argument(help="Cup id, e.g. men-500m (or SEASON/CUP).")]


def register(app: typer.Typer) -> None:
    """Mount the audit queries on the app."""
    app.command("history")(history)
    app.command("diff")(diff)
    app.command("explain")(explain)
    app.command("check")(check)


def _table(title: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> Table:
    table = Table(title=title, box=box.SIMPLE_HEAD, title_justify="left")
    for name in header:
        table.add_column(name, justify="right" if name in ("#", "rank", "points") else "left")
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    return table


HISTORY_HEADER = [
    "#",
    "recorded (UTC)",
    "by",
    "what",
    "race",
    "competitor",
    "change",
    "why",
    "source",
]
CHUNK = 500


def _history_line(r: HistoryEntry) -> list[object]:
    return [
        r.position,
        r.recorded_at.strftime("%Y-%m-%d %H:%M"),
        r.by,
        r.what,
        r.race,
        f"{r.competitor} ({r.nation})" if r.nation else r.competitor,
        r.change,
        r.reason,
        r.source,
    ]


def render_history(rows: Iterable[HistoryEntry], fmt: AuditFormat) -> None:
    """Print the audit trail as it is read: JSON as one list, a table chunk by chunk."""
    import sys

    out = sys.stdout
    if fmt is AuditFormat.json:
        count = 0
        for row in rows:
            out.write(("[\n  " if count == 0 else ",\n  ") + json_bytes(row, indent=False).decode())
            count += 1
        out.write("\n]\n" if count else "[]\n")
        return
    shown = 0
    chunk: list[list[object]] = []
    for row in rows:
        chunk.append(_history_line(row))
        if len(chunk) == CHUNK:
            console().print(_table("" if shown else "history", HISTORY_HEADER, chunk))
            shown += len(chunk)
            chunk = []
    if chunk or not shown:
        console().print(_table("" if shown else "history", HISTORY_HEADER, chunk))
    shown += len(chunk)
    console().print(f"{shown} events")


def _rank(rank: int | None) -> str:
    return "—" if rank is None else str(rank)


def _move(m: Move) -> list[object]:
    delta = m.points_after - m.points_before
    because = [
        f"#{c.position} {c.race}: {c.change}" if c.position else f"{c.race}: {c.change}"
        for c in m.causes
    ]
    if m.overtook:
        because.append(f"overtook {', '.join(m.overtook)}")
    if m.overtaken_by:
        because.append(f"overtaken by {', '.join(m.overtaken_by)}")
    sign = "+" if delta >= 0 else "-"
    who = f"{m.competitor} ({m.nation})" if m.nation else m.competitor
    if m.name_before:
        who += f", was {m.name_before}"
    return [
        f"{_rank(m.rank_before)} → {_rank(m.rank_after)}",
        who,
        f"{format_points(m.points_before)} → {format_points(m.points_after)}"
        f" ({sign}{format_points(abs(delta))})",
        "; ".join(because),
    ]


def render_diff(result: StandingsDiff, fmt: AuditFormat) -> None:
    """Print a standings diff."""
    if fmt is AuditFormat.json:
        print(to_json(result))
        return

    def side(as_of: object, known_at: object) -> str:
        return f"as of {as_of or 'all races'}, known at {known_at or 'now'}"

    title = (
        f"{result.cup_name} ({result.season}/{result.cup}):"
        f" {side(result.before.as_of, result.before.known_at)}"
        f" → {side(result.after.as_of, result.after.known_at)}: {len(result.moves)} moves"
    )
    rows = [_move(m) for m in result.moves]
    console().print(_table(title, ["rank", "competitor", "points", "because"], rows))


def render_explanation(x: Explanation, fmt: AuditFormat) -> None:
    """Print a competitor's standing, explained."""
    if fmt is AuditFormat.json:
        print(to_json(x))
        return
    out = console()
    when = f"as of {x.as_of}" if x.as_of else "all races"
    known = f", as known at {x.known_at.isoformat()}" if x.known_at else ""
    rank = f"rank {x.rank}" if x.rank else "unranked"
    best = f"; the best {x.best} results count" if x.best else "; every result counts"
    who = f"{x.competitor} ({x.nation})" if x.nation else x.competitor
    title = f"{who} in {x.cup_name} — {when}{known}: {rank}, {format_points(x.points)} points{best}"
    rows = [
        [
            r.race,
            r.date,
            r.recorded_place,
            r.place,
            r.time,
            r.status,
            format_points(r.points),
            r.note,
        ]
        for r in x.races
    ]
    header = ["race", "date", "recorded", "place", "time", "status", "points", "note"]
    out.print(_table(title, header, rows))
    if x.countback:
        counts = ", ".join(map(format_points, x.countback))
        out.print(f"Countback (counted results, highest first): {counts}")
    for tie in x.ties:
        out.print(f"Tie on {format_points(x.points)} points: {tie.detail}")
    if x.rank and not x.ties:
        out.print(f"No tie: no one else has {format_points(x.points)} points.")
    if x.excluded:
        out.print("Excluded from this cup's standings (its results stand).")


def render_checks(warnings: list[DataWarning], fmt: AuditFormat) -> None:
    """Print data warnings."""
    if fmt is AuditFormat.json:
        print(to_json(warnings))
        return
    for w in warnings:
        typer.echo(f"warning: {w.message}")
    if not warnings:
        typer.echo("no warnings")


@handles_errors
def history(
    race: Annotated[str | None, typer.Option("--race", help="Only this race's events.")] = None,
    competitor: Annotated[
        str | None, typer.Option("--competitor", help="Only this competitor's events.")
    ] = None,
    nation: NationOption = None,
    by: Annotated[
        str | None, typer.Option("--by", help="Only the commands this author recorded.")
    ] = None,
    command: Annotated[
        int | None,
        typer.Option("--command", help="Only the command that wrote this position's event."),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option("--since", help="Only events recorded at or after this time (ISO 8601)."),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option("--until", help="Only events recorded at or before this time (ISO 8601)."),
    ] = None,
    changes: Annotated[
        bool,
        typer.Option(
            "--changes", help="Only amendments: corrections, disqualifications, renames, voids..."
        ),
    ] = False,
    commands: Annotated[
        bool, typer.Option("--commands", help="One row per command instead of per event.")
    ] = False,
    as_of: AsOfOption = None,
    known_at: KnownAtOption = None,
    fmt: FormatOption = AuditFormat.table,
    db: DbOption = None,
) -> None:
    """The audit trail: every event, who recorded it, what changed (old → new), why, source.

    Example: ledger history --race HVN2 --since 2014-03-17T00:00:00+00:00
    """
    from projections.history import per_command, stream_history

    rows = stream_history(
        open_reader(db),
        race=race,
        competitor=competitor,
        nation=to_nation(nation),
        by=by,
        command=command,
        since=to_datetime(since, "--since"),
        until=to_datetime(until, "--until"),
        as_of=to_date(as_of),
        known_at=to_datetime(known_at, "--known-at"),
        changes_only=changes,
    )
    if commands:
        render_commands(per_command(rows), fmt)
    else:
        render_history(rows, fmt)


def render_commands(rows: Iterable[object], fmt: AuditFormat) -> None:
    """Print the audit trail one command per row."""
    from projections.history import CommandEntry

    listed = [r for r in rows if isinstance(r, CommandEntry)]
    if fmt is AuditFormat.json:
        print(to_json(listed))
        return
    header = ["#", "events", "recorded (UTC)", "by", "what", "change", "why", "source"]
    lines = [
        [
            r.command,
            r.events,
            r.recorded_at.strftime("%Y-%m-%d %H:%M"),
            r.by,
            r.what,
            r.change,
            r.reason,
            r.source,
        ]
        for r in listed
    ]
    console().print(_table(f"{len(listed)} commands", header, lines))


@handles_errors
def diff(
    cup: CupArg,
    known_at: KnownAtOption = None,
    vs: Annotated[
        str | None,
        typer.Option("--vs", help="Compare with what was known at this time (default: now)."),
    ] = None,
    as_of: AsOfOption = None,
    vs_as_of: Annotated[
        str | None,
        typer.Option("--vs-as-of", help="Compare with the standings as of this date."),
    ] = None,
    fmt: FormatOption = AuditFormat.table,
    db: DbOption = None,
) -> None:
    """How a cup's standings changed between two knowledge times or two dates, and why.

    Give --known-at T1 (compared with --vs T2, default now) and/or --as-of D1 --vs-as-of D2.

    Example: ledger diff men-500m --known-at 2014-03-17T00:00:00+00:00
    """
    if known_at is None and vs_as_of is None:
        raise InputError(
            "say what to compare: --known-at T1 [--vs T2], or --as-of D1 --vs-as-of D2"
        )
    from projections.diff import query_diff

    result = query_diff(
        open_reader(db),
        cup,
        known_at=to_datetime(known_at, "--known-at"),
        vs=to_datetime(vs, "--vs"),
        as_of=to_date(as_of),
        vs_as_of=to_date(vs_as_of, "--vs-as-of"),
    )
    render_diff(result, fmt)


@handles_errors
def explain(
    cup: CupArg,
    competitor: Annotated[str, typer.Argument(help="The competitor's name.")],
    nation: NationOption = None,
    as_of: AsOfOption = None,
    known_at: KnownAtOption = None,
    fmt: FormatOption = AuditFormat.table,
    db: DbOption = None,
) -> None:
    """A competitor's standing explained: race by race, what counted, how ties were broken.

    Example: ledger explain men-500m "Michel Mulder" --as-of 2014-03-09
    """
    from projections.explain import query_explain

    x = query_explain(
        open_reader(db),
        cup,
        competitor,
        nation=to_nation(nation),
        as_of=to_date(as_of),
        known_at=to_datetime(known_at, "--known-at"),
    )
    render_explanation(x, fmt)


@handles_errors
def check(
    race: Annotated[
        str | None, typer.Argument(help="Only this race (default: every race).")
    ] = None,
    known_at: KnownAtOption = None,
    fmt: FormatOption = AuditFormat.table,
    db: DbOption = None,
) -> None:
    """Data warnings that are not errors: times that contradict places, unexplained place gaps.

    Exits 0 even with warnings; they point at results worth a second look or a correction.

    Example: ledger check HVN2
    """
    from projections.checks import query_checks

    warnings = query_checks(open_reader(db), race, known_at=to_datetime(known_at, "--known-at"))
    render_checks(warnings, fmt)
