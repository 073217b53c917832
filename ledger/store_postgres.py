"""The PostgreSQL store: eventsourcing's PostgreSQL recorder, append-only and hash-chained.

It keeps the same schema and the same guarantees as ``ChainedSQLiteRecorder``:

- the events table is ``stored_events`` and the chain beside it is ``ledger_chain``
  (position, notification_id, recorded_at, hash), written in the same transaction;
- writers are serialised by the library's ``LOCK TABLE ... IN EXCLUSIVE MODE``; the chain's
  head is read under that lock, so positions are contiguous from 1 (even when the
  notification id sequence has gaps from rolled-back inserts) and recorded times never go
  backwards along the log;
- a plpgsql trigger refuses UPDATE, DELETE and TRUNCATE on both tables.

The schema is created (idempotently, under an advisory lock so that several processes may
open a new ledger at once) when a ledger is opened.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar
from uuid import UUID

import psycopg
import psycopg.errors
import psycopg_pool
from eventsourcing.persistence import (
    Notification,
    OperationalError,
    PersistenceError,
    StoredEvent,
)
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from psycopg import Cursor
from psycopg.rows import DictRow, tuple_row
from psycopg.sql import SQL, Composed, Identifier, Literal

from ledger import index
from ledger.chain import EMPTY_HEAD, ChainRow, Head, RawChainRow, link
from ledger.errors import ReadOnlyStoreError, StoreError
from ledger.index import Sql
from ledger.signing import SIGNATURES_TABLE
from ledger.store import (
    CHAIN_TABLE,
    COMMITS,
    EVENTS_TABLE,
    ChainedRecorder,
    Commit,
    EventColumns,
    Writer,
    _committed,
    decoded,
    head_position,
)

T = TypeVar("T")

OLD_HASH_INDEX = f"{CHAIN_TABLE}_hash"

REFUSE_FUNCTION = "ledger_refuse_change"
REFUSAL = "the ledger is append-only"  # the trigger's words, which a refused role's are not
LOCK_FUNCTION = "ledger_lock_for_append"
AUTHOR_FUNCTION = "ledger_record_author"
AUTHOR_TRIGGER = f"{CHAIN_TABLE}_record_author"
# What each level may do (``grant``); "admin" owns every object of the ledger.
LEVELS = ("reader", "recorder", "admin")
# Any fixed number: the key of the advisory lock that serialises schema creation.
SCHEMA_LOCK = 7_301_504_238

# Lock waits, serialisation failures and deadlocks are contention: the command is retried.
# Every other operational error means the server cannot be used, and retrying will not help.
_CONTENTION = (
    psycopg.errors.LockNotAvailable,
    psycopg.errors.SerializationFailure,
    psycopg.errors.DeadlockDetected,
    psycopg.errors.QueryCanceled,
)


def describe(datastore: PostgresDatastore) -> str:
    """The store as a URL without its password, for messages."""
    kw = _kwargs(datastore)
    return f"postgresql://{kw.get('user')}@{kw.get('host')}:{kw.get('port')}/{kw.get('dbname')}"


def connection_problem(error: BaseException, password: str = "") -> str:
    """A one-line, password-free reason from a psycopg connection error."""
    if isinstance(error, psycopg_pool.PoolTimeout):
        return f"the server does not answer ({error}); is it running and reachable?"
    first, *rest = str(error).splitlines() or [""]
    hint = " ".join(line.strip() for line in rest if line.strip())
    text = " ".join(first.split()) + (f" ({hint[:1].lower()}{hint[1:]})" if hint else "")
    if password:
        text = text.replace(password, "***")
    text = re.sub(r"^connection failed: ", "", text)
    text = re.sub(r"^connection to server at .*? failed: ", "", text)
    text = re.sub(r"^FATAL: +", "", text)
    if "does not exist" in text and text.startswith("database"):
        text += "; create it first (createdb, or CREATE DATABASE)"
    return text


class ChainedPostgresRecorder(ChainedRecorder, PostgresApplicationRecorder):
    """eventsourcing's PostgreSQL recorder, append-only, hash-chained and indexed."""

    event_key = "notification_id"
    _author: bool | None = None  # whether the chain has its author column (``_has_author``)

    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str = EVENTS_TABLE):
        # The chain must be written in the events' own transaction, under the table lock:
        # the library's database-function insert path would bypass it.
        datastore.enable_db_functions = False
        # No password in the URL: leave it to libpq (PGPASSWORD, ~/.pgpass), which an
        # explicit empty password would override.
        if isinstance(datastore.pool.kwargs, dict) and not datastore.pool.kwargs.get("password"):
            datastore.pool.kwargs.pop("password", None)
        _probe(datastore)
        # Same table name as on SQLite, whatever the application is called.
        super().__init__(datastore, events_table_name=EVENTS_TABLE)
        schema = Identifier(self.datastore.schema)
        events = Identifier(self.events_table_name)
        chain = Identifier(CHAIN_TABLE)
        self._events = SQL("{}.{}").format(schema, events)
        self._chain = SQL("{}.{}").format(schema, chain)
        self.sql_create_statements.extend(
            [
                SQL(
                    "CREATE TABLE IF NOT EXISTS {} ("
                    "position bigint PRIMARY KEY, "
                    "notification_id bigint NOT NULL UNIQUE, "
                    "recorded_at text NOT NULL, "
                    "hash text NOT NULL)"
                ).format(self._chain),
                SQL("CREATE INDEX IF NOT EXISTS {} ON {} (recorded_at, position)").format(
                    Identifier(f"{CHAIN_TABLE}_recorded_at"), self._chain
                ),
                # Older ledgers indexed the chain's hashes; no query looks a hash up.
                SQL("DROP INDEX IF EXISTS {}.{}").format(schema, Identifier(OLD_HASH_INDEX)),
                # Older ledgers indexed the events' topics; the read model says where they are.
                SQL("DROP INDEX IF EXISTS {}.{}").format(
                    schema, Identifier(f"{self.events_table_name}_topic")
                ),
                *(
                    SQL("DROP INDEX IF EXISTS {}.{}").format(schema, Identifier(name))
                    for name in index.RETIRED_INDEXES
                ),
                SQL(
                    "CREATE OR REPLACE FUNCTION {}.{}() RETURNS trigger LANGUAGE plpgsql AS $$ "
                    "BEGIN RAISE EXCEPTION 'the ledger is append-only: % on % refused', "
                    "TG_OP, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege'; END $$"
                ).format(schema, Identifier(REFUSE_FUNCTION)),
                # The database role that wrote each event, recorded by the server (a trigger:
                # only the ledger's owner may give another, as a copy does) and hashed into
                # the event's chain link (``ledger.chain``).
                SQL("ALTER TABLE {} ADD COLUMN IF NOT EXISTS author text").format(self._chain),
                SQL(
                    "CREATE OR REPLACE FUNCTION {}.{}() RETURNS trigger LANGUAGE plpgsql AS $$ "
                    "BEGIN IF NOT pg_has_role(session_user, "
                    "(SELECT relowner FROM pg_class WHERE oid = TG_RELID), 'MEMBER') "
                    "THEN NEW.author := session_user; END IF; RETURN NEW; END $$"
                ).format(schema, Identifier(AUTHOR_FUNCTION)),
                self._guarded_trigger(
                    AUTHOR_TRIGGER,
                    CHAIN_TABLE,
                    "BEFORE INSERT ON {}.{} FOR EACH ROW",
                    AUTHOR_FUNCTION,
                ),
                SQL(
                    "CREATE TABLE IF NOT EXISTS {} ("
                    "last bigint PRIMARY KEY, "
                    "first bigint NOT NULL, "
                    "key_id text NOT NULL, "
                    "signature text NOT NULL)"
                ).format(SQL("{}.{}").format(schema, Identifier(SIGNATURES_TABLE))),
                *self._refusing_triggers(self.events_table_name),
                *self._refusing_triggers(CHAIN_TABLE),
                *self._refusing_triggers(SIGNATURES_TABLE),
                # Taking the writers' lock (EXCLUSIVE) needs UPDATE, DELETE or TRUNCATE on the
                # table, which a recorder must not have: it takes the lock through this
                # function, which runs with its owner's rights and does nothing else.
                SQL(
                    "CREATE OR REPLACE FUNCTION {schema}.{name}() RETURNS void LANGUAGE plpgsql "
                    "SECURITY DEFINER SET search_path = pg_catalog AS $$ "
                    "BEGIN LOCK TABLE {events} IN EXCLUSIVE MODE; END $$"
                ).format(schema=schema, name=Identifier(LOCK_FUNCTION), events=self._events),
                SQL("REVOKE ALL ON FUNCTION {}.{}() FROM PUBLIC").format(
                    schema, Identifier(LOCK_FUNCTION)
                ),
            ]
        )
        self.lock_table_statements = [
            SQL("SET LOCAL lock_timeout = '{0}s'").format(self.datastore.lock_timeout),
            SQL("SELECT {}.{}()").format(schema, Identifier(LOCK_FUNCTION)),
        ]
        self._last_notification = SQL("SELECT max(notification_id) AS last FROM {}").format(
            self._events
        )
        self._copy_events = SQL(
            "COPY {} (originator_id, originator_version, topic, state) FROM STDIN"
        ).format(self._events)
        self._events_after = SQL(
            "SELECT notification_id, originator_id, originator_version FROM {}"
            " WHERE notification_id > %s"
        ).format(self._events)
        self._chain_columns = SQL(
            "{} (position, notification_id, recorded_at, hash, author)"
        ).format(self._chain)
        self._select_head = SQL(
            "SELECT position, hash, recorded_at FROM {} ORDER BY position DESC LIMIT 1"
        ).format(self._chain)

    def _refusing_triggers(self, table: str) -> list[Composed]:
        return [
            self._guarded_trigger(name, table, when, REFUSE_FUNCTION)
            for name, when in (
                (f"{table}_refuse_change", "BEFORE UPDATE OR DELETE ON {}.{} FOR EACH ROW"),
                (f"{table}_refuse_truncate", "BEFORE TRUNCATE ON {}.{} FOR EACH STATEMENT"),
            )
        ]

    def _guarded_trigger(self, name: str, table: str, when: str, function: str) -> Composed:
        schema = Identifier(self.datastore.schema)
        create = SQL("CREATE TRIGGER {} " + when + " EXECUTE FUNCTION {}.{}()").format(
            Identifier(name), schema, Identifier(table), schema, Identifier(function)
        )
        # CREATE TRIGGER has no IF NOT EXISTS before PostgreSQL 14: guard it.
        return SQL(
            "DO $do$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_trigger t "
            "JOIN pg_class c ON c.oid = t.tgrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE t.tgname = {name} AND c.relname = {table} AND n.nspname = {schema}) "
            "THEN EXECUTE {create}; END IF; END $do$"
        ).format(
            name=name,
            table=table,
            schema=self.datastore.schema,
            create=create.as_string(),
        )

    def _read_model_triggers(self) -> list[Composed]:
        return [
            statement for table in index.APPEND_ONLY for statement in self._refusing_triggers(table)
        ]

    def create_table(self) -> None:
        """Create the schema and the read model in one transaction, one process at a time
        (or bring an older ledger's read model up to date)."""
        try:
            with self.datastore.transaction(commit=True) as curs:
                if self._schema_is_complete(curs):
                    # A recorder or a reader may open a ledger: creating needs the owner.
                    self.datastore.register_type_adapters()
                    return
        except PersistenceError:
            pass  # then the full path below says what is wrong
        try:
            with self.datastore.transaction(commit=True) as curs:
                curs.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
                for statement in self.sql_create_statements:
                    if "CREATE TYPE" in statement.as_string() and self._type_exists(curs):
                        continue
                    curs.execute(statement, prepare=False)
                c = self._sql(curs)
                layout, _ = index.version(c)
                if layout != index.VERSION:
                    self._lock_table(curs)  # no append while the read model is derived
                    index.rebuild(c, lambda a, n: self.log_rows(c, a, n), head_position(c))
                else:
                    index.create(c)
                for statement in self._read_model_triggers():
                    curs.execute(statement, prepare=False)
        except PersistenceError as e:
            cannot_write(e, self.datastore)
            raise StoreError(
                f"--db {describe(self.datastore)}: cannot create the ledger ({e})"
            ) from None
        self.datastore.register_type_adapters()

    def _schema_is_complete(self, curs: Cursor[DictRow]) -> bool:
        """Whether every table, trigger and function of the ledger is there, the old indexes
        are gone and the read model has today's layout: opening then changes nothing."""
        schema = self.datastore.schema
        tables = [self.events_table_name, CHAIN_TABLE, SIGNATURES_TABLE, *index.TABLES]
        triggers = [
            f"{table}_refuse_{what}"
            for table in (self.events_table_name, CHAIN_TABLE, SIGNATURES_TABLE, *index.APPEND_ONLY)
            for what in ("change", "truncate")
        ]
        triggers.append(AUTHOR_TRIGGER)
        indexes = [f"{CHAIN_TABLE}_recorded_at", *index.INDEX_NAMES]
        gone = [OLD_HASH_INDEX, f"{self.events_table_name}_topic", *index.RETIRED_INDEXES]
        curs.execute(
            "SELECT (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            "        WHERE n.nspname = %(s)s AND c.relname = ANY(%(tables)s) AND c.relkind = 'r')"
            " AS tables,"
            " (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            "  WHERE n.nspname = %(s)s AND c.relname = ANY(%(indexes)s) AND c.relkind = 'i')"
            " AS indexes,"
            " (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            "  WHERE n.nspname = %(s)s AND c.relname = ANY(%(gone)s)) AS gone,"
            " (SELECT count(DISTINCT t.tgname) FROM pg_trigger t"
            "  JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace"
            "  WHERE n.nspname = %(s)s AND t.tgname = ANY(%(triggers)s)) AS triggers,"
            " (SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
            "  WHERE n.nspname = %(s)s AND p.proname = ANY(%(functions)s)) AS functions,"
            " (SELECT count(*) FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace"
            "  WHERE n.nspname = %(s)s AND t.typname = %(type)s) AS types,"
            " (SELECT count(*) FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid"
            "  JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %(s)s"
            "  AND c.relname = %(chain)s AND a.attname = 'author' AND NOT a.attisdropped)"
            " AS author",
            {
                "s": schema,
                "tables": tables,
                "indexes": indexes,
                "gone": gone,
                "triggers": triggers,
                "functions": [REFUSE_FUNCTION, LOCK_FUNCTION, AUTHOR_FUNCTION],
                "type": self.stored_event_type_name,
                "chain": CHAIN_TABLE,
            },
        )
        found = curs.fetchone()
        expected = {
            "tables": len(tables),
            "indexes": len(indexes),
            "gone": 0,
            "triggers": len(triggers),
            "functions": 3,
            "types": 1,
            "author": 1,
        }
        if found is None or any(found[k] != v for k, v in expected.items()):
            return False
        layout, _ = index.version(self._sql(curs))
        return layout == index.VERSION

    def grant(self, role: str, level: str) -> list[str]:
        """Give a database role a level of rights on this ledger, replacing any it had; the
        statements run are given back.

        - reader: SELECT on every table of the ledger, nothing else;
        - recorder: a reader that may append: INSERT on the log, the chain and the read
          model, UPDATE on the read model's two bookkeeping tables (``read_commands``,
          ``read_meta``: each command's last position and the model's layout are upserted),
          the events' id sequence, and the writers' lock (a function); never UPDATE, DELETE
          or TRUNCATE on the log, the chain or the append-only read-model tables;
        - admin: owns every table, sequence, type and function of the ledger (and may create
          in the schema): what re-creating a trigger or rebuilding the read model needs.
        """
        if level not in LEVELS:
            raise StoreError(f"a role is a {', a '.join(LEVELS)}; not {level!r}")
        schema = Identifier(self.datastore.schema)
        who = Identifier(role)
        tables = [self.events_table_name, CHAIN_TABLE, SIGNATURES_TABLE, *index.TABLES]
        every = SQL(", ").join(SQL("{}.{}").format(schema, Identifier(t)) for t in tables)
        lock = SQL("{}.{}()").format(schema, Identifier(LOCK_FUNCTION))
        statements: list[Composed] = []
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                "SELECT pg_get_serial_sequence(%s, 'notification_id') AS seq",
                (f'"{self.datastore.schema}"."{self.events_table_name}"',),
            )
            row = curs.fetchone()
            sequence = SQL(row["seq"]) if row and row["seq"] else None
            statements += [
                SQL("REVOKE ALL ON TABLE {} FROM {}").format(every, who),
                SQL("REVOKE ALL ON FUNCTION {} FROM {}").format(lock, who),
            ]
            if sequence is not None:
                statements.append(SQL("REVOKE ALL ON SEQUENCE {} FROM {}").format(sequence, who))
            statements += [
                SQL("GRANT USAGE ON SCHEMA {} TO {}").format(schema, who),
                SQL("GRANT SELECT ON TABLE {} TO {}").format(every, who),
            ]
            if level == "recorder":
                statements += [
                    SQL("GRANT INSERT ON TABLE {} TO {}").format(every, who),
                    SQL("GRANT UPDATE ON TABLE {}.read_commands, {}.read_meta TO {}").format(
                        schema, schema, who
                    ),
                    SQL("GRANT EXECUTE ON FUNCTION {} TO {}").format(lock, who),
                ]
                if sequence is not None:
                    statements.append(SQL("GRANT USAGE ON SEQUENCE {} TO {}").format(sequence, who))
            if level == "admin":
                statements += [
                    SQL("ALTER TABLE {}.{} OWNER TO {}").format(schema, Identifier(t), who)
                    for t in tables
                ]
                statements += [
                    SQL("ALTER FUNCTION {}.{}() OWNER TO {}").format(schema, Identifier(f), who)
                    for f in (REFUSE_FUNCTION, LOCK_FUNCTION, AUTHOR_FUNCTION)
                ]
                statements += [
                    SQL("ALTER TYPE {}.{} OWNER TO {}").format(
                        schema, Identifier(self.stored_event_type_name), who
                    ),
                    SQL("GRANT USAGE, CREATE ON SCHEMA {} TO {}").format(schema, who),
                ]
            try:
                for statement in statements:
                    curs.execute(statement)
            except psycopg.Error as e:
                raise StoreError(
                    f"--db {describe(self.datastore)}: cannot grant {level} to {role}:"
                    f" {connection_problem(e)}"
                ) from None
            return [statement.as_string(curs.connection) for statement in statements]

    def _type_exists(self, curs: Cursor[DictRow]) -> bool:
        curs.execute(
            "SELECT 1 FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
            "WHERE t.typname = %s AND n.nspname = %s",
            (self.stored_event_type_name, self.datastore.schema),
        )
        return curs.fetchone() is not None

    @contextmanager
    def _write(self) -> Iterator[Cursor[DictRow]]:
        """A write transaction holding the events table's lock, with the head read under it."""
        try:
            with (
                self.datastore.get_connection() as conn,
                conn.transaction(),
                conn.cursor() as curs,
            ):
                self._lock_table(curs)
                yield curs
        except StoreError:
            raise
        except PersistenceError as e:
            cannot_write(e, self.datastore)
            cause = e.__cause__
            if isinstance(cause, psycopg.OperationalError) and not isinstance(cause, _CONTENTION):
                raise StoreError(
                    f"--db {describe(self.datastore)}: {connection_problem(cause)}"
                ) from None
            raise

    def _once(self, method: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Call one of the library's queries without its ten slow retries.

        A connection that broke (a server restart) is tried once more; a server that does not
        answer, or a second failure, is a StoreError at once.
        """
        query = getattr(method, "__wrapped__", method)
        for attempt in (1, 2):
            try:
                return query(self, *args, **kwargs)
            except OperationalError as e:
                cause = e.__cause__ or e
                if isinstance(cause, _CONTENTION):
                    raise
                if attempt == 2 or isinstance(cause, psycopg_pool.PoolTimeout):
                    raise StoreError(
                        f"--db {describe(self.datastore)}: {connection_problem(cause)}"
                    ) from None
        raise AssertionError("unreachable")

    def select_events(
        self,
        originator_id: UUID | str,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> Sequence[StoredEvent]:
        """An aggregate's events (the library's query, failing fast when the server is gone)."""
        return self._once(
            PostgresApplicationRecorder.select_events,
            originator_id,
            gt=gt,
            lte=lte,
            desc=desc,
            limit=limit,
        )

    def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> Sequence[Notification]:
        """Events in notification order (the library's query, failing fast likewise)."""
        return self._once(
            PostgresApplicationRecorder.select_notifications,
            start,
            limit,
            stop,
            topics,
            inclusive_of_start=inclusive_of_start,
        )

    def max_notification_id(self) -> int | None:
        """The newest notification id (the library's query, failing fast likewise)."""
        newest: int | None = self._once(PostgresApplicationRecorder.max_notification_id)
        return newest

    @contextmanager
    def _read(self) -> Iterator[Cursor[DictRow]]:
        try:
            with self.datastore.get_connection() as conn, conn.cursor() as curs:
                yield curs
        except PersistenceError as e:
            cause = e.__cause__ or e
            raise StoreError(
                f"--db {describe(self.datastore)}: {connection_problem(cause)}"
            ) from None

    def _head(self, curs: Cursor[DictRow]) -> Head:
        curs.execute(self._select_head)
        row = curs.fetchone()
        if row is None:
            return EMPTY_HEAD
        return Head(row["position"], row["hash"], row["recorded_at"])

    @contextmanager
    def writing(self) -> Iterator[Writer]:
        """A write transaction holding the events table's lock (EXCLUSIVE: readers go on)."""
        with self._write() as curs:
            writer = _PostgresWriter(self, curs)
            before = writer.head
            yield writer
        _committed(before, writer)

    def _append(
        self,
        curs: Cursor[DictRow],
        head: Head,
        events: EventColumns,
        recorded_at: str,
        author: str | None = None,
    ) -> tuple[list[int], str]:
        """Insert events, their chain links and their read-model rows after ``head``."""
        if not events.ids:
            return [], head.hash
        self._notify_channel(curs)
        issued = self._copy_in_events(
            curs,
            [
                (UUID(ident), version, topic, state)
                for ident, version, topic, state in zip(*events, strict=True)
            ],
        )
        ids = [
            issued[(UUID(ident).hex, version)]
            for ident, version in zip(events.ids, events.versions, strict=True)
        ]
        rows = []
        in_order = sorted(zip(ids, zip(*events, strict=True), strict=True))
        previous, position = head.hash, head.position
        for notification_id, (ident, version, topic, state) in in_order:
            position += 1
            previous = link(
                previous, position, UUID(ident).hex, version, topic, recorded_at, state, author
            )
            rows.append((position, notification_id, recorded_at, previous, author))
        c = self._sql(curs)
        c.insert(self._chain_columns.as_string(curs.connection), rows)
        ordered = EventColumns(
            *(list(column) for column in zip(*(event for _, event in in_order), strict=True))
        )
        index.index_events(
            c,
            decoded(head.position + 1, ordered, recorded_at),
            head.position + len(ids),
        )
        return ids, previous

    def _copy_in_events(
        self, curs: Cursor[DictRow], rows: Sequence[tuple[UUID, int, str, bytes]]
    ) -> dict[tuple[str, int], int]:
        """Insert stored events (under the writers' lock) in one COPY; the notification id the
        server gave each, by its originator's id (hex) and version."""
        curs.execute(self._last_notification)
        last = curs.fetchone()
        after = 0 if last is None or last["last"] is None else last["last"]
        with curs.copy(self._copy_events) as copy:
            for row in rows:
                copy.write_row(row)
        # Map ids back by (originator, version) rather than trusting the order of the rows.
        curs.execute(self._events_after, (after,))
        return {
            (r["originator_id"].hex, r["originator_version"]): r["notification_id"]
            for r in curs.fetchall()
        }

    @staticmethod
    def _sql(curs: Cursor[DictRow]) -> Sql:
        """The read model's cursor on the transaction's connection: plain tuples."""
        return Sql(curs.connection.cursor(row_factory=tuple_row), postgres=True)

    @contextmanager
    def reading(self) -> Iterator[Sql]:
        """One read transaction (a consistent snapshot of the log and the read model)."""
        try:
            with (
                self.datastore.get_connection() as conn,
                conn.transaction(),
                conn.cursor(row_factory=tuple_row) as curs,
            ):
                # One snapshot for every statement of the read, on a primary or a replica.
                curs.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                yield Sql(curs, postgres=True)
        except PersistenceError as e:
            cause = e.__cause__ or e
            raise StoreError(
                f"--db {describe(self.datastore)}: {connection_problem(cause)}"
            ) from None
        except psycopg.Error as e:
            raise StoreError(f"--db {describe(self.datastore)}: {connection_problem(e)}") from None

    def rebuild_read_model(self, advance: Callable[[int], None] | None = None) -> int:
        """Drop the read model and derive it again from the whole log (one transaction)."""
        with self._write() as curs:
            c = self._sql(curs)
            position = index.rebuild(
                c, lambda a, n: self.log_rows(c, a, n), head_position(c), advance
            )
            for statement in self._read_model_triggers():
                c.execute(statement.as_string(curs.connection))
            return position

    def copy_rows(self, rows: Sequence[ChainRow]) -> None:
        """Append rows copied from another ledger, checking they continue this one."""
        if not rows:
            return
        with self._write() as curs:
            head = self._head(curs)
            if rows[0].position != head.position + 1:
                raise StoreError(
                    f"copy: the target's head is at {head.position}, the rows start at"
                    f" {rows[0].position}"
                )
            curs.execute(
                SQL(
                    "SELECT session_user AS me, pg_has_role(session_user,"
                    " (SELECT relowner FROM pg_class WHERE oid = {}::regclass), 'MEMBER') AS owns"
                ).format(Literal(f'"{self.datastore.schema}"."{CHAIN_TABLE}"'))
            )
            me = curs.fetchone()
            if me is not None and not me["owns"] and any(r.author != me["me"] for r in rows):
                # The server would record this role as every copied event's author, and the
                # copied hashes would no longer hold.
                raise StoreError(
                    "copy: only the ledger's owner (`ledger grant ROLE --admin`) may copy into"
                    " a PostgreSQL ledger: the server records a recorder's own role on each event"
                )
            self._notify_channel(curs)
            issued = self._copy_in_events(
                curs,
                [
                    (UUID(row.originator_id), row.originator_version, row.topic, row.state)
                    for row in rows
                ],
            )
            links = [
                (
                    row.position,
                    issued[(UUID(row.originator_id).hex, row.originator_version)],
                    row.recorded_at,
                    row.hash,
                    row.author,
                )
                for row in rows
            ]
            ids = [entry[1] for entry in links]
            if ids != sorted(ids):
                raise StoreError("copy: the server issued notification ids out of log order")
            c = self._sql(curs)
            c.insert(self._chain_columns.as_string(curs.connection), links)
            index.index_events(
                c,
                [
                    index.decode(r.position, r.originator_id, r.topic, r.recorded_at, r.state)
                    for r in rows
                ],
                rows[-1].position,
            )
        COMMITS.append(Commit(rows[0].position, rows[-1].position))

    def head(self) -> Head:
        """The newest event's position, hash and transaction time."""
        with self._read() as curs:
            return self._head(curs)

    def _has_author(self) -> bool:
        """Whether the chain has its author column: a ledger from before it has not until a
        writer (its owner) opens it, and a reader adds nothing (read once)."""
        if self._author is None:
            found = self._tuples(
                SQL(
                    "SELECT 1 FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid"
                    " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s"
                    " AND c.relname = %s AND a.attname = 'author' AND NOT a.attisdropped"
                ),
                (self.datastore.schema, CHAIN_TABLE),
            )
            self._author = bool(found)
        return self._author

    def command_authors(self) -> dict[int, str]:
        """The database role the server recorded as writing each command (by its first
        position), for the commands that have one."""
        if not self._has_author():
            return {}
        rows = self._tuples(
            SQL(
                "SELECT r.command, k.author FROM {}.read_commands r JOIN {} k"
                " ON k.position = r.command WHERE k.author IS NOT NULL"
            ).format(Identifier(self.datastore.schema), self._chain),
            (),
        )
        return {int(command): str(author) for command, author in rows}

    def _tuples(self, query: Composed | SQL, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        """The rows of a query in one read, as plain tuples (cheaper than dict rows)."""
        with self._read() as curs:
            tuples = curs.connection.cursor(row_factory=tuple_row)
            tuples.execute(query, params)
            return tuples.fetchall()

    def chain_tuples(self, after: int, limit: int) -> Sequence[RawChainRow]:
        """Events after a position with everything their hash covers, in log order."""
        # Plain tuples, and the id as bare hex from the server: verify and every replay
        # read the whole log through here.
        author = SQL("c.author" if self._has_author() else "NULL")
        rows: list[RawChainRow] = self._tuples(
            SQL(
                "SELECT c.position, replace(e.originator_id::text, '-', ''), "
                "e.originator_version, e.topic, c.recorded_at, e.state, c.hash, {} "
                "FROM {} c LEFT JOIN {} e ON e.notification_id = c.notification_id "
                "WHERE c.position > %s ORDER BY c.position LIMIT %s"
            ).format(author, self._chain, self._events),
            (after, limit),
        )
        return rows

    def unchained_position(self) -> int | None:
        """Where the first stored event without a chain row sits in the log, if there is one."""
        with self._read() as curs:
            # Counting is cheap; the anti-join runs only when the counts disagree.
            curs.execute(
                SQL(
                    "SELECT (SELECT COUNT(*) FROM {}) AS events,"
                    " (SELECT COUNT(*) FROM {}) AS chained"
                ).format(self._events, self._chain)
            )
            counts = curs.fetchone()
            if counts is None or counts["events"] <= counts["chained"]:
                return None
            curs.execute(
                SQL(
                    "SELECT COALESCE(MAX(c.position), 0) + 1 AS position FROM {chain} c "
                    "WHERE c.notification_id < (SELECT MIN(e.notification_id) FROM {events} e "
                    "WHERE NOT EXISTS (SELECT 1 FROM {chain} k "
                    "WHERE k.notification_id = e.notification_id))"
                ).format(chain=self._chain, events=self._events)
            )
            row = curs.fetchone()
        return None if row is None else int(row["position"])

    def position_at(self, recorded_at: str) -> int:
        """The last position recorded at or before a canonical time (0 if none)."""
        with self._read() as curs:
            # Recorded times never go backwards along the log: the newest entry of the
            # (recorded_at, position) index at or before the time is the answer, one seek.
            curs.execute(
                SQL(
                    "SELECT position FROM {} WHERE recorded_at <= %s "
                    "ORDER BY recorded_at DESC, position DESC LIMIT 1"
                ).format(self._chain),
                (recorded_at,),
            )
            row = curs.fetchone()
        return int(row["position"]) if row else 0


class _PostgresWriter(Writer):
    """A write transaction on a PostgreSQL ledger."""

    def __init__(self, recorder: ChainedPostgresRecorder, curs: Cursor[DictRow]) -> None:
        super().__init__(recorder._sql(curs), recorder._head(curs))
        self.recorder = recorder
        self.curs = curs
        # The role the server's trigger records for this session (the login role): the
        # chain link must hash exactly what the server stores.
        curs.execute("SELECT session_user AS author")
        row = curs.fetchone()
        self.author = str(row["author"]) if row else None
        if self.author is not None and not self.author.isprintable():
            raise StoreError("the database role's name holds a line break or a control character")

    def append(
        self, events: EventColumns, recorded_at: str, data: Sequence[Any] | None = None
    ) -> list[int]:
        """Insert events, their chain links and their read-model rows (``data`` is not used:
        the server may give the events back in another order)."""
        self.check_time(recorded_at)
        ids, last = self.recorder._append(self.curs, self.head, events, recorded_at, self.author)
        if ids:
            self.head = Head(self.head.position + len(ids), last, recorded_at)
        return ids


def cannot_write(error: BaseException, datastore: PostgresDatastore) -> None:
    """Raise ReadOnlyStoreError when the server refused a write because this role may only
    read, or because it is a hot standby; the log's own append-only trigger is not that."""
    cause = error.__cause__ or error
    where = f"--db {describe(datastore)}"
    if isinstance(cause, psycopg.errors.ReadOnlySqlTransaction):
        raise ReadOnlyStoreError(
            f"{where}: the server is read-only (a standby replica?); write to the primary;"
            " nothing was written"
        ) from None
    if isinstance(cause, psycopg.errors.InsufficientPrivilege) and REFUSAL not in str(cause):
        role = _kwargs(datastore).get("user") or "this role"
        if _may_append(datastore):  # a recorder, asked for what only the owner may do
            raise ReadOnlyStoreError(
                f"{where}: the role {role} may append to this ledger but not do this (it"
                " takes the ledger's owner, or a role granted --admin); nothing was written"
            ) from None
        raise ReadOnlyStoreError(
            f"{where}: the role {role} cannot write to this ledger (it may only read);"
            " nothing was written"
        ) from None


def _may_append(datastore: PostgresDatastore) -> bool:
    """Whether the connecting role may insert into the log (a recorder or more)."""
    try:
        with _connect(datastore, 5) as c:
            row = c.execute(
                "SELECT has_table_privilege(current_user, %s, 'INSERT')",
                (f"{datastore.schema or 'public'}.{EVENTS_TABLE}",),
            ).fetchone()
    except psycopg.Error:
        return False
    return bool(row and row[0])


def _probe(datastore: PostgresDatastore) -> None:
    """Connect once, directly, so that a bad URL fails fast with the server's own reason
    (the pool would only say it could not get a connection after its timeout)."""
    try:
        _connect(datastore, max(1, int(datastore.pool.timeout))).close()
    except (psycopg.Error, psycopg_pool.PoolTimeout) as e:
        reason = connection_problem(e, str(_kwargs(datastore).get("password") or ""))
        raise StoreError(f"--db {describe(datastore)}: cannot connect: {reason}") from None


def _connect(datastore: PostgresDatastore, timeout: int) -> psycopg.Connection[Any]:
    """A connection of its own, outside the pool, with the pool's connection arguments."""
    kw = {k: v for k, v in _kwargs(datastore).items() if k != "row_factory"}
    return psycopg.connect(**kw, connect_timeout=timeout)


def _kwargs(datastore: PostgresDatastore) -> dict[str, Any]:
    kwargs = datastore.pool.kwargs
    return dict(kwargs() if callable(kwargs) else kwargs or {})
