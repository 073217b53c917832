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
import re
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
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

from ledger import index
from ledger.chain import EMPTY_HEAD, ChainRow, Head, RawChainRow, links
from ledger.errors import RecordedTimeError, StateError, StoreError
from ledger.events import RaceScheduled, ResultRecorded
from ledger.index import Sql
from ledger.signing import SIGNATURES_TABLE, Signature

DEFAULT_DB = "ledger.db"
CHAIN_TABLE = "ledger_chain"
EVENTS_TABLE = "stored_events"
RACE_SCHEDULED: str = RaceScheduled.TOPIC
RESULT_RECORDED: str = ResultRecorded.TOPIC
# Indexes older ledgers have: each cost recorded events a B-tree insert and a page written at
# random (the hashes, all topics, the recorded times), and no query needs them now that the
# read model says where everything is.
OLD_INDEXES = (
    f"{CHAIN_TABLE}_hash",
    f"{EVENTS_TABLE}_topic",
    f"{CHAIN_TABLE}_recorded_at",
    f"{EVENTS_TABLE}_scheduled_race",
    f"{EVENTS_TABLE}_rare_topic",
    *index.RETIRED_INDEXES,
)


class EventRun(NamedTuple):
    """Consecutive events of one aggregate, as stored: a large import's events without an
    object per event (see ``ledger.bulk``)."""

    originator_id: UUID
    first_version: int
    topic: str
    states: list[bytes]
    data: list[dict[str, Any]] | None = None  # what indexing needs of each state, if known


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


class HeadMoved(Exception):
    """Raised inside a write when another writer appended events since the command was built:
    the command is built again from the new state and retried."""


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
    """Whether a --db value names a PostgreSQL server (the scheme in any case)."""
    return db[:13].lower().startswith(("postgresql://", "postgres://"))


# Anything with a scheme (two letters or more, so not a Windows drive) and a user's password
# before an "@": the password runs from the user's ":" to the last "@", which over-masks
# rather than leak a password holding an unencoded "@".
_USERINFO = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]+:/*[^:@/]*):(.*)@", re.DOTALL)
_QUERY_PASSWORD = re.compile(r"([?&]password=)[^&#]*", re.IGNORECASE)
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]+):")


def redact(db: str) -> str:
    """A --db value fit to print: a password, in whatever spelling of a URL, as ***."""
    return _QUERY_PASSWORD.sub(r"\1***", _USERINFO.sub(r"\1:***@", db, count=1))


_ANY_USERINFO = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]+:/*[^:@/\s'\"]*):(\S*)@")


def redact_text(text: str) -> str:
    """Any text with every URL's password in it as ***: ``redact`` of each URL it quotes."""
    return _QUERY_PASSWORD.sub(r"\1***", _ANY_USERINFO.sub(r"\1:***@", text))


def secrets_in(db: str) -> list[str]:
    """Every text of a --db value that may be a password (``redact`` hides them): for a
    message that may quote a part of the URL (a database name) without its context."""
    found = [m.group(2) for m in (_USERINFO.match(db),) if m is not None]
    found += [m.group(0).split("=", 1)[1] for m in _QUERY_PASSWORD.finditer(db)]
    with suppress(ValueError):
        password = urlsplit(db).password
        if password:
            found += [password, unquote(password)]
    return sorted({s for s in found if s}, key=len, reverse=True)


def _not_a_store(db: str) -> str | None:
    """Why a --db value that looks like a URL but is not a PostgreSQL one names no store."""
    found = _SCHEME.match(db)
    if found is None or found.group(1).lower() == "file" or is_postgres(db):
        return None
    scheme = found.group(1)
    if scheme.lower().startswith("postgres") or "@" in db or db[found.end() :].startswith("/"):
        rest = db[found.end() :]
        lead = rest[: len(rest) - len(rest.lstrip("/"))]  # the slashes after the scheme
        return (
            f"--db {redact(db)}: not a store: a PostgreSQL URL starts postgresql://"
            f" (not {scheme}:{lead}), anything else is a SQLite file path"
        )
    return None


def store_env(db: str, *, readonly: bool = False) -> dict[str, str]:
    """The eventsourcing environment that opens the store named by ``db``.

    A reader (``readonly``) creates nothing: no tables, no file; a SQLite file is opened
    read-only, so that a reader can never write, on a file it may not write either."""
    create = {"CREATE_TABLE": "no"} if readonly else {}
    refused = _not_a_store(db)
    if refused:
        raise StoreError(refused)
    if is_postgres(db):
        try:
            parts = urlsplit(db)
            hostname = parts.hostname
        except ValueError:  # "Invalid IPv6 URL", a host in brackets that is no address
            raise StoreError(f"--db {redact(db)}: not a valid URL (the host)") from None
        dbname = unquote(parts.path.lstrip("/"))
        if not parts.netloc and "@" in parts.path:
            raise StoreError(f"--db {redact(db)}: not a valid URL: postgresql://USER@HOST/DBNAME")
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
            "POSTGRES_HOST": hostname or "127.0.0.1",
            "POSTGRES_PORT": str(port or 5432),
            "POSTGRES_USER": unquote(parts.username or "postgres"),
            "POSTGRES_PASSWORD": unquote(parts.password or ""),
            "POSTGRES_LOCK_TIMEOUT": "30",
            "POSTGRES_CONNECT_TIMEOUT": "5",
            # Check a pooled connection before use: a server restart costs no command.
            "POSTGRES_PRE_PING": "y",
            "POSTGRES_POOL_SIZE": "2",
            "POSTGRES_MAX_OVERFLOW": "2",
            # The library ends a session idle in a transaction for 5 s; a write of hundreds of
            # thousands of events hashes and indexes them between its statements for longer.
            "POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT": "600",
            **create,
        }
    name = db
    if db != ":memory:" and "mode=memory" not in db:
        path = Path(db)
        if path.is_dir():
            raise StoreError(f"--db {db}: is a directory; give a file path such as {db}/ledger.db")
        if not path.parent.exists():
            raise StoreError(f"--db {redact(db)}: folder {redact(str(path.parent))} does not exist")
        if readonly:
            if not path.is_file():
                raise StoreError(
                    f"--db {db}: no ledger there; `ledger init` (or the first import) creates one"
                )
            name = f"{path.resolve().as_uri()}?mode=ro"
    return {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "APPLICATION_RECORDER_TOPIC": "ledger.store:ChainedSQLiteRecorder",
        "SQLITE_DBNAME": name,
        "SQLITE_LOCK_TIMEOUT": "60",
        **create,
    }


class Commit(NamedTuple):
    """Events this process committed in one transaction: positions ``first`` to ``last``."""

    first: int
    last: int


# Every commit of this process, in order: after an interruption (Ctrl-C), what was written
# is known, not guessed.
COMMITS: list[Commit] = []


def _committed(before: Head, writer: Writer) -> None:
    if writer.head.position > before.position:
        COMMITS.append(Commit(before.position + 1, writer.head.position))


class ChainedRecorder:
    """What the ledger needs of a recorder beyond eventsourcing's: the chain, its head, and
    the read model written in the same transaction as the events (``ledger.index``).

    Every append follows one policy, whichever the database: take the write lock, read the
    head under it, refuse a head that moved since the command was built (``expected_head``)
    and a recorded time earlier than the head's, insert the events, link them into the chain,
    and index them, all in one transaction."""

    # The events table's column that the chain's notification_id names.
    event_key = "rowid"

    def head(self) -> Head:
        """The newest event's position, hash and transaction time."""
        raise NotImplementedError

    @contextmanager
    def writing(self) -> Iterator[Writer]:
        """A write transaction holding the writers' lock: what is read through it stays the
        state of the log until it commits, so a command decided on it can never conflict."""
        raise NotImplementedError
        yield  # pragma: no cover

    def append(
        self, events: EventColumns, recorded_at: str, expected_head: int | None = None
    ) -> list[int]:
        """Insert events as one command (see the class), giving back their notification ids."""
        with self.writing() as writer:
            if expected_head is not None and writer.head.position != expected_head:
                raise HeadMoved
            return writer.append(events, recorded_at)

    def insert_runs(
        self, runs: Sequence[EventRun], recorded_at: str, expected_head: int | None = None
    ) -> int:
        """Append the runs' events (``append``), and say how many there were."""
        return len(self.append(columns(runs), recorded_at, expected_head))

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """The library's insert: ``append`` of the stored events."""
        return self.append(
            stored_columns(stored_events), kwargs["recorded_at"], kwargs.get("expected_head")
        )

    @contextmanager
    def reading(self) -> Iterator[Sql]:
        """One read transaction (a consistent snapshot of the log and the read model)."""
        raise NotImplementedError
        yield  # pragma: no cover

    def log_rows(
        self, c: Sql, after: int, limit: int
    ) -> Sequence[tuple[int, str, str, str, bytes]]:
        """(position, aggregate id as hex, topic, recorded_at, state) after a position."""
        key = self.event_key
        rows = c.execute(
            "SELECT c.position, e.originator_id, e.topic, c.recorded_at, e.state"
            f" FROM {CHAIN_TABLE} c JOIN {EVENTS_TABLE} e ON e.{key} = c.notification_id"
            " WHERE c.position > ? ORDER BY c.position LIMIT ?",
            (after, limit),
        ).fetchall()
        return [(p, _hex(i), t, at, bytes(state)) for p, i, t, at, state in rows]

    def rebuild_read_model(self, advance: Callable[[int], None] | None = None) -> int:
        """Drop the read model and derive it again from the whole log (one transaction)."""
        raise NotImplementedError

    def signatures(self) -> list[Signature]:
        """Every stored command signature, by last position, with the chain hash there."""
        with self.reading() as c:
            if not index.has_table(c, SIGNATURES_TABLE):
                return []  # a ledger from before signatures: none is signed
            rows = c.execute(
                "SELECT s.first, s.last, s.key_id, s.signature, c.hash"
                f" FROM {SIGNATURES_TABLE} s LEFT JOIN {CHAIN_TABLE} c ON c.position = s.last"
                " ORDER BY s.last"
            ).fetchall()
        return [Signature(*row) for row in rows]

    def command_authors(self) -> dict[int, str]:
        """The database role the server recorded as writing each command (by its first
        position): PostgreSQL only; none on SQLite."""
        return {}

    def copy_signatures(self, signatures: Sequence[Signature]) -> None:
        """Store signatures copied from another ledger that this one lacks."""
        if not signatures:
            return
        with self.writing() as writer:
            for s in signatures:
                writer.sql.execute(
                    f"INSERT INTO {SIGNATURES_TABLE} (last, first, key_id, signature)"
                    " VALUES (?,?,?,?) ON CONFLICT (last) DO NOTHING",
                    (s.last, s.first, s.key_id, s.signature),
                )

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

    def copy_rows(self, rows: Sequence[ChainRow]) -> None:
        """Append rows read from another ledger, keeping their positions, times and hashes."""
        raise NotImplementedError

    def file_path(self) -> str | None:
        """A SQLite database file other processes can open to read the chain, if this is one."""
        return None

    def grant(self, role: str, level: str) -> list[str]:
        """Give a database role a level of rights (reader, recorder, admin): PostgreSQL only."""
        raise StateError(
            "roles are a PostgreSQL feature: who may read or write a SQLite ledger is the"
            " file's own permissions"
        )

    def unchained_position(self) -> int | None:
        """Where the first stored event without a chain row sits in the log, if there is one.

        That is 1 + the position of the last chained event stored before it. An honest log
        has none: events and their chain rows are written in one transaction.
        """
        raise NotImplementedError


class Writer:
    """An open write transaction: the head read under the lock, reads through ``sql``, and
    ``append`` (events, their chain links and their read-model rows, all in it)."""

    def __init__(self, sql: Sql, head: Head) -> None:
        self.sql = sql
        self.head = head

    def append(
        self, events: EventColumns, recorded_at: str, data: Sequence[Any] | None = None
    ) -> list[int]:
        """Insert events after the head; their notification ids are given back. ``data``:
        each event's decoded state, when the caller has it (see ``run_data``)."""
        raise NotImplementedError

    def sign(self, first: int, last: int, key_id: str, signature: str) -> None:
        """Store a command's signature (``ledger.signing``) in the same transaction."""
        self.sql.execute(
            f"INSERT INTO {SIGNATURES_TABLE} (last, first, key_id, signature) VALUES (?,?,?,?)",
            (last, first, key_id, signature),
        )

    def check_time(self, recorded_at: str) -> None:
        """Refuse a recorded time earlier than the head's: times never go backwards."""
        if self.head.recorded_at is not None and recorded_at < self.head.recorded_at:
            raise RecordedTimeWentBackwards(self.head.recorded_at, recorded_at)


def stored_columns(stored_events: Sequence[StoredEvent]) -> EventColumns:
    """The library's stored events, field by field."""
    return EventColumns(
        _hexes(stored_events),
        [s.originator_version for s in stored_events],
        [s.topic for s in stored_events],
        [s.state for s in stored_events],
    )


def columns(runs: Sequence[EventRun]) -> EventColumns:
    """The runs' events, field by field."""
    events = EventColumns([], [], [], [])
    for run in runs:
        count = len(run.states)
        events.ids.extend([_hex(run.originator_id)] * count)
        events.versions.extend(range(run.first_version, run.first_version + count))
        events.topics.extend([run.topic] * count)
        events.states.extend(run.states)
    return events


def run_data(runs: Sequence[EventRun]) -> list[dict[str, Any]] | None:
    """The runs' decoded states, in order, if every run carries them."""
    if not runs or any(run.data is None for run in runs):
        return None
    return [item for run in runs for item in run.data or ()]


def head_position(c: Sql) -> int:
    """The position of the newest event in the chain (0 for an empty log)."""
    found = c.execute(
        f"SELECT position FROM {CHAIN_TABLE} ORDER BY position DESC LIMIT 1"
    ).fetchone()
    return int(found[0]) if found else 0


def decoded(
    first: int, events: EventColumns, recorded_at: str, data: Sequence[Any] | None = None
) -> list[index.Decoded]:
    """Events about to be indexed, as the read model's derivation takes them (decoded from
    their states, or as ``data`` gives them already decoded)."""
    if data is not None and len(data) == len(events.ids):
        return list(
            zip(
                range(first, first + len(events.ids)),
                events.ids,
                events.topics,
                [recorded_at] * len(events.ids),
                data,
                strict=True,
            )
        )
    return [
        index.decode(position, ident, topic, recorded_at, state)
        for position, ident, topic, state in zip(
            range(first, first + len(events.ids)),
            events.ids,
            events.topics,
            events.states,
            strict=True,
        )
    ]


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


class ChainedSQLiteRecorder(ChainedRecorder, SQLiteApplicationRecorder):
    """eventsourcing's SQLite recorder, append-only, hash-chained and indexed."""

    _author: bool | None = None  # whether the chain has its author column (read once)

    def construct_create_table_statements(self) -> list[str]:
        """The events table, the chain beside it, their triggers and indexes."""
        return [
            *super().construct_create_table_statements(),
            f"CREATE TABLE IF NOT EXISTS {CHAIN_TABLE} ("
            "position INTEGER PRIMARY KEY, "
            "notification_id INTEGER NOT NULL UNIQUE, "
            "recorded_at TEXT NOT NULL, "
            "hash TEXT NOT NULL, "
            # The database role that wrote the event, in a copy of a PostgreSQL ledger (a
            # SQLite ledger writes none: see ledger.chain).
            "author TEXT)",
            f"CREATE TABLE IF NOT EXISTS {SIGNATURES_TABLE} ("
            "last INTEGER PRIMARY KEY, "
            "first INTEGER NOT NULL, "
            "key_id TEXT NOT NULL, "
            "signature TEXT NOT NULL)",
            *(f"DROP INDEX IF EXISTS {name}" for name in OLD_INDEXES),
            *_append_only_triggers(self.events_table_name),
            *_append_only_triggers(CHAIN_TABLE),
            *_append_only_triggers(SIGNATURES_TABLE),
        ]

    def create_table(self) -> None:
        """Create the schema and the read model (or bring an older ledger's up to date)."""
        try:
            if self._schema_is_complete():
                return
            # IMMEDIATE: several processes opening a new ledger at once queue for the write
            # lock instead of failing to upgrade a read transaction ("database is locked").
            with self._write() as curs:
                for statement in self.create_table_statements:
                    curs.execute(statement)
                if not _has_author(curs):  # a ledger from before the column
                    curs.execute(f"ALTER TABLE {CHAIN_TABLE} ADD COLUMN author TEXT")
                c = Sql(curs, postgres=False)
                layout, _ = index.version(c)
                if layout != index.VERSION:
                    index.rebuild(c, lambda a, n: self.log_rows(c, a, n), head_position(c))
                else:
                    index.create(c)
                for table in index.APPEND_ONLY:
                    for statement in _append_only_triggers(table):
                        curs.execute(statement)
        except (PersistenceError, sqlite3.Error) as e:
            raise StoreError(f"--db {self.datastore.pool.db_name}: {e}") from None

    def _schema_is_complete(self) -> bool:
        names = [self.events_table_name, CHAIN_TABLE, SIGNATURES_TABLE, *index.INDEX_NAMES]
        names += [
            f"{table}_refuse_{verb}"
            for table in (self.events_table_name, CHAIN_TABLE, SIGNATURES_TABLE, *index.APPEND_ONLY)
            for verb in ("update", "delete")
        ]
        asked = [*names, *OLD_INDEXES]  # complete: every name there, the old indexes gone
        with self._read() as c:
            c.execute(
                f"SELECT name FROM sqlite_master WHERE name IN ({','.join('?' * len(asked))})",
                asked,
            )
            if {row[0] for row in c.fetchall()} != set(names) or not _has_author(c):
                return False
            layout, _ = index.version(Sql(c, postgres=False))
            return layout == index.VERSION

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

    @contextmanager
    def reading(self) -> Iterator[Sql]:
        """One read transaction (a consistent snapshot of the log and the read model)."""
        try:
            with self._read() as c:
                c.row_factory = None  # plain tuples, not the library's sqlite3.Row
                yield Sql(c, postgres=False)
        except (PersistenceError, sqlite3.Error) as e:
            raise StoreError(f"--db {self.datastore.pool.db_name}: {e}") from None

    @contextmanager
    def writing(self) -> Iterator[Writer]:
        """A write transaction holding SQLite's write lock (BEGIN IMMEDIATE)."""
        with self._write() as curs:
            writer = _SQLiteWriter(self, curs)
            before = writer.head
            yield writer
        _committed(before, writer)

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
                    f"INSERT INTO {CHAIN_TABLE} (position, notification_id, recorded_at, hash,"
                    " author) VALUES (?,?,?,?,?)",
                    (row.position, curs.lastrowid, row.recorded_at, row.hash, row.author),
                )
            if rows:
                index.index_events(
                    Sql(curs, postgres=False),
                    [
                        index.decode(r.position, r.originator_id, r.topic, r.recorded_at, r.state)
                        for r in rows
                    ],
                    rows[-1].position,
                )
        if rows:
            COMMITS.append(Commit(rows[0].position, rows[-1].position))

    def rebuild_read_model(self, advance: Callable[[int], None] | None = None) -> int:
        """Drop the read model and derive it again from the whole log (one transaction)."""
        with self._write() as curs:
            c = Sql(curs, postgres=False)
            position = index.rebuild(
                c, lambda a, n: self.log_rows(c, a, n), head_position(c), advance
            )
            for table in index.APPEND_ONLY:
                for statement in _append_only_triggers(table):
                    curs.execute(statement)
            return position

    def head(self) -> Head:
        """The newest event's position, hash and transaction time (none without a chain:
        only a tampered file lacks it, and ``verify`` says so)."""
        with self._read() as c:
            try:
                c.execute(
                    f"SELECT position, hash, recorded_at FROM {CHAIN_TABLE} "
                    "ORDER BY position DESC LIMIT 1"
                )
            except sqlite3.OperationalError:
                return EMPTY_HEAD
            row = c.fetchone()
        return EMPTY_HEAD if row is None else Head(row[0], row[1], row[2])

    def chain_tuples(self, after: int, limit: int) -> Sequence[RawChainRow]:
        """Events after a position with everything their hash covers, in log order."""
        with self._read() as c:
            c.row_factory = None  # plain tuples: verify reads the whole log through here
            if self._author is None:
                self._author = _has_author(c)
            return _chain_tuples(c, self.events_table_name, after, limit, self._author)

    def file_path(self) -> str | None:
        """The database file, which other processes can open (None for one in memory)."""
        name = self.datastore.pool.db_name
        if name.startswith("file://") and name.endswith("?mode=ro"):  # Path.as_uri()'s
            from urllib.request import url2pathname

            name = url2pathname(name[len("file://") : -len("?mode=ro")])
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


def _insert_values(
    curs: SQLiteCursor, into: str, columns: Sequence[Sequence[Any]], count: int
) -> None:
    """Insert ``count`` rows given column by column, many rows to a statement
    (``Sql.insert_values``)."""
    if not count:
        return
    width = len(columns)
    values: list[Any] = [None] * (count * width)
    for offset, column in enumerate(columns):
        values[offset::width] = column  # row after row, without a tuple per row
    Sql(curs, postgres=False).insert_values(into, values, width)


def _has_author(c: sqlite3.Cursor | SQLiteCursor) -> bool:
    """Whether the chain has the author column (a file from before it was added does not,
    and a reader does not add it)."""
    c.execute(f"PRAGMA table_info({CHAIN_TABLE})")
    return any(row[1] == "author" for row in c.fetchall())


def _chain_select(events_table: str, author: bool) -> str:
    """The chain's rows with their events (a RawChainRow each), for a WHERE to follow."""
    return (
        "SELECT c.position, e.originator_id, e.originator_version, e.topic, "
        f"c.recorded_at, e.state, c.hash, {'c.author' if author else 'NULL'} "
        f"FROM {CHAIN_TABLE} c LEFT JOIN {events_table} e ON e.rowid = c.notification_id "
    )


def _chain_tuples(
    c: sqlite3.Cursor, events_table: str, after: int, limit: int, author: bool = True
) -> list[RawChainRow]:
    c.execute(
        _chain_select(events_table, author) + "WHERE c.position > ? ORDER BY c.position LIMIT ?",
        (after, limit),
    )
    rows: list[RawChainRow] = c.fetchall()
    return rows


class _SQLiteWriter(Writer):
    """A write transaction on a SQLite ledger."""

    def __init__(self, recorder: ChainedSQLiteRecorder, curs: SQLiteCursor) -> None:
        super().__init__(Sql(curs, postgres=False), _head(curs))
        self.recorder = recorder
        self.curs = curs

    def append(
        self, events: EventColumns, recorded_at: str, data: Sequence[Any] | None = None
    ) -> list[int]:
        """Insert events, their chain links and their read-model rows."""
        self.check_time(recorded_at)
        head, curs = self.head, self.curs
        try:
            ids = self.recorder._insert_rowids(curs, events)
        except sqlite3.IntegrityError as e:
            raise IntegrityError(e) from e
        count = len(ids)
        hashes = links(head.hash, head.position, recorded_at, zip(*events, strict=True))
        positions = range(head.position + 1, head.position + 1 + count)
        _insert_values(
            curs,
            f"{CHAIN_TABLE} (position, notification_id, recorded_at, hash)",
            [positions, ids, [recorded_at] * count, hashes],
            count,
        )
        index.index_events(
            self.sql, decoded(head.position + 1, events, recorded_at, data), head.position + count
        )
        if count:
            self.head = Head(head.position + count, hashes[-1], recorded_at)
        return ids


class SQLiteChainFile:
    """The chain of a SQLite ledger file read through a connection of its own, for another
    process to verify a stretch of the log (see ``ledger.verify``)."""

    def __init__(self, path: str) -> None:
        self.connection = sqlite3.connect(path)
        self.connection.execute("PRAGMA query_only = ON")
        self.author = _has_author(self.connection.cursor())

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
                self.connection.cursor(), EVENTS_TABLE, after, limit, self.author
            ),
            after,
            batch,
        )

    def chain_range(self, after: int, upto: int) -> list[RawChainRow]:
        """The events at positions after ``after`` up to ``upto``, in log order."""
        rows: list[RawChainRow] = self.connection.execute(
            _chain_select(EVENTS_TABLE, self.author)
            + "WHERE c.position > ? AND c.position <= ? ORDER BY c.position",
            (after, upto),
        ).fetchall()
        return rows


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
