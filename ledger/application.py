"""The Ledger application: the service layer every edge (CLI, tests, notebooks) calls.

Methods take plain values (str, date, Decimal, datetime) and either record new events in one
atomic save or raise a ``LedgerError`` with a one-line message. Nothing here prints.
"""

from __future__ import annotations

import gc
import getpass
import random
import time as _time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar, cast
from uuid import UUID

import orjson
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import (
    IntegrityError,
    JSONTranscoder,
    OperationalError,
    PersistenceError,
    StoredEvent,
    Transcoder,
    Transcoding,
)

from ledger.bulk import recorded_results
from ledger.chain import ChainRow, Head, format_recorded_at
from ledger.domain import (
    STATUSES,
    Entry,
    LedgerEvent,
    Race,
    RaceScheduled,
    Season,
    competitor_key,
    legacy_race_uuid,
    race_uuid,
    season_uuid,
)
from ledger.errors import (
    AmbiguousIdError,
    ConflictError,
    DuplicateError,
    InputError,
    LedgerError,
    RecordedTimeError,
    StoreError,
    UnknownIdError,
)
from ledger.ids import resolve, suggest
from ledger.store import (
    ChainedRecorder,
    EventRun,
    RecordedTimeWentBackwards,
    redact,
    resolve_db,
    store_env,
)
from ledger.transcoder import OrjsonTranscoder
from ledger.values import MAX_PLACE, MAX_TIME, ParsedRow, parse_nation
from ledger.verify import Verified, verify_chain

if TYPE_CHECKING:  # the file models load pydantic's validators: only imports need them
    from ledger.inputs import ResultRow, SeasonFile

MAX_ATTEMPTS = 30
PAGE = 10_000

_Built = TypeVar("_Built")

Progress = Callable[[int, int], None]
"""A progress callback, ``progress(done, total)``: the CLI draws it, the write side calls it."""


def _no_progress(done: int, total: int) -> None:
    """Progress nobody watches."""


class DateAsISO(Transcoding):
    """Stores a ``date`` as YYYY-MM-DD."""

    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        """Encode a date."""
        return obj.isoformat()

    def decode(self, data: str) -> date:
        """Decode a date."""
        return date.fromisoformat(data)


@dataclass(frozen=True)
class Receipt:
    """What a command wrote: how many events, at what time, and the head afterwards."""

    events: int
    recorded_at: datetime
    head: Head


class RaceRef(NamedTuple):
    """A scheduled race, as the write side knows it (a tuple: an import keys every row by it)."""

    season: str
    race: str
    cup: str
    race_date: date


UNSET: Any = object()


class RaceIndex:
    """Scheduled races by qualified key and by bare id: a file's many rows resolve in O(1)."""

    def __init__(self, races: Sequence[RaceRef]) -> None:
        self.by_key = {(r.season, r.race): r for r in races}
        self.by_id: dict[str, list[RaceRef]] = {}
        for r in races:
            self.by_id.setdefault(r.race, []).append(r)
        self._seen: dict[str, RaceRef] = {}

    def resolve(self, ref: str) -> RaceRef:
        """The race ``ref`` names; unknown and ambiguous ids are worded by ``ledger.ids``."""
        found = self._seen.get(ref)
        if found is not None:
            return found
        text = ref.strip()
        if "/" in text:
            season, _, item = text.partition("/")
            found = self.by_key.get((season, item))
        else:
            matches = self.by_id.get(text, [])
            found = matches[0] if len(matches) == 1 else None
        if found is None:
            found = self.by_key[resolve(ref, self.by_key, "race")]  # raises, with suggestions
        self._seen[ref] = found
        return found


def _race_refs(states: Iterable[bytes]) -> list[RaceRef]:
    """Races from their RaceScheduled events' stored state, read as JSON (no event objects:
    an import resolves its race ids from these)."""
    refs = []
    for state in states:
        s = orjson.loads(state)
        refs.append(
            RaceRef(s["season"], s["race"], s["cup"], date.fromisoformat(s["race_date"]["_data_"]))
        )
    return refs


def default_by() -> str:
    """Who is recording: the OS user, unless told otherwise."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _now() -> datetime:
    return datetime.now(UTC)


class Ledger(Application[UUID]):
    """An event-sourced ledger of seasons, races and results."""

    name = "Ledger"

    def __init__(self, db: str | None = None, *, clock: Callable[[], datetime] = _now) -> None:
        self.db = resolve_db(db)
        self.clock = clock
        try:
            super().__init__(env=store_env(self.db))
        except LedgerError:
            raise
        except (PersistenceError, OSError) as e:
            raise StoreError(f"--db {redact(self.db)}: cannot open the ledger ({e})") from None

    def construct_transcoder(self) -> Transcoder:
        """The library's JSON format, encoded with orjson (see ``ledger.transcoder``)."""
        transcoder = OrjsonTranscoder()
        self.register_transcodings(transcoder)
        return transcoder

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        """Dates travel as ISO text, beside the library's UUID, Decimal and datetime."""
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())

    @property
    def chain(self) -> ChainedRecorder:
        """The recorder, with the chain and head queries this ledger adds."""
        return cast(ChainedRecorder, self.recorder)

    # --- the log -----------------------------------------------------------------------

    def head(self) -> Head:
        """The newest event: position, hash and transaction time."""
        return self.chain.head()

    def verify(
        self, *, expect_head: str | None = None, advance: Callable[[int], None] | None = None
    ) -> Verified:
        """Recompute the hash chain over the whole log; IntegrityViolation at the first bad one."""
        return verify_chain(self.chain, expect_head=expect_head, advance=advance)

    def position_at(self, known_at: datetime) -> int:
        """The last position recorded at or before ``known_at``."""
        return self.chain.position_at(format_recorded_at(known_at))

    def read_events(
        self, upto: int | None = None, after: int = 0
    ) -> Iterator[tuple[int, LedgerEvent]]:
        """Every event in log order, as (position, event), up to a position if given."""
        for row, event in self.read_log(upto, after):
            yield row.position, event

    def read_log(
        self, upto: int | None = None, after: int = 0
    ) -> Iterator[tuple[ChainRow, LedgerEvent]]:
        """Every event in log order with its chain row (position, time, hash), up to ``upto``."""
        while True:
            rows = self.chain.chain_rows(after, PAGE)
            for row in rows:
                if upto is not None and row.position > upto:
                    return
                stored = StoredEvent(
                    originator_id=UUID(row.originator_id),
                    originator_version=row.originator_version,
                    topic=row.topic,
                    state=row.state,
                )
                yield row, cast(LedgerEvent, self.mapper.to_domain_event(stored))
            if len(rows) < PAGE:
                return
            after = rows[-1].position

    def scheduled_races(self) -> list[RaceRef]:
        """Every race scheduled in the ledger."""
        return _race_refs(self.chain.topic_states(RaceScheduled.TOPIC))

    def _races_named(self, refs: Sequence[str]) -> RaceIndex:
        """An index of the races these ids could name (every season's race of each id)."""
        names = sorted({ref.strip().rpartition("/")[2] for ref in refs})
        return RaceIndex(_race_refs(self.chain.scheduled_states(names)))

    def resolve_race(self, ref: str, races: Sequence[RaceRef] | None = None) -> RaceRef:
        """The race a user's id names, or an UnknownIdError / AmbiguousIdError."""
        return RaceIndex(self.scheduled_races() if races is None else races).resolve(ref)

    # --- recording -----------------------------------------------------------------------

    def _stamp(self, recorded_at: datetime | None) -> datetime:
        now = self.clock()
        if recorded_at is None:
            return now
        if recorded_at.tzinfo is None or recorded_at.utcoffset() is None:
            raise InputError("--recorded-at needs a UTC offset, e.g. 2014-03-09T18:00:00+00:00")
        if recorded_at > now:
            raise RecordedTimeError(
                f"--recorded-at {recorded_at.isoformat()} is in the future"
                f" (now is {now.isoformat(timespec='seconds')})"
            )
        try:
            return recorded_at.astimezone(UTC)
        except OverflowError:
            raise RecordedTimeError(
                f"--recorded-at {recorded_at.isoformat()} is out of range"
            ) from None

    def _run(
        self,
        build: Callable[[datetime], Sequence[Aggregate]],
        recorded_at: datetime | None,
    ) -> Receipt:
        """Build the aggregates' new events and save them atomically, retrying on conflicts.

        A conflict is another writer saving the same race first (a version clash) or saving
        a later recorded time first; the command is rebuilt from fresh state and tried again.
        """
        return self._attempts(build, self._save_aggregates, recorded_at)

    def _save_aggregates(self, aggregates: Sequence[Aggregate], recorded_at: str) -> int:
        count = sum(len(a.pending_events) for a in aggregates)
        self.save(*aggregates, recorded_at=recorded_at)
        return count

    def _insert_runs(self, runs: Sequence[EventRun], recorded_at: str) -> int:
        # What save() does with the aggregates' events once they are stored events (the
        # ledger has no snapshots, no aggregate cache and no followers to notify).
        return self.chain.insert_runs(runs, recorded_at)

    def _attempts(
        self,
        build: Callable[[datetime], _Built],
        write: Callable[[_Built, str], int],
        recorded_at: datetime | None,
    ) -> Receipt:
        """``_run``'s loop: build from fresh state, write atomically, retry on conflicts."""
        for attempt in range(MAX_ATTEMPTS):
            moment = self._stamp(recorded_at)
            built = build(moment)
            try:
                count = write(built, format_recorded_at(moment))
            except RecordedTimeWentBackwards:
                if recorded_at is not None:
                    raise
            except (IntegrityError, OperationalError):
                pass
            except PersistenceError as e:
                raise StoreError(f"--db {redact(self.db)}: {e}") from None
            else:
                return Receipt(events=count, recorded_at=moment, head=self.head())
            _time.sleep(random.uniform(0.001, 0.01) * (attempt + 1))
        raise ConflictError(
            f"gave up after {MAX_ATTEMPTS} attempts: other writers kept changing the ledger;"
            " try again"
        )

    def _get_race(self, ref: RaceRef) -> Race:
        return self._get_races([ref])[ref]

    def _get_races(self, refs: Iterable[RaceRef]) -> dict[RaceRef, Race]:
        """Each race as its events make it, all read in one query, not one each.

        A race is looked up by its id and by the id older ledgers gave it (one of the two).
        """
        wanted = list(dict.fromkeys(refs))
        events: dict[RaceRef, list[Any]] = {}
        for id_of in (race_uuid, legacy_race_uuid):
            ids = {id_of(ref.season, ref.race): ref for ref in wanted if ref not in events}
            if not ids:
                break
            for stored in self.chain.aggregates_events(list(ids)):
                ref = ids[cast(UUID, stored.originator_id)]
                events.setdefault(ref, []).append(self.mapper.to_domain_event(stored))
        races = {}
        for ref in wanted:
            if ref not in events:
                raise UnknownIdError(f"unknown race {ref.season}/{ref.race}")
            races[ref] = cast(Race, _project(None, events[ref]))
        return races

    def declare_season(
        self,
        season: SeasonFile,
        *,
        by: str | None = None,
        source: str | None = None,
        recorded_at: datetime | None = None,
    ) -> Receipt:
        """Declare a season, its tables and cups, and schedule its races, in one save."""
        who = by or default_by()
        slug = season.season.id
        tables = season.whole_tables()

        def build(moment: datetime) -> list[Aggregate]:
            if season_uuid(slug) in self.repository:
                raise DuplicateError(
                    f"season {slug!r} is already in the ledger; nothing was written"
                )
            declared = Season.declare(
                season=slug,
                name=season.season.name,
                tables={k: list(v) for k, v in tables.items()},
                cups=[c.model_dump(exclude_none=True) for c in season.cups],
                by=who,
                source=source,
                timestamp=moment,
            )
            races = [
                Race.schedule(
                    season=slug,
                    race=r.id,
                    cup=r.cup,
                    race_date=r.date,
                    table=r.table,
                    points=list(tables[r.table]),
                    location=r.location,
                    venue=r.venue,
                    by=who,
                    source=source,
                    timestamp=moment,
                )
                for r in season.races
            ]
            return [declared, *races]

        return self._run(build, recorded_at)

    def import_season_file(
        self,
        path: Path,
        *,
        by: str | None = None,
        source: str | None = None,
        recorded_at: datetime | None = None,
    ) -> Receipt:
        """Read, validate and declare a season file."""
        from ledger.inputs import load_season

        return self.declare_season(
            load_season(path), by=by, source=source or path.name, recorded_at=recorded_at
        )

    def record_results(
        self,
        rows: Sequence[ResultRow | ParsedRow],
        *,
        by: str | None = None,
        source: str | None = None,
        recorded_at: datetime | None = None,
        file: str = "results",
        progress: Progress | None = None,
    ) -> Receipt:
        """Record many results, across races, in one atomic save; any bad row rejects all.

        ``progress(done, total)``, if given, is called as rows are built and once saved.
        """
        who = by or default_by()
        report = progress or _no_progress
        index = self._races_named([row.race for row in rows])
        resolved: list[tuple[ParsedRow, RaceRef]] = []
        for row in rows:
            if not isinstance(row, tuple):
                row = row.to_parsed()
            try:
                resolved.append((row, index.resolve(row.race)))
            except (UnknownIdError, AmbiguousIdError):
                # Worded against every race in the ledger, for the closest-id suggestions.
                try:
                    resolved.append((row, self.resolve_race(row.race)))
                except (UnknownIdError, AmbiguousIdError) as e:
                    raise type(e)(f"{file}, line {row.line}, field race: {e}") from None
        named = list(dict.fromkeys(ref for _, ref in resolved))

        def build(moment: datetime) -> list[EventRun]:
            # The stored events Race.record_result and the mapper would give, built directly.
            races = self._get_races(named)
            return recorded_results(
                resolved,
                races.__getitem__,
                self.mapper,
                by=who,
                source=source,
                timestamp=moment,
                file=file,
                progress=report,
            )

        receipt = self._attempts(build, self._insert_runs, recorded_at)
        report(len(resolved), len(resolved))
        return receipt

    def import_results_file(
        self,
        path: Path,
        *,
        by: str | None = None,
        source: str | None = None,
        recorded_at: datetime | None = None,
        progress: Progress | None = None,
    ) -> Receipt:
        """Read, validate and record a results file, all or nothing."""
        from ledger.inputs import load_results

        with _bulk():
            return self.record_results(
                load_results(path),
                by=by,
                source=source or path.name,
                recorded_at=recorded_at,
                file=str(path),
                progress=progress,
            )

    # --- changing results after the race ------------------------------------------------

    def _find_competitor(self, race: Race, competitor: str, nation: str | None) -> Entry:
        entries = list(race.results.values())
        matches = [
            e
            for e in entries
            if e.competitor.casefold() == competitor.strip().casefold()
            and (nation is None or (e.nation or "") == nation.upper())
        ]
        if len(matches) == 1:
            return matches[0]
        if matches:
            nations = " or ".join(sorted(e.nation or "(none)" for e in matches))
            raise AmbiguousIdError(
                f"{race.label}: {competitor!r} is ambiguous; give --nation ({nations})"
            )
        who = competitor_key(competitor, nation)
        hint = suggest(competitor, [e.competitor for e in entries])
        raise UnknownIdError(f"{race.label}: {who} has no result{hint}")

    def record_result(
        self,
        race: str,
        competitor: str,
        *,
        nation: str | None = None,
        place: int | None = None,
        time: Decimal | None = None,
        status: str | None = None,
        by: str | None = None,
        source: str | None = None,
        recorded_at: datetime | None = None,
    ) -> Receipt:
        """Record one late result; a competitor who already has a result is refused."""
        who, name = by or default_by(), competitor.strip()
        if not name:
            raise InputError("the competitor's name may not be empty")
        nation = _nation(nation)
        _check_values(place, time, status)
        if place is None and status is None:
            raise InputError("a result needs --place unless its --status is DNF, DNS or DQ")
        ref = self.resolve_race(race)

        def build(moment: datetime) -> list[Aggregate]:
            aggregate = self._get_race(ref)
            aggregate.record_result(
                competitor=name,
                nation=nation,
                place=place,
                time=time,
                status=status,
                by=who,
                source=source,
                timestamp=moment,
            )
            return [aggregate]

        return self._run(build, recorded_at)

    def _change(
        self,
        race: str,
        competitor: str,
        nation: str | None,
        recorded_at: datetime | None,
        act: Callable[[Race, Entry, datetime], None],
    ) -> Receipt:
        ref = self.resolve_race(race)

        def build(moment: datetime) -> list[Aggregate]:
            aggregate = self._get_race(ref)
            act(aggregate, self._find_competitor(aggregate, competitor, nation), moment)
            return [aggregate]

        return self._run(build, recorded_at)

    def correct_result(
        self,
        race: str,
        competitor: str,
        *,
        reason: str,
        nation: str | None = None,
        place: int | None = UNSET,
        time: Decimal | None = UNSET,
        status: str | None = UNSET,
        by: str | None = None,
        source: str | None = None,
        recorded_at: datetime | None = None,
    ) -> Receipt:
        """Correct a result's place, time and/or status; values not given stay as they are."""
        who, why = by or default_by(), _reason(reason)
        if place is UNSET and time is UNSET and status is UNSET:
            raise InputError("say what to correct: --place, --time and/or --status")
        _check_values(
            None if place is UNSET else place,
            None if time is UNSET else time,
            None if status is UNSET else status,
        )

        def act(aggregate: Race, entry: Entry, moment: datetime) -> None:
            new_place = entry.place if place is UNSET else place
            new_status = entry.status if status is UNSET else status
            if new_place is None and new_status is None:
                raise InputError("a result needs a place unless its status is DNF, DNS or DQ")
            aggregate.correct_result(
                competitor=entry.competitor,
                nation=entry.nation,
                place=new_place,
                time=entry.time if time is UNSET else time,
                status=new_status,
                reason=why,
                by=who,
                source=source,
                timestamp=moment,
            )

        return self._change(race, competitor, nation, recorded_at, act)

    def disqualify(
        self,
        race: str,
        competitor: str,
        *,
        reason: str,
        nation: str | None = None,
        by: str | None = None,
        source: str | None = None,
        recorded_at: datetime | None = None,
    ) -> Receipt:
        """Disqualify a competitor from a race."""
        who, why = by or default_by(), _reason(reason)

        def act(aggregate: Race, entry: Entry, moment: datetime) -> None:
            aggregate.disqualify(
                competitor=entry.competitor,
                nation=entry.nation,
                reason=why,
                by=who,
                source=source,
                timestamp=moment,
            )

        return self._change(race, competitor, nation, recorded_at, act)

    def reinstate(
        self,
        race: str,
        competitor: str,
        *,
        reason: str,
        nation: str | None = None,
        by: str | None = None,
        source: str | None = None,
        recorded_at: datetime | None = None,
    ) -> Receipt:
        """Withdraw a competitor's disqualification (an appeal upheld)."""
        who, why = by or default_by(), _reason(reason)

        def act(aggregate: Race, entry: Entry, moment: datetime) -> None:
            aggregate.reinstate(
                competitor=entry.competitor,
                nation=entry.nation,
                reason=why,
                by=who,
                source=source,
                timestamp=moment,
            )

        return self._change(race, competitor, nation, recorded_at, act)

    def void_race(
        self,
        race: str,
        *,
        reason: str,
        by: str | None = None,
        source: str | None = None,
        recorded_at: datetime | None = None,
    ) -> Receipt:
        """Annul a race: nobody scores from it; its results stay in the history."""
        who, why = by or default_by(), _reason(reason)
        ref = self.resolve_race(race)

        def build(moment: datetime) -> list[Aggregate]:
            aggregate = self._get_race(ref)
            aggregate.void(reason=why, by=who, source=source, timestamp=moment)
            return [aggregate]

        return self._run(build, recorded_at)


def _project(aggregate: Any, events: Iterable[Any]) -> Any:
    """The library's default projector, without its per-event protocol check.

    ``isinstance`` against a runtime protocol costs more than applying the event.
    """
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate


@contextmanager
def _bulk() -> Iterator[None]:
    """No cyclic garbage collection while a large file is read and recorded.

    A file of 50,000 rows allocates hundreds of thousands of objects that all live until
    the save, none of them garbage; the collector would walk them again and again (about
    a fifth of an import's time). Nothing cyclic is left behind: collection resumes after.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _check_values(place: int | None, time: Decimal | None, status: str | None) -> None:
    """Refuse values the results file would refuse (the CLI parses them the same way)."""
    if place is not None and not (isinstance(place, int) and 1 <= place <= MAX_PLACE):
        raise InputError(f"place {place!r}: a place is between 1 and {MAX_PLACE}")
    if time is not None and not (isinstance(time, Decimal) and 0 < time < MAX_TIME):
        raise InputError(f"time {time!r}: a time is exact seconds above 0 and under 24 hours")
    if status is not None and status not in STATUSES:
        raise InputError(f"status {status!r}: status is empty, DNF, DNS or DQ")


def _nation(nation: str | None) -> str | None:
    try:
        return None if nation is None else parse_nation(nation)
    except ValueError as e:
        raise InputError(f"nation {nation!r}: {e}") from None


def _reason(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise InputError("--reason may not be empty: say why the result changes")
    return reason
