"""Rendering query results as rich tables, JSON, CSV and Markdown."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from pydantic import BaseModel
from rich import box
from rich.console import Console
from rich.table import Table

from cli.common import Format, is_terminal
from ledger.values import format_points, format_time
from projections.output import delimited, json_bytes, markdown

if TYPE_CHECKING:
    from projections.races import RaceSummary
    from projections.results import RaceClassification
    from projections.standings import Standings


def console() -> Console:
    """A console for stdout; plain text, and wide enough not to fold tables, when piped."""
    return Console(highlight=False, soft_wrap=False, width=None if is_terminal() else 200)


def to_json(model: BaseModel | Sequence[BaseModel]) -> str:
    """Pretty JSON of a model or a list of models: exact decimals, RFC 3339 times."""
    return json_bytes(model if isinstance(model, BaseModel) else list(model)).decode()


def _table(
    title: str,
    header: Sequence[str],
    rows: Sequence[Sequence[object]],
    right: set[int],
    caption: str | None = None,
) -> Table:
    table = Table(caption=caption, box=box.SIMPLE_HEAD, caption_justify="left")
    for index, name in enumerate(header):
        table.add_column(name, justify="right" if index in right else "left")
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    return table


def _emit(
    fmt: Format,
    model: BaseModel | Sequence[BaseModel],
    title: str,
    header: Sequence[str],
    rows: Sequence[Sequence[object]],
    right: set[int],
    caption: str | None = None,
) -> None:
    out = console()
    if fmt is Format.json:
        print(to_json(model))
    elif fmt is Format.csv:
        print(delimited(header, rows), end="")  # the text ends with its newline
    elif fmt is Format.markdown:
        print(f"**{title}**\n\n{markdown(header, rows, right)}", end="")
    else:
        out.print(title, style="bold")
        out.print(_table(title, header, rows, right, caption))


def standings_title(table: Standings) -> str:
    """A one-line description of what a standings table shows."""
    when = f"as of {table.as_of}" if table.as_of else "all races"
    known = f", as known at {table.known_at.isoformat()}" if table.known_at else ""
    best = f", best {table.best} count" if table.best else ""
    races = f"{len(table.races)} races{best}"
    return f"{table.cup_name} ({table.season}/{table.cup}) — {when}{known}: {races}"


def standings_rows(table: Standings) -> list[list[object]]:
    """rank, competitor, nation, points: the published tables' columns."""
    return [[r.rank, r.competitor, r.nation, format_points(r.points)] for r in table.standings]


def render_standings(table: Standings, fmt: Format) -> None:
    """Print a cup's standings."""
    caption = f"head {table.head.position} {table.head.hash[:16]}…" if table.head else None
    if fmt is Format.table:
        rows: list[list[object]] = [
            [
                r.rank,
                r.competitor,
                r.nation,
                format_points(r.points),
                sum(1 for x in r.results if x.counted and x.points),
            ]
            for r in table.standings
        ]
        _emit(
            fmt,
            table,
            standings_title(table),
            ["Rank", "Competitor", "Nation", "Points", "Scored"],
            rows,
            {0, 3, 4},
            caption,
        )
    else:
        _emit(
            fmt,
            table,
            standings_title(table),
            ["rank", "competitor", "nation", "points"],
            standings_rows(table),
            {0, 3},
        )


def render_results(race: RaceClassification, fmt: Format) -> None:
    """Print a race's classification."""
    where = ", ".join(x for x in (race.venue, race.location) if x)
    void = " — VOID: no points awarded" if race.voided else ""
    if not race.raced:
        void += f" — not yet raced as of {race.as_of}"
    title = (
        f"{race.season}/{race.race} ({race.cup}) — {race.date}{', ' + where if where else ''}{void}"
    )
    rows: list[list[object]] = []
    for r in race.results:
        status = "disqualified" if r.disqualified else r.status
        rows.append(
            [r.place, r.competitor, r.nation, format_time(r.time), status, format_points(r.points)]
        )
    _emit(
        fmt,
        race,
        title,
        ["place", "competitor", "nation", "time", "status", "points"],
        rows,
        {0, 5},
    )
    if fmt is Format.table and race.amendments:
        out = console()
        out.print("Amended since recorded:")
        for a in race.amendments:
            who = f" {a.competitor} ({a.nation})" if a.nation else f" {a.competitor or ''}"
            why = f"; {a.reason}" if a.reason else ""
            by = f" by {a.by}" if a.by else ""
            out.print(f"  #{a.position} {a.what}{who.rstrip()}: {a.change}{why}{by}")


def render_races(races: Sequence[RaceSummary], fmt: Format) -> None:
    """Print the race calendar."""
    rows: list[list[object]] = [
        [
            r.season,
            r.race,
            r.cup,
            r.date,
            r.location,
            r.table,
            r.results,
            "void" if r.voided else "",
        ]
        for r in races
    ]
    _emit(
        fmt,
        races,
        f"{len(races)} races",
        ["season", "race", "cup", "date", "location", "table", "results", "note"],
        rows,
        {6},
    )
