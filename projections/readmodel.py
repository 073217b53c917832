"""The read model: the log's seasons, races and race-level facts in tables beside the events.

A query must cost what one cup costs, not what the whole ledger costs. So the log is decoded
once, incrementally, into tables in the same database as the events (SQLite or PostgreSQL):

- ``read_seasons``, ``read_cups``, ``read_races``: what was declared and scheduled, each row
  with the log position that declared it;
- ``read_facts``: one row per result recorded or corrected, disqualification, withdrawal or
  voided race: its log position, its race and its kind, indexed by (race, position). The
  event itself stays in the log: a query decodes the few it reads (its cup's or race's), so
  a rebuild decodes no result event at all;
- ``read_position``: the last log position decoded, updated in the same transaction as the
  rows, so the model is always exactly a prefix of the log.

Nothing derived is stored: no points, no places, no standings. A query reads the facts of one
cup (or race) up to the position its known-at time names and folds them with the same pure
code a full replay uses, so a correction recorded years after a race is simply one more fact,
and no cached answer can be left stale by it.

Before answering, a query catches up from the last decoded position (two indexed look-ups
when nothing is new). ``rebuild`` drops and re-creates the tables in large batches.

This is the read side's thin I/O layer: it reads the log through the recorder's raw row access
(``timed_notifications``) and the events tables, and decodes only what it needs, with orjson.
SQL is portable between SQLite and PostgreSQL; the differences (placeholders, integer type,
the events table's key) live in ``_Dialect``.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.persistence import StoredEvent

from ledger.application import Ledger
from ledger.domain import EVENT_CLASSES, RaceScheduled, SeasonDeclared
from ledger.ids import resolve
from ledger.store import CHAIN_TABLE, EVENTS_TABLE, RESULT_RECORDED, is_postgres
from projections.facts import KINDS, VOIDED, Fact, apply_facts, fact
from projections.fold import CupState, LedgerView, RaceState, SeasonState
from projections.models import RaceSummary

# The name of the model's position row, versioned: a model written in another layout (an older
# version's) is dropped and decoded again when the ledger is opened.
TRACKER = "read-model-v2"
CATCH_UP_BATCH = 5_000
REBUILD_BATCH = 50_000
LAST_DATE = "9999-12-31"

# Events whose stored JSON is decoded directly; a class that gains a version (and upcasters)
# falls back to the library's decoder, which upcasts.
_DIRECT = {getattr(cls, "TOPIC") for cls in EVENT_CLASSES if cls.class_version == 1}  # noqa: B009


@dataclass(frozen=True)
class _Dialect:
    """The few differences between SQLite and PostgreSQL that the read model meets."""

    placeholder: str
    integer: str  # a 64-bit integer key (SQLite's INTEGER PRIMARY KEY is the rowid)
    event_key: str  # the events table's column that the chain's notification_id names

    def sql(self, text: str) -> str:
        """Statement text written with ``?`` placeholders, in this dialect."""
        return text if self.placeholder == "?" else text.replace("?", self.placeholder)


SQLITE = _Dialect("?", "INTEGER", "rowid")
POSTGRES = _Dialect("%s", "BIGINT", "notification_id")


def _tables(i: str) -> list[str]:
    return [
        f"CREATE TABLE IF NOT EXISTS read_position (name TEXT PRIMARY KEY, position {i} NOT NULL)",
        f"CREATE TABLE IF NOT EXISTS read_seasons (season TEXT PRIMARY KEY, position {i} NOT NULL,"
        " name TEXT NOT NULL, tables TEXT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS read_cups (season TEXT NOT NULL, cup TEXT NOT NULL, "
        f"position {i} NOT NULL, name TEXT NOT NULL, best INTEGER, PRIMARY KEY (season, cup))",
        f"CREATE TABLE IF NOT EXISTS read_races (position {i} PRIMARY KEY, season TEXT NOT NULL,"
        " race TEXT NOT NULL, cup TEXT NOT NULL, race_date TEXT NOT NULL,"
        " table_name TEXT NOT NULL, points TEXT NOT NULL, location TEXT, venue TEXT)",
        f"CREATE TABLE IF NOT EXISTS read_facts (position {i} PRIMARY KEY, race {i} NOT NULL,"
        " kind SMALLINT NOT NULL)",
    ]


INDEXES = [
    "CREATE INDEX IF NOT EXISTS read_cups_cup ON read_cups (cup)",
    "CREATE INDEX IF NOT EXISTS read_races_race ON read_races (race, season)",
    "CREATE INDEX IF NOT EXISTS read_races_cup ON read_races (season, cup, race_date)",
    "CREATE INDEX IF NOT EXISTS read_facts_race ON read_facts (race, position)",
]
TABLES = ("read_facts", "read_races", "read_cups", "read_seasons", "read_position")


class _Cursor:
    """A DB-API cursor that takes ``?`` statements in either dialect."""

    def __init__(self, cursor: Any, dialect: _Dialect) -> None:
        self.cursor = cursor
        self.dialect = dialect

    def execute(self, sql: str, params: Sequence[Any] = ()) -> _Cursor:
        self.cursor.execute(self.dialect.sql(sql), params)
        return self

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self.cursor.executemany(self.dialect.sql(sql), rows)

    def fetchall(self) -> list[tuple[Any, ...]]:
        return list(self.cursor.fetchall())

    def fetchone(self) -> tuple[Any, ...] | None:
        row = self.cursor.fetchone()
        return None if row is None else tuple(row)

    @property
    def rowcount(self) -> int:
        return int(self.cursor.rowcount)


class _Moved(Exception):
    """Another process decoded the same events first."""


@dataclass
class _Batch:
    seasons: list[tuple[Any, ...]]
    cups: list[tuple[Any, ...]]
    races: list[tuple[Any, ...]]
    facts: list[tuple[Any, ...]]


class ReadModel:
    """The read model of one open ledger: catch-up, rebuild and the queries' reads."""

    def __init__(self, ledger: Ledger) -> None:
        # A weak reference: the model is cached per ledger and must not keep it alive.
        self._ledger = weakref.ref(ledger)
        self.dialect = POSTGRES if is_postgres(ledger.db) else SQLITE
        self._race_keys: dict[tuple[str, str], int] = {}
        self._schema_ready = False

    @property
    def ledger(self) -> Ledger:
        """The ledger this model reads."""
        ledger = self._ledger()
        if ledger is None:
            raise ReferenceError("the ledger was closed and collected")
        return ledger

    # --- connections -------------------------------------------------------------------

    @contextmanager
    def _tx(self, *, commit: bool) -> Iterator[_Cursor]:
        """A transaction on the ledger's own store, through the recorder's connections."""
        datastore: Any = getattr(self.ledger.recorder, "datastore")  # noqa: B009
        if self.dialect is POSTGRES:
            from psycopg.rows import tuple_row

            with datastore.transaction(commit=commit) as curs:
                curs.row_factory = tuple_row
                yield _Cursor(curs, self.dialect)
        else:
            with datastore.transaction(commit=commit) as wrapped, wrapped as curs:
                curs.row_factory = None  # plain tuples, not the library's sqlite3.Row
                yield _Cursor(curs, self.dialect)

    def ensure_schema(self) -> None:
        """Create the tables and indexes if they are missing (once per open ledger)."""
        if self._schema_ready:
            return
        with self._tx(commit=True) as c:
            c.execute(_tables(self.dialect.integer)[0])  # read_position
            c.execute("SELECT name FROM read_position")
            if {row[0] for row in c.fetchall()} - {TRACKER}:
                for table in TABLES:  # another version's layout: decode the log again
                    c.execute(f"DROP TABLE IF EXISTS {table}")
            for statement in [*_tables(self.dialect.integer), *INDEXES]:
                c.execute(statement)
            c.execute(
                "INSERT INTO read_position (name, position) VALUES (?, 0) "
                "ON CONFLICT (name) DO NOTHING",
                (TRACKER,),
            )
        self._schema_ready = True

    # --- keeping up with the log --------------------------------------------------------

    def position(self) -> int:
        """The last log position the read model holds."""
        self.ensure_schema()
        with self._tx(commit=False) as c:
            row = c.execute("SELECT position FROM read_position WHERE name = ?", (TRACKER,))
            found = row.fetchone()
        return int(found[0]) if found else 0

    def catch_up(
        self, *, batch: int = CATCH_UP_BATCH, advance: Callable[[int], None] | None = None
    ) -> int:
        """Decode the events recorded since the last position; returns the new position."""
        report = advance or _ignore
        position = self.position()
        head = self.ledger.head().position
        while position < head:
            rows = self.ledger.chain.timed_notifications(position, batch, upto=head)
            if not rows:
                break
            decoded = self._decode(rows)
            try:
                self._store(position, rows[-1][0], decoded)
            except _Moved:
                position = self.position()
                continue
            report(len(rows))
            position = rows[-1][0]
        return position

    def rebuild(self, *, advance: Callable[[int], None] | None = None) -> int:
        """Drop the read model and decode the whole log again; returns the position reached.

        On SQLite, in one transaction and inside the database: a fact is its event's position,
        kind (by topic) and race (by the event's aggregate id), so no result event is decoded
        and none crosses into Python; only seasons and races are. Elsewhere, the catch-up path
        in large batches. Either way the indexes are built once at the end, which is much
        faster than maintaining them row by row.
        """
        report = advance or _ignore
        self._race_keys.clear()
        if self.dialect is SQLITE:
            with self._tx(commit=True) as c:
                self._create(c)
                position = self._rebuild_in_sqlite(c, report)
                for statement in INDEXES:
                    c.execute(statement)
            return position
        with self._tx(commit=True) as c:
            self._create(c)
        position = self.catch_up(batch=REBUILD_BATCH, advance=report)
        with self._tx(commit=True) as c:
            for statement in INDEXES:
                c.execute(statement)
        return position

    def _create(self, c: _Cursor) -> None:
        for table in TABLES:
            c.execute(f"DROP TABLE IF EXISTS {table}")
        for statement in _tables(self.dialect.integer):
            c.execute(statement)
        c.execute("INSERT INTO read_position (name, position) VALUES (?, 0)", (TRACKER,))
        self._schema_ready = True

    def _rebuild_in_sqlite(self, c: _Cursor, report: Callable[[int], None]) -> int:
        # This transaction began by dropping tables, so it holds SQLite's write lock: no event
        # can be appended until it commits, and the head read here stays the head.
        c.execute(f"SELECT COALESCE(MAX(position), 0) FROM {CHAIN_TABLE}")
        found = c.fetchone()
        head = int(found[0]) if found else 0
        source = f"FROM {CHAIN_TABLE} c JOIN {EVENTS_TABLE} e ON e.rowid = c.notification_id"
        # "Not a result", written out, is what lets SQLite read the rare topics' index.
        c.execute(
            f"SELECT c.position, e.topic, e.state, e.originator_id {source} "
            f"WHERE e.topic IN (?, ?) AND e.topic <> '{RESULT_RECORDED}' ORDER BY c.position",
            (RaceScheduled.TOPIC, SeasonDeclared.TOPIC),
        )
        batch = _Batch([], [], [], [])
        aggregates = []
        for position, topic, state, originator_id in c.fetchall():
            self._decode_other(batch, position, None, topic, state)
            if topic == RaceScheduled.TOPIC:
                aggregates.append((originator_id, position))
        self._insert(c, batch)
        # A fact's race is its aggregate: joining on the stored originator id spares
        # extracting season and race from every event's JSON.
        c.execute("DROP TABLE IF EXISTS temp.read_race_ids")
        c.execute("CREATE TEMP TABLE read_race_ids (originator_id PRIMARY KEY, position INTEGER)")
        c.executemany("INSERT INTO temp.read_race_ids VALUES (?, ?)", aggregates)
        topics = list(KINDS)
        kind = "CASE e.topic " + " ".join(f"WHEN ? THEN {KINDS[t]}" for t in topics) + " END"
        insert = (
            f"INSERT INTO read_facts SELECT c.position, r.position, {kind} "
            # CROSS JOIN fixes the order (SQLite's planner would rather walk the topic
            # index once per chunk): along the chain by position, each event by its rowid.
            f"FROM {CHAIN_TABLE} c CROSS JOIN {EVENTS_TABLE} e ON e.rowid = c.notification_id "
            "CROSS JOIN temp.read_race_ids r ON r.originator_id = e.originator_id "
            f"WHERE c.position > ? AND c.position <= ? AND +e.topic IN ({','.join('?' * 5)}) "
            "ORDER BY c.position"
        )
        for start in range(0, head, REBUILD_BATCH):
            end = min(start + REBUILD_BATCH, head)
            c.execute(insert, (*topics, start, end, *topics))
            report(end - start)
        c.execute("DROP TABLE temp.read_race_ids")
        c.execute("UPDATE read_position SET position = ? WHERE name = ?", (head, TRACKER))
        return head

    def _decode(self, rows: Sequence[tuple[int, str, str, bytes]]) -> _Batch:
        """The rows to insert for a batch of stored events.

        The hot loop: a result event's JSON is parsed from its ``season`` key on, skipping
        the time stamp, author and source (a key cannot occur inside a JSON string, whose
        quotes are escaped; without the key, the whole object is parsed), for its race.
        """
        batch = _Batch([], [], [], [])
        loads = orjson.loads
        kinds = KINDS
        direct = _DIRECT
        keys = self._race_keys
        facts = batch.facts
        for position, _recorded_at, topic, state in rows:
            kind = kinds.get(topic)
            if kind is not None and topic in direct:
                at = state.find(b',"season":')
                data = loads(b"{" + state[at + 1 :]) if at > 0 else loads(state)
            elif kind is None and topic != RaceScheduled.TOPIC and topic != SeasonDeclared.TOPIC:
                continue  # an event no query reads
            else:
                self._decode_other(batch, position, kind, topic, state)
                continue
            race = keys.get((data["season"], data["race"]))
            if race is None:
                race = self._lookup_race((data["season"], data["race"]))
            facts.append((position, race, kind))
        return batch

    def _decode_other(
        self, batch: _Batch, position: int, kind: int | None, topic: str, state: bytes
    ) -> None:
        """Seasons, races, and events of a class that has been upcast since."""
        data = orjson.loads(state) if topic in _DIRECT else self._upcast(topic, state)
        if kind is not None:
            key = (data["season"], data["race"])
            race = self._race_keys.get(key) or self._lookup_race(key)
            batch.facts.append((position, race, kind))
        elif topic == RaceScheduled.TOPIC:
            self._race_keys[(data["season"], data["race"])] = position
            batch.races.append(
                (
                    position,
                    data["season"],
                    data["race"],
                    data["cup"],
                    data["race_date"]["_data_"],
                    data["table"],
                    orjson.dumps(data["points"]).decode(),
                    data.get("location"),
                    data.get("venue"),
                )
            )
        else:
            season = data["season"]
            batch.seasons.append(
                (season, position, data["name"], orjson.dumps(data["tables"]).decode())
            )
            batch.cups.extend(
                (season, cup["id"], position, cup["name"], cup.get("best")) for cup in data["cups"]
            )

    def _upcast(self, topic: str, state: bytes) -> dict[str, Any]:
        """Decode through the library (which upcasts old versions), then back to stored JSON."""
        mapper = self.ledger.mapper
        event = mapper.to_domain_event(StoredEvent(UUID(int=0), 0, topic, state))
        decoded: dict[str, Any] = orjson.loads(mapper.transcoder.encode(dict(vars(event))))
        return decoded

    def _lookup_race(self, key: tuple[str, str]) -> int:
        with self._tx(commit=False) as c:
            found = c.execute(
                "SELECT position FROM read_races WHERE season = ? AND race = ?", key
            ).fetchone()
        if found is None:
            raise LookupError(f"the log names race {key[0]}/{key[1]} before scheduling it")
        self._race_keys[key] = int(found[0])
        return int(found[0])

    def _store(self, expected: int, position: int, batch: _Batch) -> None:
        with self._tx(commit=True) as c:
            # The conditional update comes first: it takes the write lock, and it fails when
            # another reader stored these events already (then we roll back and re-read).
            c.execute(
                "UPDATE read_position SET position = ? WHERE name = ? AND position = ?",
                (position, TRACKER, expected),
            )
            if c.rowcount != 1:
                raise _Moved
            self._insert(c, batch)

    @staticmethod
    def _insert(c: _Cursor, batch: _Batch) -> None:
        c.executemany("INSERT INTO read_seasons VALUES (?,?,?,?)", batch.seasons)
        c.executemany("INSERT INTO read_cups VALUES (?,?,?,?,?)", batch.cups)
        c.executemany("INSERT INTO read_races VALUES (?,?,?,?,?,?,?,?,?)", batch.races)
        c.executemany("INSERT INTO read_facts VALUES (?,?,?)", batch.facts)

    # --- what queries read --------------------------------------------------------------

    def cut(self, known_at_position: int | None) -> int:
        """Catch up, then the position a query reads up to (the head, or an earlier one)."""
        head = self.catch_up()
        return head if known_at_position is None else min(head, known_at_position)

    def _resolve(self, ref: str, kind: str, table: str, column: str, upto: int) -> tuple[str, str]:
        """Like ``ledger.ids.resolve``, but reads only the candidates when the id is clear."""
        ref = ref.strip()
        with self._tx(commit=False) as c:
            if "/" in ref:
                season, _, item = ref.partition("/")
                c.execute(
                    f"SELECT season, {column} FROM {table} "
                    f"WHERE season = ? AND {column} = ? AND position <= ?",
                    (season, item, upto),
                )
            else:
                c.execute(
                    f"SELECT season, {column} FROM {table} WHERE {column} = ? AND position <= ?",
                    (ref, upto),
                )
            found = c.fetchall()
            if len(found) == 1:
                return str(found[0][0]), str(found[0][1])
            # Unknown or ambiguous: the shared resolver words the error (with suggestions).
            c.execute(f"SELECT season, {column} FROM {table} WHERE position <= ?", (upto,))
            keys = [(str(s), str(i)) for s, i in c.fetchall()]
        return resolve(ref, keys, kind)

    def resolve_cup(self, ref: str, upto: int) -> tuple[str, str]:
        """The (season, cup) a user's id names, among the cups declared by ``upto``."""
        return self._resolve(ref, "cup", "read_cups", "cup", upto)

    def resolve_race(self, ref: str, upto: int) -> tuple[str, str]:
        """The (season, race) a user's id names, among the races scheduled by ``upto``."""
        return self._resolve(ref, "race", "read_races", "race", upto)

    def cup_view(self, season: str, cup: str, upto: int, as_of: date | None) -> LedgerView:
        """A view holding one cup's races run by ``as_of``, folded up to ``upto``."""
        before = as_of.isoformat() if as_of is not None else LAST_DATE
        with self._tx(commit=False) as c:
            view = self._season_view(c, season, upto)
            c.execute(
                f"SELECT {_RACE_COLUMNS} FROM read_races "
                "WHERE season = ? AND cup = ? AND race_date <= ? AND position <= ?",
                (season, cup, before, upto),
            )
            races = self._add_races(view, c.fetchall())
            c.execute(
                f"{self._facts_sql} WHERE f.race IN (SELECT position FROM read_races"
                " WHERE season = ? AND cup = ? AND race_date <= ? AND position <= ?)"
                " AND f.position <= ? ORDER BY f.race, f.position",
                (season, cup, before, upto, upto),
            )
            apply_facts(races, self._facts(c.fetchall()))
        return view

    def race_view(self, season: str, race: str, upto: int) -> LedgerView:
        """A view holding one race, folded up to ``upto``."""
        with self._tx(commit=False) as c:
            view = self._season_view(c, season, upto)
            c.execute(
                f"SELECT {_RACE_COLUMNS} FROM read_races "
                "WHERE season = ? AND race = ? AND position <= ?",
                (season, race, upto),
            )
            races = self._add_races(view, c.fetchall())
            c.execute(
                f"{self._facts_sql} WHERE f.race = ? AND f.position <= ? ORDER BY f.position",
                (next(iter(races)), upto),
            )
            apply_facts(races, self._facts(c.fetchall()))
        return view

    @property
    def _facts_sql(self) -> str:
        """The facts with their events' topic and stored state (for ``_facts``)."""
        return (
            "SELECT f.position, f.race, f.kind, e.topic, e.state FROM read_facts f"
            f" JOIN {CHAIN_TABLE} c ON c.position = f.position"
            f" JOIN {EVENTS_TABLE} e ON e.{self.dialect.event_key} = c.notification_id"
        )

    def _facts(self, rows: list[tuple[Any, ...]]) -> Iterator[Fact]:
        """Facts decoded from their events, as a query reads them."""
        loads = orjson.loads
        direct = _DIRECT
        for position, race, kind, topic, state in rows:
            data = loads(state) if topic in direct else self._upcast(topic, bytes(state))
            yield fact(position, race, kind, data)

    def race_summaries(self, upto: int) -> list[RaceSummary]:
        """Every race scheduled by ``upto``, with its result count, in date order."""
        with self._tx(commit=False) as c:
            c.execute(
                "SELECT r.season, r.race, r.cup, r.race_date, r.location, r.table_name,"
                " r.position,"
                " (SELECT COUNT(*) FROM read_facts f"
                "  WHERE f.race = r.position AND f.kind = 1 AND f.position <= ?),"
                " (SELECT COUNT(*) FROM read_facts f"
                f"  WHERE f.race = r.position AND f.kind = {VOIDED} AND f.position <= ?)"
                " FROM read_races r WHERE r.position <= ?",
                (upto, upto, upto),
            )
            rows = c.fetchall()
        rows.sort(key=lambda r: (r[3], r[0], r[6]))
        return [
            RaceSummary(
                season=season,
                race=race,
                cup=cup,
                date=date.fromisoformat(race_date),
                location=location,
                table=table,
                results=int(results),
                voided=bool(voided),
            )
            for season, race, cup, race_date, location, table, _, results, voided in rows
        ]

    def _season_view(self, c: _Cursor, season: str, upto: int) -> LedgerView:
        view = LedgerView(position=upto)
        found = c.execute(
            "SELECT name, tables FROM read_seasons WHERE season = ? AND position <= ?",
            (season, upto),
        ).fetchone()
        if found is None:
            return view
        c.execute(
            "SELECT cup, name, best FROM read_cups WHERE season = ? AND position <= ?",
            (season, upto),
        )
        view.seasons[season] = SeasonState(
            season=season,
            name=found[0],
            tables=orjson.loads(found[1]),
            cups={cup: CupState(season, cup, name, best) for cup, name, best in c.fetchall()},
        )
        return view

    @staticmethod
    def _add_races(view: LedgerView, rows: list[tuple[Any, ...]]) -> dict[int, RaceState]:
        by_position: dict[int, RaceState] = {}
        for position, season, race, cup, race_date, table, points, location, venue in rows:
            state = RaceState(
                season=season,
                race=race,
                cup=cup,
                date=date.fromisoformat(race_date),
                table=table,
                points=orjson.loads(points),
                location=location,
                venue=venue,
                order=position,  # schedule order, as the fold numbers races
            )
            view.races[(season, race)] = by_position[position] = state
        return by_position


def _ignore(_n: int) -> None:
    pass


_RACE_COLUMNS = "position, season, race, cup, race_date, table_name, points, location, venue"

_MODELS: weakref.WeakKeyDictionary[Ledger, ReadModel] = weakref.WeakKeyDictionary()


def read_model(ledger: Ledger) -> ReadModel:
    """The read model of an open ledger (one per ledger object, so its caches are shared)."""
    model = _MODELS.get(ledger)
    if model is None:
        model = _MODELS[ledger] = ReadModel(ledger)
    return model
