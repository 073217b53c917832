"""What the ledger holds across seasons: its seasons, their cups, its competitors, a career."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.common import (
    AsOfOption,
    DbOption,
    Format,
    FormatOption,
    KnownAtOption,
    NationOption,
    complete_season,
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
    print_answer,
    print_rich,
    rich_table,
    stream,
    title_line,
)
from ledger.values import format_points


def register(app: typer.Typer) -> None:
    """Mount the season and competitor commands on the app."""
    app.command("seasons")(seasons)
    app.command("cups")(cups)
    app.command("competitors")(competitors)
    app.command("competitor")(competitor)


SEASON_COLUMNS = (
    Col("season", "season", "id"),
    Col("name", "name"),
    Col("cups", "cups", "int"),
    Col("races", "races", "int"),
    Col("first", "first", "date"),
    Col("last", "last", "date"),
)


@handles_errors
def seasons(
    known_at: KnownAtOption = None,
    fmt: FormatOption = None,
    db: DbOption = None,
) -> None:
    """The seasons the ledger holds: their cups, races and the dates they span.

    Example: ledger seasons --format json
    """
    from projections.seasons import query_seasons, stream_seasons

    moment = to_datetime(known_at, "--known-at")
    if fmt is Format.json:
        listed = query_seasons(open_reader(db), known_at=moment, parallel=True)
        print_answer("seasons", {"known_at": moment}, listed.head, listed.seasons)
        return
    # Every other format prints the seasons as they are read, a few hundred at a time.
    found = stream_seasons(open_reader(db), known_at=moment, parallel=True)
    rows = ([s.season, s.name, s.cups, s.races, s.first, s.last] for s in found)
    stream(fmt, SEASON_COLUMNS, rows, f"seasons{known_text(moment)}", lambda n: f"{n} seasons")


CUP_COLUMNS = (
    Col("season", "season", "id"),
    Col("cup", "cup", "id"),
    Col("name", "name"),
    Col("best", "best", "int"),
    Col("of", "of"),
    Col("teams", "teams"),
    Col("races", "races", "int"),
    Col("first", "first", "date"),
    Col("last", "last", "date"),
)


@handles_errors
def cups(
    season: Annotated[
        str | None,
        typer.Option("--season", help="Only this season's cups.", autocompletion=complete_season),
    ] = None,
    known_at: KnownAtOption = None,
    fmt: FormatOption = None,
    db: DbOption = None,
) -> None:
    """The cups (classifications) of every season, or of one, with the races each scores.

    Example: ledger cups --season isu-ss-wc-2013-14
    """
    from projections.seasons import query_cups, stream_cups

    moment = to_datetime(known_at, "--known-at")
    if fmt is Format.json:
        listed = query_cups(open_reader(db), season=season, known_at=moment, parallel=True)
        print_answer("cups", {"season": season, "known_at": moment}, listed.head, listed.cups)
        return
    # Every other format prints the cups as they are read, a few hundred seasons at a time.
    found = stream_cups(open_reader(db), season=season, known_at=moment, parallel=True)
    rows = (
        [c.season, c.cup, c.name, c.best, c.of, c.teams, c.races, c.first, c.last] for c in found
    )
    stream(fmt, CUP_COLUMNS, rows, f"cups{known_text(moment)}", lambda n: f"{n} cups")


COMPETITOR_COLUMNS = (
    Col("competitor", "competitor"),
    Col("nation", "nation"),
    Col("results", "results", "int"),
    Col("seasons", "seasons"),
    Col("athlete id", "athlete_id"),
    Col("id", "competitor_id"),
)


@handles_errors
def competitors(
    search: Annotated[
        str | None, typer.Argument(help="Part of a name, any case (default: every competitor).")
    ] = None,
    nation: NationOption = None,
    known_at: KnownAtOption = None,
    fmt: FormatOption = None,
    db: DbOption = None,
) -> None:
    """Find competitors by name: every name held that contains the text, case aside.

    Example: ledger competitors mulder
    """
    from projections.competitors import query_competitors

    moment = to_datetime(known_at, "--known-at")
    found = query_competitors(open_reader(db), search, nation=to_nation(nation), known_at=moment)
    rows = [
        [c.competitor, c.nation, c.results, ", ".join(c.seasons), c.athlete_id, c.competitor_id]
        for c in found.competitors
    ]
    what = f" matching {search!r}" if search else ""
    title = f"{len(found.competitors)} competitors{what}{known_text(moment)}"
    query = {"search": search, "nation": found.nation, "known_at": moment}
    view = View(
        "competitors", query, found.head, found.competitors, title, COMPETITOR_COLUMNS, rows
    )
    emit(view, fmt)


CAREER_COLUMNS = (
    Col("season", "season", "id"),
    Col("race", "race", "id"),
    Col("cup", "cup", "id"),
    Col("date", "date", "date"),
    Col("place", "place", "int"),
    Col("recorded", "recorded_place", "int"),
    Col("time", "time", "time"),
    Col("status", "status"),
    Col("points", "points", "points"),
    Col("counted", "counted"),
)


@handles_errors
def competitor(
    name: Annotated[str, typer.Argument(help="The competitor's name, e.g. 'Michel Mulder'.")],
    nation: NationOption = None,
    as_of: AsOfOption = None,
    known_at: KnownAtOption = None,
    fmt: FormatOption = None,
    db: DbOption = None,
) -> None:
    """A competitor's career across seasons: every result, and its points and rank per cup.

    Example: ledger competitor "Michel Mulder" --nation NED
    """
    from projections.competitors import query_competitor

    day, moment = to_date(as_of), to_datetime(known_at, "--known-at")
    career = query_competitor(
        open_reader(db), name=name, nation=to_nation(nation), as_of=day, known_at=moment
    )
    rows = [
        [
            r.season,
            r.race,
            r.cup,
            r.date,
            r.place,
            r.recorded_place,
            r.time,
            r.status,
            r.points,
            r.counted,
        ]
        for r in career.results
    ]
    who = f"{career.competitor} ({career.nation})" if career.nation else career.competitor
    when = f"as of {day}" if day else "all races"
    title = f"{who} — {when}{known_text(moment)}: {len(career.results)} results"
    others = [n for n in career.names if n != who]
    notes = [f"Also held: {', '.join(others)}"] if others else []
    query = {"competitor": name, "nation": to_nation(nation), "as_of": day, "known_at": moment}
    if fmt not in (None, Format.table):
        emit(
            View("competitor", query, career.head, career, title, CAREER_COLUMNS, rows, notes), fmt
        )
        return
    parts: list[object] = [title_line(title)]
    for cup in career.standings:  # one table per cup, season by season
        rank = f"rank {cup.rank}" if cup.rank else "unranked"
        parts.append(
            f"\n{cup.season}/{cup.cup} ({cup.cup_name}): {rank}, {format_points(cup.points)}"
            f" points from {cup.results} results"
        )
        mine = [r for r in rows if (r[0], r[2]) == (cup.season, cup.cup)]
        parts.append(
            rich_table(CAREER_COLUMNS[1:2] + CAREER_COLUMNS[3:], [r[1:2] + r[3:] for r in mine])
        )
    print_rich(*parts, *notes)
