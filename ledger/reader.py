"""The one reader: hands a question exactly the events its answer needs, from the read model.

Every query of the read side and every command of the write side reads through here: a race
and its results, a cup and its races, a competitor's career, a command's events, a stretch of
the log. The reader finds the events' positions in the read model (``ledger.index``), reads
those events from the log, decodes them, and folds them with ``ledger.fold``. Nothing reads
the whole log to answer about one race, one cup or one competitor.

Everything is bounded by a log position (``upto``: the head, or the position a known-at time
names), and rows at or before a position never change, so a question is answered exactly as
the log stood at that position.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date
from typing import Any, cast
from uuid import UUID

from eventsourcing.persistence import Mapper, StoredEvent

from ledger.chain import Head
from ledger.errors import StoreError, UnknownIdError
from ledger.events import (
    LedgerEvent,
    RaceRescheduled,
    RaceRetabled,
    RaceScheduled,
    RaceUnvoided,
    RaceVoided,
    ResultRecorded,
    ResultRestored,
    ResultWithdrawn,
)
from ledger.fold import CupKey, RaceKey, World, apply
from ledger.identity import canonical, folded
from ledger.ids import resolve
from ledger.index import KINDS, RENAMED, RESCHEDULED, REVERTED, VERSION, Sql, version
from ledger.store import CHAIN_TABLE, EVENTS_TABLE

Positioned = tuple[int, LedgerEvent]
ID_KEEP = 4096  # aggregate ids kept parsed by a reader

CALENDAR_KINDS = ",".join(
    str(KINDS[c]) for c in (RaceScheduled, RaceRescheduled, RaceRetabled, RaceVoided, RaceUnvoided)
)
ADDED_KINDS = ",".join(str(KINDS[c]) for c in (ResultRecorded, ResultRestored))
WITHDRAWN = KINDS[ResultWithdrawn]

# The season an unqualified id names when several seasons have that id (the command line's
# --season and LEDGER_SEASON): ambient, like decimal's context, so that every reader, the
# write side's included, resolves ids the same way without each caller passing it along.
PREFERRED_SEASON: ContextVar[str | None] = ContextVar("preferred_season", default=None)


@contextmanager
def preferring(season: str | None) -> Iterator[None]:
    """Resolve unqualified ids that several seasons have to this season's, meanwhile."""
    token = PREFERRED_SEASON.set(season)
    try:
        yield
    finally:
        PREFERRED_SEASON.reset(token)


@dataclass(frozen=True)
class Held:
    """A competitor who holds a name and nation (as of some position)."""

    key: int
    competitor_id: str
    name: str
    nation: str | None


@dataclass(frozen=True)
class Command:
    """A command of the audit trail: its first and last position, when, by whom."""

    command: int
    last: int
    recorded_at: str
    by: str


class Reader:
    """Reads of one transaction: a consistent snapshot of the log and its read model."""

    def __init__(
        self,
        c: Sql,
        mapper: Mapper[UUID],
        event_key: str,
        decoded: dict[tuple[Any, ...], LedgerEvent] | None = None,
        keep: int = 0,
    ) -> None:
        self.c = c
        self.mapper = mapper
        # Events already decoded, by everything their decoding reads (so a different stored
        # event can never be taken for one seen before): up to ``keep``, kept by the ledger
        # across readings, for a server answering the same cups again and again.
        self._decoded = decoded
        self._keep = keep
        self._events_join = (
            f" JOIN {CHAIN_TABLE} c ON c.position = f.position"
            f" JOIN {EVENTS_TABLE} e ON e.{event_key} = c.notification_id"
        )
        self._event_key = event_key
        self._ids: dict[str, UUID] = {}  # a race's events share its aggregate's id

    # --- the log ---------------------------------------------------------------------------

    def head(self) -> Head:
        """The newest event's position, hash and transaction time."""
        found = self.c.execute(
            f"SELECT position, hash, recorded_at FROM {CHAIN_TABLE} ORDER BY position DESC LIMIT 1"
        ).fetchone()
        return Head(0, "00" * 32, None) if found is None else Head(*found)

    def check_current(self, head: int) -> None:
        """Refuse to answer from a read model that is not exactly the log."""
        layout, at = version(self.c)
        if layout == VERSION and at == head:
            return
        if layout is None and head == 0:
            return  # a new, empty ledger
        reason = (
            "was written by an older version of the ledger"
            if layout != VERSION
            else f"holds {at} of the log's {head} events"
        )
        raise StoreError(f"the read model {reason}; run `ledger rebuild` (it needs write access)")

    def hash_at(self, position: int) -> str | None:
        """The chain's hash at a position."""
        found = self.c.execute(
            f"SELECT hash FROM {CHAIN_TABLE} WHERE position = ?", (position,)
        ).fetchone()
        return None if found is None else str(found[0])

    def recorded_at(self, position: int) -> str | None:
        """The transaction time of the event at a position."""
        found = self.c.execute(
            f"SELECT recorded_at FROM {CHAIN_TABLE} WHERE position = ?", (position,)
        ).fetchone()
        return None if found is None else str(found[0])

    def position_at(self, recorded_at: str) -> int:
        """The last position recorded at or before a canonical time (0 if none).

        Recorded times never go backwards along the log, so the answer is found by halving
        the positions: some twenty primary-key look-ups."""
        low, high = 1, self.head().position
        found = 0
        while low <= high:
            middle = (low + high) // 2
            at = self.recorded_at(middle)
            if at is not None and at <= recorded_at:
                found, low = middle, middle + 1
            else:
                high = middle - 1
        return found

    def events(self, where: str, params: Sequence[Any]) -> list[Positioned]:
        """The events of the read_facts rows ``where`` selects (alias ``f``), in log order."""
        rows = self.c.execute(
            "SELECT f.position, e.originator_id, e.originator_version, e.topic, e.state"
            f" FROM read_facts f{self._events_join} WHERE {where} ORDER BY f.position",
            params,
        ).fetchall()
        return [(int(p), self._decode(i, v, t, s)) for p, i, v, t, s in rows]

    def events_at(self, positions: Iterable[int]) -> list[Positioned]:
        """The events at these positions, in log order."""
        found: list[Positioned] = []
        wanted = sorted(set(positions))
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            found += self.events(f"f.position IN ({','.join('?' * len(chunk))})", chunk)
        return found

    def fact_keys(self, positions: Iterable[int]) -> dict[int, tuple[int | None, int | None]]:
        """The race and competitor (by key in the read model) of the events at these
        positions, as the read model files them."""
        return {
            int(p): (None if r is None else int(r), None if c is None else int(c))
            for p, r, c in self.c.many(
                "SELECT position, race, competitor FROM read_facts WHERE position IN (?*)",
                sorted(set(positions)),
            )
        }

    def _decode(self, originator_id: Any, version: int, topic: str, state: Any) -> LedgerEvent:
        kept = self._decoded
        if kept is None:
            return self._decoded_event(originator_id, version, topic, bytes(state))
        key = (originator_id, version, topic, bytes(state))
        found = kept.get(key)
        if found is None:
            found = self._decoded_event(*key)
            if len(kept) >= self._keep:
                kept.clear()
            kept[key] = found
        return found

    def _decoded_event(
        self, originator_id: Any, version: int, topic: str, state: bytes
    ) -> LedgerEvent:
        if isinstance(originator_id, UUID):
            ident = originator_id
        else:
            text = str(originator_id)
            ident = self._ids.get(text) or self._id(text)
        stored = StoredEvent(ident, int(version), topic, state)
        return cast(LedgerEvent, self.mapper.to_domain_event(stored))

    def _id(self, text: str) -> UUID:
        """The aggregate id in this text, kept (a few thousand at most)."""
        if len(self._ids) >= ID_KEEP:
            self._ids.clear()
        found = self._ids[text] = UUID(text)
        return found

    # --- what was declared -------------------------------------------------------------------

    def cups(self, upto: int) -> list[CupKey]:
        """Every cup declared by ``upto``."""
        rows = self.c.execute(
            "SELECT season, cup FROM read_cups WHERE position <= ? ORDER BY position, key", (upto,)
        ).fetchall()
        return [(str(s), str(c)) for s, c in rows]

    def seasons(self, upto: int) -> list[tuple[str, int]]:
        """Every season declared by ``upto``, with the position that declared it."""
        rows = self.c.execute(
            "SELECT season, position FROM read_seasons WHERE position <= ? ORDER BY position",
            (upto,),
        ).fetchall()
        return [(str(s), int(p)) for s, p in rows]

    def season_position(self, season: str, upto: int) -> int | None:
        """The position that declared a season, if it was declared by ``upto``."""
        found = self.c.execute(
            "SELECT position FROM read_seasons WHERE season = ? AND position <= ?", (season, upto)
        ).fetchone()
        return None if found is None else int(found[0])

    def _resolve(self, ref: str, kind: str, table: str, column: str, upto: int) -> tuple[str, str]:
        """Like ``ledger.ids.resolve``, reading only the candidates when the id is clear."""
        ref = ref.strip()
        position = "key" if table == "read_races" else "position"
        if "/" in ref:
            season, _, item = ref.partition("/")
            found = self.c.execute(
                f"SELECT season, {column} FROM {table}"
                f" WHERE season = ? AND {column} = ? AND {position} <= ?",
                (season, item, upto),
            ).fetchall()
        else:
            found = self.c.execute(
                f"SELECT season, {column} FROM {table} WHERE {column} = ? AND {position} <= ?",
                (ref, upto),
            ).fetchall()
        if len(found) == 1:
            return str(found[0][0]), str(found[0][1])
        preferred = PREFERRED_SEASON.get()
        if found and preferred is not None:
            chosen = [row for row in found if str(row[0]) == preferred]
            if len(chosen) == 1:
                return str(chosen[0][0]), str(chosen[0][1])
        # Unknown or ambiguous: the shared resolver words the error (with suggestions).
        keys = self.c.execute(
            f"SELECT season, {column} FROM {table} WHERE {position} <= ?", (upto,)
        ).fetchall()
        return resolve(ref, [(str(s), str(i)) for s, i in keys], kind)

    def resolve_cup(self, ref: str, upto: int) -> CupKey:
        """The (season, cup) a user's id names, among the cups declared by ``upto``."""
        return self._resolve(ref, "cup", "read_cups", "cup", upto)

    def resolve_race(self, ref: str, upto: int) -> RaceKey:
        """The (season, race) a user's id names, among the races scheduled by ``upto``."""
        return self._resolve(ref, "race", "read_races", "race", upto)

    def race_key(self, race: RaceKey) -> int | None:
        """A race's key in the read model (the position that scheduled it)."""
        found = self.c.execute(
            "SELECT key FROM read_races WHERE season = ? AND race = ?", race
        ).fetchone()
        return None if found is None else int(found[0])

    def race_aggregates(self, races: Iterable[RaceKey]) -> dict[RaceKey, tuple[int, UUID]]:
        """Each scheduled race's key and aggregate id (whichever id its ledger gave it)."""
        wanted = set(races)
        seasons = sorted({season for season, _ in wanted})
        found: dict[RaceKey, tuple[int, UUID]] = {}
        for start in range(0, len(seasons), 100):
            some = seasons[start : start + 100]
            chosen = set(some)
            for key, season, race, aggregate in self.c.many(
                "SELECT key, season, race, aggregate FROM read_races"
                f" WHERE season IN ({','.join('?' * len(some))}) AND race IN (?*)",
                sorted({race for season, race in wanted if season in chosen}),
                some,
            ):
                if (str(season), str(race)) in wanted:
                    found[(str(season), str(race))] = (int(key), UUID(hex=str(aggregate)))
        return found

    def races_named(self, names: Iterable[str], upto: int) -> list[tuple[str, str, str]]:
        """(season, race, cup) of every race, in any season, with one of these ids."""
        return [
            (str(s), str(r), str(c))
            for s, r, c in self.c.many(
                "SELECT season, race, cup FROM read_races WHERE key <= ? AND race IN (?*)",
                sorted(set(names)),
                prefix=(upto,),
            )
        ]

    def all_races(self, upto: int) -> list[RaceKey]:
        """Every race scheduled by ``upto``."""
        rows = self.c.execute(
            "SELECT season, race FROM read_races WHERE key <= ? ORDER BY key", (upto,)
        ).fetchall()
        return [(str(s), str(r)) for s, r in rows]

    def cup_race_keys(self, cup: CupKey, upto: int) -> list[int]:
        """The keys of a cup's races scheduled by ``upto`` (a team cup's: its ``of`` cup's)."""
        rows = self.c.execute(
            "SELECT key FROM read_races WHERE season = ? AND cup = ? AND key <= ? ORDER BY key",
            (*cup, upto),
        ).fetchall()
        return [int(k) for (k,) in rows]

    def race_keys(self, *, season: str | None, upto: int) -> list[int]:
        """The keys of every race scheduled by ``upto`` (of one season, if given)."""
        return [int(k) for (k,) in self._scheduled("key", upto, season)]

    def _scheduled(
        self, columns: str, upto: int, season: str | None, keys: Sequence[int] | None = None
    ) -> list[tuple[Any, ...]]:
        """These ``columns`` of every race scheduled by ``upto`` (of one season, or of these
        keys), by key."""
        if keys is not None:
            return sorted(
                self.c.many(
                    f"SELECT {columns} FROM read_races WHERE key <= ? AND key IN (?*)",
                    sorted(set(keys)),
                    prefix=(upto,),
                )
            )
        params: tuple[object, ...] = (upto,) if season is None else (season, upto)
        where = "key <= ?" if season is None else "season = ? AND key <= ?"
        rows: list[tuple[Any, ...]] = self.c.execute(
            f"SELECT {columns} FROM read_races WHERE {where} ORDER BY key", params
        ).fetchall()
        return rows

    def race_dates(
        self, upto: int, *, season: str | None = None, keys: Sequence[int] | None = None
    ) -> list[tuple[date, int]]:
        """(date, key) of every race scheduled by ``upto`` (of one season, or of these
        keys), in date order then in the order they were scheduled: each race's date as
        known at ``upto``, a moved race's from its calendar events."""
        rows = self._scheduled("key, race_date", upto, season, keys)
        dates = {int(k): date.fromisoformat(str(d)) for k, d in rows}
        # The moves, from their own small index: their races' dates as their calendars say.
        moves = self.c.execute(
            f"SELECT DISTINCT race FROM read_facts WHERE kind = {RESCHEDULED} AND position <= ?",
            (upto,),
        ).fetchall()
        moved = [int(k) for (k,) in moves if int(k) in dates]
        if moved:
            for race in self.calendar_world(moved, upto).races.values():
                if race.order in dates:
                    dates[race.order] = race.date
        return sorted((day, key) for key, day in dates.items())

    def calendar_events(self, keys: Sequence[int], upto: int) -> list[Positioned]:
        """These races' calendar events (schedulings, moves, tables, voids) by ``upto``."""
        found: list[Positioned] = []
        ordered = sorted(set(keys))
        for start in range(0, len(ordered), 500):
            chunk = ordered[start : start + 500]
            found += self.events(
                f"f.race IN ({','.join('?' * len(chunk))}) AND f.position <= ?"
                f" AND f.kind IN ({CALENDAR_KINDS})",
                [*chunk, upto],
            )
        return found

    def calendar_world(self, keys: Sequence[int], upto: int) -> World:
        """These races' calendar entries as known at ``upto`` (dates, tables, voids), without
        their results."""
        found = self.calendar_events(keys, upto)
        seasons = {e.season for _, e in found if hasattr(e, "season")}
        return self.fold(self._season_events(seasons, upto), found)

    def calendar_spans(
        self,
        upto: int,
        seasons: Sequence[str] | None = None,
        as_of: date | None = None,
        *,
        by_cup: bool = True,
    ) -> tuple[dict[CupKey, tuple[int, date, date]], list[int]]:
        """How many races each cup (of these seasons, if given: a few hundred at most) had
        scheduled by ``upto`` and never moved by then, dated on or before ``as_of`` if given,
        with the first and last of their dates; and the keys of the races that were moved,
        whose dates only their calendar events tell. Not ``by_cup``: each season's races
        in one span, keyed by the season and ``""`` (no cup's id)."""
        where, args = "r.key <= ?", list[Any]([upto])
        if seasons is not None:
            where = f"{where} AND r.season IN ({','.join('?' * len(seasons))})"
            args = [*args, *seasons]
        # The moves first, from their own small index to their races (CROSS JOIN keeps that
        # order on SQLite, and the unary plus keeps it off the log's position index).
        moves = self.c.execute(
            "SELECT DISTINCT f.race, r.season FROM read_facts f CROSS JOIN read_races r"
            f" WHERE f.kind = {RESCHEDULED} AND +f.position <= ? AND r.key = f.race AND {where}"
            " ORDER BY f.race",
            [upto, *args],
        ).fetchall()
        dated = where if as_of is None else f"{where} AND r.race_date <= ?"
        dated_args = [*args, *([] if as_of is None else [as_of.isoformat()])]
        cup, group = ("r.cup", "r.season, r.cup") if by_cup else ("''", "r.season")
        spanned = (
            f"SELECT r.season, {cup}, COUNT(*), MIN(r.race_date), MAX(r.race_date)"
            f" FROM read_races r WHERE {dated}"
        )
        # Every race, as if none had moved: exact for the seasons where none did.
        rows = self.c.execute(f"{spanned} GROUP BY {group}", dated_args).fetchall()
        touched = {str(season) for _, season in moves}
        if touched:
            # The seasons where a race moved, again, without the races that moved.
            rows = [row for row in rows if row[0] not in touched]
            rows += self.c.execute(
                f"{spanned} AND r.season IN ({','.join('?' * len(touched))})"
                " AND NOT EXISTS (SELECT 1 FROM read_facts f"
                f" WHERE f.kind = {RESCHEDULED} AND f.race = r.key AND f.position <= ?)"
                f" GROUP BY {group}",
                [*dated_args, *sorted(touched), upto],
            ).fetchall()
        spans = {
            (str(s), str(c)): (int(n), date.fromisoformat(str(a)), date.fromisoformat(str(b)))
            for s, c, n, a, b in rows
        }
        return spans, [int(k) for k, _ in moves]

    def result_counts(self, keys: Sequence[int], upto: int) -> dict[int, int]:
        """How many results each race (by key) holds at ``upto``, counted in the read model."""
        counts: dict[int, int] = {}
        ordered = sorted(set(keys))
        for start in range(0, len(ordered), 500):
            chunk = ordered[start : start + 500]
            rows = self.c.execute(
                f"SELECT race, SUM(CASE WHEN kind IN ({ADDED_KINDS}) THEN 1"
                f" WHEN kind = {WITHDRAWN} THEN -1 ELSE 0 END) FROM read_facts"
                f" WHERE race IN ({','.join('?' * len(chunk))}) AND position <= ? GROUP BY race",
                [*chunk, upto],
            ).fetchall()
            counts.update((int(r), int(n or 0)) for r, n in rows)
        return counts

    def cup_key(self, cup: CupKey) -> int | None:
        """A cup's key in the read model."""
        found = self.c.execute(
            "SELECT key FROM read_cups WHERE season = ? AND cup = ?", cup
        ).fetchone()
        return None if found is None else int(found[0])

    def next_versions(self, aggregates: Iterable[UUID]) -> dict[UUID, int]:
        """Each aggregate's next event version (1 for one with no events yet)."""
        wanted = sorted(set(aggregates))
        found = dict.fromkeys(wanted, 1)
        ids = [ident if self.c.postgres else ident.hex for ident in wanted]
        for ident, last in self.c.many(
            f"SELECT originator_id, MAX(originator_version) FROM {EVENTS_TABLE}"
            " WHERE originator_id IN (?*) GROUP BY originator_id",
            ids,
        ):
            found[ident if isinstance(ident, UUID) else UUID(hex=str(ident))] = int(last) + 1
        return found

    # --- competitors ------------------------------------------------------------------------

    def competitor_keys(self, ids: Iterable[str]) -> dict[str, int]:
        """Each competitor id's key in the read model (ids it does not hold are absent)."""
        return {
            str(i): int(k)
            for k, i in self.c.many(
                "SELECT key, id FROM read_competitors WHERE id IN (?*)", sorted(set(ids))
            )
        }

    def competitor_ids(self, keys: Iterable[int]) -> dict[int, str]:
        """Each competitor key's id."""
        return {
            int(k): str(i)
            for k, i in self.c.many(
                "SELECT key, id FROM read_competitors WHERE key IN (?*)", sorted(set(keys))
            )
        }

    def holders(self, name: str, upto: int) -> list[Held]:
        """Who holds a name (in any nation), as of ``upto``: exact (canonical) matches, else
        matches that differ in case only."""
        rows = self.c.execute(
            "SELECT position, competitor, canonical, nation, name, held FROM read_labels"
            " WHERE folded = ? AND position <= ? ORDER BY position, held",
            (folded(name), upto),
        ).fetchall()
        latest: dict[tuple[str, str], tuple[int, int, str]] = {}
        for _, key, text, nation, shown, held in rows:
            latest[(str(text), str(nation))] = (int(key), int(held), str(shown))
        held_now = {label: value for label, value in latest.items() if value[1]}
        exact = {label: v for label, v in held_now.items() if label[0] == canonical(name)}
        chosen = exact or held_now
        ids = self.competitor_ids(key for key, _, _ in chosen.values())
        return sorted(
            (
                Held(key, ids[key], shown, nation or None)
                for (_, nation), (key, _, shown) in chosen.items()
            ),
            key=lambda h: (h.name, h.nation or "", h.key),
        )

    def labels_of(self, keys: Iterable[int], upto: int) -> list[Held]:
        """Every name and nation these competitors hold, as of ``upto``."""
        latest: dict[tuple[str, str], tuple[int, int, int, str]] = {}
        for position, key, text, nation, shown, held in self.c.many(
            "SELECT position, competitor, canonical, nation, name, held FROM read_labels"
            " WHERE position <= ? AND competitor IN (?*)",
            sorted(set(keys)),
            prefix=(upto,),
        ):
            label = (str(text), str(nation))
            row = (int(position), int(held), int(key), str(shown))
            if label not in latest or row > latest[label]:
                latest[label] = row
        ids = self.competitor_ids(key for _, _, key, _ in latest.values())
        return sorted(
            (
                Held(key, ids[key], shown, nation or None)
                for (_, nation), (_, held, key, shown) in latest.items()
                if held
            ),
            key=lambda h: (h.name, h.nation or "", h.key),
        )

    def labels_like(self, text: str, upto: int, nation: str | None = None) -> list[Held]:
        """Every name held as of ``upto`` that contains ``text``, compared as ``folded`` forms
        (canonical, case aside), in one nation if given: read from the labels alone."""
        escaped = folded(text).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        sql = (
            "SELECT position, competitor, canonical, nation, name, held FROM read_labels"
            " WHERE position <= ? AND folded LIKE ? ESCAPE '\\'"
        )
        params: list[Any] = [upto, f"%{escaped}%"]
        if nation is not None:
            sql += " AND nation = ?"
            params.append(nation)
        latest: dict[tuple[str, str], tuple[int, int, int, str]] = {}
        for position, key, canon, nat, shown, held in self.c.execute(sql, params).fetchall():
            label = (str(canon), str(nat))
            row = (int(position), int(held), int(key), str(shown))
            if label not in latest or row > latest[label]:
                latest[label] = row
        ids = self.competitor_ids(key for _, _, key, _ in latest.values())
        return sorted(
            (
                Held(key, ids[key], shown, nat or None)
                for (_, nat), (_, held, key, shown) in latest.items()
                if held
            ),
            key=lambda h: (h.name, h.nation or "", h.key),
        )

    def results_held(self, keys: Iterable[int], upto: int) -> dict[int, dict[str, int]]:
        """For each competitor key, how many results it holds at ``upto`` in each season."""
        found: dict[int, dict[str, int]] = {}
        for key, kind, season in self.c.many(
            "SELECT f.competitor, f.kind, r.season FROM read_facts f"
            " JOIN read_races r ON r.key = f.race WHERE f.position <= ?"
            f" AND f.kind IN ({ADDED_KINDS},{WITHDRAWN}) AND f.competitor IN (?*)",
            sorted(set(keys)),
            prefix=(upto,),
        ):
            seasons = found.setdefault(int(key), {})
            seasons[str(season)] = seasons.get(str(season), 0) + (-1 if kind == WITHDRAWN else 1)
        return found

    def label_holder(self, name: str, nation: str | None) -> Held | None:
        """Who holds exactly this name (canonically) and nation now."""
        rows = self.c.execute(
            "SELECT competitor, held, name FROM read_labels WHERE canonical = ? AND nation = ?"
            " ORDER BY position DESC, held DESC LIMIT 1",
            (canonical(name), nation or ""),
        ).fetchall()
        if not rows or not rows[0][1]:
            return None
        key = int(rows[0][0])
        return Held(key, self.competitor_ids([key])[key], str(rows[0][2]), nation)

    def athletes(self, athlete_ids: Iterable[str]) -> dict[str, int]:
        """The competitor key of each federation athlete id the ledger knows."""
        return {
            str(a): int(k)
            for a, k in self.c.many(
                "SELECT athlete, competitor FROM read_athletes WHERE athlete IN (?*)",
                sorted(set(athlete_ids)),
            )
        }

    def athlete_of(self, keys: Iterable[int]) -> dict[int, str]:
        """The federation athlete id of each competitor that has one."""
        return {
            int(k): str(a)
            for a, k in self.c.many(
                "SELECT athlete, competitor FROM read_athletes WHERE competitor IN (?*)",
                sorted(set(keys)),
            )
        }

    def merged_with(self, keys: Iterable[int], upto: int) -> set[int]:
        """These competitors and those merged with or into them (either way), transitively."""
        seen = set(keys)
        todo = set(seen)
        while todo:
            found = self.c.many(
                f"SELECT competitor, other FROM read_facts WHERE kind = {RENAMED}"
                " AND position <= ? AND other IS NOT NULL AND competitor IN (?*)",
                sorted(todo),
                prefix=(upto,),
            )
            found += self.c.many(
                f"SELECT competitor, other FROM read_facts WHERE kind = {RENAMED}"
                " AND other IS NOT NULL AND position <= ? AND other IN (?*)",
                sorted(todo),
                prefix=(upto,),
            )
            more = {int(k) for row in found for k in row if k is not None} - seen
            seen |= more
            todo = more
        return seen

    # --- commands ---------------------------------------------------------------------------

    def reverts_of(self, commands: Iterable[int], upto: int) -> dict[int, int]:
        """For each of these commands that was reverted by ``upto``: the reverting command."""
        return {
            int(reverted): int(command)
            for reverted, command in self.c.many(
                "SELECT f.other, c.command FROM read_facts f JOIN read_commands c"
                " ON c.command <= f.position AND c.last >= f.position"
                f" WHERE f.kind = {REVERTED} AND f.other IS NOT NULL AND f.position <= ?"
                " AND f.other IN (?*)",
                sorted(set(commands)),
                prefix=(upto,),
            )
        }

    def command_of(self, position: int) -> Command | None:
        """The command that wrote the event at a position."""
        found = self.c.execute(
            "SELECT command, last, recorded_at, by FROM read_commands WHERE command <= ?"
            " ORDER BY command DESC LIMIT 1",
            (position,),
        ).fetchone()
        if found is None or int(found[1]) < position:
            return None
        return Command(int(found[0]), int(found[1]), str(found[2]), str(found[3]))

    def commands(
        self,
        *,
        after: int = 0,
        upto: int,
        by: str | None = None,
        limit: int | None = None,
    ) -> list[Command]:
        """Commands whose first event is after ``after`` and at or before ``upto``."""
        where = "command > ? AND command <= ?"
        params: list[Any] = [after, upto]
        if by is not None:
            where += " AND by = ?"
            params.append(by)
        sql = f"SELECT command, last, recorded_at, by FROM read_commands WHERE {where}"
        sql += " ORDER BY command" + (f" LIMIT {int(limit)}" if limit is not None else "")
        return [
            Command(int(c), int(last), str(at), str(who))
            for c, last, at, who in self.c.execute(sql, params).fetchall()
        ]

    def authors(self, upto: int) -> list[str]:
        """Everyone who recorded a command by ``upto``."""
        rows = self.c.execute(
            "SELECT DISTINCT by FROM read_commands WHERE command <= ?", (upto,)
        ).fetchall()
        return sorted(str(b) for (b,) in rows)

    # --- worlds: the events a question needs, folded ---------------------------------------

    def _season_events(self, seasons: Iterable[str], upto: int) -> list[Positioned]:
        positions = self.c.many(
            "SELECT position FROM read_seasons WHERE position <= ? AND season IN (?*)",
            sorted(set(seasons)),
            (upto,),
        )
        return self.events_at(int(p) for (p,) in positions)

    def race_events(self, keys: Sequence[int], upto: int) -> list[Positioned]:
        """Every event of these races (by key) at or before ``upto``."""
        found: list[Positioned] = []
        ordered = sorted(set(keys))
        for start in range(0, len(ordered), 500):
            chunk = ordered[start : start + 500]
            found += self.events(
                f"f.race IN ({','.join('?' * len(chunk))}) AND f.position <= ?", [*chunk, upto]
            )
        return found

    def results_events(self, pairs: Iterable[tuple[int, int]], upto: int) -> list[Positioned]:
        """The events of these races' results (by race key and competitor key), with the
        events of the races themselves (calendar, voids), at or before ``upto``."""
        wanted = sorted(set(pairs))
        found: dict[int, LedgerEvent] = {}
        for start in range(0, len(wanted), 200):
            chunk = wanted[start : start + 200]
            races = sorted({race for race, _ in chunk})
            # A race split between two statements gives its own events twice: kept once.
            found.update(
                self.events(
                    f"f.race IN ({','.join('?' * len(races))}) AND f.position <= ?"
                    " AND (f.competitor IS NULL OR (f.race, f.competitor) IN"
                    f" (VALUES {','.join(['(?, ?)'] * len(chunk))}))",
                    [*races, upto, *(key for pair in chunk for key in pair)],
                )
            )
        return sorted(found.items(), key=lambda positioned: positioned[0])

    def renames(self, competitor_keys: Iterable[int], upto: int) -> list[Positioned]:
        """The renames (and merges) of these competitors, and of those merged with them."""
        keys = sorted(self.merged_with(competitor_keys, upto))
        found: list[Positioned] = []
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            found += self.events(
                f"f.kind = {RENAMED} AND f.competitor IN ({','.join('?' * len(chunk))})"
                " AND f.position <= ?",
                [*chunk, upto],
            )
        return found

    @staticmethod
    def fold_events(*streams: Iterable[Positioned]) -> list[Positioned]:
        """Events from several streams, once each, in log order."""
        merged = {position: event for stream in streams for position, event in stream}
        return [(position, merged[position]) for position in sorted(merged)]

    def fold(self, *streams: Iterable[Positioned], world: World | None = None) -> World:
        """Fold events from several streams, once each, in log order."""
        return self.fold_into(World() if world is None else world, self.fold_events(*streams))

    @staticmethod
    def fold_into(world: World, events: Iterable[Positioned]) -> World:
        """Fold events, in the order given, into a world."""
        for position, event in events:
            apply(world, position, event)
        return world

    def season_events(self, seasons: Iterable[str], upto: int) -> list[Positioned]:
        """The declarations of these seasons, if made by ``upto``."""
        return self._season_events(seasons, upto)

    def competitor_positions(self, keys: Iterable[int], upto: int) -> list[int]:
        """The position of every event about these competitors, at or before ``upto``."""
        found: list[int] = []
        ordered = sorted(set(keys))
        for start in range(0, len(ordered), 500):
            chunk = ordered[start : start + 500]
            rows = self.c.execute(
                "SELECT position FROM read_facts"
                f" WHERE competitor IN ({','.join('?' * len(chunk))})"
                " AND position <= ?",
                [*chunk, upto],
            ).fetchall()
            found += [int(p) for (p,) in rows]
        return found

    def races_world_events(self, keys: Sequence[int], upto: int) -> list[Positioned]:
        """What ``races_world`` folds: the races' events, their seasons, their renames."""
        events = self.race_events(keys, upto)
        seasons = {e.season for _, e in events if hasattr(e, "season")}
        ids = {e.competitor_id for _, e in events if hasattr(e, "competitor_id")}
        renames = self.renames(self.competitor_keys(ids).values(), upto)
        return self.fold_events(self._season_events(seasons, upto), events, renames)

    def races_world(self, keys: Sequence[int], upto: int) -> World:
        """These races (by key), their seasons, and their competitors' renames, at ``upto``."""
        return self.fold_into(World(), self.races_world_events(keys, upto))

    def _with_context(
        self, events: list[Positioned], upto: int, extra: Iterable[Positioned] = ()
    ) -> list[Positioned]:
        seasons = {e.season for _, e in events if hasattr(e, "season")}
        competitor_ids = {e.competitor_id for _, e in events if hasattr(e, "competitor_id")}
        keys = self.competitor_keys(competitor_ids).values()
        return self.fold_events(
            self._season_events(seasons, upto), events, self.renames(keys, upto), extra
        )

    def cup_events(self, cup: CupKey, upto: int) -> list[Positioned]:
        """What ``cup_world`` folds: the cup's season, its races (a team cup's: its ``of``
        cup's races) with their results, its exclusions and deductions, its competitors'
        renames, in log order."""
        season_events = self._season_events([cup[0]], upto)
        if not season_events:
            raise UnknownIdError(f"unknown cup {cup[0]}/{cup[1]}")
        declared = season_events[0][1]
        spec = next((c for c in getattr(declared, "cups") if c["id"] == cup[1]), None)  # noqa: B009
        if spec is None:
            raise UnknownIdError(f"unknown cup {cup[0]}/{cup[1]}")
        race_cup = (cup[0], spec.get("of") or cup[1])
        events = self.race_events(self.cup_race_keys(race_cup, upto), upto)
        key = self.cup_key(cup)
        cup_events = self.events("f.cup = ? AND f.position <= ?", (key, upto)) if key else []
        return self._with_context([*season_events, *events], upto, cup_events)

    def cup_world(self, cup: CupKey, upto: int) -> World:
        """A cup, folded at ``upto`` (see ``cup_events``)."""
        return self.fold_into(World(), self.cup_events(cup, upto))

    def career_world(self, keys: Iterable[int], upto: int) -> World:
        """Every race these competitors (and those merged with them) have a result in."""
        everyone = sorted(self.merged_with(keys, upto))
        races: set[int] = set()
        for start in range(0, len(everyone), 500):
            chunk = everyone[start : start + 500]
            rows = self.c.execute(
                "SELECT DISTINCT race FROM read_facts WHERE race IS NOT NULL AND position <= ?"
                f" AND competitor IN ({','.join('?' * len(chunk))})",
                [upto, *chunk],
            ).fetchall()
            races |= {int(r) for (r,) in rows}
        return self.races_world(sorted(races), upto)

    def stream(self, after: int, upto: int, batch: int = 1_000) -> Iterator[list[Positioned]]:
        """The log after ``after`` up to ``upto``, in batches, each its own short read."""
        while after < upto:
            rows = self.events(
                "f.position > ? AND f.position <= ?", (after, min(upto, after + batch))
            )
            if not rows:
                return
            yield rows
            after = rows[-1][0]


def label_holders(reader: Reader, labels: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Held]:
    """Who holds each of these labels (canonical name, nation or "") now; unheld ones absent."""
    wanted = set(labels)
    latest: dict[tuple[str, str], tuple[int, int, int, str]] = {}
    for position, key, text, nation, shown, held in reader.c.many(
        "SELECT position, competitor, canonical, nation, name, held FROM read_labels"
        " WHERE canonical IN (?*)",
        sorted({name for name, _ in wanted}),
    ):
        label = (str(text), str(nation))
        if label not in wanted:
            continue
        row = (int(position), int(held), int(key), str(shown))
        if label not in latest or row > latest[label]:
            latest[label] = row
    ids = reader.competitor_ids(key for _, _, key, _ in latest.values())
    return {
        label: Held(key, ids[key], shown, label[1] or None)
        for label, (_, held, key, shown) in latest.items()
        if held
    }


def look_alikes(reader: Reader, names: Iterable[str], upto: int) -> dict[str, list[Held]]:
    """For each name, the other names held now that look the same (the same letters case
    aside, or look-alike letters of another script) but are a different text."""
    from ledger.identity import skeleton

    wanted = {skeleton(name): name for name in names}
    latest: dict[tuple[str, str], tuple[int, int, int, str, str]] = {}
    for position, key, text, nation, shown, held, sk in reader.c.many(
        "SELECT position, competitor, canonical, nation, name, held, skeleton FROM read_labels"
        " WHERE position <= ? AND skeleton IN (?*)",
        sorted(wanted),
        prefix=(upto,),
    ):
        label = (str(text), str(nation))
        row = (int(position), int(held), int(key), str(shown), str(sk))
        if label not in latest or row > latest[label]:
            latest[label] = row
    ids = reader.competitor_ids(row[2] for row in latest.values())
    found: dict[str, list[Held]] = {}
    for (text, nation), (_, held, key, shown, sk) in sorted(latest.items()):
        name = wanted[sk]
        if held and text != canonical(name):
            found.setdefault(name, []).append(Held(key, ids[key], shown, nation or None))
    return found
