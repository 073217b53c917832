"""The Python API for notebooks and scripts: open a ledger, record, query, export.

Writing goes through the ``Ledger`` service (the same methods the command line calls);
reading returns the same pydantic models that ``--format json`` prints. Dates and times may
be given as ``date``/``datetime`` or as the ISO text the command line takes::

    from projections.api import open_ledger, standings

    book = open_ledger("2013-14.db")
    table = standings(book, "men-500m", as_of="2014-03-09")
    table.standings[0].competitor          # 'Michel Mulder'
    table.to_dataframe()                   # with pandas installed

See docs/python-api.md.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from ledger.application import Ledger
from ledger.errors import InputError, UnknownIdError
from ledger.moments import parse_moment
from projections.export import ResultsExport, current_results, event_record
from projections.fold import replay
from projections.models import RaceClassification, RaceSummary, Standings
from projections.progression import Progression, progression
from projections.read import head_at, load_view, query_races, query_results, query_standings
from projections.views import resolve_cup

__all__ = [
    "Ledger",
    "event_log",
    "open_ledger",
    "races",
    "results",
    "results_export",
    "season_chart",
    "season_chart_change",
    "standings",
]


def open_ledger(db: str | Path | None = None) -> Ledger:
    """Open (or create) a ledger: a SQLite file path or a ``postgresql://`` URL.

    ``None`` means ``$LEDGER_DB``, else ``./ledger.db``, as on the command line.
    """
    return Ledger(None if db is None else str(db))


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
    book: Ledger, race: str, *, known_at: datetime | str | None = None
) -> RaceClassification:
    """A race's classification: effective places, times and points."""
    return query_results(book, race, known_at=as_datetime(known_at))


def races(book: Ledger, *, known_at: datetime | str | None = None) -> list[RaceSummary]:
    """Every scheduled race, in date order, with how many results it has."""
    return query_races(book, known_at=as_datetime(known_at))


def results_export(
    book: Ledger,
    *,
    cup: str | None = None,
    as_of: date | str | None = None,
    known_at: datetime | str | None = None,
) -> ResultsExport:
    """The current results (of one cup, or all), as rows of the importer's CSV."""
    view = load_view(book, as_datetime(known_at))
    which = None if cup is None else resolve_cup(view, cup)
    return current_results(view, which, as_date(as_of))


def event_log(book: Ledger, *, known_at: datetime | str | None = None) -> Iterator[dict[str, Any]]:
    """Every event in log order, with position, transaction time, chain hash and topic."""
    moment = as_datetime(known_at)
    upto = book.position_at(moment) if moment is not None else None
    for row, event in book.read_log(upto):
        yield event_record(row.position, row.recorded_at, row.hash, row.topic, vars(event))


def season_chart(
    book: Ledger,
    cup: str,
    *,
    as_of: date | str | None = None,
    known_at: datetime | str | None = None,
) -> Progression:
    """Every ranked competitor's running total, race by race (what ``ledger chart`` draws)."""
    moment = as_datetime(known_at)
    # The view is read up to a position, so that the head stated is the one drawn.
    upto = book.position_at(moment) if moment is not None else book.head().position
    view = replay(book.read_events(upto=upto))
    season, cup_id = resolve_cup(view, cup)
    chart = progression(view, season, cup_id, as_of=as_date(as_of), known_at=moment)
    return chart.model_copy(update={"head": head_at(book, upto)})


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
    day = as_date(as_of)
    upto_after = book.position_at(later) if later is not None else book.head().position
    view_after = replay(book.read_events(upto=upto_after))
    season, cup_id = resolve_cup(view_after, cup)
    chart_after = progression(view_after, season, cup_id, as_of=day, known_at=later)
    upto_before = book.position_at(earlier)
    view_before = replay(book.read_events(upto=upto_before))
    if season not in view_before.seasons:
        raise UnknownIdError(
            f"cup {season}/{cup_id} was not declared yet at {earlier.isoformat()};"
            " choose a later --known-at"
        )
    chart_before = progression(
        view_before, season, cup_id, as_of=day, known_at=earlier, axis=chart_after.races
    )
    return (
        chart_before.model_copy(update={"head": head_at(book, upto_before)}),
        chart_after.model_copy(update={"head": head_at(book, upto_after)}),
    )
