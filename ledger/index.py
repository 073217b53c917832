"""The read model: where every event sits, by race, by competitor, by cup and by command.

Queries must cost what their answer costs, not what the whole ledger costs. So every event
gets index rows in tables beside the log (same SQLite file or PostgreSQL database), written by
the writer **in the same transaction as the event itself**: the read model is always exactly
the log, and readers never write (they work with a read-only role, on a read-only file, on a
streaming replica).

- ``read_facts``: one row per event (its position, kind, and the race, competitor, cup and
  other competitor it concerns), indexed by each of those;
- ``read_seasons``, ``read_cups``, ``read_races``: what was declared and scheduled, keyed by
  the position that declared it (a race's key is the position of its ``RaceScheduled``);
- ``read_competitors``: every competitor id, keyed by the position of its first result;
- ``read_labels``: who holds a name and nation (appended when a competitor takes one, by its
  first result or a rename, and when a rename gives one up), to resolve the names users type;
- ``read_athletes``: federation athlete ids;
- ``read_commands``: each command's first and last position, time and author.

Nothing derived from several events' values is stored: no places, no points, no standings.
A query reads the facts it needs, decodes their events from the log and folds them with
``ledger.fold``. Every row here is a function of the log, so ``ledger verify`` derives the
whole read model again from the log and compares it row by row (``verify_index``): an edited,
added or deleted row is reported with its table and position, and ``ledger rebuild`` repairs.

SQL is portable between SQLite and PostgreSQL; ``Sql`` takes ``?`` statements in either.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import orjson

from ledger.errors import IntegrityViolation
from ledger.events import (
    BY_TOPIC,
    CommandReverted,
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
)
from ledger.identity import canonical, folded, skeleton

VERSION = "read-model-v3"
PARAMETERS_PER_INSERT = 500  # values bound to one INSERT (any SQLite takes 999)

# Each kind of event as a small number in read_facts. Stored: never renumber.
KINDS: dict[type[LedgerEvent], int] = {
    SeasonDeclared: 1,
    RaceScheduled: 2,
    ResultRecorded: 3,
    ResultCorrected: 4,
    CompetitorDisqualified: 5,
    DisqualificationWithdrawn: 6,
    RaceVoided: 7,
    RaceRescheduled: 8,
    RaceRetabled: 9,
    RaceUnvoided: 10,
    ResultWithdrawn: 11,
    ResultRestored: 12,
    CompetitorRenamed: 13,
    CompetitorExcluded: 14,
    CompetitorReadmitted: 15,
    PointsDeducted: 16,
    DeductionCancelled: 17,
    CommandReverted: 18,
}
KIND_OF_TOPIC: dict[str, int] = {cls.TOPIC: kind for cls, kind in KINDS.items()}
CLASS_OF_KIND: dict[int, type[LedgerEvent]] = {kind: cls for cls, kind in KINDS.items()}
ADDS_RESULT = frozenset({KINDS[ResultRecorded], KINDS[ResultRestored]})
RENAMED = KINDS[CompetitorRenamed]
RESCHEDULED = KINDS[RaceRescheduled]
REVERTED = KINDS[CommandReverted]
CUPS_PER_SEASON = 1_000  # a cup's key is its declaration's position * this + its index


class _Shape(NamedTuple):
    """What deriving an event's rows asks of its class, asked once per class, not per event."""

    cls: type[LedgerEvent]
    kind: int
    race: bool  # a race's event, filed under its race
    result: bool  # a result's event, filed under its competitor too
    cup: bool  # a cup's event (an exclusion, a deduction), filed under its cup
    adds: bool  # gives its competitor a result, and so its name and nation


_SHAPES: dict[str, _Shape] = {
    topic: _Shape(
        cls,
        KINDS[cls],
        issubclass(cls, RaceEvent),
        issubclass(cls, ResultEvent),
        issubclass(cls, CupEvent),
        KINDS[cls] in ADDS_RESULT,
    )
    for topic, cls in BY_TOPIC.items()
}

TABLES = (
    "read_facts",
    "read_seasons",
    "read_cups",
    "read_races",
    "read_competitors",
    "read_labels",
    "read_athletes",
    "read_commands",
    "read_meta",
)
# Tables whose rows are never changed once written: the store refuses UPDATE and DELETE.
APPEND_ONLY = TABLES[:7]


def _schema(i: str) -> list[str]:
    return [
        "CREATE TABLE IF NOT EXISTS read_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
        f"CREATE TABLE IF NOT EXISTS read_facts (position {i} PRIMARY KEY, kind SMALLINT NOT NULL,"
        f" race {i}, competitor {i}, cup {i}, other {i})",
        f"CREATE TABLE IF NOT EXISTS read_seasons (season TEXT PRIMARY KEY, position {i} NOT NULL)",
        f"CREATE TABLE IF NOT EXISTS read_cups (key {i} PRIMARY KEY, season TEXT NOT NULL,"
        f" cup TEXT NOT NULL, position {i} NOT NULL, UNIQUE (season, cup))",
        f"CREATE TABLE IF NOT EXISTS read_races (key {i} PRIMARY KEY, season TEXT NOT NULL,"
        " race TEXT NOT NULL, cup TEXT NOT NULL, race_date TEXT NOT NULL,"
        " aggregate TEXT NOT NULL UNIQUE)",
        f"CREATE TABLE IF NOT EXISTS read_competitors (key {i} PRIMARY KEY,"
        " id TEXT NOT NULL UNIQUE)",
        f"CREATE TABLE IF NOT EXISTS read_labels (position {i} NOT NULL, competitor {i} NOT NULL,"
        " canonical TEXT NOT NULL, folded TEXT NOT NULL, skeleton TEXT NOT NULL,"
        " nation TEXT NOT NULL, name TEXT NOT NULL, held SMALLINT NOT NULL,"
        " PRIMARY KEY (position, competitor, canonical, nation))",
        f"CREATE TABLE IF NOT EXISTS read_athletes (athlete TEXT NOT NULL, competitor {i} NOT NULL,"
        f" position {i} NOT NULL, PRIMARY KEY (athlete, competitor))",
        f"CREATE TABLE IF NOT EXISTS read_commands (command {i} PRIMARY KEY, last {i} NOT NULL,"
        " recorded_at TEXT NOT NULL, by TEXT NOT NULL, numbered SMALLINT NOT NULL)",
    ]


INDEXES = [
    "CREATE INDEX IF NOT EXISTS read_facts_race ON read_facts (race, position)"
    " WHERE race IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS read_facts_competitor ON read_facts (competitor, position)"
    " WHERE competitor IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS read_facts_cup ON read_facts (cup, position) WHERE cup IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS read_facts_other ON read_facts (other, position)"
    " WHERE other IS NOT NULL",
    # A competitor's renames, without walking every result of its career.
    f"CREATE INDEX IF NOT EXISTS read_facts_renamed ON read_facts (competitor, position)"
    f" WHERE kind = {RENAMED}",
    # The races whose date moved, without walking every race of the calendar.
    f"CREATE INDEX IF NOT EXISTS read_facts_rescheduled ON read_facts (race, position)"
    f" WHERE kind = {RESCHEDULED}",
    "CREATE INDEX IF NOT EXISTS read_cups_cup ON read_cups (cup)",
    "CREATE INDEX IF NOT EXISTS read_races_race ON read_races (race, season)",
    # A cup's races with their dates: how many and the first and last, from the index alone.
    "CREATE INDEX IF NOT EXISTS read_races_dated ON read_races (season, cup, race_date)",
    "CREATE INDEX IF NOT EXISTS read_labels_canonical ON read_labels (canonical, nation, position)",
    "CREATE INDEX IF NOT EXISTS read_labels_folded ON read_labels (folded, position)",
    "CREATE INDEX IF NOT EXISTS read_labels_skeleton ON read_labels (skeleton, position)",
    "CREATE INDEX IF NOT EXISTS read_labels_competitor ON read_labels (competitor, position)",
    "CREATE INDEX IF NOT EXISTS read_commands_by ON read_commands (by, command)",
]

INDEX_NAMES = [statement.split()[5] for statement in INDEXES]
# Indexes of older read models, dropped when a ledger is opened to write: read_races_dated
# (season, cup, race_date) does what read_races_cup (season, cup) did.
RETIRED_INDEXES = ["read_races_cup"]


class Sql:
    """A DB-API cursor that takes ``?`` statements, on SQLite or PostgreSQL; rows are tuples."""

    def __init__(self, cursor: Any, postgres: bool) -> None:
        self.cursor = cursor
        self.postgres = postgres

    @property
    def integer(self) -> str:
        """A 64-bit integer column type."""
        return "BIGINT" if self.postgres else "INTEGER"

    def _sql(self, text: str) -> str:
        return text.replace("?", "%s") if self.postgres else text

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Sql:
        """Run one statement."""
        self.cursor.execute(self._sql(sql), params)
        return self

    def insert(self, into: str, rows: Sequence[Sequence[Any]], tail: str = "") -> None:
        """Insert rows into ``into`` (``tail``, an ON CONFLICT clause, after the values).

        Row by row, a driver's binding and round trip cost more than the database's insert:
        PostgreSQL is given the rows in one COPY (an upsert, with ``tail``, goes row by row;
        there are few), SQLite many rows to a statement. Rows given in one call must not
        conflict with each other.
        """
        if not rows:
            return
        if self.postgres:
            if tail:
                self.cursor.executemany(
                    f"INSERT INTO {into} VALUES ({','.join(['%s'] * len(rows[0]))}){tail}", rows
                )
                return
            with self.cursor.copy(f"COPY {into} FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        self.insert_values(into, [value for row in rows for value in row], len(rows[0]), tail)

    def insert_values(self, into: str, values: Sequence[Any], width: int, tail: str = "") -> None:
        """``insert`` on SQLite, the rows given as one list of values, ``width`` to a row.

        Only inside a write transaction, which a failure rolls back whole. So a statement
        that fails need not undo its own rows first: ``OR FAIL`` spares SQLite the statement
        journal that undoing would need, a copy of every page each statement touches, spilled
        to a temporary file (a file of 50,000 results wrote 160 MB of it, more than the
        results themselves).
        """
        group = f"({','.join(['?'] * width)})"
        step = max(1, PARAMETERS_PER_INSERT // width) * width
        for start in range(0, len(values), step):
            chunk = values[start : start + step]
            # The same text for every full chunk: sqlite3 compiles it once (its statement cache).
            groups = ",".join([group] * (len(chunk) // width))
            self.execute(f"INSERT OR FAIL INTO {into} VALUES {groups}{tail}", chunk)

    def fetchall(self) -> list[tuple[Any, ...]]:
        """Every row of the last query."""
        return [tuple(row) for row in self.cursor.fetchall()]

    def fetchone(self) -> tuple[Any, ...] | None:
        """The next row of the last query."""
        row = self.cursor.fetchone()
        return None if row is None else tuple(row)

    def many(self, sql: str, values: Sequence[Any], prefix: Sequence[Any] = ()) -> list[Any]:
        """The rows of ``sql`` for every value, its ``(?*)`` filled in chunks (SQLite's limit
        of bound parameters)."""
        found: list[Any] = []
        values = list(values)
        for start in range(0, len(values), 500):
            chunk = values[start : start + 500]
            text = sql.replace("(?*)", f"({','.join('?' * len(chunk))})")
            found += self.execute(text, [*prefix, *chunk]).fetchall()
        return found


def create(c: Sql) -> None:
    """Create the read model's tables and indexes (when missing)."""
    for statement in [*_schema(c.integer), *INDEXES]:
        c.execute(statement)


def drop(c: Sql) -> None:
    """Drop the read model (the log is untouched)."""
    for table in TABLES:
        c.execute(f"DROP TABLE IF EXISTS {table}")
    c.execute("DROP TABLE IF EXISTS read_position")  # the layout before this one


def has_table(c: Sql, name: str) -> bool:
    """Whether a table exists (in the schema the store uses)."""
    if c.postgres:
        return c.execute("SELECT to_regclass(?)", (name,)).fetchone() not in (None, (None,))
    found = c.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,))
    return found.fetchone() is not None


def version(c: Sql) -> tuple[str | None, int | None]:
    """The read model's layout and the last position it holds (None, None when missing)."""
    if not has_table(c, "read_meta"):
        return None, None
    rows = dict(c.execute("SELECT name, value FROM read_meta").fetchall())
    position = rows.get("position")
    return rows.get("version"), int(position) if position is not None else None


# --- deriving the rows of events ---------------------------------------------------------


@dataclass
class Rows:
    """The read-model rows of a batch of events, table by table."""

    facts: list[tuple[Any, ...]] = field(default_factory=list)
    seasons: list[tuple[Any, ...]] = field(default_factory=list)
    cups: list[tuple[Any, ...]] = field(default_factory=list)
    races: list[tuple[Any, ...]] = field(default_factory=list)
    competitors: list[tuple[Any, ...]] = field(default_factory=list)
    labels: list[tuple[Any, ...]] = field(default_factory=list)
    athletes: list[tuple[Any, ...]] = field(default_factory=list)
    commands: dict[int, list[Any]] = field(default_factory=dict)  # command -> row, in order


Label = tuple[str, str]  # (canonical name, nation or "")


@dataclass
class Known:
    """What deriving rows needs to know of the rows before: keys and who holds each label.

    In memory for a rebuild or a verification (everything is seen), loaded from the tables
    for a write (``load`` prefetches what a batch of events names)."""

    races: dict[str, int] = field(default_factory=dict)  # aggregate id (hex) -> key
    cups: dict[tuple[str, str], int] = field(default_factory=dict)
    competitors: dict[str, int] = field(default_factory=dict)  # competitor id -> key
    holders: dict[Label, tuple[int, int] | None] = field(default_factory=dict)  # -> (key, held)
    athletes: set[tuple[str, int]] = field(default_factory=set)
    last_command: list[Any] | None = None  # [command, last, recorded_at, by, inferred]


Decoded = tuple[int, str, str, str, dict[str, Any]]  # position, aggregate hex, topic, at, data


def decode(position: int, aggregate: str, topic: str, recorded_at: str, state: bytes) -> Decoded:
    """An event's stored state as raw JSON data, upcast to the current version."""
    try:
        data: dict[str, Any] = orjson.loads(state)
        cls = BY_TOPIC.get(topic)
        if cls is not None:
            version_of = data.get("class_version", 1)
            while version_of < cls.class_version:
                getattr(cls, f"upcast_v{version_of}_v{version_of + 1}")(data)
                version_of += 1
    except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError) as e:
        raise _not_an_event(position, e) from None
    return position, aggregate, topic, recorded_at, data


def _not_an_event(position: int, error: Exception) -> IntegrityViolation:
    return IntegrityViolation(
        f"position {position}: the stored event is not one the ledger writes"
        f" ({type(error).__name__}: {error}); it was edited or written by something else"
    )


def derive(events: Iterable[Decoded], known: Known) -> Rows:
    """The read-model rows of events, in log order, updating ``known`` as it goes.

    Generic by the kind of event (race, result, cup, competitor): a new event class needs
    no code here unless it gives a competitor a new name and nation."""
    rows = Rows()
    position = 0
    try:
        for event in events:
            position = event[0]
            _derive(event, known, rows)
    except (KeyError, TypeError, AttributeError, ValueError) as e:
        raise _not_an_event(position, e) from None
    return rows


def _derive(event: Decoded, known: Known, rows: Rows) -> None:
    position, aggregate, topic, recorded_at, data = event
    shape = _SHAPES.get(topic)
    if shape is None:
        raise IntegrityViolation(f"position {position}: unknown event topic {topic!r}")
    cls, kind = shape.cls, shape.kind
    race: int | None = None
    competitor: int | None = None
    cup: int | None = None
    other: int | None = None
    if cls is SeasonDeclared:
        season = data["season"]
        rows.seasons.append((season, position))
        for index, spec in enumerate(data["cups"]):
            key = position * CUPS_PER_SEASON + index
            known.cups[(season, spec["id"])] = key
            rows.cups.append((key, season, spec["id"], position))
    elif cls is RaceScheduled:
        race = position
        known.races[aggregate] = position
        rows.races.append(
            (
                position,
                data["season"],
                data["race"],
                data["cup"],
                _data(data["race_date"]),
                aggregate,
            )
        )
    elif shape.race:
        race = _key(known.races, aggregate, position, "race")
    if shape.result:
        competitor = _competitor(known, rows, position, data, shape.adds)
    elif shape.cup:
        cup = _key(known.cups, (data["season"], data["cup"]), position, "cup")
        competitor = _key(known.competitors, data["competitor_id"], position, "competitor")
    elif cls is CompetitorRenamed:
        renamed = _key(known.competitors, data["competitor_id"], position, "competitor")
        competitor = renamed
        target_id = data["merged_into"] or data["unmerged_from"]
        if target_id is not None:
            other = _key(known.competitors, target_id, position, "competitor")
        holder = other if data["merged_into"] and other is not None else renamed
        _give_up(known, rows, position, renamed, data["old_name"], data["old_nation"])
        _take(known, rows, position, holder, data["name"], data["nation"])
    elif cls is CommandReverted:
        other = int(data["reverted"])  # which command: for telling a change undone since
    rows.facts.append((position, kind, race, competitor, cup, other))
    _command(known, rows, position, data, recorded_at)


def _data(value: Any) -> Any:
    """The payload of a transcoded value ({"_type_": ..., "_data_": ...})."""
    return value["_data_"] if isinstance(value, dict) else value


def _key(table: dict[Any, int], key: Any, position: int, what: str) -> int:
    found = table.get(key)
    if found is None:
        raise IntegrityViolation(f"position {position}: the event names a {what} the log lacks")
    return found


def _competitor(known: Known, rows: Rows, position: int, data: dict[str, Any], adds: bool) -> int:
    ident = data["competitor_id"]
    key = known.competitors.get(ident)
    if key is None:
        if not adds:
            raise IntegrityViolation(
                f"position {position}: the event names a competitor with no result"
            )
        key = known.competitors[ident] = position
        rows.competitors.append((position, ident))
    if adds:
        _take(known, rows, position, key, data["competitor"], data["nation"])
        athlete = data.get("athlete_id")
        if athlete is not None and (athlete, key) not in known.athletes:
            known.athletes.add((athlete, key))
            rows.athletes.append((athlete, key, position))
    return key


def _take(known: Known, rows: Rows, position: int, key: int, name: str, nation: Any) -> None:
    label = (canonical(name), nation or "")
    if known.holders.get(label) != (key, 1):
        known.holders[label] = (key, 1)
        rows.labels.append(
            (position, key, label[0], folded(name), skeleton(name), label[1], name, 1)
        )


def _give_up(known: Known, rows: Rows, position: int, key: int, name: str, nation: Any) -> None:
    label = (canonical(name), nation or "")
    if known.holders.get(label) == (key, 1):
        known.holders[label] = (key, 0)
        rows.labels.append(
            (position, key, label[0], folded(name), skeleton(name), label[1], name, 0)
        )


def _command(
    known: Known, rows: Rows, position: int, data: dict[str, Any], recorded_at: str
) -> None:
    """The command an event belongs to: as it says, or, for events written before commands
    were numbered, the run of events recorded at the same time by the same author."""
    command = data.get("command")
    by = data["by"]
    last = known.last_command
    if command is None:
        if last is not None and last[4] and last[2] == recorded_at and last[3] == by:
            command = last[0]
        inferred = True
    else:
        inferred = False
    if last is not None and last[0] == command:
        last[1] = position
    else:
        last = known.last_command = [command or position, position, recorded_at, by, inferred]
    rows.commands[last[0]] = last


# --- writing them ----------------------------------------------------------------------------


def insert(c: Sql, rows: Rows, head: int) -> None:
    """Insert a batch's rows and move the model's position to ``head``."""
    c.insert("read_facts", rows.facts)
    c.insert("read_seasons", rows.seasons)
    c.insert("read_cups", rows.cups)
    c.insert("read_races", rows.races)
    c.insert("read_competitors", rows.competitors)
    c.insert("read_labels", rows.labels)
    c.insert("read_athletes", rows.athletes)
    c.insert(
        "read_commands",
        [_command_row(row) for row in rows.commands.values()],  # one row per command
        " ON CONFLICT (command) DO UPDATE SET last = excluded.last",
    )
    _set_meta(c, head)


def _command_row(row: list[Any]) -> tuple[Any, ...]:
    command, last, recorded_at, by, inferred = row
    return (command, last, recorded_at, by, 0 if inferred else 1)


def _set_meta(c: Sql, head: int) -> None:
    c.insert(
        "read_meta",
        [("version", VERSION), ("position", str(head))],
        " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
    )


def load(c: Sql, events: Sequence[Decoded]) -> Known:
    """What deriving the rows of these events needs, read from the tables (in the write
    transaction: nothing can change it meanwhile)."""
    known = Known()
    aggregates = sorted({aggregate for _, aggregate, _, _, _ in events})
    for key, aggregate in c.many(
        "SELECT key, aggregate FROM read_races WHERE aggregate IN (?*)", aggregates
    ):
        known.races[aggregate] = int(key)
    ids: set[str] = set()
    cups: set[tuple[str, str]] = set()
    names: set[str] = set()
    for _, _, topic, _, data in events:
        shape = _SHAPES.get(topic)
        if shape is None:
            continue  # deriving the rows says what is wrong with it
        if shape.result:  # the common case, a result: its competitor, by id and by name
            if ident := data.get("competitor_id"):
                ids.add(ident)
            names.add(canonical(data["competitor"]))
            continue
        for name in ("competitor_id", "merged_into", "unmerged_from"):
            if data.get(name):
                ids.add(data[name])
        if shape.cup:
            cups.add((data["season"], data["cup"]))
        if shape.cls is CompetitorRenamed:
            names.update((canonical(data["old_name"]), canonical(data["name"])))
    for key, ident in c.many("SELECT key, id FROM read_competitors WHERE id IN (?*)", sorted(ids)):
        known.competitors[ident] = int(key)
    for season, cup in cups:
        found = c.execute(
            "SELECT key FROM read_cups WHERE season = ? AND cup = ?", (season, cup)
        ).fetchone()
        if found is not None:
            known.cups[(season, cup)] = int(found[0])
    known.holders.update(holders(c, names))
    keys = sorted(known.competitors.values())
    for athlete, key in c.many(
        "SELECT athlete, competitor FROM read_athletes WHERE competitor IN (?*)", keys
    ):
        known.athletes.add((athlete, int(key)))
    found = c.execute(
        "SELECT command, last, recorded_at, by, numbered FROM read_commands"
        " ORDER BY command DESC LIMIT 1"
    ).fetchone()
    if found is not None:
        command, last, at, by, numbered = found
        known.last_command = [int(command), int(last), at, by, not numbered]
    return known


def holders(c: Sql, names: Iterable[str]) -> dict[Label, tuple[int, int]]:
    """Who holds each label of these canonical names now: (competitor key, 1), or (key, 0)
    when the last holder gave it up. Labels nobody ever held are absent."""
    return _holders_of(
        c.many(
            "SELECT canonical, nation, competitor, held, position FROM read_labels"
            " WHERE canonical IN (?*)",
            sorted(names),
        )
    )


def _holders_of(rows: Iterable[Sequence[Any]]) -> dict[Label, tuple[int, int]]:
    """Who holds each label, by its rows (canonical name, nation, competitor key, held,
    position): the last row's holder, a label taken at a position outranking one given up."""
    latest: dict[Label, tuple[int, int, int]] = {}
    for name, nation, key, held, position in rows:
        label = (name, nation)
        row = (int(position), int(held), int(key))
        if label not in latest or row > latest[label]:
            latest[label] = row
    return {label: (key, held) for label, (_, held, key) in latest.items()}


def index_events(c: Sql, events: Sequence[Decoded], head: int) -> None:
    """Derive and insert the read-model rows of events just appended (one write transaction)."""
    insert(c, derive(events, load(c, events)), head)


# --- rebuilding and verifying -------------------------------------------------------------

LogReader = Callable[[int, int], Sequence[tuple[int, str, str, str, bytes]]]
"""``read(after, limit)``: events after a position as (position, aggregate hex, topic,
recorded_at, state), in log order."""

# Events decoded and derived at a time by verify and rebuild: a batch of 20,000 held 100 MB of
# decoded states at once, for no gain in speed.
BATCH = 2_000


def decoded_log(
    read: LogReader, head: int, batch: int = BATCH, after: int = 0
) -> Iterator[list[Decoded]]:
    """The log after ``after`` up to ``head``, decoded, in batches."""
    while after < head:
        rows = read(after, min(batch, head - after))
        if not rows:
            return
        yield [decode(*row) for row in rows]
        after = rows[-1][0]


def rebuild(
    c: Sql, read: LogReader, head: int, advance: Callable[[int], None] | None = None
) -> int:
    """Drop the read model and derive it again from the log up to ``head``."""
    drop(c)
    for statement in _schema(c.integer):
        c.execute(statement)
    known = Known()
    for events in decoded_log(read, head):
        insert(c, derive(events, known), events[-1][0])
        if advance is not None:
            advance(len(events))
    _set_meta(c, head)
    for statement in INDEXES:  # once at the end: far faster than row by row
        c.execute(statement)
    return head


def _by_position(row: tuple[Any, ...]) -> Any:
    return row[0]


def _labels_order(row: tuple[Any, ...]) -> Any:
    return row


def _athletes_order(row: tuple[Any, ...]) -> Any:
    return (row[2], row[0], row[1])


# What each table's rows are compared on: columns, the column holding a log position (for a
# batch's range), and the order both sides are compared in.
_COMPARED: dict[str, tuple[str, str, Callable[[tuple[Any, ...]], Any]]] = {
    "read_facts": ("position, kind, race, competitor, cup, other", "position", _by_position),
    "read_seasons": ("season, position", "position", _labels_order),
    "read_cups": ("key, season, cup, position", "position", _by_position),
    "read_races": ("key, season, race, cup, race_date, aggregate", "key", _by_position),
    "read_competitors": ("key, id", "key", _by_position),
    "read_labels": (
        "position, competitor, canonical, folded, skeleton, nation, name, held",
        "position",
        _labels_order,
    ),
    "read_athletes": ("athlete, competitor, position", "position", _athletes_order),
}


def verify_index(
    c: Sql, read: LogReader, head: int, advance: Callable[[int], None] | None = None
) -> None:
    """Derive the read model again from the log and compare it with the stored one, row by
    row; raise IntegrityViolation naming the first table and position that differ."""
    check_layout(c, head)
    check_rest(c, head, compare_stretch(c, read, 0, head, Known(), advance).commands)


def check_layout(c: Sql, head: int) -> None:
    """The stored read model is of this layout and holds the log up to ``head``."""
    model, at = version(c)
    if model != VERSION or at != head:
        where = "is missing" if model is None else f"holds {at} of the log's {head} events"
        if model is not None and model != VERSION:
            where = f"is an older layout ({model})"
        raise IntegrityViolation(f"the read model {where}; run `ledger rebuild`")


@dataclass
class Stretch:
    """What comparing the rows of a stretch of the log found: the commands it derived (by
    first position) and the last command as the stretch began and as it ended."""

    commands: dict[int, list[Any]]
    start: list[Any] | None
    end: list[Any] | None


def compare_stretch(
    c: Sql,
    read: LogReader,
    low: int,
    high: int,
    known: Known,
    advance: Callable[[int], None] | None = None,
) -> Stretch:
    """Derive the rows of the events after ``low`` up to ``high``, from ``known`` (what the
    events up to ``low`` left), and compare them with the stored rows of those positions,
    batch by batch; raise IntegrityViolation at the first table and position that differ.

    The commands are not compared here: a command may go on into the next stretch."""
    start = None if known.last_command is None else list(known.last_command)
    commands: dict[int, list[Any]] = {}
    for events in decoded_log(read, high, after=low):
        rows = derive(events, known)
        high_here = events[-1][0]
        for table, derived in (
            ("read_facts", rows.facts),
            ("read_seasons", rows.seasons),
            ("read_cups", rows.cups),
            ("read_races", rows.races),
            ("read_competitors", rows.competitors),
            ("read_labels", rows.labels),
            ("read_athletes", rows.athletes),
        ):
            columns, position, order = _COMPARED[table]
            if table == "read_facts":  # whole numbers only, one row per position, in order
                _compare(
                    table,
                    c.execute(
                        f"SELECT {columns} FROM {table} WHERE position > ? AND position <= ?"
                        " ORDER BY position",
                        (low, high_here),
                    ).fetchall(),
                    derived,
                )
                continue
            stored = [
                tuple(_plain(v) for v in row)
                for row in c.execute(
                    f"SELECT {columns} FROM {table} WHERE {position} > ? AND {position} <= ?",
                    (low, high_here),
                ).fetchall()
            ]
            # Compared in Python's order: a PostgreSQL collation may order text otherwise.
            _compare(table, sorted(stored, key=order), sorted(derived, key=order))
        commands.update((k, list(v)) for k, v in rows.commands.items())
        low = high_here
        if advance is not None:
            advance(len(events))
    end = None if known.last_command is None else list(known.last_command)
    return Stretch(commands, start, end)


def known_at(c: Sql, position: int) -> Known:
    """What deriving the rows of the events after ``position`` needs, read from the stored
    rows of the positions up to it (for a stretch of a verification: the stretches before
    it check those rows against the log)."""
    known = Known()
    for key, aggregate in c.execute(
        "SELECT key, aggregate FROM read_races WHERE key > 0 AND key <= ?", (position,)
    ).fetchall():
        known.races[aggregate] = int(key)
    for key, season, cup in c.execute(
        "SELECT key, season, cup FROM read_cups WHERE position > 0 AND position <= ?",
        (position,),
    ).fetchall():
        known.cups[(season, cup)] = int(key)
    for key, ident in c.execute(
        "SELECT key, id FROM read_competitors WHERE key > 0 AND key <= ?", (position,)
    ).fetchall():
        known.competitors[ident] = int(key)
    known.holders.update(
        _holders_of(
            c.execute(
                "SELECT canonical, nation, competitor, held, position FROM read_labels"
                " WHERE position > 0 AND position <= ?",
                (position,),
            ).fetchall()
        )
    )
    known.athletes.update(
        (athlete, int(key))
        for athlete, key in c.execute(
            "SELECT athlete, competitor FROM read_athletes WHERE position > 0 AND position <= ?",
            (position,),
        ).fetchall()
    )
    found = c.execute(
        "SELECT command, last, recorded_at, by, numbered FROM read_commands"
        " WHERE command > 0 AND command <= ? ORDER BY command DESC LIMIT 1",
        (position,),
    ).fetchone()
    if found is not None:
        command, last, at, by, numbered = found
        known.last_command = [int(command), min(int(last), position), at, by, not numbered]
    return known


def check_rest(c: Sql, head: int, commands: dict[int, list[Any]]) -> None:
    """No stored row lies outside the log's positions, and the stored commands are
    ``commands``, the ones derived from the whole log."""
    for table, (_, position, _) in _COMPARED.items():
        found = c.execute(
            f"SELECT MIN({position}) FROM {table} WHERE {position} > ? OR {position} < 1",
            (head,),
        ).fetchone()
        if found is not None and found[0] is not None:
            raise IntegrityViolation(
                f"the read model's {table} has a row for position {found[0]}, which the log"
                f" lacks; run `ledger rebuild`"
            )
    stored_commands = c.execute(
        "SELECT command, last, recorded_at, by, numbered FROM read_commands ORDER BY command"
    ).fetchall()
    _compare(
        "read_commands",
        [tuple(_plain(v) for v in row) for row in stored_commands],
        [_command_row(row) for _, row in sorted(commands.items())],
    )


def _plain(value: Any) -> Any:
    return int(value) if isinstance(value, bool) else value


def _compare(table: str, stored: list[tuple[Any, ...]], derived: Sequence[tuple[Any, ...]]) -> None:
    if stored == list(derived):
        return
    for got, want in zip(stored, derived, strict=False):
        if got != want:
            raise IntegrityViolation(
                f"the read model's {table} does not match the log at position"
                f" {_position(table, want, got)}; run `ledger rebuild`"
            )
    longer = stored if len(stored) > len(derived) else derived
    extra = longer[min(len(stored), len(derived))]
    what = "has a row the log does not give" if len(stored) > len(derived) else "lacks a row"
    raise IntegrityViolation(
        f"the read model's {table} {what} at position {_position(table, extra, extra)};"
        " run `ledger rebuild`"
    )


def _position(table: str, want: tuple[Any, ...], got: tuple[Any, ...]) -> Any:
    if table not in _COMPARED:
        return min(want[0], got[0])  # read_commands: the command's first position
    columns, name, _ = _COMPARED[table]
    index = [column.strip() for column in columns.split(",")].index(name)
    return min(want[index], got[index])
