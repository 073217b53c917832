"""Changing results after the race: correct, disqualify, reinstate, record a late result, void."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cli.common import (
    ByOption,
    DbOption,
    NationOption,
    ReasonOption,
    RecordedAtOption,
    SourceOption,
    handles_errors,
    open_ledger,
    to_datetime,
    to_nation,
    to_place,
    to_status,
    to_time,
)
from ledger.application import UNSET, Ledger, Receipt

RaceArg = Annotated[str, typer.Argument(help="Race id, e.g. HVN2 (or SEASON/RACE).")]
CompetitorArg = Annotated[str, typer.Argument(help="The competitor's name, e.g. 'Michel Mulder'.")]
PlaceOption = Annotated[str | None, typer.Option("--place", help="The place, e.g. 3.")]
TimeOption = Annotated[
    str | None, typer.Option("--time", help="The time: seconds (34.41) or m:ss.xx (1:08.94).")
]
StatusOption = Annotated[
    str | None, typer.Option("--status", help="DNF, DNS or DQ; OK (or empty) for finished.")
]


def register(app: typer.Typer) -> None:
    """Mount the commands that change results on the app."""
    for name, command in (
        ("correct", correct),
        ("disqualify", disqualify),
        ("reinstate", reinstate),
        ("record", record),
        ("void", void),
    ):
        app.command(name)(command)


def _done(ledger: Ledger, receipt: Receipt) -> None:
    from projections.read_audit import last_entry  # replays the log: loaded when used

    entry = last_entry(ledger)
    where = f"{entry.season}/{entry.race}"
    who = f" {entry.competitor} ({entry.nation})" if entry.nation else f" {entry.competitor}"
    subject = where + (who if entry.competitor else "")
    why = f" (reason: {entry.reason})" if entry.reason else ""
    typer.echo(
        f"{entry.what} {subject}: {entry.change}{why};"
        f" head {receipt.head.position} {receipt.head.hash}"
    )


def _common(by: str | None, source: str | None, recorded_at: str | None) -> dict[str, Any]:
    return {"by": by, "source": source, "recorded_at": to_datetime(recorded_at, "--recorded-at")}


@handles_errors
def correct(
    race: RaceArg,
    competitor: CompetitorArg,
    reason: ReasonOption,
    nation: NationOption = None,
    place: PlaceOption = None,
    time: TimeOption = None,
    status: StatusOption = None,
    by: ByOption = None,
    source: SourceOption = None,
    recorded_at: RecordedAtOption = None,
    db: DbOption = None,
) -> None:
    """Correct a recorded result's place, time and/or status (the old values stay on record).

    Example: ledger correct HVN2 "Michel Mulder" --time 34.94 --reason "timing error"
    """
    ledger = open_ledger(db)
    receipt = ledger.correct_result(
        race,
        competitor,
        reason=reason,
        nation=to_nation(nation),
        place=UNSET if place is None else to_place(place),
        time=UNSET if time is None else to_time(time),
        status=UNSET if status is None else to_status(status),
        **_common(by, source, recorded_at),
    )
    _done(ledger, receipt)


@handles_errors
def disqualify(
    race: RaceArg,
    competitor: CompetitorArg,
    reason: ReasonOption,
    nation: NationOption = None,
    by: ByOption = None,
    source: SourceOption = None,
    recorded_at: RecordedAtOption = None,
    db: DbOption = None,
) -> None:
    """Disqualify a competitor from a race: no place, no points; everyone behind moves up.

    Example: ledger disqualify HVN2 "POL #16" --reason "crossing-line infringement"
    """
    ledger = open_ledger(db)
    receipt = ledger.disqualify(
        race,
        competitor,
        reason=reason,
        nation=to_nation(nation),
        **_common(by, source, recorded_at),
    )
    _done(ledger, receipt)


@handles_errors
def reinstate(
    race: RaceArg,
    competitor: CompetitorArg,
    reason: ReasonOption,
    nation: NationOption = None,
    by: ByOption = None,
    source: SourceOption = None,
    recorded_at: RecordedAtOption = None,
    db: DbOption = None,
) -> None:
    """Withdraw a disqualification (an appeal upheld): the recorded result counts again.

    Example: ledger reinstate HVN2 "POL #16" --reason "appeal upheld" --source "CAS 2014/A/1"
    """
    ledger = open_ledger(db)
    receipt = ledger.reinstate(
        race,
        competitor,
        reason=reason,
        nation=to_nation(nation),
        **_common(by, source, recorded_at),
    )
    _done(ledger, receipt)


@handles_errors
def record(
    race: RaceArg,
    competitor: CompetitorArg,
    nation: NationOption = None,
    place: PlaceOption = None,
    time: TimeOption = None,
    status: StatusOption = None,
    by: ByOption = None,
    source: SourceOption = None,
    recorded_at: RecordedAtOption = None,
    db: DbOption = None,
) -> None:
    """Record one late result (a competitor with no result yet in that race).

    Example: ledger record HVN2 "Mika Poutala" --nation FIN --place 21 --source "ISU results"
    """
    ledger = open_ledger(db)
    receipt = ledger.record_result(
        race,
        competitor,
        nation=to_nation(nation),
        place=None if place is None else to_place(place),
        time=None if time is None else to_time(time),
        status=None if status is None else to_status(status),
        **_common(by, source, recorded_at),
    )
    _done(ledger, receipt)


@handles_errors
def void(
    race: RaceArg,
    reason: ReasonOption,
    by: ByOption = None,
    source: SourceOption = None,
    recorded_at: RecordedAtOption = None,
    db: DbOption = None,
) -> None:
    """Annul a race: nobody scores from it; its results stay in the history.

    Example: ledger void SLC2-B --reason "timing system failure" --source "ISU communication 1850"
    """
    ledger = open_ledger(db)
    receipt = ledger.void_race(race, reason=reason, **_common(by, source, recorded_at))
    _done(ledger, receipt)
