"""`ledger demo`: a real season, replayed into a fresh ledger, told by the ledger's own queries."""

from __future__ import annotations

import tempfile
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.columns import Columns
from rich.table import Table

from cli import commands_audit, commands_change
from cli.common import handles_errors, open_ledger
from cli.progress import tracker
from cli.render import console, standings_title
from ledger.values import format_points
from projections.standings import Standings, query_standings

AS_OF = date(2014, 3, 9)
BEFORE = "2014-03-17T00:00:00+00:00"
CORRECTED_AT = "2014-03-18T09:00:00+00:00"
DISQUALIFIED_AT = "2014-03-20T14:00:00+00:00"
TIME_REASON = "transcription error: 34.64 would beat the winner's 34.78"
DQ_REASON = "crossing-zone infringement seen on video review"
RENAMED_AT = "2014-03-21T10:00:00+00:00"
RENAME_REASON = "the source misspells Bai Qiuming (CHN) as Bai Quiming in SLC1-B and SLC2-B"


def register(app: typer.Typer) -> None:
    """Mount the demo on the app."""
    app.command("demo")(demo)


def _rows(table: Standings, start: int, stop: int, title: str | None = None) -> Table:
    out = Table(title=title or standings_title(table), title_justify="left")
    for name, justify in (("Rank", "right"), ("Competitor", "left"), ("Points", "right")):
        out.add_column(name, justify=justify)  # type: ignore[arg-type]
    for row in table.standings[start:stop]:
        out.add_row(str(row.rank), f"{row.competitor} ({row.nation})", format_points(row.points))
    return out


@handles_errors
def demo(
    db: Annotated[
        Path | None,
        typer.Option(
            "--db", help="Keep the demo ledger in this SQLite file (default: a temporary one)."
        ),
    ] = None,
) -> None:
    """Replay the 2013–14 men's 500 m World Cup into a ledger and show its standings.

    Example: ledger demo --db demo.db
    """
    from ledger.bundled import MEN_500M, load_bundled  # the file models: only the demo

    with tempfile.TemporaryDirectory() as scratch:
        path = db or Path(scratch) / "demo.db"
        ledger = open_ledger(str(path), create=True)
        out = console()
        with tracker("replaying the season, race day by race day") as report:
            events = load_bundled(ledger, MEN_500M, progress=report)
        out.print(
            f"Recorded {events} events into {path}: the season, then each race day's"
            " results on the evening of the race.\n",
            markup=False,  # a folder named "[x]" is text
        )
        before = query_standings(ledger, "men-500m", as_of=AS_OF)
        final = query_standings(ledger, "men-500m")
        out.print(f"{final.cup_name}, {final.season}: the top ten")
        out.print(
            Columns(
                [
                    _rows(before, 0, 10, "As of 9 March 2014"),
                    _rows(final, 0, 10, "Final standings"),
                ],
                padding=(0, 4),
            )
        )
        leader = before.standings[0]
        champion = final.standings[0]
        out.print(
            f"\nAs of {AS_OF}, {leader.competitor} led with {leader.points};"
            f" after the Final in Heerenveen, {champion.competitor} won with {champion.points}."
        )
        _after_the_season(str(path), final)
        if db is not None:
            out.print(
                f"\nTry: ledger standings men-500m --as-of 2013-12-08 --db {path}", markup=False
            )
        ledger.close()


def _show(command: str) -> None:
    console().print(f"\n[bold]$ ledger {command}[/bold]")


def _after_the_season(db: str, final: Standings) -> None:
    """Two changes recorded after the race days, told by the ledger's own commands."""
    out = console()
    out.print(
        "\nAfter the Final, two changes arrive (an illustrative story, not real decisions)."
        " The data check flags the bronze time that the source publishes:"
    )
    _show("check HVN2")
    commands_audit.check(race="HVN2", db=db)
    _show(f'correct HVN2 "Michel Mulder" --time 34.94 --reason "{TIME_REASON}" ...')
    commands_change.correct(
        race="HVN2",
        competitor="Michel Mulder",
        reason=TIME_REASON,
        time="34.94",
        by="results office",
        source="timing sheet HVN2 (illustrative)",
        recorded_at=CORRECTED_AT,
        db=db,
    )
    _show(f'disqualify HVN2 "POL #16" --reason "{DQ_REASON}" ...')
    commands_change.disqualify(
        race="HVN2",
        competitor="POL #16",
        reason=DQ_REASON,
        by="jury",
        source="jury report HVN2-3 (illustrative)",
        recorded_at=DISQUALIFIED_AT,
        db=db,
    )
    out.print("\nThe final standings before and after, ranks 14–21:")
    ledger = open_ledger(db)
    after = query_standings(ledger, "men-500m")
    ledger.close()
    before = _rows(final, 13, 21, "As known on 17 March 2014")
    out.print(Columns([before, _rows(after, 13, 21, "As known now")], padding=(0, 4)))
    _show(f"diff men-500m --known-at {BEFORE}")
    commands_audit.diff(cup="men-500m", known_at=BEFORE, db=db)
    _show(f"history --race HVN2 --since {BEFORE}")
    commands_audit.history(race="HVN2", since=BEFORE, db=db)
    out.print(
        "\nA real one: the source misspells a skater's name. A rename moves every result held"
        " under the wrong name, in every season, without touching the results:"
    )
    _show(f'rename "Bai Quiming" --nation CHN --to "Bai Qiuming" --reason "{RENAME_REASON}" ...')
    commands_change.rename(
        competitor="Bai Quiming",
        to="Bai Qiuming",
        reason=RENAME_REASON,
        nation="CHN",
        new_nation=None,
        by="results office",
        source="ISU biography (illustrative)",
        recorded_at=RENAMED_AT,
        db=db,
    )
    ledger = open_ledger(db)
    then = query_standings(ledger, "men-500m", known_at=_moment(RENAMED_AT) - _SECOND)
    now = query_standings(ledger, "men-500m")
    ledger.close()
    for label, table in (("Known before the rename", then), ("Known now", now)):
        row = next(r for r in table.standings if r.competitor.startswith("Bai Q"))
        out.print(f"{label}: {row.rank}. {row.competitor} ({row.nation}) {row.points} points")
    out.print(
        "\nNothing was overwritten: `ledger standings men-500m --known-at"
        f" {BEFORE}` still shows the table as first published."
    )


_SECOND = timedelta(seconds=1)


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text)
