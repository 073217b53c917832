"""The seasons and their cups: what the ledger holds, as known at a time.

``season_list``, ``season_rows`` (the table's rows, without each cup's summary) and
``cup_summary`` are the pure parts, over a folded world of the seasons' declarations and
their races' calendar; ``query_seasons``, ``stream_seasons``, ``query_cups`` and
``stream_cups`` read exactly those through the reader, a few hundred seasons at a time (one
declaration per season; each cup's count and span of race dates from the read model, folding
the calendar events only of the races that were rescheduled), never a result. On a SQLite
file of more seasons than a chunk holds, the command line has the chunks read by several
processes at once (``ledger.parallel``).
"""

from __future__ import annotations

import pickle
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from typing import Any, Protocol, TypeVar

from ledger.application import Ledger, reading_file
from ledger.errors import UnknownIdError
from ledger.fold import CupState, SeasonState, World
from ledger.ids import suggest
from ledger.parallel import in_order, processes_for_parts
from ledger.reader import Reader
from projections.frames import frame_of
from projections.models import Cut, HeadRef, Out


class CupSummary(Out):
    """A cup of a season: its name, its rules in brief, and the races it scores."""

    season: str
    cup: str
    name: str
    best: int | None
    of: str | None  # a team cup scores the races of this cup
    teams: bool
    races: int
    first: date | None
    last: date | None


class SeasonSummary(Out):
    """A declared season: its cups and the dates its calendar spans."""

    season: str
    name: str
    cups: list[CupSummary]
    races: int
    first: date | None
    last: date | None


class SeasonRow(Out):
    """A declared season as its table row: how many cups it declares, the dates its calendar
    spans (``SeasonSummary`` without the cups' own summaries)."""

    season: str
    name: str
    cups: int
    races: int
    first: date | None
    last: date | None


class SeasonList(Out):
    """The seasons a ledger holds, as known at a time."""

    known_at: datetime | None
    seasons: list[SeasonSummary]
    head: HeadRef | None = None

    def to_dataframe(self) -> Any:
        """A pandas DataFrame, one season a row (its cups as a list)."""
        return frame_of(SeasonSummary, self.seasons)


class CupList(Out):
    """The cups of one season, or of every season, as known at a time."""

    season: str | None
    known_at: datetime | None
    cups: list[CupSummary]
    head: HeadRef | None = None

    def to_dataframe(self) -> Any:
        """A pandas DataFrame, one cup a row."""
        return frame_of(CupSummary, self.cups)


Calendar = Iterable[tuple[str, str, date]]  # (season, cup, date) of each race
Spans = dict[tuple[str, str], tuple[int, date, date]]  # (season, cup): races, first, last


def calendar_of(world: World) -> Calendar:
    """The calendar of a folded world's races."""
    return [(r.season, r.cup, r.date) for r in world.races.values()]


def spans_of(calendar: Calendar, as_of: date | None = None, more: Spans | None = None) -> Spans:
    """How many races each (season, cup) has on or before ``as_of``, and the first and last
    of their dates, in one pass; added to the spans of ``more`` races if given (pure)."""
    spans: Spans = dict(more or {})
    for season, cup, day in calendar:
        if as_of is not None and day > as_of:
            continue
        races, first, last = spans.get((season, cup), (0, day, day))
        spans[(season, cup)] = (races + 1, min(first, day), max(last, day))
    return spans


def cup_summary(
    world: World,
    cup: CupState,
    as_of: date | None = None,
    spans: Spans | None = None,
) -> CupSummary:
    """A cup with the races it scores (on or before ``as_of``), from a folded world and the
    spans of its calendar (``spans``, or the world's own races) (pure)."""
    of = cup.rules.get("of")
    found = spans_of(calendar_of(world), as_of) if spans is None else spans
    span = found.get((cup.season, str(of) if of else cup.cup))
    return CupSummary(
        season=cup.season,
        cup=cup.cup,
        name=cup.name,
        best=cup.best,
        of=str(of) if of else None,
        teams=bool(cup.rules.get("teams")),
        races=span[0] if span else 0,
        first=span[1] if span else None,
        last=span[2] if span else None,
    )


def season_list(
    world: World,
    order: list[str],
    *,
    as_of: date | None = None,
    spans: Spans | None = None,
) -> list[SeasonSummary]:
    """The seasons of a folded world, in ``order`` (declaration order), with their cups and
    the dates their races span (``spans`` of their calendar, or the world's own races)
    (pure)."""
    by_cup = spans_of(calendar_of(world), as_of) if spans is None else spans
    return [
        SeasonSummary(
            season=season.season,
            name=season.name,
            cups=[cup_summary(world, cup, as_of, by_cup) for cup in season.cups.values()],
            races=races,
            first=first,
            last=last,
        )
        for season, (races, first, last) in _spanned(world, order, by_cup)
    ]


def season_rows(
    world: World,
    order: list[str],
    *,
    as_of: date | None = None,
    spans: Spans | None = None,
) -> list[SeasonRow]:
    """The rows of ``season_list``'s seasons: each with the number of cups it declares, not
    their summaries (pure)."""
    by_cup = spans_of(calendar_of(world), as_of) if spans is None else spans
    return [
        SeasonRow(
            season=season.season,
            name=season.name,
            cups=len(season.cups),
            races=races,
            first=first,
            last=last,
        )
        for season, (races, first, last) in _spanned(world, order, by_cup)
    ]


def _spanned(
    world: World, order: list[str], by_cup: Spans
) -> Iterator[tuple[SeasonState, tuple[int, date | None, date | None]]]:
    """The world's seasons in ``order``, each with its races in all and the first and last
    of their dates, from its cups' spans."""
    by_season: dict[str, tuple[int, date, date]] = {}
    for (season_id, _), (races, first, last) in by_cup.items():
        total, earliest, latest = by_season.get(season_id, (0, first, last))
        by_season[season_id] = (total + races, min(earliest, first), max(latest, last))
    for name in order:
        season = world.seasons.get(name)
        if season is not None:
            yield season, by_season.get(name, (0, None, None))


def _declared(reader: Reader, upto: int, season: str | None) -> list[str]:
    declared = [name for name, _ in reader.seasons(upto)]
    if season is None:
        return declared
    if season not in declared:
        raise UnknownIdError(f"unknown season {season!r}{suggest(season, declared)}")
    return [season]


CHUNK = 500  # seasons read and summarised at a time

_Summary = TypeVar("_Summary", SeasonSummary, SeasonRow)


class Summarise(Protocol[_Summary]):
    """``season_list`` or ``season_rows``: what a chunk of seasons is summarised into."""

    def __call__(
        self, world: World, order: list[str], *, as_of: date | None, spans: Spans | None
    ) -> list[_Summary]: ...


def query_seasons(
    ledger: Ledger,
    *,
    season: str | None = None,
    as_of: date | None = None,
    known_at: datetime | None = None,
    parallel: bool = False,
) -> SeasonList:
    """The seasons declared (or the one named), as known at a time, in declaration order
    (``parallel``: see ``stream_seasons``)."""
    cut, names = _cut(ledger, known_at, season)
    found = _read(ledger, cut, names, season is None, as_of, season_list, by_cup=True,
                  parallel=parallel)  # fmt: skip
    return SeasonList(known_at=known_at, seasons=list(found), head=cut.head)


def stream_seasons(
    ledger: Ledger,
    *,
    as_of: date | None = None,
    known_at: datetime | None = None,
    parallel: bool = False,
) -> Iterator[SeasonRow]:
    """The rows of ``query_seasons``' seasons, read and summarised a chunk at a time as they
    are yielded: memory stays flat however many the ledger holds.

    ``parallel``: a SQLite file's chunks are read by several processes at once, each
    through a connection of its own (``ledger.parallel``), and come out in order. Every
    chunk is read up to the same position of the log, so the answer is the same.
    """
    cut, names = _cut(ledger, known_at, None)
    yield from _read(ledger, cut, names, True, as_of, season_rows, by_cup=False,
                     parallel=parallel)  # fmt: skip


def stream_cups(
    ledger: Ledger,
    *,
    season: str | None = None,
    known_at: datetime | None = None,
    parallel: bool = False,
) -> Iterator[CupSummary]:
    """The cups of ``query_cups``, read and summarised a chunk of seasons at a time as they
    are iterated (``parallel``: see ``stream_seasons``). An unknown season is refused at
    once, before any cup."""
    cut, names = _cut(ledger, known_at, season)
    found = _read(ledger, cut, names, season is None, None, season_list, by_cup=True,
                  parallel=parallel)  # fmt: skip
    return (cup for summary in found for cup in summary.cups)


def _cut(ledger: Ledger, known_at: datetime | None, season: str | None) -> tuple[Cut, list[str]]:
    """Where a query of seasons reads up to, and the seasons (or the one named) declared by
    then: every chunk is read up to that position, in whatever transaction or process."""
    with ledger.reading() as reader:
        cut = Cut.at(reader, known_at)
        return cut, _declared(reader, cut.upto, season)


def _read(
    ledger: Ledger,
    cut: Cut,
    names: list[str],
    every: bool,
    as_of: date | None,
    summarise: Summarise[_Summary],
    *,
    by_cup: bool,
    parallel: bool,
) -> Iterator[_Summary]:
    """These seasons declared by ``cut`` (``every`` season the ledger declared, or not),
    summarised a chunk at a time (their races spanned ``by_cup``, or by season when only the
    seasons' spans are asked), in one process or, ``parallel``, in several."""
    chunks = list(_chunks(names, every=every))
    path = ledger.chain.file_path() if parallel else None
    processes = 1 if path is None else processes_for_parts(len(chunks))
    if path is None or processes == 1:
        with ledger.reading() as reader:
            for chunk, only in chunks:
                yield from _summaries(reader, chunk, only, cut, as_of, summarise, by_cup=by_cup)
        return

    def made(reader: Reader, k: int) -> bytes:
        chunk, only = chunks[k]
        return pickle.dumps(_summaries(reader, chunk, only, cut, as_of, summarise, by_cup=by_cup))

    for part in in_order(path, len(chunks), lambda: reading_file(path), made, processes):
        found: list[_Summary] = pickle.loads(part)  # from a process this one forked
        yield from found


def _chunks(names: list[str], *, every: bool) -> Iterator[tuple[list[str], list[str] | None]]:
    """The seasons a chunk at a time, each with the seasons its calendar is read for: none
    named when it is every season the ledger declared (no filter to apply)."""
    if every and len(names) <= CHUNK:
        yield names, None
        return
    for start in range(0, len(names), CHUNK):
        chunk = names[start : start + CHUNK]
        yield chunk, chunk


def _summaries(
    reader: Reader,
    names: list[str],
    only: list[str] | None,
    cut: Cut,
    as_of: date | None,
    summarise: Summarise[_Summary],
    *,
    by_cup: bool,
) -> list[_Summary]:
    """These seasons' summaries: each cup's races counted in the read model (of the seasons
    ``only`` names, or of all), and the seasons' declarations folded with the calendar events
    of the races that were moved."""
    counted, moved = reader.calendar_spans(cut.upto, only, as_of, by_cup=by_cup)
    world = reader.fold(
        reader.season_events(names, cut.upto), reader.calendar_events(moved, cut.upto)
    )
    spans = spans_of(calendar_of(world), as_of, counted)
    return summarise(world, names, as_of=as_of, spans=spans)


def query_cups(
    ledger: Ledger,
    *,
    season: str | None = None,
    known_at: datetime | None = None,
    parallel: bool = False,
) -> CupList:
    """The cups of a season (or of every season), in declaration order (``parallel``: see
    ``stream_seasons``)."""
    listed = query_seasons(ledger, season=season, known_at=known_at, parallel=parallel)
    cups = [cup for s in listed.seasons for cup in s.cups]
    return CupList(season=season, known_at=known_at, cups=cups, head=listed.head)
