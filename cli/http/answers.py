"""Each route's answer, asked of the same projections as the command line and echoed in the
same envelope (``projections.output.answer``): the JSON of ``ledger COMMAND --format json``.

Every function takes parsed values and returns an ``Answer``: the command's name, the query
as the command line echoes it, the head the answer was computed at, and the data. A route's
ids come from its path (``/api/standings/SEASON/CUP``), so they are always qualified; the
query echoes them as ``ledger standings CUP --season SEASON`` does.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from cli.http.params import Compared
from ledger.application import Ledger
from ledger.errors import InputError
from projections.models import HeadRef
from projections.output import with_head


@dataclass
class Answer:
    """One route's answer: what ``answer()`` wraps, and the rows of a streamed list."""

    command: str
    query: dict[str, Any]
    head: HeadRef | None
    data: Any
    rows: Iterator[Any] | None = field(default=None)  # a list answer read as it is sent


def qualified(season: str | None, ref: str | None) -> str | None:
    """An id of a season (SEASON/ID), unless it is qualified already."""
    if ref is None or season is None or "/" in ref:
        return ref
    return f"{season}/{ref}"


def standings(
    ledger: Ledger, season: str, cup: str, as_of: date | None, known_at: datetime | None
) -> Answer:
    """``ledger standings CUP --season SEASON``."""
    from projections.standings import query_standings

    table = query_standings(ledger, f"{season}/{cup}", as_of=as_of, known_at=known_at)
    query = {"cup": cup, "season": season, "as_of": as_of, "known_at": known_at}
    return Answer("standings", query, table.head, table)


def results(
    ledger: Ledger, season: str, race: str, as_of: date | None, known_at: datetime | None
) -> Answer:
    """``ledger results RACE --season SEASON``."""
    from projections.results import query_results

    found = query_results(ledger, f"{season}/{race}", as_of=as_of, known_at=known_at)
    query = {"race": race, "season": season, "as_of": as_of, "known_at": known_at}
    return Answer("results", query, found.head, found)


def races(
    ledger: Ledger,
    season: str | None,
    cup: str | None,
    as_of: date | None,
    known_at: datetime | None,
) -> Answer:
    """``ledger races [--season S] [--cup C]``."""
    from projections.races import query_calendar

    cup = qualified(season, cup)
    listed, head = with_head(
        ledger,
        known_at,
        lambda: query_calendar(ledger, as_of=as_of, known_at=known_at, season=season, cup=cup),
    )
    query = {"season": season, "cup": cup, "as_of": as_of, "known_at": known_at}
    return Answer("races", query, head, listed)


def seasons(ledger: Ledger, known_at: datetime | None) -> Answer:
    """``ledger seasons``."""
    from projections.seasons import query_seasons

    listed = query_seasons(ledger, known_at=known_at)
    return Answer("seasons", {"known_at": known_at}, listed.head, listed.seasons)


def cups(ledger: Ledger, season: str | None, known_at: datetime | None) -> Answer:
    """``ledger cups [--season S]``."""
    from projections.seasons import query_cups

    listed = query_cups(ledger, season=season, known_at=known_at)
    return Answer("cups", {"season": season, "known_at": known_at}, listed.head, listed.cups)


def competitors(
    ledger: Ledger, search: str | None, nation: str | None, known_at: datetime | None
) -> Answer:
    """``ledger competitors [SEARCH] [--nation N]``."""
    from projections.competitors import query_competitors

    found = query_competitors(ledger, search, nation=nation, known_at=known_at)
    query = {"search": search, "nation": found.nation, "known_at": known_at}
    return Answer("competitors", query, found.head, found.competitors)


def competitor(
    ledger: Ledger,
    name: str,
    nation: str | None,
    as_of: date | None,
    known_at: datetime | None,
) -> Answer:
    """``ledger competitor NAME [--nation N]``."""
    from projections.competitors import query_competitor

    career = query_competitor(ledger, name=name, nation=nation, as_of=as_of, known_at=known_at)
    query = {"competitor": name, "nation": nation, "as_of": as_of, "known_at": known_at}
    return Answer("competitor", query, career.head, career)


def history(
    ledger: Ledger,
    filters: dict[str, Any],
    *,
    season: str | None,
    known_at: datetime | None,
    changes: bool,
    commands: bool,
) -> Answer:
    """``ledger history [filters]``: the audit trail, read as it is sent."""
    from projections.history import per_command, stream_history
    from projections.output import head_at

    query = {**filters, "known_at": known_at, "changes": changes, "commands": commands,
             "season": season}  # fmt: skip
    asked = {**filters, "race": qualified(season, filters.get("race"))}
    head = head_at(ledger, known_at)
    upto = head.position if head is not None else 0
    rows: Iterator[Any] = (
        r
        for r in stream_history(ledger, known_at=known_at, changes_only=changes, **asked)
        if r.position <= upto
    )
    if commands:
        rows = (r for r in per_command(rows) if r.last <= upto)
    return Answer("history", query, head, [], rows=rows)


def diff(ledger: Ledger, season: str, cup: str, asked: Compared) -> Answer:
    """``ledger diff CUP --season SEASON --known-at T1 [--vs T2]`` (or two dates)."""
    known_at, vs, as_of, vs_as_of = asked.known_at, asked.vs, asked.as_of, asked.vs_as_of
    if known_at is None and vs_as_of is None:
        raise InputError("say what to compare: known_at=T1 [&vs=T2], or as_of=D1&vs_as_of=D2")
    from projections.diff import query_diff

    result = query_diff(
        ledger, f"{season}/{cup}", known_at=known_at, vs=vs, as_of=as_of, vs_as_of=vs_as_of
    )
    query = {
        "cup": cup,
        "season": season,
        "known_at": known_at,
        "vs": vs,
        "as_of": as_of,
        "vs_as_of": vs_as_of,
    }
    return Answer("diff", query, result.head, result)


def explain(
    ledger: Ledger,
    season: str,
    cup: str,
    name: str,
    nation: str | None,
    as_of: date | None,
    known_at: datetime | None,
) -> Answer:
    """``ledger explain CUP COMPETITOR --season SEASON [--nation N]``."""
    from projections.explain import query_explain

    x = query_explain(
        ledger, f"{season}/{cup}", name, nation=nation, as_of=as_of, known_at=known_at
    )
    query = {
        "cup": cup,
        "competitor": name,
        "nation": nation,
        "season": season,
        "as_of": as_of,
        "known_at": known_at,
    }
    return Answer("explain", query, x.head, x)


def checks(
    ledger: Ledger, season: str | None, race: str | None, known_at: datetime | None
) -> Answer:
    """``ledger check [RACE] --season S``: data warnings of a race, a season, or all."""
    from projections.checks import query_checks

    ref = qualified(season, race)
    only = season if ref is None else None
    warnings, head = with_head(
        ledger, known_at, lambda: query_checks(ledger, ref, season=only, known_at=known_at)
    )
    query = {"race": race, "season": season, "known_at": known_at, "strict": False}
    return Answer("check", query, head, warnings)


def head(ledger: Ledger) -> Answer:
    """The log head: its position, hash and when it was recorded."""
    from ledger.chain import parse_recorded_at

    newest = ledger.head()
    ref = HeadRef(position=newest.position, hash=newest.hash) if newest.position else None
    recorded = parse_recorded_at(newest.recorded_at) if newest.recorded_at else None
    data = {"events": newest.position, "recorded_at": recorded}
    return Answer("head", {}, ref, data)


def verify(ledger: Ledger, expect_head: str | None, chain_only: bool) -> Answer:
    """``ledger verify [--expect-head H] [--chain-only] --format json``."""
    from projections.verification import query_verify

    verified = query_verify(ledger, expect_head=expect_head, read_model=not chain_only)
    query = {"expect_head": verified.expect_head, "chain_only": chain_only}
    return Answer("verify", query, verified.head, verified)


def export_results(
    ledger: Ledger, cup: str | None, as_of: date | None, known_at: datetime | None
) -> Answer:
    """``ledger export results [--cup C] --format json``: the results as they stand, read a
    chunk of races at a time as they are sent."""
    from projections.export import results_chunks

    head, chunks = results_chunks(ledger, cup=cup, as_of=as_of, known_at=known_at)
    query = {"cup": cup, "as_of": as_of, "known_at": known_at}
    rows = (line for chunk in chunks for line in chunk.results)
    return Answer("export results", query, head, None, rows=rows)


def export_events(ledger: Ledger, known_at: datetime | None) -> Answer:
    """``ledger export events``: the event log as JSON Lines, read as it is sent (its rows
    are blocks of lines)."""
    from projections.export import stream_event_blocks
    from projections.output import head_at

    head = head_at(ledger, known_at)
    blocks = stream_event_blocks(ledger, known_at=known_at)
    return Answer("export events", {"known_at": known_at}, head, None, rows=blocks)
