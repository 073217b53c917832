"""Data warnings that are not errors: results that are recorded as given but look wrong.

- A time that contradicts the places: a better place with a slower time (the men's 500 m
  HVN2 bronze of 34.64, faster than the winner's 34.78, as the source publishes it).
- A place sequence with a gap that no tie explains (1, 2, 4 with no tie at 2), or a place
  that a tie should have skipped (1, 1, 2). Places missing after the last one recorded are not
  gaps: sources often leave out those who scored nothing.
- Two competitors whose names look the same (they differ only in case, or by look-alike
  letters of another script, a Cyrillic 'а' for a Latin 'a'), which a typo in a source makes.

Disqualified results keep their recorded place here: a disqualification explains a gap in
the effective places, not in the recorded ones.
"""

from __future__ import annotations

import pickle
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal

from ledger.application import Ledger, reading_file
from ledger.fold import RaceKey, RaceState, ResultState, World
from ledger.identity import scripts
from ledger.parallel import in_order, processes_for_parts
from ledger.reader import Held, Reader, look_alikes
from ledger.values import format_time
from projections.history import ordinal
from projections.models import Cut, Out, day_chunks
from projections.races import known_season


class DataWarning(Out):
    """A result that looks wrong, with the race it is in."""

    season: str
    race: str
    kind: str
    message: str


def _who(result: ResultState) -> str:
    return f"{result.name} ({result.nation})" if result.nation else result.name


def _times(race: RaceState) -> list[DataWarning]:
    timed = sorted(
        (r for r in race.results.values() if r.place is not None and r.time and r.status is None),
        key=lambda r: (r.place or 0, r.name),
    )
    warnings = []
    ahead_of: list[ResultState] = []  # the results with a better place than this one's
    slowest: Decimal | None = None  # the slowest time among them
    index = 0
    for result in timed:
        while index < len(timed) and (timed[index].place or 0) < (result.place or 0):
            ahead_of.append(timed[index])
            time = timed[index].time
            slowest = time if slowest is None or (time is not None and time > slowest) else slowest
            index += 1
        if slowest is None or result.time is None or slowest <= result.time:
            continue  # the common case: nobody ahead is slower
        ahead = next(a for a in ahead_of if a.time is not None and a.time > result.time)
        if ahead is not None:
            warnings.append(
                DataWarning(
                    season=race.season,
                    race=race.race,
                    kind="time-contradicts-place",
                    message=(
                        f"{race.race}: {_who(result)}, {ordinal(result.place or 0)} in"
                        f" {format_time(result.time)}, is faster than {_who(ahead)},"
                        f" {ordinal(ahead.place or 0)} in {format_time(ahead.time)}"
                    ),
                )
            )
    return warnings


def _gaps(race: RaceState) -> list[DataWarning]:
    counts = Counter(r.place for r in race.results.values() if r.place is not None)
    warnings = []
    expected, previous = 1, 0
    for place in sorted(counts):
        if place != expected:
            tied = counts.get(previous, 0)
            if place < expected:
                problem = (
                    f"a {tied}-way tie for {ordinal(previous)} should be followed"
                    f" by {ordinal(expected)}"
                )
            else:
                missing = ", ".join(ordinal(p) for p in range(expected, place))
                problem = f"no {missing}, and no tie explains it"
            warnings.append(
                DataWarning(
                    season=race.season,
                    race=race.race,
                    kind="place-gap",
                    message=f"{race.race}: places jump from {ordinal(previous)} to"
                    f" {ordinal(place)}: {problem}"
                    if previous
                    else f"{race.race}: the first place recorded is {ordinal(place)}: {problem}",
                )
            )
        expected, previous = place + counts[place], place
    return warnings


def _names(race: RaceState, similar: Mapping[str, Sequence[Held]]) -> list[DataWarning]:
    warnings = []
    for result in sorted(race.results.values(), key=lambda r: r.name):
        for other in similar.get(result.name, ()):
            if other.competitor_id == result.competitor_id:
                continue
            ours, theirs = scripts(result.name), scripts(other.name)
            how = (
                f"letters of another script ({', '.join(sorted(theirs ^ ours))})"
                if ours != theirs
                else "case only"
            )
            warnings.append(
                DataWarning(
                    season=race.season,
                    race=race.race,
                    kind="look-alike-name",
                    message=f"{race.race}: {_who(result)} and {other.name}"
                    f"{f' ({other.nation})' if other.nation else ''} look the same but are two"
                    f" competitors (they differ by {how}); `ledger rename` one if they are one",
                )
            )
    return warnings


def check_race(
    race: RaceState, similar: Mapping[str, Sequence[Held]] | None = None
) -> list[DataWarning]:
    """Every data warning of one race."""
    return _times(race) + _gaps(race) + _names(race, similar or {})


def checks(
    races: Iterable[RaceState], similar: Mapping[str, Sequence[Held]] | None = None
) -> list[DataWarning]:
    """Data warnings of these races, in date order (pure)."""
    chosen = sorted(races, key=_date_order)
    return [warning for race in chosen for warning in check_race(race, similar)]


def _date_order(race: RaceState) -> tuple[object, ...]:
    """Where a race's warnings come: by date, then season, then the race's order in it."""
    return (race.date, race.season, race.order)


def _held_names(races: Iterable[RaceState]) -> set[str]:
    """The names the results of these races are held under."""
    return {r.name for race in races for r in race.results.values()}


CHECK_CHUNK = 500  # races folded at a time when checking a season or every race


def query_checks(
    ledger: Ledger,
    race: str | None = None,
    *,
    season: str | None = None,
    known_at: datetime | None = None,
    parallel: bool = False,
) -> list[DataWarning]:
    """Data warnings of one race, of a season's races, or of every race, in date order.

    Many races are checked a chunk of races at a time, the chunks in date order.
    ``parallel``: on a large SQLite file the chunks are checked by several processes at
    once (``ledger.parallel``); every chunk is read up to the same position, so the answer
    is the same."""
    with ledger.reading() as reader:
        cut = Cut.at(reader, known_at)
        if race is not None:
            key = reader.race_key(reader.resolve_race(race, cut.upto))
            return _Checker(reader, cut.upto).warnings([key] if key is not None else [])
        chunks = day_chunks(reader.race_dates(cut.upto, season=season), CHECK_CHUNK)
    if season is not None and not chunks:
        known_season(ledger, season)  # a typo is refused, not answered with "no warnings"
    path = ledger.chain.file_path() if parallel else None
    processes = 1 if path is None else processes_for_parts(len(chunks))
    if path is None or processes == 1:
        with ledger.reading() as reader:
            checker = _Checker(reader, cut.upto)
            return [warning for keys in chunks for warning in checker.warnings(keys)]
    upto = cut.upto

    @contextmanager
    def opened() -> Iterator[_Checker]:  # each process's own, through its own connection
        with reading_file(path) as reader:
            yield _Checker(reader, upto)

    def made(checker: _Checker, k: int) -> bytes:
        return pickle.dumps(checker.warnings(chunks[k]))

    parts = in_order(path, len(chunks), opened, made, processes)
    return [warning for part in parts for warning in pickle.loads(part)]


class _Checker:
    """Checks races a chunk at a time through one reader, up to one position, looking up the
    look-alikes of each name once (a competitor has results in many chunks)."""

    def __init__(self, reader: Reader, upto: int) -> None:
        self.reader = reader
        self.upto = upto
        self.similar: dict[str, list[Held]] = {}
        self.asked: set[str] = set()

    def warnings(self, keys: Sequence[int]) -> list[DataWarning]:
        """The warnings of these races, in date order."""
        world = self.reader.races_world(keys, self.upto)
        names = _held_names(world.races.values())
        self.similar.update(look_alikes(self.reader, names - self.asked, self.upto))
        self.asked |= names
        return checks(world.races.values(), self.similar)


def _similar(reader: Reader, races: Iterable[RaceState], upto: int) -> dict[str, list[Held]]:
    return look_alikes(reader, _held_names(races), upto)


def warnings_after(ledger: Ledger, world: World, races: Iterable[RaceKey]) -> list[DataWarning]:
    """Data warnings of the races a command touched, from the state it left them in."""
    touched = [world.races[key] for key in races if key in world.races]
    with ledger.reading() as reader:
        similar = _similar(reader, touched, reader.head().position)
    return checks(touched, similar)
