"""Changing what the ledger holds after the fact: results, races, competitors, cups, commands.

Each command records new events (nothing is overwritten) and prints what it changed, old → new,
with the head it left the log at.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cli.common import (
    AnswerFormat,
    AnswerFormatOption,
    ByOption,
    DbOption,
    NationOption,
    ReasonOption,
    RecordedAtOption,
    SeasonOption,
    SourceOption,
    complete_cup,
    complete_race,
    handles_errors,
    open_ledger,
    to_date,
    to_datetime,
    to_nation,
    to_place,
    to_points,
    to_status,
    to_time,
)
from cli.render import print_receipt
from ledger.application import UNSET, Receipt
from ledger.errors import InputError

RaceArg = Annotated[
    str,
    typer.Argument(help="Race id, e.g. HVN2 (or SEASON/RACE).", autocompletion=complete_race),
]
CompetitorArg = Annotated[str, typer.Argument(help="The competitor's name, e.g. 'Michel Mulder'.")]
CupArg = Annotated[
    str, typer.Argument(help="Cup id, e.g. drivers (or SEASON/CUP).", autocompletion=complete_cup)
]
PlaceOption = Annotated[str | None, typer.Option("--place", help="The place, e.g. 3.")]
TimeOption = Annotated[
    str | None,
    typer.Option("--time", help='The time: seconds (34.41) or m:ss.xx (1:08.94); "" clears it.'),
]
StatusOption = Annotated[
    str | None, typer.Option("--status", help="DNF, DNS or DQ; OK (or empty) for finished.")
]
BonusOption = Annotated[
    str | None, typer.Option("--bonus", help="Points outside the table (a fastest lap), e.g. 1.")
]
TeamOption = Annotated[str | None, typer.Option("--team", help="The competitor's team.")]


def register(app: typer.Typer) -> None:
    """Mount the commands that change what the ledger holds on the app."""
    for name, command in (
        ("record", record),
        ("correct", correct),
        ("disqualify", disqualify),
        ("reinstate", reinstate),
        ("withdraw", withdraw),
        ("void", void),
        ("unvoid", unvoid),
        ("schedule", schedule),
        ("reschedule", reschedule),
        ("retable", retable),
        ("rename", rename),
        ("exclude", exclude),
        ("readmit", readmit),
        ("deduct", deduct),
        ("revert", revert),
    ):
        app.command(name)(command)


def done(receipt: Receipt, fmt: AnswerFormat = AnswerFormat.text) -> None:
    """Print what a command wrote, event by event, and the head it left the log at."""
    from projections.history import written  # the audit trail's wording

    if fmt is AnswerFormat.json:
        print_receipt(receipt, written(receipt))
        return
    for entry in written(receipt):
        where = f"{entry.season}/{entry.race}" if entry.race else ""
        who = ""
        if entry.competitor and entry.event != "CompetitorRenamed":  # its change names both
            who = f"{entry.competitor} ({entry.nation})" if entry.nation else entry.competitor
        why = f" (reason: {entry.reason})" if entry.reason else ""
        subject = " ".join(part for part in (where, who) if part)
        typer.echo(f"{entry.what}{' ' + subject if subject else ''}: {entry.change}{why}")
    typer.echo(f"command #{receipt.command}; head {receipt.head.position} {receipt.head.hash}")


def _common(by: str | None, source: str | None, recorded_at: str | None) -> dict[str, Any]:
    return {"by": by, "source": source, "recorded_at": to_datetime(recorded_at, "--recorded-at")}


@handles_errors
def record(
    race: RaceArg,
    competitor: CompetitorArg,
    nation: NationOption = None,
    place: PlaceOption = None,
    time: TimeOption = None,
    status: StatusOption = None,
    bonus: BonusOption = None,
    team: TeamOption = None,
    athlete_id: Annotated[
        str | None, typer.Option("--id", help="The federation's athlete id, e.g. ISU12345.")
    ] = None,
    by: ByOption = None,
    source: SourceOption = None,
    recorded_at: RecordedAtOption = None,
    season: SeasonOption = None,
    fmt: AnswerFormatOption = AnswerFormat.text,
    db: DbOption = None,
) -> None:
    """Record one late result (a competitor with no result yet in that race).

    Example: ledger record HVN2 "Mika Poutala" --nation FIN --place 21 --source "ISU results"
    """
    from ledger.values import parse_athlete_id

    try:
        athlete = None if athlete_id is None else parse_athlete_id(athlete_id)
    except ValueError as e:
        raise InputError(f"--id {athlete_id!r}: {e}") from None
    receipt = open_ledger(db).record_result(
        race,
        competitor,
        nation=to_nation(nation),
        place=None if place is None else to_place(place),
        time=None if not time else to_time(time),
        status=None if status is None else to_status(status),
        athlete_id=athlete,
        bonus=None if bonus is None else to_points(bonus, "--bonus"),
        team=team,
        **_common(by, source, recorded_at),
    )
    done(receipt, fmt)


@handles_errors
def correct(
    race: RaceArg,
    competitor: CompetitorArg,
    reason: ReasonOption,
    nation: NationOption = None,
    place: PlaceOption = None,
    time: TimeOption = None,
    clear_time: Annotated[bool, typer.Option("--clear-time", help="Remove the time.")] = False,
    status: StatusOption = None,
    bonus: BonusOption = None,
    team: TeamOption = None,
    by: ByOption = None,
    source: SourceOption = None,
    recorded_at: RecordedAtOption = None,
    season: SeasonOption = None,
    fmt: AnswerFormatOption = AnswerFormat.text,
    db: DbOption = None,
) -> None:
    """Correct a recorded result's place, time, status, bonus or team.

    The old values stay on record. --time "" or --clear-time removes a time entered by mistake.

    Example: ledger correct HVN2 "Michel Mulder" --time 34.94 --reason "timing error"
    """
    if clear_time and time:
        raise InputError("give --time or --clear-time, not both")
    new_time: Any = UNSET
    if clear_time or time == "" or (time is not None and not time.strip()):
        new_time = None
    elif time is not None:
        new_time = to_time(time)
    receipt = open_ledger(db).correct_result(
        race,
        competitor,
        reason=reason,
        nation=to_nation(nation),
        place=UNSET if place is None else to_place(place),
        time=new_time,
        status=UNSET if status is None else to_status(status),
        bonus=UNSET if bonus is None else (to_points(bonus, "--bonus") if bonus.strip() else None),
        team=UNSET if team is None else (team if team.strip() else None),
        **_common(by, source, recorded_at),
    )
    done(receipt, fmt)


@handles_errors
def disqualify(
    race: RaceArg,
    competitor: CompetitorArg,
    reason: ReasonOption,
    nation: NationOption = None,
    by: ByOption = None,
    source: SourceOption = None,
    recorded_at: RecordedAtOption = None,
    season: SeasonOption = None,
    fmt: AnswerFormatOption = AnswerFormat.text,
    db: DbOption = None,
) -> None:
    """Disqualify a competitor from a race: no place, no points; everyone behind moves up.

    Example: ledger disqualify HVN2 "POL #16" --reason "crossing-line infringement"
    """
    receipt = open_ledger(db).disqualify(
        race,
        competitor,
        reason=reason,
        nation=to_nation(nation),
        **_common(by, source, recorded_at),
    )
    done(receipt, fmt)


@handles_errors
def reinstate(
    race: RaceArg,
    competitor: CompetitorArg,
    reason: ReasonOption,
    nation: NationOption = None,
    by: ByOption = None,
    source: SourceOption = None,
    recorded_at: RecordedAtOption = None,
    season: SeasonOption = None,
    fmt: AnswerFormatOption = AnswerFormat.text,
    db: DbOption = None,
) -> None:
    """Withdraw a disqualification (an appeal upheld): the recorded result counts again.

    Example: ledger reinstate HVN2 "POL #16" --reason "appeal upheld" --source "CAS 2014/A/1"
    """
    receipt = open_ledger(db).reinstate(
        race,
        competitor,
        reason=reason,
        nation=to_nation(nation),
        **_common(by, source, recorded_at),
    )
    done(receipt, fmt)


@handles_errors
def withdraw(
    race: RaceArg,
    competitor: CompetitorArg,
    reason: ReasonOption,
    nation: NationOption = None,
    by: ByOption = None,
    source: SourceOption = None,
    recorded_at: RecordedAtOption = None,
    season: SeasonOption = None,
    fmt: AnswerFormatOption = AnswerFormat.text,
    db: DbOption = None,
) -> None:
    """Take back a result recorded in error: the competitor has no result in that race.

    Everyone behind moves up; the withdrawn result stays in the history.

    Example: ledger withdraw SLC1-B "Bai Quiming" --reason "recorded under a misspelt name"
    """
    receipt = open_ledger(db).withdraw_result(
        race,
        competitor,
        reason=reason,
        nation=to_nation(nation),
        **_common(by, source, recorded_at),
    )
    done(receipt, fmt)


@handles_errors
def void(
    race: RaceArg,
    reason: ReasonOption,
    by: ByOption = None,
    source: SourceOption = None,
    recorded_at: RecordedAtOption = None,
    season: SeasonOption = None,
    fmt: AnswerFormatOption = AnswerFormat.text,
    db: DbOption = None,
) -> None:
    """Annul a race: nobody scores from it; its results stay in the history.

    Example: ledger void SLC2-B --reason "timing system failure" --source "ISU communication 1850"
    """
    receipt = open_ledger(db).void_race(race, reason=reason, **_common(by, source, recorded_at))
    done(receipt, fmt)


@handles_errors
def unvoid(
    race: RaceArg,
    reason: ReasonOption,
    by: ByOption = None,
    source: SourceOption = None,
    recorded_at: RecordedAtOption = None,
    season: SeasonOption = None,
    fmt: AnswerFormatOption = AnswerFormat.text,
    db: DbOption = None,
) -> None:
    """Make a voided race count again, with its results as they stand.

    Example: ledger unvoid SLC2-B --reason "the annulment was overturned on appeal"
    """
    receipt = open_ledger(db).unvoid_race(race, reason=reason, **_common(by, source, recorded_at))
    done(receipt, fmt)


@handles_errors
def schedule(
    race: Annotated[str, typer.Argument(help="The new race, as SEASON/RACE.")],
    cup: Annotated[str, typer.Option("--cup", help="The cup it counts for.", show_default=False)],
    race_date: Annotated[
        str, typer.Option("--date", help="Its date (YYYY-MM-DD).", show_default=False)
    ],
    table: Annotated[str, typer.Option("--table", help="The season's point table that scores it.")],
    reason: ReasonOption,
    location: Annotated[str | None, typer.Option("--location", help="Where.")] = None,
    venue: Annotated[str | None, typer.Option("--venue", help="The venue.")] = None,
    by: ByOption = None,
    source: SourceOption = None,
    recorded_at: RecordedAtOption = None,
    season: SeasonOption = None,
    fmt: AnswerFormatOption = AnswerFormat.text,
    db: DbOption = None,
) -> None:
    """Add a race to a declared season's calendar.

    Example: ledger schedule isu-ss-wc-2013-14/HVN3 --cup men-500m --date 2014-03-17
    --table A --reason "added to the calendar by the ISU"
    """
    day = to_date(race_date, "--date")
    assert day is not None
    receipt = open_ledger(db).schedule_race(
        race,
        cup=cup,
        race_date=day,
        table=table,
        reason=reason,
        location=location,
        venue=venue,
        **_common(by, source, recorded_at),
    )
    done(receipt, fmt)


@handles_errors
def reschedule(
    race: RaceArg,
    race_date: Annotated[
        str, typer.Option("--date", help="The new date (YYYY-MM-DD).", show_default=False)
    ],
    reason: ReasonOption,
    by: ByOption = None,
    source: SourceOption = None,
    recorded_at: RecordedAtOption = None,
    season: SeasonOption = None,
    fmt: AnswerFormatOption = AnswerFormat.text,
    db: DbOption = None,
) -> None:
    """Move a race to another date (postponed by weather, say).

    Standings as of a date, as known after the move, count the race on its new date.

    Example: ledger reschedule INZ2-B --date 2014-03-10 --reason "postponed: thaw"
    """
    day = to_date(race_date, "--date")
    assert day is not None
    receipt = open_ledger(db).reschedule_race(
        race, race_date=day, reason=reason, **_common(by, source, recorded_at)
    )
    done(receipt, fmt)


@handles_errors
def retable(
    race: RaceArg,
    table: Annotated[str, typer.Option("--table", help="Another of the season's tables.")],
    reason: ReasonOption,
    by: ByOption = None,
    source: SourceOption = None,
    recorded_at: RecordedAtOption = None,
    season: SeasonOption = None,
    fmt: AnswerFormatOption = AnswerFormat.text,
    db: DbOption = None,
) -> None:
    """Score a race by another of its season's point tables.

    Example: ledger retable HVN2 --table B --reason "the Final scores by table B"
    """
    receipt = open_ledger(db).retable_race(
        race, table=table, reason=reason, **_common(by, source, recorded_at)
    )
    done(receipt, fmt)


@handles_errors
def rename(
    competitor: CompetitorArg,
    to: Annotated[str, typer.Option("--to", help="The right name.", show_default=False)],
    reason: ReasonOption,
    nation: NationOption = None,
    new_nation: Annotated[
        str | None, typer.Option("--to-nation", help="The right nation (default: unchanged).")
    ] = None,
    by: ByOption = None,
    source: SourceOption = None,
    recorded_at: RecordedAtOption = None,
    season: SeasonOption = None,
    fmt: AnswerFormatOption = AnswerFormat.text,
    db: DbOption = None,
) -> None:
    """Correct a competitor's name (and nation), in every season.

    Its results are held under the new name from now on. A name someone else already holds
    merges the two competitors (refused if both have a result in one race).

    Example: ledger rename "Bai Quiming" --to "Bai Qiuming" --reason "misspelt in the source"
    """
    receipt = open_ledger(db).rename_competitor(
        competitor,
        to=to,
        reason=reason,
        nation=to_nation(nation),
        to_nation=to_nation(new_nation),
        **_common(by, source, recorded_at),
    )
    done(receipt, fmt)


@handles_errors
def exclude(
    cup: CupArg,
    competitor: CompetitorArg,
    reason: ReasonOption,
    nation: NationOption = None,
    by: ByOption = None,
    source: SourceOption = None,
    recorded_at: RecordedAtOption = None,
    season: SeasonOption = None,
    fmt: AnswerFormatOption = AnswerFormat.text,
    db: DbOption = None,
) -> None:
    """Remove a competitor from a cup's standings (stripped of a championship).

    Its race results stand, and nobody moves up in the races themselves.

    Example: ledger exclude drivers "Michael Schumacher" --nation GER --reason "FIA, 1997"
    """
    receipt = open_ledger(db).exclude(
        cup, competitor, reason=reason, nation=to_nation(nation), **_common(by, source, recorded_at)
    )
    done(receipt, fmt)


@handles_errors
def readmit(
    cup: CupArg,
    competitor: CompetitorArg,
    reason: ReasonOption,
    nation: NationOption = None,
    by: ByOption = None,
    source: SourceOption = None,
    recorded_at: RecordedAtOption = None,
    season: SeasonOption = None,
    fmt: AnswerFormatOption = AnswerFormat.text,
    db: DbOption = None,
) -> None:
    """Lift a competitor's exclusion from a cup's standings.

    Example: ledger readmit drivers "Michael Schumacher" --nation GER --reason "decision annulled"
    """
    receipt = open_ledger(db).readmit(
        cup, competitor, reason=reason, nation=to_nation(nation), **_common(by, source, recorded_at)
    )
    done(receipt, fmt)


@handles_errors
def deduct(
    cup: CupArg,
    competitor: CompetitorArg,
    points: Annotated[str, typer.Option("--points", help="How many points (a decimal).")],
    reason: ReasonOption,
    nation: NationOption = None,
    by: ByOption = None,
    source: SourceOption = None,
    recorded_at: RecordedAtOption = None,
    season: SeasonOption = None,
    fmt: AnswerFormatOption = AnswerFormat.text,
    db: DbOption = None,
) -> None:
    """Deduct points from a competitor's total in a cup (a penalty).

    Deducted after best-N and parts; several deductions add up; `ledger revert` undoes one.

    Example: ledger deduct constructors McLaren --points 10 --reason "sporting penalty"
    """
    receipt = open_ledger(db).deduct(
        cup,
        competitor,
        points=to_points(points, "--points"),
        reason=reason,
        nation=to_nation(nation),
        **_common(by, source, recorded_at),
    )
    done(receipt, fmt)


@handles_errors
def revert(
    position: Annotated[
        str, typer.Argument(help="A log position of the command to undo (see `ledger history`).")
    ],
    reason: ReasonOption,
    by: ByOption = None,
    source: SourceOption = None,
    recorded_at: RecordedAtOption = None,
    season: SeasonOption = None,
    fmt: AnswerFormatOption = AnswerFormat.text,
    db: DbOption = None,
) -> None:
    """Undo a whole command (a correction, a rename, a wrong results file...).

    New events compensate each of its events; nothing is deleted. Refused when something
    recorded later changed the same thing.

    Example: ledger revert 354 --reason "corrected the wrong skater"
    """
    text = position.strip().lstrip("#")
    if not text.isdigit() or not text.isascii() or len(text) > 18:
        raise InputError(f"position {position!r}: a log position is a whole number, e.g. 354")
    receipt = open_ledger(db).revert(int(text), reason=reason, **_common(by, source, recorded_at))
    done(receipt, fmt)
