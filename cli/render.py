"""Rendering answers where they go: rich tables on a terminal, tab-separated text when piped,
and JSON (the one envelope of docs/json.md), CSV or Markdown when asked.

A table's rows hold values (exact decimals, aware datetimes, dates); each format writes them
its own way. Machine formats (JSON, CSV, TSV) write times as RFC 3339 UTC and decimals with
their exact digits; tables and Markdown show points as published (``12.5``, ``25``), race
times as ``1:08.94`` and moments in the local time zone, named (``2014-03-18 09:00 UTC``).
"""

from __future__ import annotations

import io
import re
import shutil
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from itertools import chain, islice
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel

if TYPE_CHECKING:  # rich is imported when a table is drawn: piped output never loads it
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

from cli.common import Format, is_terminal
from ledger.values import format_points, format_time
from projections.output import (
    answer,
    answer_pieces,
    csv_line,
    delimited,
    json_bytes,
    markdown,
    markdown_row,
    tsv_line,
)

if TYPE_CHECKING:
    from projections.races import RaceSummary
    from projections.results import RaceClassification
    from projections.standings import Standings

T = TypeVar("T")


@dataclass(frozen=True)
class Col:
    """A column: its title in a table, its name in CSV and TSV, how its values are shown."""

    title: str
    key: str
    kind: str = "text"  # text, id (never folded), int, points, time, moment, date
    table: bool = True  # shown in tables and Markdown
    machine: bool = True  # written in CSV and TSV

    @property
    def right(self) -> bool:
        """Numbers are right-aligned."""
        return self.kind in ("int", "points", "time")


def width() -> int:
    """The terminal's width: $COLUMNS if set, else the terminal's, else 80."""
    return shutil.get_terminal_size((80, 24)).columns


def moment_text(moment: datetime) -> str:
    """An instant as people read it: local time, to the minute (seconds when there are
    some), with the zone's name: ``2014-03-18 09:00 UTC``."""
    local = moment.astimezone()
    text = local.strftime("%Y-%m-%d %H:%M")
    if local.second or local.microsecond:
        text += local.strftime(":%S") + (f".{local.microsecond:06d}" if local.microsecond else "")
    return f"{text} {local.tzname() or local.strftime('%z')}"


def shown(value: object, kind: str = "text") -> str:
    """A value as a table shows it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else ""
    if isinstance(value, datetime):
        return moment_text(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format_time(value) if kind == "time" else format_points(value)
    return str(value)


# Spaces and tabs before the end of a line (and any styles closed there). Tried only where a
# run of them starts, and never given back: a padded table's line costs its length, not the
# square of its runs.
_TRAILING = re.compile(r"(?<![ \t])[ \t]++((?:\x1b\[[0-9;]*m)*)$", re.MULTILINE)


def console(file: Any = None) -> Console:
    """A console sized to the terminal (or $COLUMNS, or 80), styled only on a terminal."""
    from rich.console import Console

    return Console(
        file=file,
        width=width(),
        height=shutil.get_terminal_size((80, 24)).lines,  # with a width, never rich's 80x25 guess
        highlight=False,
        soft_wrap=False,
        force_terminal=is_terminal(),
        emoji=False,
    )


def write(text: str) -> None:
    """Write text to stdout, with no spaces at the ends of its lines."""
    sys.stdout.write(_TRAILING.sub(r"\1", text))


def print_rich(*renderables: Any) -> None:
    """Print rich renderables as a terminal of this width shows them, lines trimmed."""
    from rich.text import Text

    buffer = io.StringIO()
    out = console(buffer)
    for renderable in renderables:
        if isinstance(renderable, Laid):
            buffer.write(renderable.text)
        elif isinstance(renderable, str | Text):  # a line of text: never markup, never folded
            out.print(renderable, markup=False, soft_wrap=True)
        else:
            out.print(renderable)
    write(buffer.getvalue())


def _styled() -> bool:
    """Whether rich styles what it prints here (a terminal with colours)."""
    return console(io.StringIO()).color_system is not None


def title_line(text: str) -> Text:
    """A table's title: one line above it, bold on a terminal."""
    from rich.text import Text

    return Text(text, style="bold")


def rich_table(columns: Sequence[Col], rows: Iterable[Sequence[object]]) -> Table | Laid:
    """A rich table of the columns shown in tables; a column empty in every row is left out,
    and ids, numbers and moments are never folded (text columns give way first). When the
    rows' text is far wider than the terminal, one record per row instead (`records`)."""
    listed = list(rows)
    in_table = [(i, c) for i, c in enumerate(columns) if c.table]
    texts = [[shown(row[i], c.kind) for i, c in in_table] for row in listed]  # each cell once
    kept = [n for n in range(len(in_table)) if not listed or any(text[n] for text in texts)]
    shown_cols = [in_table[n] for n in kept]
    cells = [[text[n] for n in kept] for text in texts]
    natural = sum(
        max([len(c.title), *(len(row[n]) for row in cells)]) + 3
        for n, (_, c) in enumerate(shown_cols)
    )
    # A little folding reads well in a table; a row folded over many lines does not.
    if listed and natural > width() * 1.2 and len(shown_cols) > 5:
        return records(shown_cols, listed)
    titles = [c.title for _, c in shown_cols]
    right = [c.right for _, c in shown_cols]
    styled = _styled()
    # A long table is folded here, a short one by rich.
    foldable = [c.kind == "text" for _, c in shown_cols] if len(listed) > LONG_TABLE else None
    laid = laid_table(titles, cells, right, width(), styled=styled, foldable=foldable)
    if laid is not None:
        return laid
    from rich import box
    from rich.table import Table
    from rich.text import Text

    table = Table(box=box.SIMPLE_HEAD)
    for _, col in shown_cols:
        table.add_column(
            col.title, justify="right" if col.right else "left", no_wrap=col.kind != "text"
        )
    for row_cells in cells:
        table.add_row(*(Text(cell) for cell in row_cells))  # text as written, never markup
    return table


@dataclass(frozen=True)
class Laid:
    """A table already laid out: its lines, as rich prints them."""

    text: str


_BOLD, _PLAIN = "\x1b[1m", "\x1b[0m"


# Rows beyond which a table too wide for the terminal is folded here, not by rich: rich takes
# about a millisecond a row (every race of a million-event ledger: 41 s at 80 columns).
LONG_TABLE = 200


def laid_table(
    titles: Sequence[str],
    cells: Sequence[Sequence[str]],
    right: Sequence[bool],
    width: int,
    *,
    styled: bool,
    foldable: Sequence[bool] | None = None,
) -> Laid | None:
    """A table laid out as rich's ``SIMPLE_HEAD`` table lays it out when nothing in it needs
    folding: the same characters, line for line (``tests/test_output.py`` compares them).

    Rich measures and renders every cell through its segments, a millisecond a row: the
    5,000 cups of a million-event ledger took 3.4 s to print. When every cell is one line of
    printable text and the widest row fits the terminal, each column is as wide as its
    widest cell and nothing is folded, so the lines can be written directly. Otherwise
    (a cell to fold, a tab, a control character) None: rich lays the table out.

    With ``foldable`` (a long table: which columns may fold), a table too wide for the
    terminal is folded here as rich folds it: the foldable columns are narrowed as rich
    narrows them, and their cells and titles wrapped at spaces as rich wraps them; None
    where rich would do more (narrow a column that does not fold, measure wide characters).
    """
    from rich.cells import cell_len

    def plain(n: int, text: str) -> bool:
        # Rich right-justifies a text without its trailing spaces: such a cell is left to it.
        return text.isprintable() and not (right[n] and text != text.rstrip())

    if not titles or not all(plain(n, title) for n, title in enumerate(titles)):
        return None
    sizes = [cell_len(title) for title in titles]
    for row in cells:
        for n, cell in enumerate(row):
            if not plain(n, cell):
                return None
            size = cell_len(cell)
            if size > sizes[n]:
                sizes[n] = size
    total = sum(sizes) + 3 * len(sizes) + 1
    if min(sizes) < 1:
        return None
    folded: list[bool] = [False] * len(sizes)
    if total > width:
        if foldable is None:
            return None
        narrowed = _narrowed(sizes, foldable, width)
        if narrowed is None:
            return None
        folded = [new < old for new, old in zip(narrowed, sizes, strict=True)]
        if any(
            folded[n] and not _simple(text)
            for row in [titles, *cells]
            for n, text in enumerate(row)
        ):
            return None  # wide characters, or spaces to keep: rich measures them
        sizes = narrowed
        total = sum(sizes) + 3 * len(sizes) + 1

    def fitted(n: int, text: str) -> str:
        gap = " " * (sizes[n] - cell_len(text))
        return gap + text if right[n] else text + gap

    def line(row: Sequence[str]) -> str:
        return " " + " ".join(f" {fitted(n, cell)} " for n, cell in enumerate(row)) + " "

    def lines(row: Sequence[str], bottom: bool = False) -> list[list[str]]:
        """A row's lines: folded cells wrapped, the others blank below (the titles: above)."""
        if not any(folded):
            return [list(row)]
        wrapped = [_wrapped(cell, sizes[n]) if folded[n] else [cell] for n, cell in enumerate(row)]
        height = max(len(parts) for parts in wrapped)
        if bottom:
            wrapped = [[""] * (height - len(parts)) + parts for parts in wrapped]
        return [[parts[k] if k < len(parts) else "" for parts in wrapped] for k in range(height)]

    def bold(n: int, title: str) -> str:
        if not title:  # a line above a shorter title: one blank segment
            return f"{_BOLD}{' ' * (sizes[n] + 2)}{_PLAIN}"
        return f"{_BOLD} {_PLAIN}{_BOLD}{fitted(n, title)}{_PLAIN}{_BOLD} {_PLAIN}"

    if styled:  # each title and its padding bold, as rich styles the header's segments
        header = "\n".join(
            " " + " ".join(bold(n, t) for n, t in enumerate(part)) + " "
            for part in lines(titles, bottom=True)
        )
    else:
        header = "\n".join(line(part) for part in lines(titles, bottom=True))
    blank = " " * total
    rule = " " + "\u2500" * (total - 2) + " "
    rows = [line(part) for row in cells for part in lines(row)]
    return Laid("\n".join([blank, header, rule, *rows, blank]) + "\n")


def _narrowed(sizes: Sequence[int], foldable: Sequence[bool], width: int) -> list[int] | None:
    """The columns' widths as rich narrows a table to ``width``: the widest foldable columns
    first, down to the next widest, and so on (rich's own arithmetic); None where rich would
    then have to narrow the columns that do not fold, or leave a column under 2 cells."""
    from rich.table import Table

    room = width - (len(sizes) + 1)  # the table's edges and the rules between columns
    padded = [min(size + 2, room) for size in sizes]  # a space a side; none wider than all
    try:
        narrowed = [size - 2 for size in Table._collapse_widths(padded, list(foldable), room)]
    except AttributeError:  # a rich without it: rich lays the table out
        return None
    if sum(narrowed) + 2 * len(narrowed) > room or min(narrowed) < 2:
        return None
    if any(new < old and not ok for new, old, ok in zip(narrowed, sizes, foldable, strict=True)):
        return None  # cut short by the terminal's width, not folded
    return narrowed


def _simple(text: str) -> bool:
    """Text that folds the same counted in characters or in cells: one cell a character,
    single spaces between words, none at the ends."""
    from rich.cells import cell_len

    return cell_len(text) == len(text) and "  " not in text and text == text.strip(" ")


def _wrapped(text: str, size: int) -> list[str]:
    """A cell's text on lines of at most ``size`` characters, broken at spaces, as rich
    wraps a table's cells: a word longer than a line has a line of its own, cut short with
    an ellipsis."""
    lines: list[str] = []
    current = ""
    for word in text.split(" "):
        if len(word) > size:
            word = word[: size - 1] + "…"
        if not current:
            current = word
        elif len(current) + 1 + len(word) <= size:
            current += " " + word
        else:
            lines.append(current)
            current = word
    lines.append(current)
    return lines


def records(columns: Sequence[tuple[int, Col]], rows: Sequence[Sequence[object]]) -> Laid:
    """Rows too wide for the terminal, one record each: its ids, numbers and moments on one
    line (bold on a terminal), then each text field on a line of its own, titled; each line
    as rich prints it (``tests/test_output.py`` compares them)."""
    bold = is_terminal()
    styled = bold and _styled()
    limit = width()
    lines: list[str] = []
    for row in rows:
        first = [
            ("#" if c.title == "#" else "") + shown(row[i], c.kind)
            for i, c in columns
            if c.kind != "text" and shown(row[i], c.kind)
        ]
        lines.append(_record_line("  ".join(first), limit, bold=bold, styled=styled))
        lines += [
            _record_line(f"  {c.title}: {shown(row[i], c.kind)}", limit)
            for i, c in columns
            if c.kind == "text" and shown(row[i], c.kind)
        ]
        lines.append("\n")
    return Laid("".join(lines))


def _record_line(text: str, limit: int, *, bold: bool = False, styled: bool = False) -> str:
    """A line of a record as rich prints it: written directly when it is printable and fits
    (rich takes a fraction of a millisecond a line), else by rich, which folds it."""
    from rich.cells import cell_len

    if text.isprintable() and cell_len(text) <= limit:
        return f"{_BOLD}{text}{_PLAIN}\n" if bold and styled and text else text + "\n"
    from rich.text import Text

    buffer = io.StringIO()
    console(buffer).print(Text(text, style="bold" if bold else ""))
    return buffer.getvalue()


def to_json(model: BaseModel | Sequence[BaseModel]) -> str:
    """Pretty JSON of a model or a list of models: exact decimals, RFC 3339 times."""
    return json_bytes(model if isinstance(model, BaseModel) else list(model)).decode()


def print_answer(command: str, query: dict[str, Any], head: Any, data: Any) -> None:
    """Print the one JSON envelope of an answer (docs/json.md). Indented JSON has no spaces
    at the ends of its lines to trim: a large answer is written as it is made."""
    sys.stdout.write(json_bytes(answer(command, query, head, data)).decode() + "\n")


def stream_answer(command: str, query: dict[str, Any], head: Any, items: Iterable[Any]) -> None:
    """Print a list answer's envelope as its items come, one compact item per line."""
    out = sys.stdout
    for piece in answer_pieces(command, query, head, (json_bytes(i, indent=False) for i in items)):
        out.write(piece.decode())


@dataclass
class View:
    """An answer as every format writes it: the envelope's parts and the table's."""

    command: str
    query: dict[str, Any]
    head: Any
    data: Any  # the JSON answer: a model, a dict, or a list of items
    title: str
    columns: Sequence[Col]
    rows: Iterable[Sequence[object]]
    notes: Sequence[str] = ()  # printed under a table (and a Markdown table)
    caption: str | None = None


def emit(view: View, fmt: Format | None) -> None:
    """Print an answer in a format (a missing one is a table)."""
    fmt = fmt or Format.table
    if fmt is Format.json:
        print_answer(view.command, view.query, view.head, view.data)
        return
    machine = [i for i, c in enumerate(view.columns) if c.machine]
    if fmt is Format.tsv:
        out = sys.stdout
        out.write(tsv_line(view.columns[i].key for i in machine))
        for row in view.rows:
            out.write(tsv_line(row[i] for i in machine))
        return
    if fmt is Format.csv:
        header = [view.columns[i].key for i in machine]
        write(delimited(header, ([row[i] for i in machine] for row in view.rows)))
        return
    listed = [i for i, c in enumerate(view.columns) if c.table]
    if fmt is Format.markdown:
        cells = [[shown(row[i], view.columns[i].kind) for i in listed] for row in view.rows]
        right = {n for n, i in enumerate(listed) if view.columns[i].right}
        body = markdown([view.columns[i].title for i in listed], cells, right)
        notes = "".join(f"\n{line}\n" for line in view.notes)
        write(f"**{view.title}**\n\n{body}{notes}")
        return
    table = rich_table(view.columns, view.rows)
    caption = [view.caption] if view.caption else []
    print_rich(title_line(view.title), table, *view.notes, *caption)


def primed(items: Iterable[T]) -> Iterator[T]:
    """``items`` with the first one read already: a query that refuses what it was asked
    (an unknown race) does so before anything is printed."""
    found = iter(items)
    return chain(list(islice(found, 1)), found)


def stream(
    fmt: Format | None,
    columns: Sequence[Col],
    rows: Iterable[Sequence[object]],
    title: str,
    summary: Callable[[int], str],
    chunk: int = 500,
) -> None:
    """Print rows as they come: TSV, CSV and Markdown line by line, a table in chunks."""
    fmt = fmt or Format.table
    out = sys.stdout
    if fmt in (Format.tsv, Format.csv):
        machine = [i for i, c in enumerate(columns) if c.machine]
        line = tsv_line if fmt is Format.tsv else csv_line
        out.write(line(columns[i].key for i in machine))
        for row in rows:
            out.write(line(row[i] for i in machine))
        return
    listed = [i for i, c in enumerate(columns) if c.table]
    count = 0
    if fmt is Format.markdown:
        right = {n for n, i in enumerate(listed) if columns[i].right}
        out.write(f"**{title}**\n\n" + markdown([columns[i].title for i in listed], [], right))
        for row in rows:
            out.write(markdown_row(shown(row[i], columns[i].kind) for i in listed))
            count += 1
        out.write(f"\n{summary(count)}\n")
        return
    batch: list[Sequence[object]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == chunk:
            print_rich(*([] if count else [title_line(title)]), rich_table(columns, batch))
            count += len(batch)
            batch = []
    if batch or not count:
        print_rich(*([] if count else [title_line(title)]), rich_table(columns, batch))
    count += len(batch)
    print_rich(summary(count))


# --- the read commands' answers --------------------------------------------------------------


def known_text(known_at: datetime | None) -> str:
    """How a title says the knowledge time (the exact instant used)."""
    return f", as known at {moment_text(known_at)}" if known_at else ""


def head_text(head: Any) -> str | None:
    """A table's caption: the log head its answer was computed at."""
    return f"log head {head.position} {head.hash[:16]}" if head is not None else None


def standings_title(table: Standings) -> str:
    """A one-line description of what a standings table shows."""
    when = f"as of {table.as_of}" if table.as_of else "all races"
    best = f", best {table.best} count" if table.best else ""
    races = f"{len(table.races)} races{best}"
    known = known_text(table.known_at)
    return f"{table.cup_name} ({table.season}/{table.cup}) — {when}{known}: {races}"


STANDINGS_COLUMNS = (
    Col("Rank", "rank", "int"),
    Col("Competitor", "competitor"),
    Col("Nation", "nation"),
    Col("Points", "points", "points"),
    Col("Scored", "scored", "int", machine=False),
)


def render_standings(table: Standings, fmt: Format | None, query: dict[str, Any]) -> None:
    """Print a cup's standings."""
    rows = [
        [
            r.rank,
            r.competitor,
            r.nation,
            r.points,
            sum(1 for x in r.results if x.counted and x.points),
        ]
        for r in table.standings
    ]
    emit(
        View(
            "standings",
            query,
            table.head,
            table,
            standings_title(table),
            STANDINGS_COLUMNS,
            rows,
            caption=head_text(table.head),
        ),
        fmt,
    )


RESULTS_COLUMNS = (
    Col("place", "place", "int"),
    Col("competitor", "competitor"),
    Col("nation", "nation"),
    Col("time", "time", "time"),
    Col("status", "status"),
    Col("points", "points", "points"),
)


def results_title(race: RaceClassification) -> str:
    """A one-line description of a race's classification."""
    where = ", ".join(x for x in (race.venue, race.location) if x)
    void = " — VOID: no points awarded" if race.voided else ""
    if not race.raced:
        void += f" — not yet raced as of {race.as_of}"
    return (
        f"{race.season}/{race.race} ({race.cup}) — {race.date}{', ' + where if where else ''}"
        f"{void}{known_text(race.known_at)}"
    )


def render_results(race: RaceClassification, fmt: Format | None, query: dict[str, Any]) -> None:
    """Print a race's classification."""
    rows = [[r.place, r.competitor, r.nation, r.time, r.status, r.points] for r in race.results]
    emit(
        View(
            "results",
            query,
            race.head,
            race,
            results_title(race),
            RESULTS_COLUMNS,
            rows,
            caption=head_text(race.head),
        ),
        fmt,
    )
    if fmt is Format.table and race.amendments:
        lines = ["Amended since recorded:"]
        for a in race.amendments:
            who = f" {a.competitor} ({a.nation})" if a.nation else f" {a.competitor or ''}"
            why = f"; {a.reason}" if a.reason else ""
            by = f" by {a.by}" if a.by else ""
            lines.append(f"  #{a.position} {a.what}{who.rstrip()}: {a.change}{why}{by}")
        print_rich(*lines)  # as written: a reason's "[b]" is text, not a style


RACES_COLUMNS = (
    Col("season", "season", "id"),
    Col("race", "race", "id"),
    Col("cup", "cup", "id"),
    Col("date", "date", "date"),
    Col("location", "location"),
    Col("table", "table"),
    Col("results", "results", "int"),
    Col("note", "voided", machine=False),
    Col("voided", "voided", table=False),
)


def render_races(
    races: Iterable[RaceSummary], fmt: Format | None, query: dict[str, Any], head: Any
) -> None:
    """Print the race calendar: TSV, CSV and JSON as the races are read, a table or Markdown
    once they all are (its title counts them)."""
    if fmt is Format.json:
        stream_answer("races", query, head, races)
        return
    if fmt in (Format.tsv, Format.csv):
        stream(fmt, RACES_COLUMNS, (_race_row(r) for r in races), "races", str)
        return
    listed = list(races)
    rows = [_race_row(r) for r in listed]
    emit(View("races", query, head, listed, f"{len(listed)} races", RACES_COLUMNS, rows), fmt)


def _race_row(r: RaceSummary) -> list[object]:
    return [
        r.season,
        r.race,
        r.cup,
        r.date,
        r.location,
        r.table,
        r.results,
        "void" if r.voided else "",
        r.voided,
    ]


def render_list(
    command: str,
    query: dict[str, Any],
    head: Any,
    items: Sequence[Any],
    title: str,
    columns: Sequence[Col],
    rows: Iterable[Sequence[object]],
    fmt: Format | None,
    notes: Sequence[str] = (),
) -> None:
    """Print a list answer."""
    emit(View(command, query, head, items, title, columns, list(rows), notes), fmt)


# --- receipts ---------------------------------------------------------------------------------


def receipt_query(receipt: Any) -> tuple[str, dict[str, Any]]:
    """The command that wrote and what it was asked, its --recorded-at as the instant used."""
    from cli.common import asked

    name, params = asked()
    query = dict(params)
    if query.get("recorded_at") is not None:
        query["recorded_at"] = receipt.recorded_at
    return name, query


def print_receipt(receipt: Any, written: Iterable[Any], **more: Any) -> None:
    """Print a command's receipt in the envelope: its number, its events as audit-trail rows
    (``written``), when it was recorded, and the head it left the log at."""
    from projections.models import HeadRef

    name, query = receipt_query(receipt)
    head = HeadRef(position=receipt.head.position, hash=receipt.head.hash)
    body = {
        "number": receipt.command,
        "events": receipt.events,
        "recorded_at": receipt.recorded_at,
        "written": list(written),
        **more,
    }
    print_answer(name, query, head, body)
