"""The Ledger application: the service layer every edge (CLI, HTTP, tests, notebooks) calls.

Methods take plain values (str, date, Decimal, datetime) and either record new events in one
atomic append or raise a ``LedgerError`` with a one-line message. Nothing here prints.

Every command follows one shape (``_command``): read the state it needs through the reader
(``ledger.reader``: the races, competitors or cups it touches, folded by ``ledger.fold``),
decide its events against that state, and append them with the head it read; if another
writer appended meanwhile, build again from the new state. The events are the command's
record: each carries the command's number (the position of its first event).
"""

from __future__ import annotations

import copy
import gc
import getpass
import os
import random
import time as _time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar, cast
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import (
    IntegrityError,
    JSONTranscoder,
    OperationalError,
    PersistenceError,
    StoredEvent,
    Transcoder,
    Transcoding,
)

from ledger.bulk import Identity, recorded_results
from ledger.chain import ChainRow, Head, format_recorded_at
from ledger.errors import (
    AmbiguousIdError,
    ConflictError,
    DuplicateError,
    InputError,
    LedgerError,
    RecordedTimeError,
    StateError,
    StoreError,
    UnknownIdError,
)
from ledger.events import (
    CompetitorDisqualified,
    CompetitorExcluded,
    CompetitorReadmitted,
    CompetitorRenamed,
    CupEvent,
    DeductionCancelled,
    DisqualificationWithdrawn,
    LedgerEvent,
    PointsDeducted,
    RaceEvent,
    RaceRescheduled,
    RaceRetabled,
    RaceScheduled,
    RaceUnvoided,
    RaceVoided,
    ResultCorrected,
    ResultEvent,
    ResultRecorded,
    ResultRestored,
    ResultWithdrawn,
    SeasonDeclared,
    competitor_key,
    cup_uuid,
    race_uuid,
    season_uuid,
)
from ledger.fold import CupKey, RaceKey, RaceState, ResultState, World, apply
from ledger.identity import athlete_competitor_id, canonical, competitor_id, folded
from ledger.ids import resolve, suggest
from ledger.reader import PREFERRED_SEASON, Held, Positioned, Reader, label_holders
from ledger.signing import SigningKey
from ledger.store import (
    ChainedRecorder,
    EventRun,
    columns,
    redact,
    resolve_db,
    run_data,
    store_env,
    stored_columns,
)
from ledger.transcoder import OrjsonTranscoder
from ledger.values import (
    MAX_PLACE,
    MAX_POINTS,
    MAX_TEXT,
    MAX_TIME,
    STATUSES,
    ParsedRow,
    parse_nation,
)
from ledger.verify import Verified, verify_chain, verify_read_model

if TYPE_CHECKING:  # the file models load pydantic's validators: only imports need them
    from ledger.inputs import ResultRow, SeasonFile

MAX_ATTEMPTS = 30
CLASH_ATTEMPTS = 3  # a clash of rows, not a lock: it is not another writer's
PAGE = 5_000
# Events of a large file written a statement batch at a time: all of a file's encoded events
# and their read-model rows held at once took 60 MB for 50,000 results.
WRITE_CHUNK = 5_000

_Built = TypeVar("_Built")

Progress = Callable[[int, int], None]
"""A progress callback, ``progress(done, total)``: the CLI draws it, the write side calls it."""


def _no_progress(done: int, total: int) -> None:
    """Progress nobody watches."""


def _chunks(runs: Iterable[EventRun]) -> Iterator[list[EventRun]]:
    """Runs of events together, about WRITE_CHUNK events at a time (a run is never split:
    it is one race's)."""
    chunk: list[EventRun] = []
    size = 0
    for run in runs:
        chunk.append(run)
        size += len(run.states)
        if size >= WRITE_CHUNK:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk


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
    """What a command wrote: its number, how many events, when, and the head afterwards.

    ``written`` are the events with their positions (none for a large import, whose results
    ``after`` holds instead); ``before`` and ``after`` are the state of what the command
    touched, before and after it, so that an edge can describe it without reading again."""

    events: int
    recorded_at: datetime
    head: Head
    command: int
    written: list[Positioned] = field(default_factory=list)
    before: World | None = None
    after: World | None = None
    signed_by: str | None = None  # the id of the key that signed the command, if any
    db_role: str | None = None  # the database role the server recorded (PostgreSQL)


class RaceRef(NamedTuple):
    """A scheduled race, as a results file names it (a tuple: an import keys rows by it)."""

    season: str
    race: str
    cup: str


UNSET: Any = object()


class RaceIndex:
    """Scheduled races by qualified key and by bare id: a file's many rows resolve in O(1).

    With a ``season``, a bare id is that season's race (a file of one season's results);
    without, it is the one race of that id, or the preferred season's (``PREFERRED_SEASON``)
    when several seasons have it."""

    def __init__(self, races: Sequence[RaceRef], season: str | None = None) -> None:
        self.season = season
        self.preferred = PREFERRED_SEASON.get()
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
        elif self.season is not None:
            found = self.by_key.get((self.season, text))
            if found is None:
                raise UnknownIdError(f"season {self.season} has no race {text!r}")
        else:
            matches = self.by_id.get(text, [])
            if len(matches) > 1 and self.preferred is not None:
                matches = [r for r in matches if r.season == self.preferred] or matches
            found = matches[0] if len(matches) == 1 else None
        if found is None:
            found = self.by_key[resolve(ref, self.by_key, "race")]  # raises, with suggestions
        self._seen[ref] = found
        return found


def default_by() -> str:
    """Who is recording: $LEDGER_BY, else the OS user."""
    chosen = os.environ.get("LEDGER_BY", "").strip()
    if chosen:
        return chosen
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Meta:
    """What every event of a command shares: who, on what authority, when, which command."""

    by: str
    source: str | None
    timestamp: datetime
    command: int


@dataclass
class Built:
    """A command's events, decided against the state it read."""

    world: World
    events: list[LedgerEvent] = field(default_factory=list)
    runs: Iterable[EventRun] | None = None  # a large file's events, made as they are written
    count: int = 0
    before: World | None = None


class Draft:
    """The events a command decides, each applied to the state as it is decided (so that the
    next check sees it), with its aggregate's next version."""

    def __init__(self, reader: Reader, meta: Meta, world: World) -> None:
        self.reader = reader
        self.meta = meta
        self.world = world
        self.before = copy.deepcopy(world)
        self.events: list[LedgerEvent] = []
        self._versions: dict[UUID, int] = {}

    def add(self, cls: type[LedgerEvent], aggregate: UUID, **fields: Any) -> LedgerEvent:
        """Decide one more event of the command."""
        version = self._versions.get(aggregate)
        if version is None:
            version = self.reader.next_versions([aggregate])[aggregate]
        event = cls(  # type: ignore[call-arg]
            originator_id=aggregate,
            originator_version=version,
            timestamp=self.meta.timestamp,
            by=self.meta.by,
            source=self.meta.source,
            command=self.meta.command,
            **fields,
        )
        self._versions[aggregate] = version + 1
        apply(self.world, self.meta.command + len(self.events), event)
        self.events.append(event)
        return event

    def built(self) -> Built:
        """The command's events, with the state before and after."""
        return Built(self.world, self.events, count=len(self.events), before=self.before)


class Ledger(Application[UUID]):
    """An event-sourced ledger of seasons, races and results.

    ``readonly``: a reader, which never writes and never creates a ledger (it works with a
    read-only file, a role that may only SELECT, a streaming replica). ``create``: whether a
    writer may create a new ledger (the first import does; a correction does not)."""

    name = "Ledger"

    def __init__(
        self,
        db: str | None = None,
        *,
        clock: Callable[[], datetime] = _now,
        readonly: bool = False,
        create: bool = True,
        keep_decoded: int = 0,
    ) -> None:
        self.db = resolve_db(db)
        self.clock = clock
        self.readonly = readonly
        # Whose key signs the commands written (``ledger.signing``), if anyone's.
        self.signing_key: SigningKey | None = None
        # Up to ``keep_decoded`` events its readers decoded, by their stored form, for a
        # process that answers many queries (``Reader._decode``); none for one command.
        self._decoded: dict[tuple[Any, ...], LedgerEvent] | None = {} if keep_decoded else None
        self._keep_decoded = keep_decoded
        if not readonly and not create:
            store_env(self.db, readonly=True)  # a file that is not there is refused, as a reader
        try:
            super().__init__(env=store_env(self.db, readonly=readonly))
        except LedgerError:
            raise
        except (PersistenceError, OSError) as e:
            raise StoreError(f"--db {redact(self.db)}: cannot open the ledger ({e})") from None
        if readonly:
            self._check_is_ledger()

    def _check_is_ledger(self) -> None:
        from ledger.index import has_table

        with self.chain.reading() as c:
            if not has_table(c, "ledger_chain") and not has_table(c, "stored_events"):
                raise StoreError(
                    f"--db {redact(self.db)}: no ledger there;"
                    " `ledger init` (or the first import) creates one"
                )

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
        """The recorder, with the chain, head and read-model queries this ledger adds."""
        recorder = self.recorder
        assert isinstance(recorder, ChainedRecorder)
        return recorder

    # --- the log -----------------------------------------------------------------------

    @contextmanager
    def reading(self) -> Iterator[Reader]:
        """A reader over one consistent snapshot of the log and its read model."""
        with self.chain.reading() as c:
            reader = Reader(c, self.mapper, self.chain.event_key, self._decoded, self._keep_decoded)
            reader.check_current(reader.head().position)
            yield reader

    def head(self) -> Head:
        """The newest event: position, hash and transaction time."""
        return self.chain.head()

    def grant(self, role: str, level: str) -> list[str]:
        """Give a database role the rights of a reader, a recorder or an admin of this
        ledger (PostgreSQL; see ``ChainedPostgresRecorder.grant``): the statements run."""
        name = _text(role, "ROLE", 63)
        return self.chain.grant(name, level)

    def read_log(
        self, upto: int | None = None, after: int = 0
    ) -> Iterator[tuple[ChainRow, LedgerEvent]]:
        """The whole log (after a position, up to another), streamed in log order with each
        event's chain row: a full replay, for archives, audits and tests. Queries do not
        need it: they read what their answer needs through ``reading``."""
        for rows in self.chain.chain_batches(after, PAGE):
            for raw in rows:
                row = ChainRow(*raw)
                if upto is not None and row.position > upto:
                    return
                stored = StoredEvent(
                    UUID(row.originator_id), row.originator_version, row.topic, bytes(row.state)
                )
                yield row, cast(LedgerEvent, self.mapper.to_domain_event(stored))

    def read_events(self, upto: int | None = None, after: int = 0) -> Iterator[Positioned]:
        """Every event in log order, as (position, event): ``read_log`` without the chain."""
        for row, event in self.read_log(upto, after):
            yield row.position, event

    def verify(
        self,
        *,
        expect_head: str | None = None,
        advance: Callable[[int], None] | None = None,
        read_model: bool = True,
    ) -> Verified:
        """Recompute the hash chain over the whole log, then check the read model against it;
        IntegrityViolation at the first thing that does not match."""
        verified = verify_chain(self.chain, expect_head=expect_head, advance=advance)
        if read_model:
            verify_read_model(self.chain)
        return verified

    def rebuild(self, advance: Callable[[int], None] | None = None) -> int:
        """Drop the read model and derive it again from the log; the position reached."""
        return self.chain.rebuild_read_model(advance)

    def position_at(self, known_at: datetime) -> int:
        """The last position recorded at or before ``known_at``."""
        try:
            text = format_recorded_at(known_at)
        except OverflowError:
            raise InputError(f"--known-at {known_at.isoformat()} is out of range") from None
        return self.chain.position_at(text)

    # --- the write loop ----------------------------------------------------------------

    def _stamp(self, recorded_at: datetime | None) -> datetime:
        now = self.clock()
        if recorded_at is None:
            return now
        if recorded_at.tzinfo is None or recorded_at.utcoffset() is None:
            raise InputError("--recorded-at needs a UTC offset, e.g. 2014-03-09T18:00:00+00:00")
        try:
            moment = recorded_at.astimezone(UTC)
        except OverflowError:
            raise RecordedTimeError(
                f"--recorded-at {recorded_at.isoformat()} is out of range"
            ) from None
        if moment > now:
            raise RecordedTimeError(
                f"--recorded-at {recorded_at.isoformat()} is in the future"
                f" (now is {now.isoformat(timespec='seconds')})"
            )
        return moment

    def _command(
        self,
        build: Callable[[Reader, Meta], Built],
        *,
        by: str | None,
        source: str | None,
        recorded_at: datetime | None,
    ) -> Receipt:
        """Lock, read, decide, append: the one shape of every command.

        The command reads the state it decides on inside the write transaction that appends
        its events, holding the writers' lock (readers go on meanwhile), so no other writer
        can change that state in between: nothing to retry but a lock that stays taken. The
        whole command is written or nothing is."""
        if self.readonly:
            raise StoreError(f"--db {redact(self.db)}: opened read-only; nothing was written")
        who = _text(by, "--by", MAX_TEXT) if by is not None else default_by()
        source = _text(source, "--source", 1000) if source is not None else None
        explicit = self._stamp(recorded_at) if recorded_at is not None else None
        for attempt in range(MAX_ATTEMPTS):
            try:
                with self.chain.writing() as writer:
                    head = writer.head
                    moment = explicit or self._after(head)
                    reader = Reader(writer.sql, self.mapper, self.chain.event_key)
                    reader.check_current(head.position)
                    built = build(reader, Meta(who, source, moment, head.position + 1))
                    at = format_recorded_at(moment)
                    if built.runs is not None:
                        count = 0
                        for chunk in _chunks(built.runs):
                            count += len(writer.append(columns(chunk), at, run_data(chunk)))
                    else:
                        stored = [self.mapper.to_stored_event(e) for e in built.events]
                        count = len(writer.append(stored_columns(stored), at))
                    after = writer.head
                    key = self.signing_key
                    if key is not None and count:
                        first = head.position + 1
                        signature = key.sign(first, after.position, after.hash)
                        writer.sign(first, after.position, key.key_id, signature)
                    author = getattr(writer, "author", None)
            except IntegrityError as e:
                # Under the writers' lock no other writer's rows can clash with these: a
                # clash that stays is a row in the file the log does not account for.
                if attempt < CLASH_ATTEMPTS - 1:
                    _time.sleep(random.uniform(0.001, 0.01) * (attempt + 1))
                    continue
                why = (str(e).strip().splitlines() or ["a clash of rows"])[0]  # one line
                raise StoreError(
                    f"--db {redact(self.db)}: the ledger refused the write ({why}); nothing was"
                    " written; `ledger verify` says which rows its log does not account for"
                    " (`ledger rebuild` repairs the read model)"
                ) from None
            except OperationalError:
                _time.sleep(random.uniform(0.001, 0.01) * (attempt + 1))
                continue
            except PersistenceError as e:
                raise StoreError(f"--db {redact(self.db)}: {e}") from None
            first = head.position + 1
            return Receipt(
                events=count,
                recorded_at=moment,
                head=after,
                command=first,
                written=list(enumerate(built.events, first)),
                before=built.before,
                after=built.world,
                signed_by=key.key_id if key is not None and count else None,
                db_role=author if count else None,
            )
        raise ConflictError(
            f"gave up after {MAX_ATTEMPTS} attempts: other writers kept the ledger locked;"
            " try again"
        )

    def _plan(
        self,
        build: Callable[[Reader, Meta], Built],
        *,
        by: str | None,
        source: str | None,
        recorded_at: datetime | None,
    ) -> Receipt:
        """What a command would write, decided as it would be, and written nowhere."""
        who = _text(by, "--by", MAX_TEXT) if by is not None else default_by()
        source = _text(source, "--source", 1000) if source is not None else None
        with self.reading() as reader:
            head = reader.head()
            moment = self._stamp(recorded_at) if recorded_at is not None else self._after(head)
            built = build(reader, Meta(who, source, moment, head.position + 1))
        first = head.position + 1
        return Receipt(
            events=0,
            recorded_at=moment,
            head=head,
            command=first,
            written=list(enumerate(built.events, first)),
            before=built.before,
            after=built.world,
        )

    def _after(self, head: Head) -> datetime:
        """Now, or the head's time if this machine's clock is behind the writer before."""
        now = self.clock()
        newest = head.recorded_at_datetime
        return newest if newest is not None and newest > now else now

    # --- what commands read --------------------------------------------------------------

    def _race(self, reader: Reader, ref: str) -> tuple[World, RaceState]:
        """A race a user's id names, folded at the head, with its season and competitors."""
        upto = reader.head().position
        key = reader.resolve_race(ref, upto)
        race_key = reader.race_key(key)
        assert race_key is not None
        world = reader.races_world([race_key], upto)
        return world, world.races[key]

    @staticmethod
    def _aggregate(reader: Reader, race: RaceState) -> UUID:
        found = reader.race_aggregates([race.key]).get(race.key)
        if found is None:
            raise UnknownIdError(f"unknown race {race.label}")
        return found[1]

    @staticmethod
    def _entry(race: RaceState, competitor: str, nation: str | None) -> ResultState:
        """The competitor's result in a race: the same name (case aside), the nation if given."""
        results = list(race.results.values())
        for key, wanted in ((canonical, canonical(competitor)), (folded, folded(competitor))):
            matches = [
                r
                for r in results
                if key(r.name) == wanted and (nation is None or r.nation == nation)
            ]
            if len(matches) == 1:
                return matches[0]
            if matches:
                nations = " or ".join(sorted(r.nation or "(none)" for r in matches))
                raise AmbiguousIdError(
                    f"{race.label}: {competitor!r} is ambiguous; give --nation ({nations})"
                )
        who = competitor_key(competitor, nation)
        hint = suggest(competitor, [r.name for r in results])
        raise UnknownIdError(f"{race.label}: {who} has no result{hint}")

    # --- declaring ----------------------------------------------------------------------

    def declare_season(
        self,
        season: SeasonFile,
        *,
        by: str | None = None,
        source: str | None = None,
        recorded_at: datetime | None = None,
    ) -> Receipt:
        """Declare a season, its tables and cups, and schedule its races, in one command."""
        slug = season.season.id
        tables = {k: [Decimal(v) for v in vs] for k, vs in season.tables.items()}

        def build(reader: Reader, meta: Meta) -> Built:
            if reader.season_position(slug, meta.command) is not None:
                raise DuplicateError(
                    f"season {slug!r} is already in the ledger; nothing was written"
                )
            draft = Draft(reader, meta, World())
            draft.add(
                SeasonDeclared,
                season_uuid(slug),
                season=slug,
                name=season.season.name,
                tables=tables,
                cups=[c.model_dump(exclude_none=True) for c in season.cups],
            )
            for r in season.races:
                draft.add(
                    RaceScheduled,
                    race_uuid(slug, r.id),
                    season=slug,
                    race=r.id,
                    cup=r.cup,
                    race_date=r.date,
                    table=r.table,
                    points=tables[r.table],
                    location=r.location,
                    venue=r.venue,
                    reason=None,
                )
            return draft.built()

        return self._command(build, by=by, source=source, recorded_at=recorded_at)

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

    def schedule_race(
        self,
        race: str,
        *,
        cup: str,
        race_date: date,
        table: str,
        reason: str,
        location: str | None = None,
        venue: str | None = None,
        by: str | None = None,
        source: str | None = None,
        recorded_at: datetime | None = None,
    ) -> Receipt:
        """Add a race to a declared season (``SEASON/RACE``)."""
        why = _reason(reason)
        season, slash, race_id = race.strip().partition("/")
        if not slash or not season or not race_id:
            raise InputError(f"race {race!r}: name the season too, as SEASON/RACE")
        _slug(race_id, "race")
        where = {
            "location": _text(location, "--location", MAX_TEXT) if location else None,
            "venue": _text(venue, "--venue", MAX_TEXT) if venue else None,
        }

        def build(reader: Reader, meta: Meta) -> Built:
            upto = meta.command - 1
            world = reader.fold(reader._season_events([season], upto))
            declared = world.seasons.get(season)
            if declared is None:
                names = [s for s, _ in reader.seasons(upto)]
                raise UnknownIdError(f"unknown season {season!r}{suggest(season, names)}")
            if reader.race_key((season, race_id)) is not None:
                raise DuplicateError(f"race {season}/{race_id} is already scheduled")
            spec = declared.cups.get(cup)
            if spec is None:
                raise UnknownIdError(
                    f"season {season} has no cup {cup!r}{suggest(cup, declared.cups)}"
                )
            if spec.rules.get("of"):
                raise InputError(
                    f"cup {cup} is a team cup over {spec.rules['of']}: schedule its races there"
                )
            if table not in declared.tables:
                raise UnknownIdError(
                    f"season {season} has no table {table!r}"
                    f" (tables: {', '.join(sorted(declared.tables))})"
                )
            draft = Draft(reader, meta, world)
            draft.add(
                RaceScheduled,
                race_uuid(season, race_id),
                season=season,
                race=race_id,
                cup=cup,
                race_date=race_date,
                table=table,
                points=list(declared.tables[table]),
                reason=why,
                **where,
            )
            return draft.built()

        return self._command(build, by=by, source=source, recorded_at=recorded_at)

    # --- results -------------------------------------------------------------------------

    def record_results(
        self,
        rows: Sequence[ResultRow | ParsedRow],
        *,
        by: str | None = None,
        source: str | None = None,
        recorded_at: datetime | None = None,
        file: str = "results",
        progress: Progress | None = None,
        season: str | None = None,
    ) -> Receipt:
        """Record many results, across races, in one atomic command; any bad row rejects all.

        ``progress(done, total)``, if given, is called as rows are built and once saved.
        With ``season``, the rows' unqualified race ids are that season's races.
        """
        report = progress or _no_progress
        parsed = [row if isinstance(row, tuple) else row.to_parsed() for row in rows]

        def build(reader: Reader, meta: Meta) -> Built:
            upto = meta.command - 1
            refs = self._resolve_rows(reader, parsed, upto, file, season)
            keys = sorted({(r.season, r.race) for r in refs})
            aggregates = reader.race_aggregates(keys)
            world = reader.races_world([aggregates[k][0] for k in keys], upto)
            _teams_scored(world, parsed, refs, file)
            versions = reader.next_versions(a for _, a in aggregates.values())
            who = _identities(reader, parsed, meta.command)
            _no_second_results(world, parsed, refs, who, file)
            runs = recorded_results(
                [
                    (row, world.races[(ref.season, ref.race)], identity)
                    for row, ref, identity in zip(parsed, refs, who, strict=True)
                ],
                {k: (a, versions[a]) for k, (_, a) in aggregates.items()},
                self.mapper,
                by=meta.by,
                source=meta.source,
                timestamp=meta.timestamp,
                command=meta.command,
                file=file,
                progress=report,
            )
            return Built(world, runs=runs, count=len(parsed))

        receipt = self._command(build, by=by, source=source, recorded_at=recorded_at)
        report(len(parsed), len(parsed))
        return receipt

    @staticmethod
    def _resolve_rows(
        reader: Reader, rows: Sequence[ParsedRow], upto: int, file: str, season: str | None = None
    ) -> list[RaceRef]:
        if season is not None and reader.season_position(season, upto) is None:
            known = [s for s, _ in reader.seasons(upto)]
            raise UnknownIdError(f"unknown season {season!r}{suggest(season, known)}")
        names = {row.race.strip().rpartition("/")[2] for row in rows}
        index = RaceIndex([RaceRef(*r) for r in reader.races_named(names, upto)], season)
        refs = []
        for row in rows:
            try:
                refs.append(index.resolve(row.race))
            except (UnknownIdError, AmbiguousIdError) as e:
                if isinstance(e, UnknownIdError) and season is not None and "/" not in row.race:
                    here = [r for s, r in reader.all_races(upto) if s == season]
                    e = UnknownIdError(f"{e}{suggest(row.race.strip(), here)}")
                elif isinstance(e, UnknownIdError):
                    # Worded against every race in the ledger, for the closest-id suggestions.
                    try:
                        resolve(row.race, reader.all_races(upto), "race")
                    except (UnknownIdError, AmbiguousIdError) as wider:
                        e = wider
                raise type(e)(f"{file}, line {row.line}, field race: {e}") from None
        return refs

    def import_results_file(
        self,
        path: Path,
        *,
        by: str | None = None,
        source: str | None = None,
        recorded_at: datetime | None = None,
        progress: Progress | None = None,
        season: str | None = None,
    ) -> Receipt:
        """Read, validate and record a results file, all or nothing (``season``: the one its
        unqualified race ids name)."""
        from ledger.inputs import load_results

        with _bulk():
            return self.record_results(
                load_results(path),
                by=by,
                source=source or path.name,
                recorded_at=recorded_at,
                file=str(path),
                progress=progress,
                season=season,
            )

    def reconcile_results(
        self,
        rows: Sequence[ResultRow | ParsedRow],
        *,
        reason: str,
        by: str | None = None,
        source: str | None = None,
        recorded_at: datetime | None = None,
        file: str = "results",
        dry_run: bool = False,
    ) -> Receipt:
        """Make the races a re-published file names hold exactly what it says, in one command:
        the late results, corrections, reinstatements and withdrawals it takes (see
        ``ledger.reconcile``). A file that would change nothing is refused. ``dry_run``: the
        plan, as the receipt of a command that was not written."""
        from ledger.reconcile import Wanted, plan_race

        why = _reason(reason)
        parsed = [row if isinstance(row, tuple) else row.to_parsed() for row in rows]

        def build(reader: Reader, meta: Meta) -> Built:
            upto = meta.command - 1
            refs = self._resolve_rows(reader, parsed, upto, file)
            keys = sorted({(r.season, r.race) for r in refs})
            aggregates = reader.race_aggregates(keys)
            world = reader.races_world([aggregates[k][0] for k in keys], upto)
            _teams_scored(world, parsed, refs, file)
            who = _identities(reader, parsed, meta.command)
            wanted: dict[RaceKey, list[Wanted]] = {k: [] for k in keys}
            for row, ref, identity in zip(parsed, refs, who, strict=True):
                wanted[(ref.season, ref.race)].append(Wanted(row, identity))
            draft = Draft(reader, meta, world)
            for key in keys:
                for cls, fields in plan_race(world.races[key], wanted[key], world.identity):
                    extra = {} if cls is ResultRecorded else {"reason": why}
                    draft.add(cls, aggregates[key][1], **fields, **extra)
            if not draft.events:
                raise StateError(
                    f"{file}: the ledger already holds exactly these results; nothing to reconcile"
                )
            return draft.built()

        if dry_run:
            return self._plan(build, by=by, source=source, recorded_at=recorded_at)
        return self._command(build, by=by, source=source, recorded_at=recorded_at)

    def reconcile_results_file(
        self,
        path: Path,
        *,
        reason: str,
        by: str | None = None,
        source: str | None = None,
        recorded_at: datetime | None = None,
        dry_run: bool = False,
    ) -> Receipt:
        """Read and validate a re-published results file, then reconcile the ledger with it."""
        from ledger.inputs import load_results

        with _bulk():
            return self.reconcile_results(
                load_results(path),
                reason=reason,
                by=by,
                source=source or path.name,
                recorded_at=recorded_at,
                file=str(path),
                dry_run=dry_run,
            )

    def record_result(
        self,
        race: str,
        competitor: str,
        *,
        nation: str | None = None,
        place: int | None = None,
        time: Decimal | None = None,
        status: str | None = None,
        athlete_id: str | None = None,
        bonus: Decimal | None = None,
        team: str | None = None,
        by: str | None = None,
        source: str | None = None,
        recorded_at: datetime | None = None,
    ) -> Receipt:
        """Record one late result; a competitor who already has a result is refused."""
        name = _name(competitor)
        nation = _nation(nation)
        _check_values(place, time, status, bonus)
        if place is None and status is None:
            raise InputError("a result needs --place unless its --status is DNF, DNS or DQ")
        team = _text(team, "--team", MAX_TEXT) if team else None
        row = ParsedRow(0, race, name, nation, place, time, status, athlete_id, bonus, team)

        def build(reader: Reader, meta: Meta) -> Built:
            world, state = self._race(reader, race)
            if team is not None:
                _team_cup_over(world, state, "--team")
            (who,) = _identities(reader, [row], meta.command)
            if _result_for(world, state, who.competitor_id) is not None:
                raise DuplicateError(
                    f"{state.label}: {competitor_key(who.name, nation)} already has a result;"
                    " use `ledger correct` to change it"
                )
            draft = Draft(reader, meta, world)
            draft.add(
                ResultRecorded,
                self._aggregate(reader, state),
                **_race_context(state),
                competitor=who.name,
                nation=nation,
                competitor_id=who.competitor_id,
                athlete_id=athlete_id,
                place=place,
                time=time,
                status=status,
                bonus=bonus,
                team=team,
            )
            return draft.built()

        return self._command(build, by=by, source=source, recorded_at=recorded_at)

    def _change(
        self,
        race: str,
        competitor: str,
        nation: str | None,
        decide: Callable[[Draft, RaceState, ResultState, UUID], None],
        *,
        by: str | None,
        source: str | None,
        recorded_at: datetime | None,
    ) -> Receipt:
        """A command about one competitor's result in one race."""
        nation = _nation(nation)

        def build(reader: Reader, meta: Meta) -> Built:
            world, state = self._race(reader, race)
            entry = self._entry(state, competitor, nation)
            draft = Draft(reader, meta, world)
            decide(draft, state, entry, self._aggregate(reader, state))
            return draft.built()

        return self._command(build, by=by, source=source, recorded_at=recorded_at)

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
        bonus: Decimal | None = UNSET,
        team: str | None = UNSET,
        by: str | None = None,
        source: str | None = None,
        recorded_at: datetime | None = None,
    ) -> Receipt:
        """Correct a result's place, time, status, bonus and/or team; values not given stay
        as they are (``time=None`` clears the time)."""
        why = _reason(reason)
        given = {"place": place, "time": time, "status": status, "bonus": bonus, "team": team}
        if all(v is UNSET for v in given.values()):
            raise InputError("say what to correct: --place, --time, --status, --bonus or --team")
        _check_values(
            None if place is UNSET else place,
            None if time is UNSET else time,
            None if status is UNSET else status,
            None if bonus is UNSET else bonus,
        )
        if team not in (UNSET, None):
            given["team"] = _text(team, "--team", MAX_TEXT)

        def decide(draft: Draft, state: RaceState, entry: ResultState, aggregate: UUID) -> None:
            old = {
                "place": entry.place,
                "time": entry.time,
                "status": entry.status,
                "bonus": entry.bonus,
                "team": entry.team,
            }
            new = {k: old[k] if v is UNSET else v for k, v in given.items()}
            if new["team"] is not None and new["team"] != old["team"]:
                _team_cup_over(draft.world, state, "--team")
            if new["place"] is None and new["status"] is None:
                raise InputError("a result needs a place unless its status is DNF, DNS or DQ")
            if new == old:
                raise StateError(
                    f"{state.label}: {entry.label} already has these values; nothing to correct"
                )
            draft.add(
                ResultCorrected,
                aggregate,
                **_result_context(state, entry),
                **{f"old_{k}": v for k, v in old.items()},
                **new,
                reason=why,
            )

        return self._change(
            race, competitor, nation, decide, by=by, source=source, recorded_at=recorded_at
        )

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
        why = _reason(reason)

        def decide(draft: Draft, state: RaceState, entry: ResultState, aggregate: UUID) -> None:
            if entry.disqualified:
                raise DuplicateError(f"{state.label}: {entry.label} is already disqualified")
            draft.add(
                CompetitorDisqualified, aggregate, **_result_context(state, entry), reason=why
            )

        return self._change(
            race, competitor, nation, decide, by=by, source=source, recorded_at=recorded_at
        )

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
        why = _reason(reason)

        def decide(draft: Draft, state: RaceState, entry: ResultState, aggregate: UUID) -> None:
            if not entry.disqualified:
                raise StateError(
                    f"{state.label}: {entry.label} is not disqualified; nothing to reinstate"
                )
            draft.add(
                DisqualificationWithdrawn, aggregate, **_result_context(state, entry), reason=why
            )

        return self._change(
            race, competitor, nation, decide, by=by, source=source, recorded_at=recorded_at
        )

    def withdraw_result(
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
        """Take back a result recorded in error: the competitor has no result in the race."""
        why = _reason(reason)

        def decide(draft: Draft, state: RaceState, entry: ResultState, aggregate: UUID) -> None:
            draft.add(
                ResultWithdrawn,
                aggregate,
                **_result_context(state, entry),
                **_old_values(entry),
                disqualified=entry.disqualified,
                reason=why,
            )

        return self._change(
            race, competitor, nation, decide, by=by, source=source, recorded_at=recorded_at
        )

    # --- races ---------------------------------------------------------------------------

    def _race_change(
        self,
        race: str,
        decide: Callable[[Draft, RaceState, UUID], None],
        *,
        by: str | None,
        source: str | None,
        recorded_at: datetime | None,
    ) -> Receipt:
        def build(reader: Reader, meta: Meta) -> Built:
            world, state = self._race(reader, race)
            draft = Draft(reader, meta, world)
            decide(draft, state, self._aggregate(reader, state))
            return draft.built()

        return self._command(build, by=by, source=source, recorded_at=recorded_at)

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
        why = _reason(reason)

        def decide(draft: Draft, state: RaceState, aggregate: UUID) -> None:
            if state.voided:
                raise DuplicateError(f"{state.label} is already void")
            draft.add(RaceVoided, aggregate, **_race_context(state), reason=why)

        return self._race_change(race, decide, by=by, source=source, recorded_at=recorded_at)

    def unvoid_race(
        self,
        race: str,
        *,
        reason: str,
        by: str | None = None,
        source: str | None = None,
        recorded_at: datetime | None = None,
    ) -> Receipt:
        """Make a voided race count again, with its results as they stand."""
        why = _reason(reason)

        def decide(draft: Draft, state: RaceState, aggregate: UUID) -> None:
            if not state.voided:
                raise StateError(f"{state.label} is not void; nothing to unvoid")
            draft.add(RaceUnvoided, aggregate, **_race_context(state), reason=why)

        return self._race_change(race, decide, by=by, source=source, recorded_at=recorded_at)

    def reschedule_race(
        self,
        race: str,
        *,
        race_date: date,
        reason: str,
        by: str | None = None,
        source: str | None = None,
        recorded_at: datetime | None = None,
    ) -> Receipt:
        """Move a race to another date (postponed by weather, say)."""
        why = _reason(reason)

        def decide(draft: Draft, state: RaceState, aggregate: UUID) -> None:
            if state.date == race_date:
                raise StateError(f"{state.label} is already on {race_date}; nothing to move")
            old = state.date
            draft.add(
                RaceRescheduled,
                aggregate,
                **{**_race_context(state), "race_date": race_date},
                old_date=old,
                reason=why,
            )

        return self._race_change(race, decide, by=by, source=source, recorded_at=recorded_at)

    def retable_race(
        self,
        race: str,
        *,
        table: str,
        reason: str,
        by: str | None = None,
        source: str | None = None,
        recorded_at: datetime | None = None,
    ) -> Receipt:
        """Score a race by another of its season's point tables."""
        why = _reason(reason)

        def decide(draft: Draft, state: RaceState, aggregate: UUID) -> None:
            season = draft.world.seasons[state.season]
            if table not in season.tables:
                raise UnknownIdError(
                    f"season {state.season} has no table {table!r}"
                    f" (tables: {', '.join(sorted(season.tables))})"
                )
            if state.table == table:
                raise StateError(f"{state.label} is already scored by table {table}")
            draft.add(
                RaceRetabled,
                aggregate,
                **_race_context(state),
                old_table=state.table,
                old_points=list(state.points),
                table=table,
                points=list(season.tables[table]),
                reason=why,
            )

        return self._race_change(race, decide, by=by, source=source, recorded_at=recorded_at)

    # --- competitors ---------------------------------------------------------------------

    def rename_competitor(
        self,
        competitor: str,
        *,
        to: str,
        reason: str,
        nation: str | None = None,
        to_nation: str | None = None,
        by: str | None = None,
        source: str | None = None,
        recorded_at: datetime | None = None,
    ) -> Receipt:
        """Every result held under (competitor, nation), in every season, is from now on held
        under (to, to_nation or nation); when someone already holds that name, the two are
        merged (refused if both have a result in one race)."""
        why = _reason(reason)
        nation, to_nation = _nation(nation), _nation(to_nation)
        new_name = _name(to)

        def build(reader: Reader, meta: Meta) -> Built:
            upto = meta.command - 1
            held = _holder(reader, competitor, nation, upto)
            target_nation = to_nation if to_nation is not None else held.nation
            if canonical(new_name) == canonical(held.name) and target_nation == held.nation:
                raise StateError(
                    f"{competitor_key(held.name, held.nation)} is already called that;"
                    " nothing to rename"
                )
            target = reader.label_holder(new_name, target_nation)
            keys = [held.key] + ([target.key] if target and target.key != held.key else [])
            world = reader.career_world(keys, upto)
            merged_into = None
            shown = new_name
            if target is not None and target.key != held.key:
                shared = sorted(
                    race.label
                    for race in world.races.values()
                    if any(
                        world.identity(r.competitor_id) == held.competitor_id
                        for r in race.results.values()
                    )
                    and any(
                        world.identity(r.competitor_id) == target.competitor_id
                        for r in race.results.values()
                    )
                )
                if shared:
                    raise StateError(
                        f"{competitor_key(held.name, held.nation)} and"
                        f" {competitor_key(target.name, target.nation)} both have a result in"
                        f" {shared[0]}: they are two competitors; rename one to another name"
                    )
                merged_into, shown = target.competitor_id, target.name
            draft = Draft(reader, meta, world)
            draft.add(
                CompetitorRenamed,
                UUID(hex=held.competitor_id),
                competitor_id=held.competitor_id,
                old_name=held.name,
                old_nation=held.nation,
                name=shown,
                nation=target_nation,
                merged_into=merged_into,
                unmerged_from=None,
                reason=why,
            )
            return draft.built()

        return self._command(build, by=by, source=source, recorded_at=recorded_at)

    # --- cups --------------------------------------------------------------------------

    def _cup_change(
        self,
        cup: str,
        competitor: str,
        nation: str | None,
        decide: Callable[[Draft, CupKey, Held], None],
        *,
        by: str | None,
        source: str | None,
        recorded_at: datetime | None,
    ) -> Receipt:
        nation = _nation(nation)

        def build(reader: Reader, meta: Meta) -> Built:
            upto = meta.command - 1
            key = reader.resolve_cup(cup, upto)
            held = _holder(reader, competitor, nation, upto)
            world = reader.cup_world(key, upto)
            if not any(
                world.identity(r.competitor_id) == held.competitor_id
                for race in world.races.values()
                for r in race.results.values()
            ):
                raise UnknownIdError(
                    f"{competitor_key(held.name, held.nation)} has no result in {key[0]}/{key[1]}"
                )
            draft = Draft(reader, meta, world)
            decide(draft, key, held)
            return draft.built()

        return self._command(build, by=by, source=source, recorded_at=recorded_at)

    def exclude(
        self,
        cup: str,
        competitor: str,
        *,
        reason: str,
        nation: str | None = None,
        by: str | None = None,
        source: str | None = None,
        recorded_at: datetime | None = None,
    ) -> Receipt:
        """Remove a competitor from a cup's standings (its race results stand)."""
        why = _reason(reason)

        def decide(draft: Draft, cup: CupKey, held: Held) -> None:
            state = draft.world.cup(cup)
            if state is not None and held.competitor_id in state.excluded:
                raise DuplicateError(
                    f"{competitor_key(held.name, held.nation)} is already"
                    f" excluded from {cup[0]}/{cup[1]}"
                )
            draft.add(CompetitorExcluded, cup_uuid(*cup), **_cup_context(cup, held), reason=why)

        return self._cup_change(
            cup, competitor, nation, decide, by=by, source=source, recorded_at=recorded_at
        )

    def readmit(
        self,
        cup: str,
        competitor: str,
        *,
        reason: str,
        nation: str | None = None,
        by: str | None = None,
        source: str | None = None,
        recorded_at: datetime | None = None,
    ) -> Receipt:
        """Lift a competitor's exclusion from a cup's standings."""
        why = _reason(reason)

        def decide(draft: Draft, cup: CupKey, held: Held) -> None:
            state = draft.world.cup(cup)
            if state is None or held.competitor_id not in state.excluded:
                raise StateError(
                    f"{competitor_key(held.name, held.nation)} is not excluded"
                    f" from {cup[0]}/{cup[1]}; nothing to readmit"
                )
            draft.add(CompetitorReadmitted, cup_uuid(*cup), **_cup_context(cup, held), reason=why)

        return self._cup_change(
            cup, competitor, nation, decide, by=by, source=source, recorded_at=recorded_at
        )

    def deduct(
        self,
        cup: str,
        competitor: str,
        *,
        points: Decimal,
        reason: str,
        nation: str | None = None,
        by: str | None = None,
        source: str | None = None,
        recorded_at: datetime | None = None,
    ) -> Receipt:
        """Subtract points from a competitor's total in a cup (after best-N and parts)."""
        why = _reason(reason)
        if not isinstance(points, Decimal) or not 0 < points <= MAX_POINTS:
            raise InputError(f"--points {points}: deduct a positive number of points")

        def decide(draft: Draft, cup: CupKey, held: Held) -> None:
            draft.add(
                PointsDeducted,
                cup_uuid(*cup),
                **_cup_context(cup, held),
                points=points,
                reason=why,
            )

        return self._cup_change(
            cup, competitor, nation, decide, by=by, source=source, recorded_at=recorded_at
        )

    # --- reverting a command -----------------------------------------------------------

    def revert(
        self,
        position: int,
        *,
        reason: str,
        by: str | None = None,
        source: str | None = None,
        recorded_at: datetime | None = None,
    ) -> Receipt:
        """Undo the whole command that wrote the event at ``position``, with new events that
        compensate each of its events; refused, naming the later event, when something
        recorded after the command changed the same thing."""
        why = _reason(reason)
        if not isinstance(position, int) or position < 1:
            raise InputError(f"position {position!r}: a log position is a whole number from 1")

        def build(reader: Reader, meta: Meta) -> Built:
            from ledger.revert import compensate

            upto = meta.command - 1
            command = reader.command_of(position) if position <= upto else None
            if command is None:
                raise UnknownIdError(
                    f"position {position}: the log has no event there (its head is {upto})"
                )
            built: Built = compensate(reader, meta, command, why, Draft)
            return built

        return self._command(build, by=by, source=source, recorded_at=recorded_at)


@contextmanager
def reading_file(path: str) -> Iterator[Reader]:
    """A reader of the ledger file at ``path``, through a connection of its own (what each
    process of a parallel read reads through, ``ledger.parallel.in_order``)."""
    ledger = Ledger(path, readonly=True)
    try:
        with ledger.reading() as reader:
            yield reader
    finally:
        ledger.close()


# --- helpers ---------------------------------------------------------------------------------


def _race_context(race: RaceState) -> dict[str, Any]:
    return {"season": race.season, "race": race.race, "cup": race.cup, "race_date": race.date}


def _result_context(race: RaceState, entry: ResultState) -> dict[str, Any]:
    return {
        **_race_context(race),
        "competitor": entry.name,
        "nation": entry.nation,
        "competitor_id": entry.competitor_id,
    }


def _old_values(entry: ResultState) -> dict[str, Any]:
    return {
        "old_place": entry.place,
        "old_time": entry.time,
        "old_status": entry.status,
        "old_bonus": entry.bonus,
        "old_team": entry.team,
    }


def _cup_context(cup: CupKey, held: Held) -> dict[str, Any]:
    return {
        "season": cup[0],
        "cup": cup[1],
        "competitor_id": held.competitor_id,
        "competitor": held.name,
        "nation": held.nation,
    }


def _holder(reader: Reader, competitor: str, nation: str | None, upto: int) -> Held:
    """The one competitor a user's name (and nation) names, as of ``upto``."""
    name = _name(competitor)
    found = [h for h in reader.holders(name, upto) if nation is None or h.nation == nation]
    if len(found) == 1:
        return found[0]
    if found:
        nations = " or ".join(sorted(h.nation or "(none)" for h in found))
        raise AmbiguousIdError(f"{name!r} names several competitors; give --nation ({nations})")
    who = competitor_key(name, nation)
    raise UnknownIdError(f"no competitor {who} in the ledger")


def _identities(reader: Reader, rows: Sequence[ParsedRow], command: int) -> list[Identity]:
    """Whom each row's result is for: a federation athlete id the ledger knows, else whoever
    holds the row's name (the same text in Unicode) and nation, else a new competitor."""
    labels = {(canonical(row.competitor), row.nation or "") for row in rows}
    held = label_holders(reader, labels)
    athletes = reader.athletes({row.athlete_id for row in rows if row.athlete_id})
    known_athletes = reader.athlete_of({h.key for h in held.values()} | set(athletes.values()))
    ids_of = reader.competitor_ids(athletes.values())
    names_of = {h.key: h for h in held.values()}
    taken = set(reader.competitor_keys({competitor_id(n, nat or None) for n, nat in labels}))
    new: dict[Any, Identity] = {}
    new_ids: set[str] = set()
    found: list[Identity] = []
    for row in rows:
        label = (canonical(row.competitor), row.nation or "")
        holder = held.get(label)
        identity: Identity | None = None
        if row.athlete_id is not None and row.athlete_id in athletes:
            key = athletes[row.athlete_id]
            shown = holder.name if holder is not None and holder.key == key else row.competitor
            identity = Identity(ids_of[key], shown)
        elif holder is not None and known_athletes.get(holder.key) in (None, row.athlete_id):
            identity = Identity(names_of[holder.key].competitor_id, holder.name)
        if identity is None:
            mark = ("athlete", row.athlete_id) if row.athlete_id else ("label", label)
            identity = new.get(mark)
            if identity is None:
                ident = (
                    athlete_competitor_id(row.athlete_id)
                    if row.athlete_id
                    else competitor_id(row.competitor, row.nation)
                )
                if ident in taken or ident in new_ids:
                    ident = competitor_id(row.competitor, row.nation, salt=str(command))
                identity = new[mark] = Identity(ident, row.competitor)
                new_ids.add(ident)
        found.append(identity)
    return found


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


def _check_values(
    place: int | None, time: Decimal | None, status: str | None, bonus: Decimal | None = None
) -> None:
    """Refuse values the results file would refuse (the CLI parses them the same way)."""
    if place is not None and not (isinstance(place, int) and 1 <= place <= MAX_PLACE):
        raise InputError(f"place {place!r}: a place is between 1 and {MAX_PLACE}")
    if time is not None and not (isinstance(time, Decimal) and 0 < time < MAX_TIME):
        raise InputError(f"time {time!r}: a time is exact seconds above 0 and under 24 hours")
    if status is not None and status not in STATUSES:
        raise InputError(f"status {status!r}: status is empty, DNF, DNS or DQ")
    if bonus is not None and not (isinstance(bonus, Decimal) and 0 <= bonus <= MAX_POINTS):
        raise InputError(f"bonus {bonus!r}: bonus points are a non-negative decimal")


def _nation(nation: str | None) -> str | None:
    try:
        return None if nation is None else parse_nation(nation)
    except ValueError as e:
        raise InputError(f"nation {nation!r}: {e}") from None


def _text(value: str, option: str, limit: int) -> str:
    """A line of text a user gives (a reason, a source, a name): visible, not too long."""
    from ledger.inputs import visible

    text = value.strip()
    if not text:
        raise InputError(f"{option} may not be empty")
    if len(text) > limit:
        raise InputError(f"{option}: at most {limit} characters (got {len(text)})")
    try:
        visible(text)
    except ValueError as e:
        raise InputError(f"{option}: {e}") from None
    return text


def _result_for(world: World, race: RaceState, competitor: str) -> str | None:
    """The key of the race's result that counts for this competitor (merges followed)."""
    if competitor in race.results:
        return competitor
    if not world.competitors:
        return None
    me = world.identity(competitor)
    return next((key for key in race.results if world.identity(key) == me), None)


def _no_second_results(
    world: World,
    rows: Sequence[ParsedRow],
    refs: Sequence[RaceRef],
    who: Sequence[Identity],
    file: str,
) -> None:
    """A row for a competitor who already has a result in its race (under a name since merged
    into theirs, too) is refused, naming the file's line."""
    if not world.competitors:
        return  # no merges among these races' competitors: the bulk path checks the ids
    held: dict[RaceKey, set[str]] = {}
    for row, ref, identity in zip(rows, refs, who, strict=True):
        key = (ref.season, ref.race)
        race = world.races[key]
        if key not in held:
            held[key] = {world.identity(k) for k in race.results}
        if world.identity(identity.competitor_id) in held[key]:
            raise DuplicateError(
                f"{file}, line {row.line}: {race.label}:"
                f" {competitor_key(identity.name, row.nation)} already has a result;"
                " use `ledger correct` to change it"
            )


def _team_cup_over(world: World, race: RaceState, field: str) -> None:
    """A team names a team in a team cup over the race's cup; a team where none is scored
    names nothing (a typo'd column, or the wrong season file): InputError."""
    season = world.seasons.get(race.season)
    cups = season.cups.values() if season is not None else ()
    if not any(c.rules.get("teams") and c.rules.get("of") == race.cup for c in cups):
        raise InputError(
            f"{field}: {race.label} is in cup {race.cup}, which no team cup scores;"
            " a team names nothing there (leave it empty)"
        )


def _teams_scored(
    world: World, rows: Sequence[ParsedRow], refs: Sequence[RaceRef], file: str
) -> None:
    """``_team_cup_over`` for each row with a team, naming the file's line and field."""
    checked: set[RaceKey] = set()
    for row, ref in zip(rows, refs, strict=True):
        key = (ref.season, ref.race)
        if row.team is None or key in checked:
            continue
        try:
            _team_cup_over(world, world.races[key], "field team")
        except InputError as e:
            raise InputError(f"{file}, line {row.line}, {e}") from None
        checked.add(key)


def _name(competitor: str) -> str:
    from ledger.identity import written

    try:
        name = written(competitor)
    except ValueError as e:
        raise InputError(f"the competitor's name: {e}") from None
    return _text(name, "the competitor's name", MAX_TEXT)


def _slug(value: str, what: str) -> str:
    import re

    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", value):
        raise InputError(f"{what} id {value!r}: letters, digits, . _ - (e.g. CAL1-A)")
    return value


def _reason(reason: str) -> str:
    if not reason or not reason.strip():
        raise InputError("--reason may not be empty: say why")
    return _text(reason, "--reason", 1000)


__all__ = [
    "UNSET",
    "Built",
    "Draft",
    "Ledger",
    "Meta",
    "RaceRef",
    "Receipt",
    "default_by",
    "reading_file",
]
_ = (CupEvent, RaceEvent, ResultEvent, ResultRestored, DeductionCancelled, Iterable)
