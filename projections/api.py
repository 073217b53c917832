"""The Python API for notebooks and scripts: open a ledger, record, query, export.

Writing goes through the ``Ledger`` service (the same methods the command line calls);
reading returns the same pydantic models that ``--format json`` prints. Dates and times may
be given as ``date``/``datetime`` or as the text the command line takes::

    from projections.api import open_ledger, standings

    book = open_ledger("2013-14.db")
    table = standings(book, "men-500m", as_of="2014-03-09")
    table.standings[0].competitor          # 'Michel Mulder'
    table.to_dataframe()                   # with pandas installed

Every answer has ``to_dataframe()`` (a list answer, such as the audit trail, is a list that
has it too), with typed columns: nullable ``Int64`` places and ranks, ``datetime64[ns, UTC]``
moments, dates, and exact ``Decimal`` points and times. See docs/python-api.md.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from ledger.application import Ledger
from ledger.errors import InputError
from ledger.moments import parse_moment
from ledger.reader import preferring
from projections.checks import DataWarning, query_checks
from projections.competitors import Career, CompetitorList, query_competitor, query_competitors
from projections.diff import StandingsDiff, query_diff
from projections.explain import Explanation, query_explain
from projections.export import ResultsExport, query_results_export, stream_event_log
from projections.frames import Rows
from projections.history import CommandEntry, HistoryEntry, per_command, query_history
from projections.progression import Progression, query_change, query_progression
from projections.races import RaceSummary, query_races
from projections.results import RaceClassification, query_results
from projections.seasons import CupList, SeasonList, query_cups, query_seasons
from projections.standings import Standings, query_standings
from projections.verification import Verification, query_verify

__all__ = [
    "Ledger",
    "Rows",
    "checks",
    "commands",
    "competitor",
    "competitors",
    "cups",
    "diff",
    "event_log",
    "explain",
    "history",
    "in_season",
    "open_ledger",
    "races",
    "results",
    "results_export",
    "season_chart",
    "season_chart_change",
    "seasons",
    "standings",
    "verify",
]


def open_ledger(db: str | Path | None = None, *, readonly: bool = False) -> Ledger:
    """Open (or create) a ledger: a SQLite file path or a ``postgresql://`` URL.

    ``None`` means ``$LEDGER_DB``, else ``./ledger.db``, as on the command line. A reader
    (``readonly=True``) never writes and never creates a ledger.
    """
    return Ledger(None if db is None else str(db), readonly=readonly)


def in_season(season: str | None) -> AbstractContextManager[None]:
    """Meanwhile, an unqualified race or cup id that several seasons have names this
    season's (as ``--season`` and ``LEDGER_SEASON`` do on the command line)::

        with in_season("isu-ss-wc-2014-15"):
            table = standings(book, "men-500m")
    """
    return preferring(season)


def as_date(value: date | str | None, name: str = "as_of") -> date | None:
    """A date given as a ``date`` or as YYYY-MM-DD text."""
    if value is None or (isinstance(value, date) and not isinstance(value, datetime)):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise InputError(f"{name} {value!r}: not a date; use YYYY-MM-DD") from None


def as_datetime(value: datetime | str | None, name: str = "known_at") -> datetime | None:
    """A moment as a ``datetime`` with offset, or as text (ISO 8601, a date, now, 7d, ...)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise InputError(
                f"{name} {value!r}: needs a UTC offset, e.g. 2014-03-09T18:00:00+00:00"
            )
        return value
    try:
        return parse_moment(value, datetime.now(UTC))
    except InputError as e:
        raise InputError(f"{name} {value!r}: {e}") from None


def standings(
    book: Ledger,
    cup: str,
    *,
    as_of: date | str | None = None,
    known_at: datetime | str | None = None,
) -> Standings:
    """A cup's standings as of a date, as known at a time."""
    return query_standings(book, cup, as_of=as_date(as_of), known_at=as_datetime(known_at))


def results(
    book: Ledger,
    race: str,
    *,
    as_of: date | str | None = None,
    known_at: datetime | str | None = None,
) -> RaceClassification:
    """A race's classification: effective places, times and points."""
    return query_results(book, race, as_of=as_date(as_of), known_at=as_datetime(known_at))


def races(
    book: Ledger,
    *,
    as_of: date | str | None = None,
    known_at: datetime | str | None = None,
    season: str | None = None,
    cup: str | None = None,
) -> Rows[RaceSummary]:
    """The scheduled races (of a season or cup), in date order, with their result counts."""
    found = query_races(
        book, as_of=as_date(as_of), known_at=as_datetime(known_at), season=season, cup=cup
    )
    return Rows(RaceSummary, found)


def _filters(filters: dict[str, Any]) -> dict[str, Any]:
    for name in ("since", "until"):
        if name in filters:
            filters[name] = as_datetime(filters[name], name)
    if "as_of" in filters:
        filters["as_of"] = as_date(filters["as_of"])
    return filters


def history(
    book: Ledger, *, known_at: datetime | str | None = None, **filters: Any
) -> Rows[HistoryEntry]:
    """The audit trail, one row per event (filters: race, competitor, nation, by, command,
    since, until, as_of, changes_only)."""
    rows = query_history(book, known_at=as_datetime(known_at), **_filters(filters))
    return Rows(HistoryEntry, rows)


def commands(
    book: Ledger, *, known_at: datetime | str | None = None, **filters: Any
) -> Rows[CommandEntry]:
    """The audit trail, one row per command (the filters of ``history``)."""
    rows = query_history(book, known_at=as_datetime(known_at), **_filters(filters))
    return Rows(CommandEntry, per_command(rows))


def diff(
    book: Ledger,
    cup: str,
    *,
    known_at: datetime | str | None = None,
    vs: datetime | str | None = None,
    as_of: date | str | None = None,
    vs_as_of: date | str | None = None,
) -> StandingsDiff:
    """How a cup's standings changed between two knowledge times or dates, and why."""
    return query_diff(
        book,
        cup,
        known_at=as_datetime(known_at),
        vs=as_datetime(vs, "vs"),
        as_of=as_date(as_of),
        vs_as_of=as_date(vs_as_of, "vs_as_of"),
    )


def explain(
    book: Ledger,
    cup: str,
    competitor: str,
    *,
    nation: str | None = None,
    as_of: date | str | None = None,
    known_at: datetime | str | None = None,
) -> Explanation:
    """A competitor's standing in a cup, explained race by race."""
    return query_explain(
        book,
        cup,
        competitor,
        nation=nation,
        as_of=as_date(as_of),
        known_at=as_datetime(known_at),
    )


def checks(
    book: Ledger,
    race: str | None = None,
    *,
    season: str | None = None,
    known_at: datetime | str | None = None,
) -> Rows[DataWarning]:
    """Data warnings of one race, of a season's races, or of every race."""
    return Rows(
        DataWarning, query_checks(book, race, season=season, known_at=as_datetime(known_at))
    )


def verify(
    book: Ledger, *, expect_head: str | None = None, read_model: bool = True
) -> Verification:
    """Recompute the hash chain and check the read model against the log (an
    ``IntegrityViolation`` names the first thing that does not match)."""
    return query_verify(book, expect_head=expect_head, read_model=read_model)


def seasons(book: Ledger, *, known_at: datetime | str | None = None) -> SeasonList:
    """The seasons the ledger holds, with their cups, races and dates."""
    return query_seasons(book, known_at=as_datetime(known_at))


def cups(
    book: Ledger, *, season: str | None = None, known_at: datetime | str | None = None
) -> CupList:
    """The cups of every season, or of one."""
    return query_cups(book, season=season, known_at=as_datetime(known_at))


def competitors(
    book: Ledger,
    search: str | None = None,
    *,
    nation: str | None = None,
    known_at: datetime | str | None = None,
) -> CompetitorList:
    """The competitors holding a name that contains ``search``, case aside (all, for none)."""
    return query_competitors(book, search, nation=nation, known_at=as_datetime(known_at))


def competitor(
    book: Ledger,
    name: str,
    *,
    nation: str | None = None,
    as_of: date | str | None = None,
    known_at: datetime | str | None = None,
) -> Career:
    """A competitor's career across seasons: every result, its points and rank per cup."""
    return query_competitor(
        book, name=name, nation=nation, as_of=as_date(as_of), known_at=as_datetime(known_at)
    )


def results_export(
    book: Ledger,
    *,
    cup: str | None = None,
    as_of: date | str | None = None,
    known_at: datetime | str | None = None,
) -> ResultsExport:
    """The current results (of one cup, or all), as rows of the importer's CSV."""
    return query_results_export(book, cup=cup, as_of=as_date(as_of), known_at=as_datetime(known_at))


def event_log(book: Ledger, *, known_at: datetime | str | None = None) -> Iterator[dict[str, Any]]:
    """Every event in log order, with position, transaction time, chain hash and topic."""
    return stream_event_log(book, known_at=as_datetime(known_at))


def season_chart(
    book: Ledger,
    cup: str,
    *,
    as_of: date | str | None = None,
    known_at: datetime | str | None = None,
) -> Progression:
    """Every ranked competitor's running total, race by race (what ``ledger chart`` draws)."""
    return query_progression(book, cup, as_of=as_date(as_of), known_at=as_datetime(known_at))


def season_chart_change(
    book: Ledger,
    cup: str,
    *,
    before: datetime | str,
    after: datetime | str | None = None,
    as_of: date | str | None = None,
) -> tuple[Progression, Progression]:
    """The season race by race as known at ``before`` and at ``after`` (default: now).

    Both are drawn over the races of the later one, so that the lines can be compared.
    """
    earlier, later = as_datetime(before, "known_at"), as_datetime(after, "vs")
    if earlier is None:
        raise InputError("say when 'before' is: --known-at T1")
    if later is not None and later < earlier:
        raise InputError(
            f"--vs {later.isoformat()} is earlier than --known-at {earlier.isoformat()}"
        )
    return query_change(book, cup, before=earlier, after=later, as_of=as_date(as_of))
