"""Queries over the history: the audit trail, standings diffs, explanations, data checks."""

from __future__ import annotations

import sys
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from cli.common import (
    AsOfOption,
    CupArg,
    DbOption,
    FormatOption,
    KnownAtOption,
    NationOption,
    SeasonOption,
    complete_race,
    handles_errors,
    open_reader,
    to_date,
    to_datetime,
    to_nation,
)
from cli.render import (
    Col,
    View,
    emit,
    known_text,
    moment_text,
    primed,
    print_rich,
    stream,
    stream_answer,
)
from ledger.errors import InputError
from ledger.values import format_points

if TYPE_CHECKING:  # the audit queries: loaded by the commands that run them
    from collections.abc import Callable, Iterable

    from cli.common import Format
    from projections.checks import DataWarning
    from projections.diff import Move, StandingsDiff
    from projections.explain import Explanation
    from projections.history import CommandEntry, HistoryEntry

Row = TypeVar("Row", "HistoryEntry", "CommandEntry")  # an audit row, of an event or a command


def register(app: typer.Typer) -> None:
    """Mount the audit queries on the app."""
    app.command("history")(history)
    app.command("diff")(diff)
    app.command("explain")(explain)
    app.command("check")(check)


HISTORY_COLUMNS = (
    Col("#", "position", "int"),
    Col("command", "command", "int", table=False),
    Col("recorded", "recorded_at", "moment"),
    Col("by", "by"),
    Col("what", "what"),
    Col("season", "season", table=False),
    Col("race", "race", "id"),
    Col("competitor", "competitor"),
    Col("nation", "nation", table=False),
    Col("change", "change"),
    Col("why", "reason"),
    Col("source", "source"),
)


def _history_line(r: HistoryEntry) -> list[object]:
    who = f"{r.competitor} ({r.nation})" if r.nation and r.competitor else r.competitor
    return [
        r.position,
        r.command,
        r.recorded_at,
        r.by,
        r.what,
        r.season,
        r.race,
        who,
        r.nation,
        r.change,
        r.reason,
        r.source,
    ]


def _machine_history(r: HistoryEntry) -> list[object]:
    row = _history_line(r)
    row[7] = r.competitor  # the nation has a column of its own
    return row


def render_history(
    rows: Iterable[HistoryEntry],
    fmt: Format | None,
    query: dict[str, Any],
    head: object,
    *,
    signed: bool = False,
    roles: bool = False,
) -> None:
    """Print the audit trail for people as it is read: a table chunk by chunk, Markdown row
    by row (the machine formats are ``write_history``'s)."""
    upto = getattr(head, "position", 0)
    bounded = (r for r in rows if r.position <= upto)  # the head named is where it stops
    stream(
        fmt,
        _history_columns(signed=signed, roles=roles),
        (_history_cells(r, False, signed=signed, roles=roles) for r in bounded),
        "history" + known_text(query.get("known_at")),
        lambda n: f"{n} events",
    )


def _history_columns(*, signed: bool, roles: bool) -> tuple[Col, ...]:
    """The audit trail's columns, with one for the roles that wrote (PostgreSQL) and one for
    the signers only where the ledger holds them."""
    columns: tuple[Col, ...] = HISTORY_COLUMNS
    if roles:
        columns = (*columns, Col("role", "db_role"))
    if signed:
        columns = (*columns, Col("signed", "signed_by"))
    return columns


def _history_cells(r: HistoryEntry, machine: bool, *, signed: bool, roles: bool) -> list[object]:
    cells = _machine_history(r) if machine else _history_line(r)
    return [*cells, *([r.db_role] if roles else []), *([r.signed_by] if signed else [])]


def _history_lines(
    fmt: Format, head: object, signers: dict[int, str], roles: dict[int, str]
) -> Callable[[Iterable[HistoryEntry]], bytes]:
    """What makes rows of the audit trail into their lines (``history_blocks``): TSV or CSV
    lines, or one compact JSON item a line; each row with its command's signer and role,
    up to the head named."""
    from cli.common import Format
    from projections.output import csv_line, json_bytes, tsv_line

    upto = getattr(head, "position", 0)
    shown = {"signed": bool(signers), "roles": bool(roles)}
    columns = _history_columns(**shown)
    machine = [i for i, c in enumerate(columns) if c.machine]
    line = tsv_line if fmt is Format.tsv else csv_line

    def made(rows: Iterable[HistoryEntry]) -> bytes:
        lines = []
        for row in rows:
            if row.position > upto:
                break
            r = _attributed(row, signers, roles)
            if fmt is Format.json:
                lines.append(json_bytes(r, indent=False) + b"\n")
            else:
                cells = _history_cells(r, True, **shown)
                lines.append(line(cells[i] for i in machine).encode())
        return b"".join(lines)

    return made


def write_history(
    blocks: Iterable[bytes],
    fmt: Format,
    query: dict[str, Any],
    head: object,
    *,
    signed: bool = False,
    roles: bool = False,
) -> None:
    """Write the audit trail's blocks of lines (``_history_lines``) as they come: TSV and
    CSV under their header, JSON as the answer's envelope with the rows under data."""
    from cli.common import Format
    from projections.output import answer_pieces, csv_line, tsv_line

    sys.stdout.flush()
    out = sys.stdout.buffer
    if fmt is Format.json:
        items = (
            item for block in blocks for item in block.removesuffix(b"\n").split(b"\n") if block
        )
        for piece in answer_pieces("history", query, head, items):
            out.write(piece)
    else:
        columns = _history_columns(signed=signed, roles=roles)
        line = tsv_line if fmt is Format.tsv else csv_line
        out.write(line(c.key for c in columns if c.machine).encode())
        for block in blocks:
            out.write(block)
    out.flush()


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
        m.rank_before,
        m.rank_after,
        who,
        m.competitor,
        m.nation,
        f"{format_points(m.points_before)} → {format_points(m.points_after)}"
        f" ({sign}{format_points(abs(delta))})",
        m.points_before,
        m.points_after,
        "; ".join(because),
    ]


DIFF_COLUMNS = (
    Col("rank", "rank", machine=False),
    Col("rank before", "rank_before", "int", table=False),
    Col("rank after", "rank_after", "int", table=False),
    Col("competitor", "competitor", machine=False),
    Col("competitor", "competitor", table=False),
    Col("nation", "nation", table=False),
    Col("points", "points", machine=False),
    Col("points before", "points_before", "points", table=False),
    Col("points after", "points_after", "points", table=False),
    Col("because", "because"),
)


def _side(as_of: date | None, known_at: datetime | None) -> str:
    when = moment_text(known_at) if known_at is not None else "now"
    return f"as of {as_of or 'all races'}, known at {when}"


def render_diff(result: StandingsDiff, fmt: Format | None, query: dict[str, Any]) -> None:
    """Print a standings diff."""
    title = (
        f"{result.cup_name} ({result.season}/{result.cup}):"
        f" {_side(result.before.as_of, result.before.known_at)}"
        f" → {_side(result.after.as_of, result.after.known_at)}: {len(result.moves)} moves"
    )
    rows = [_move(m) for m in result.moves]
    emit(View("diff", query, result.head, result, title, DIFF_COLUMNS, rows), fmt)


EXPLAIN_COLUMNS = (
    Col("race", "race", "id"),
    Col("date", "date", "date"),
    Col("recorded", "recorded_place", "int"),
    Col("place", "place", "int"),
    Col("time", "time", "time"),
    Col("status", "status"),
    Col("points", "points", "points"),
    Col("counted", "counted", table=False),
    Col("note", "note"),
)


def render_explanation(x: Explanation, fmt: Format | None, query: dict[str, Any]) -> None:
    """Print a competitor's standing, explained."""
    when = f"as of {x.as_of}" if x.as_of else "all races"
    rank = f"rank {x.rank}" if x.rank else "unranked"
    best = f"; the best {x.best} results count" if x.best else "; every result counts"
    who = f"{x.competitor} ({x.nation})" if x.nation else x.competitor
    title = (
        f"{who} in {x.cup_name} — {when}{known_text(x.known_at)}: {rank},"
        f" {format_points(x.points)} points{best}"
    )
    rows = [
        [r.race, r.date, r.recorded_place, r.place, r.time, r.status, r.points, r.counted, r.note]
        for r in x.results
    ]
    notes = []
    if x.countback:
        counts = ", ".join(map(format_points, x.countback))
        notes.append(f"Countback (counted results, highest first): {counts}")
    notes += [f"Tie on {format_points(x.points)} points: {tie.detail}" for tie in x.ties]
    if x.rank and not x.ties:
        notes.append(f"No tie: no one else has {format_points(x.points)} points.")
    if x.excluded:
        notes.append("Excluded from this cup's standings (its results stand).")
    emit(View("explain", query, x.head, x, title, EXPLAIN_COLUMNS, rows, notes), fmt)


CHECK_COLUMNS = (
    Col("season", "season", "id"),
    Col("race", "race", "id"),
    Col("kind", "kind"),
    Col("warning", "message"),
)


def render_checks(
    warnings: list[DataWarning], fmt: Format | None, query: dict[str, Any], head: object
) -> None:
    """Print data warnings: one line each on a terminal (or "no warnings")."""
    from cli.common import Format

    if fmt in (None, Format.table):
        lines = [f"warning: {w.message}" for w in warnings] or ["no warnings"]
        print_rich(*lines)
        return
    rows = [[w.season, w.race, w.kind, w.message] for w in warnings]
    view = View("check", query, head, warnings, f"{len(warnings)} warnings", CHECK_COLUMNS, rows)
    emit(view, fmt)


@handles_errors
def history(
    race: Annotated[
        str | None,
        typer.Option("--race", help="Only this race's events.", autocompletion=complete_race),
    ] = None,
    competitor: Annotated[
        str | None, typer.Option("--competitor", help="Only this competitor's events.")
    ] = None,
    nation: NationOption = None,
    by: Annotated[
        str | None, typer.Option("--by", help="Only the commands this author recorded.")
    ] = None,
    command: Annotated[
        int | None,
        typer.Option(
            "--command",
            min=1,
            max=2**63 - 1,  # a log position: what the stores' integers hold
            help="Only the command that wrote this position's event.",
        ),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--since", help="Only events recorded at or after this moment (a date: its start)."
        ),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(
            "--until", help="Only events recorded at or before this moment (a date: its end)."
        ),
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
    keys: Annotated[
        Path | None,
        typer.Option("--keys", help="A keyring: name each command's signer, not its key id."),
    ] = None,
    as_of: AsOfOption = None,
    known_at: KnownAtOption = None,
    season: SeasonOption = None,
    fmt: FormatOption = None,
    db: DbOption = None,
) -> None:
    """The audit trail: every event, who recorded it, what changed (old → new), why, source.

    On PostgreSQL, the database role that wrote each command (recorded by the server, and
    hashed into the chain) is shown beside --by, which says on whose behalf. A command
    written with a signing key (`--key`) names its signer: the key's id, or the holder's name
    in the keyring given with --keys (which `ledger verify --keys` checks).

    Example: ledger history --race HVN2 --since 2014-03-17
    """
    from cli.common import Format
    from projections.history import history_blocks, per_command, stream_history
    from projections.output import head_at

    ledger = open_reader(db)
    moment = to_datetime(known_at, "--known-at")
    filters: dict[str, Any] = {
        "race": race,
        "competitor": competitor,
        "nation": to_nation(nation),
        "by": by,
        "command": command,
        "since": to_datetime(since, "--since"),
        "until": to_datetime(until, "--until"),
        "as_of": to_date(as_of),
    }
    query = {**filters, "known_at": moment, "changes": changes, "commands": commands,
             "season": season}  # fmt: skip
    keyring = None
    if keys is not None:
        from ledger.signing import Keyring

        keyring = Keyring.load(keys)
    head = head_at(ledger, moment)
    signers = {s.first: s.key_id for s in ledger.chain.signatures()}
    if keyring is not None:
        signers = {first: keyring.name(key) or key for first, key in signers.items()}
    roles = ledger.chain.command_authors()
    shown = {"signed": bool(signers), "roles": bool(roles)}
    # The first row (or block of lines) is read before anything is printed: a filter naming
    # an unknown race, competitor or author is refused in one line, with nothing before it.
    if not commands and fmt in (Format.tsv, Format.csv, Format.json):
        # Lines made as the rows are read; the whole log by several processes at once.
        blocks = history_blocks(
            ledger,
            _history_lines(fmt, head, signers, roles),
            known_at=moment,
            changes_only=changes,
            parallel=True,
            **filters,
        )
        write_history(primed(blocks), fmt, query, head, **shown)
        return
    listed = primed(stream_history(ledger, known_at=moment, changes_only=changes, **filters))
    rows = (_attributed(r, signers, roles) for r in listed)
    if commands:
        entries = (_attributed(e, signers, roles) for e in per_command(rows))
        render_commands(entries, fmt, query, head, **shown)
    else:
        render_history(rows, fmt, query, head, **shown)


def _attributed(row: Row, signers: dict[int, str], roles: dict[int, str]) -> Row:
    """An audit row (an event's or a command's) with its command's signer and the database
    role that wrote it, where the ledger holds them."""
    if not (signers or roles):
        return row
    return row.model_copy(
        update={"signed_by": signers.get(row.command), "db_role": roles.get(row.command)}
    )


COMMAND_COLUMNS = (
    Col("#", "command", "int"),
    Col("last", "last", "int", table=False),
    Col("events", "events", "int"),
    Col("recorded", "recorded_at", "moment"),
    Col("by", "by"),
    Col("what", "what"),
    Col("change", "change"),
    Col("why", "reason"),
    Col("source", "source"),
)


def render_commands(
    rows: Iterable[CommandEntry],
    fmt: Format | None,
    query: dict[str, Any],
    head: object,
    *,
    signed: bool = False,
    roles: bool = False,
) -> None:
    """Print the audit trail one command per row."""
    from cli.common import Format

    upto = getattr(head, "position", 0)
    bounded = (r for r in rows if r.last <= upto)
    if fmt is Format.json:
        stream_answer("history", query, head, bounded)
        return
    extra = [Col("role", "db_role")] if roles else []
    extra += [Col("signed", "signed_by")] if signed else []
    lines = (
        [r.command, r.last, r.events, r.recorded_at, r.by, r.what, r.change, r.reason, r.source]
        + ([r.db_role] if roles else [])
        + ([r.signed_by] if signed else [])
        for r in bounded
    )
    title = "commands" + known_text(query.get("known_at"))
    stream(fmt, (*COMMAND_COLUMNS, *extra), lines, title, lambda n: f"{n} commands")


@handles_errors
def diff(
    cup: CupArg,
    known_at: KnownAtOption = None,
    vs: Annotated[
        str | None,
        typer.Option("--vs", help="Compare with what was known at this moment (default: now)."),
    ] = None,
    as_of: AsOfOption = None,
    vs_as_of: Annotated[
        str | None,
        typer.Option("--vs-as-of", help="Compare with the standings as of this date."),
    ] = None,
    season: SeasonOption = None,
    fmt: FormatOption = None,
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

    first, second = to_datetime(known_at, "--known-at"), to_datetime(vs, "--vs")
    day, other_day = to_date(as_of), to_date(vs_as_of, "--vs-as-of")
    result = query_diff(
        open_reader(db), cup, known_at=first, vs=second, as_of=day, vs_as_of=other_day
    )
    query = {
        "cup": cup,
        "season": season,
        "known_at": first,
        "vs": second,
        "as_of": day,
        "vs_as_of": other_day,
    }
    render_diff(result, fmt, query)


@handles_errors
def explain(
    cup: CupArg,
    competitor: Annotated[str, typer.Argument(help="The competitor's name.")],
    nation: NationOption = None,
    as_of: AsOfOption = None,
    known_at: KnownAtOption = None,
    season: SeasonOption = None,
    fmt: FormatOption = None,
    db: DbOption = None,
) -> None:
    """A competitor's standing explained: race by race, what counted, how ties were broken.

    Example: ledger explain men-500m "Michel Mulder" --as-of 2014-03-09
    """
    from projections.explain import query_explain

    day, moment = to_date(as_of), to_datetime(known_at, "--known-at")
    x = query_explain(
        open_reader(db), cup, competitor, nation=to_nation(nation), as_of=day, known_at=moment
    )
    query = {
        "cup": cup,
        "competitor": competitor,
        "nation": to_nation(nation),
        "season": season,
        "as_of": day,
        "known_at": moment,
    }
    render_explanation(x, fmt, query)


@handles_errors
def check(
    race: Annotated[
        str | None,
        typer.Argument(
            help="Only this race (default: every race, or with --season that season's).",
            autocompletion=complete_race,
        ),
    ] = None,
    known_at: KnownAtOption = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="Exit with code 1 when there are warnings.")
    ] = False,
    season: SeasonOption = None,
    fmt: FormatOption = None,
    db: DbOption = None,
) -> None:
    """Data warnings that are not errors: times that contradict places, unexplained place gaps.

    Exits 0 even with warnings (they point at results worth a second look or a correction),
    unless --strict is given.

    Example: ledger check HVN2 --strict
    Example: ledger check --season isu-ss-wc-2013-14
    """
    from projections.checks import query_checks
    from projections.output import with_head

    ledger = open_reader(db)
    moment = to_datetime(known_at, "--known-at")
    only = season if race is None else None  # --season alone: that season's races
    warnings, head = with_head(  # many races: by several processes on a large SQLite file
        ledger,
        moment,
        lambda: query_checks(ledger, race, season=only, known_at=moment, parallel=True),
    )
    query = {"race": race, "season": season, "known_at": moment, "strict": strict}
    render_checks(warnings, fmt, query, head)
    if strict and warnings:
        raise typer.Exit(1)
