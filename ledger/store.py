"""Where the log lives: store selection and the append-only, hash-chained recorders.

This is the one place that knows about storage. ``--db`` / ``LEDGER_DB`` is a file path
(SQLite, the embedded default) or a ``postgresql://`` URL. Either way the events go through
eventsourcing's recorders, subclassed here to

- refuse UPDATE and DELETE in the database itself (triggers created when a ledger is opened),
- serialise writers, so that recorded times never go backwards along the log, and
- chain every event to the one before it by SHA-256 (see ``ledger.chain``), in the same
  transaction as the events themselves.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import unquote, urlsplit
from uuid import UUID

from eventsourcing.persistence import (
    IntegrityError,
    OperationalError,
    PersistenceError,
    StoredEvent,
)
from eventsourcing.sqlite import (
    SQLiteApplicationRecorder,
    SQLiteCursor,
    SQLiteTransaction,
)

from ledger.chain import EMPTY_HEAD, ChainRow, Head, RawChainRow, links
from ledger.domain import RaceScheduled, ResultRecorded
from ledger.errors import RecordedTimeError, StoreError

DEFAULT_DB = "ledger.db"
CHAIN_TABLE = "ledger_chain"
EVENTS_TABLE = "stored_events"
RACE_SCHEDULED: str = RaceScheduled.TOPIC
RESULT_RECORDED: str = ResultRecorded.TOPIC
SCHEDULED_RACE_INDEX = f"{EVENTS_TABLE}_scheduled_race"
# Every event but the results, by topic: the few events a rebuild reads first. A query
# uses it only if its WHERE clause says, in these words, that it wants no results.
RARE_TOPIC_INDEX = f"{EVENTS_TABLE}_rare_topic"
NOT_A_RESULT = f"topic <> '{RESULT_RECORDED}'"
# Indexes older ledgers have: each cost every recorded event a B-tree insert and a page
# written at random (the hashes, all topics, the recorded times), and no query needs them.
OLD_INDEXES = (f"{CHAIN_TABLE}_hash", f"{EVENTS_TABLE}_topic", f"{CHAIN_TABLE}_recorded_at")
# A race's id inside its RaceScheduled event: what a results file names. (NULL for a state
# that is not JSON, so that a tampered row can still be opened and reported by verify.)
_RACE_ID = (
    "json_extract(CASE WHEN json_valid(CAST(state AS TEXT)) THEN CAST(state AS TEXT) END, '$.race')"
)
NAMES_PER_QUERY = 500
ROWS_PER_INSERT = 100
AGGREGATES_PER_QUERY = 1_000  # well under SQLite's limit of bound parameters


class EventRun(NamedTuple):
    """Consecutive events of one aggregate, as stored: a large import's events without an
    object per event (see ``ledger.bulk``)."""

    originator_id: UUID
    first_version: int
    topic: str
    states: list[bytes]


class EventColumns(NamedTuple):
    """Events as the events table holds them, field by field: aggregate ids (32 hex
    digits), versions, topics and states, one item per event in each."""

    ids: list[str]
    versions: list[int]
    topics: list[str]
    states: list[bytes]


def stored_events(runs: Sequence[EventRun]) -> list[StoredEvent]:
    """The runs' events as the library's stored events, in order."""
    return [
        StoredEvent(run.originator_id, version, run.topic, state)
        for run in runs
        for version, state in enumerate(run.states, run.first_version)
    ]


class RecordedTimeWentBackwards(RecordedTimeError):
    """Raised inside a write when the log's newest event is later than the new events."""

    def __init__(self, head_recorded_at: str, recorded_at: str) -> None:
        super().__init__(
            f"--recorded-at {recorded_at} is earlier than the newest event in the ledger"
            f" ({head_recorded_at}); recorded times may not go backwards"
        )
        self.head_recorded_at = head_recorded_at


def resolve_db(db: str | None) -> str:
    """The store the user asked for: --db, else LEDGER_DB, else ./ledger.db."""
    return db or os.environ.get("LEDGER_DB") or DEFAULT_DB


def is_postgres(db: str) -> bool:
    """Whether a --db value names a PostgreSQL server."""
    return db.startswith(("postgresql://", "postgres://"))


def redact(db: str) -> str:
    """A --db value fit to print: a URL's password is replaced by ***."""
    if not is_postgres(db):
        return db
    parts = urlsplit(db)
    if parts.password is None:
        return db
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


def store_env(db: str) -> dict[str, str]:
    """The eventsourcing environment that opens the store named by ``db``."""
    if is_postgres(db):
        parts = urlsplit(db)
        dbname = unquote(parts.path.lstrip("/"))
        if not dbname:
            raise StoreError(f"--db {redact(db)}: the URL names no database (…/DBNAME)")
        try:
            port = parts.port
        except ValueError:
            raise StoreError(f"--db {redact(db)}: the port is not a number") from None
        return {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "APPLICATION_RECORDER_TOPIC": "ledger.store_postgres:ChainedPostgresRecorder",
            "POSTGRES_DBNAME": dbname,
            "POSTGRES_HOST": parts.hostname or "127.0.0.1",
            "POSTGRES_PORT": str(port or 5432),
            "POSTGRES_USER": unquote(parts.username or "postgres"),
            "POSTGRES_PASSWORD": unquote(parts.password or ""),
            "POSTGRES_LOCK_TIMEOUT": "30",
            "POSTGRES_CONNECT_TIMEOUT": "5",
            # Check a pooled connection before use: a server restart costs no command.
            "POSTGRES_PRE_PING": "y",
            "POSTGRES_POOL_SIZE": "2",
            "POSTGRES_MAX_OVERFLOW": "2",
        }
    if db != ":memory:" and "mode=memory" not in db:
        path = Path(db)
        if path.is_dir():
            raise StoreError(f"--db {db}: is a directory; give a file path such as {db}/ledger.db")
        if not path.parent.exists():
            raise StoreError(f"--db {db}: folder {path.parent} does not exist")
    return {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "APPLICATION_RECORDER_TOPIC": "ledger.store:ChainedSQLiteRecorder",
        "SQLITE_DBNAME": db,
        "SQLITE_LOCK_TIMEOUT": "60",
    }


class ChainedRecorder:
    """What the ledger needs of a recorder beyond eventsourcing's: the chain and its head."""

    def head(self) -> Head:
        """The newest event's position, hash and transaction time."""
        raise NotImplementedError

    def insert_runs(self, runs: Sequence[EventRun], recorded_at: str) -> int:
        """Insert the runs' events as ``insert_events`` would, and say how many there were."""
        raise NotImplementedError

    def chain_rows(self, after: int, limit: int) -> Sequence[ChainRow]:
        """Events after a position, in log order, with everything their hash covers."""
        return [ChainRow(*row) for row in self.chain_tuples(after, limit)]

    def chain_tuples(self, after: int, limit: int) -> Sequence[RawChainRow]:
        """``chain_rows`` as plain tuples, in the same order of fields (cheaper to build)."""
        raise NotImplementedError

    def chain_batches(self, after: int, batch: int) -> Iterator[Sequence[RawChainRow]]:
        """Every event after a position, in log order, as batches of plain tuples.

        Each batch is its own short read: a long verification never holds the store. A
        thousand rows or so is the sweet spot: larger batches are slower to read, as the
        rows of a batch outgrow the CPU's caches.
        """
        return _batches(self.chain_tuples, after, batch)

    def position_at(self, recorded_at: str) -> int:
        """The last position recorded at or before a canonical time (0 if none)."""
        raise NotImplementedError

    def timed_notifications(
        self, after: int, limit: int, upto: int | None = None
    ) -> Sequence[tuple[int, str, str, bytes]]:
        """(position, recorded_at, topic, state) of events after a position, in log order."""
        raise NotImplementedError

    def copy_rows(self, rows: Sequence[ChainRow]) -> None:
        """Append rows read from another ledger, keeping their positions, times and hashes."""
        raise NotImplementedError

    def topic_states(self, topic: str) -> list[bytes]:
        """The state of every event of a topic, in log order, as stored (one query)."""
        raise NotImplementedError

    def scheduled_states(self, races: Sequence[str]) -> list[bytes]:
        """The stored state of every RaceScheduled event whose race id is one of ``races``.

        A results file names a few races of a ledger that may hold tens of thousands: this
        reads only those (and every season's race of the same id, for ambiguity), in log order.
        """
        raise NotImplementedError

    def aggregates_events(self, originator_ids: Sequence[UUID]) -> list[StoredEvent]:
        """Every event of these aggregates, by aggregate, each in version order.

        What ``select_events`` gives for each aggregate, without a query per aggregate (one
        in all, or one per thousand aggregates on SQLite).
        """
        raise NotImplementedError

    def file_path(self) -> str | None:
        """A SQLite database file other processes can open to read the chain, if this is one."""
        return None

    def unchained_position(self) -> int | None:
        """Where the first stored event without a chain row sits in the log, if there is one.

        That is 1 + the position of the last chained event stored before it. An honest log
        has none: events and their chain rows are written in one transaction.
        """
        raise NotImplementedError


class _ImmediateTransaction(SQLiteTransaction):
    """A write transaction that takes SQLite's write lock before it reads the chain's head."""

    def __enter__(self) -> SQLiteCursor:
        cursor = self.connection.cursor()
        try:
            # A large save touches pages all over the events' key index (one place per race);
            # with SQLite's default 2 MB page cache they are spilled and read back mid-save. The
            # cache grows only as pages are used, up to this bound (256 MiB: a file of 50,000
            # results into a ledger of a million events touches about that much).
            cursor.execute("PRAGMA cache_size = -262144")
            cursor.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as e:
            raise OperationalError(e) from e
        return cursor


def _append_only_triggers(table: str) -> list[str]:
    return [
        f"CREATE TRIGGER IF NOT EXISTS {table}_refuse_{verb.lower()} BEFORE {verb} ON {table} "
        f"BEGIN SELECT RAISE(ABORT, 'the ledger is append-only: {verb} on {table} refused'); END"
        for verb in ("UPDATE", "DELETE")
    ]


class ChainedSQLiteRecorder(SQLiteApplicationRecorder, ChainedRecorder):
    """eventsourcing's SQLite recorder, append-only and hash-chained."""

    def construct_create_table_statements(self) -> list[str]:
        """The events table, the chain beside it, their triggers and indexes."""
        return [
            *super().construct_create_table_statements(),
            f"CREATE TABLE IF NOT EXISTS {CHAIN_TABLE} ("
            "position INTEGER PRIMARY KEY, "
            "notification_id INTEGER NOT NULL UNIQUE, "
            "recorded_at TEXT NOT NULL, "
            "hash TEXT NOT NULL)",
            *(f"DROP INDEX IF EXISTS {name}" for name in OLD_INDEXES),
            f"CREATE INDEX IF NOT EXISTS {RARE_TOPIC_INDEX} "
            f"ON {self.events_table_name} (topic) WHERE {NOT_A_RESULT}",
            # Only RaceScheduled rows are in it, so recording a result never writes to it.
            f"CREATE INDEX IF NOT EXISTS {SCHEDULED_RACE_INDEX} "
            f"ON {self.events_table_name} ({_RACE_ID}) WHERE topic = '{RACE_SCHEDULED}'",
            *_append_only_triggers(self.events_table_name),
            *_append_only_triggers(CHAIN_TABLE),
        ]

    def create_table(self) -> None:
        """Create the schema (and any missing trigger), translating 'not a database' errors."""
        try:
            if self._schema_is_complete():
                return
            # IMMEDIATE: several processes opening a new ledger at once queue for the write
            # lock instead of failing to upgrade a read transaction ("database is locked").
            with self._write() as curs:
                for statement in self.create_table_statements:
                    curs.execute(statement)
        except (PersistenceError, sqlite3.Error) as e:
            raise StoreError(f"--db {self.datastore.pool.db_name}: {e}") from None

    def _schema_is_complete(self) -> bool:
        names = [self.events_table_name, CHAIN_TABLE, SCHEDULED_RACE_INDEX, RARE_TOPIC_INDEX]
        names += [
            f"{table}_refuse_{verb}"
            for table in (self.events_table_name, CHAIN_TABLE)
            for verb in ("update", "delete")
        ]
        asked = [*names, *OLD_INDEXES]  # complete: every name there, the old indexes gone
        with self._read() as c:
            c.execute(
                f"SELECT name FROM sqlite_master WHERE name IN ({','.join('?' * len(asked))})",
                asked,
            )
            return {row[0] for row in c.fetchall()} == set(names)

    @contextmanager
    def _write(self) -> Iterator[SQLiteCursor]:
        try:
            with (
                self.datastore.get_connection(commit=True) as conn,
                _ImmediateTransaction(conn, commit=True) as curs,
                curs,
            ):
                yield curs
        except OperationalError as e:
            # Only a lock held by another writer is worth retrying; a full disk or a
            # read-only file is reported at once, not after thirty attempts as "contention".
            if "locked" in str(e) or "busy" in str(e):
                raise
            raise StoreError(f"--db {self.datastore.pool.db_name}: {e}") from None

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Cursor]:
        with self.datastore.transaction(commit=False) as curs, curs as c:
            yield c

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """Insert events and their chain links in one write transaction."""
        events = EventColumns(
            _hexes(stored_events),
            [s.originator_version for s in stored_events],
            [s.topic for s in stored_events],
            [s.state for s in stored_events],
        )
        return self._insert_columns(events, kwargs["recorded_at"])

    def insert_runs(self, runs: Sequence[EventRun], recorded_at: str) -> int:
        """``insert_events`` of the runs' events, with no object per event."""
        events = EventColumns([], [], [], [])
        for run in runs:
            count = len(run.states)
            events.ids.extend([_hex(run.originator_id)] * count)
            events.versions.extend(range(run.first_version, run.first_version + count))
            events.topics.extend([run.topic] * count)
            events.states.extend(run.states)
        return len(self._insert_columns(events, recorded_at))

    def _insert_columns(self, events: EventColumns, recorded_at: str) -> list[int]:
        """Insert events and their chain links in one write transaction; their notification
        ids are given back."""
        with self._write() as curs:
            head = _head(curs)
            if head.recorded_at is not None and recorded_at < head.recorded_at:
                raise RecordedTimeWentBackwards(head.recorded_at, recorded_at)
            try:
                ids = self._insert_rowids(curs, events)
            except sqlite3.IntegrityError as e:
                raise IntegrityError(e) from e
            count = len(ids)
            hashes = links(head.hash, head.position, recorded_at, zip(*events, strict=True))
            positions = range(head.position + 1, head.position + 1 + count)
            _insert_values(
                curs, CHAIN_TABLE, [positions, ids, [recorded_at] * count, hashes], count
            )
            return ids

    def _insert_rowids(self, c: SQLiteCursor, events: EventColumns) -> list[int]:
        """Insert events with their rowids (notification ids) given, and give them back.

        The library inserts one event per execute, to read each rowid back. Giving the
        rowids instead keeps them known: the write lock is held since BEGIN IMMEDIATE, so
        nobody else can take max(rowid) + 1 onwards, and a clash would be an IntegrityError.
        """
        c.execute(f"SELECT MAX(rowid) FROM {self.events_table_name}")
        first = (c.fetchone()[0] or 0) + 1
        count = len(events.states)
        ids = list(range(first, first + count))
        _insert_values(
            c,
            f"{self.events_table_name} (rowid, originator_id, originator_version, topic, state)",
            [ids, *events],
            count,
        )
        return ids

    def copy_rows(self, rows: Sequence[ChainRow]) -> None:
        """Append rows copied from another ledger, checking they continue this one."""
        with self._write() as curs:
            head = _head(curs)
            if rows and rows[0].position != head.position + 1:
                raise StoreError(
                    f"copy: the target's head is at {head.position}, the rows start at"
                    f" {rows[0].position}"
                )
            for row in rows:
                curs.execute(
                    f"INSERT INTO {self.events_table_name} VALUES (?,?,?,?)",
                    (row.originator_id, row.originator_version, row.topic, row.state),
                )
                curs.execute(
                    f"INSERT INTO {CHAIN_TABLE} VALUES (?,?,?,?)",
                    (row.position, curs.lastrowid, row.recorded_at, row.hash),
                )

    def topic_states(self, topic: str) -> list[bytes]:
        """The state of every event of a topic, in log order, as stored (one query)."""
        with self._read() as c:
            # Any topic but the results' is read through the rare-topic index.
            rare = "" if topic == RESULT_RECORDED else f" AND {NOT_A_RESULT}"
            c.execute(
                f"SELECT state FROM {self.events_table_name} WHERE topic = ?{rare} ORDER BY rowid",
                (topic,),
            )
            c.row_factory = None
            return [row[0] for row in c.fetchall()]

    def scheduled_states(self, races: Sequence[str]) -> list[bytes]:
        """The stored state of every RaceScheduled event whose race id is one of ``races``."""
        found: list[tuple[int, bytes]] = []
        with self._read() as c:
            c.row_factory = None
            for start in range(0, len(races), NAMES_PER_QUERY):
                names = list(races[start : start + NAMES_PER_QUERY])
                # The topic is written out, not bound, so that the partial index applies; and
                # named, or the planner may prefer walking every race by the topic index.
                c.execute(
                    f"SELECT rowid, state FROM {self.events_table_name} "
                    f"INDEXED BY {SCHEDULED_RACE_INDEX} WHERE topic = '{RACE_SCHEDULED}' "
                    f"AND {_RACE_ID} IN ({','.join('?' * len(names))})",
                    names,
                )
                found += c.fetchall()
        return [state for _, state in sorted(found)]

    def aggregates_events(self, originator_ids: Sequence[UUID]) -> list[StoredEvent]:
        """Every event of these aggregates, by aggregate, each in version order."""
        stored: list[StoredEvent] = []
        with self._read() as c:
            c.row_factory = None
            for start in range(0, len(originator_ids), AGGREGATES_PER_QUERY):
                ids = [i.hex for i in originator_ids[start : start + AGGREGATES_PER_QUERY]]
                c.execute(
                    "SELECT originator_id, originator_version, topic, state "
                    f"FROM {self.events_table_name} "
                    f"WHERE originator_id IN ({','.join('?' * len(ids))}) "
                    "ORDER BY originator_id, originator_version",
                    ids,
                )
                stored += [StoredEvent(UUID(i), v, t, s) for i, v, t, s in c.fetchall()]
        return stored

    def head(self) -> Head:
        """The newest event's position, hash and transaction time."""
        with self._read() as c:
            c.execute(
                f"SELECT position, hash, recorded_at FROM {CHAIN_TABLE} "
                "ORDER BY position DESC LIMIT 1"
            )
            row = c.fetchone()
        return EMPTY_HEAD if row is None else Head(row[0], row[1], row[2])

    def chain_tuples(self, after: int, limit: int) -> Sequence[RawChainRow]:
        """Events after a position with everything their hash covers, in log order."""
        with self._read() as c:
            c.row_factory = None  # plain tuples: verify reads the whole log through here
            return _chain_tuples(c, self.events_table_name, after, limit)

    def file_path(self) -> str | None:
        """The database file, which other processes can open (None for one in memory)."""
        name = self.datastore.pool.db_name
        return name if not name.startswith("file:") and Path(name).is_file() else None

    def unchained_position(self) -> int | None:
        """Where the first stored event without a chain row sits in the log, if there is one."""
        with self._read() as c:
            # Counting is cheap; the anti-join runs only when the counts disagree.
            c.execute(
                f"SELECT (SELECT COUNT(*) FROM {self.events_table_name}),"
                f" (SELECT COUNT(*) FROM {CHAIN_TABLE})"
            )
            events, chained = c.fetchone()
            if events <= chained:
                return None
            c.execute(
                f"SELECT e.rowid FROM {self.events_table_name} e "
                f"WHERE NOT EXISTS (SELECT 1 FROM {CHAIN_TABLE} c "
                "WHERE c.notification_id = e.rowid) ORDER BY e.rowid LIMIT 1"
            )
            row = c.fetchone()
            if row is None:
                return None
            c.execute(
                f"SELECT COALESCE(MAX(position), 0) + 1 FROM {CHAIN_TABLE} "
                "WHERE notification_id < ?",
                (row[0],),
            )
            return int(c.fetchone()[0])

    def position_at(self, recorded_at: str) -> int:
        """The last position recorded at or before a canonical time (0 if none)."""
        with self._read() as c:
            # Recorded times never go backwards along the log (the recorder refuses it), so
            # the answer is found by halving the positions: some twenty primary-key look-ups,
            # where an index of recorded times would cost every recorded event an insert.
            # Two subqueries: SQLite answers a lone MIN or MAX from the end of the key, but
            # both in one SELECT by reading every row.
            c.execute(
                f"SELECT (SELECT MIN(position) FROM {CHAIN_TABLE}),"
                f" (SELECT MAX(position) FROM {CHAIN_TABLE})"
            )
            low, high = c.fetchone()
            if low is None:
                return 0
            found = 0
            while low <= high:
                middle = (low + high) // 2
                # The first position from the middle on (a copied log may skip none, but
                # nothing here assumes it).
                c.execute(
                    f"SELECT position, recorded_at FROM {CHAIN_TABLE} "
                    "WHERE position >= ? ORDER BY position LIMIT 1",
                    (middle,),
                )
                position, at = c.fetchone()
                if at <= recorded_at:
                    found, low = position, position + 1
                else:
                    high = middle - 1
            return int(found)

    def timed_notifications(
        self, after: int, limit: int, upto: int | None = None
    ) -> Sequence[tuple[int, str, str, bytes]]:
        """(position, recorded_at, topic, state) of events after a position, in log order."""
        with self._read() as c:
            c.execute(
                "SELECT c.position, c.recorded_at, e.topic, e.state "
                f"FROM {CHAIN_TABLE} c JOIN {self.events_table_name} e "
                "ON e.rowid = c.notification_id "
                "WHERE c.position > ? AND c.position <= ? ORDER BY c.position LIMIT ?",
                (after, upto if upto is not None else 2**62, limit),
            )
            c.row_factory = None  # plain tuples: the read model decodes the whole log from here
            rows: list[tuple[int, str, str, bytes]] = c.fetchall()
            return rows


def _insert_values(
    curs: SQLiteCursor, into: str, columns: Sequence[Sequence[Any]], count: int
) -> None:
    """Insert ``count`` rows given column by column, a hundred rows to a statement:
    executemany's bind, step and reset per row cost more than SQLite's insert itself.
    (500 values a statement: any SQLite takes 999.)"""
    if not count:
        return
    width = len(columns)
    values: list[Any] = [None] * (count * width)
    for offset, column in enumerate(columns):
        values[offset::width] = column  # row after row, without a tuple per row
    row = f"({','.join('?' * width)})"
    step = ROWS_PER_INSERT * width
    for start in range(0, len(values), step):
        chunk = values[start : start + step]
        # The same text for every full chunk: sqlite3 compiles it once (its statement cache).
        statement = f"INSERT INTO {into} VALUES {','.join([row] * (len(chunk) // width))}"
        curs.execute(statement, chunk)


def _chain_tuples(
    c: sqlite3.Cursor, events_table: str, after: int, limit: int
) -> list[RawChainRow]:
    c.execute(
        "SELECT c.position, e.originator_id, e.originator_version, e.topic, "
        "c.recorded_at, e.state, c.hash "
        f"FROM {CHAIN_TABLE} c LEFT JOIN {events_table} e "
        "ON e.rowid = c.notification_id "
        "WHERE c.position > ? ORDER BY c.position LIMIT ?",
        (after, limit),
    )
    rows: list[RawChainRow] = c.fetchall()
    return rows


class SQLiteChainFile:
    """The chain of a SQLite ledger file read through a connection of its own, for another
    process to verify a stretch of the log (see ``ledger.verify``)."""

    def __init__(self, path: str) -> None:
        self.connection = sqlite3.connect(path)
        self.connection.execute("PRAGMA query_only = ON")

    def close(self) -> None:
        """Close the connection."""
        self.connection.close()

    def link_at(self, position: int) -> tuple[str, str] | None:
        """The stored hash and recorded time at a position, if it is there."""
        row = self.connection.execute(
            f"SELECT hash, recorded_at FROM {CHAIN_TABLE} WHERE position = ?", (position,)
        ).fetchone()
        return None if row is None else (row[0], row[1])

    def chain_batches(self, after: int, batch: int) -> Iterator[Sequence[RawChainRow]]:
        """As ``ChainedRecorder.chain_batches``, each batch its own short read."""
        return _batches(
            lambda after, limit: _chain_tuples(
                self.connection.cursor(), EVENTS_TABLE, after, limit
            ),
            after,
            batch,
        )


def _batches(
    read: Callable[[int, int], Sequence[RawChainRow]], after: int, batch: int
) -> Iterator[Sequence[RawChainRow]]:
    """``read(after, limit)`` batch after batch, until a batch comes back short."""
    while True:
        rows = read(after, batch)
        if rows:
            yield rows
        if len(rows) < batch:
            return
        after = rows[-1][0]


def _head(curs: SQLiteCursor) -> Head:
    curs.execute(
        f"SELECT position, hash, recorded_at FROM {CHAIN_TABLE} ORDER BY position DESC LIMIT 1"
    )
    row = curs.fetchone()
    return EMPTY_HEAD if row is None else Head(row[0], row[1], row[2])


def _hex(originator_id: Any) -> str:
    return originator_id.hex if hasattr(originator_id, "hex") else str(originator_id)


def _hexes(stored_events: Sequence[StoredEvent]) -> list[str]:
    """Each event's aggregate id as stored. A save's events come aggregate by aggregate,
    sharing the id object, so an id is converted once per run of its events."""
    hexes = []
    last: Any = None
    hexed = ""
    for s in stored_events:
        if s.originator_id is not last:
            last = s.originator_id
            hexed = _hex(last)
        hexes.append(hexed)
    return hexes
