"""The audit trail: one row per event (or per command), saying who changed what, old → new,
when, why and on whose authority.

What an event changed is read off the state of its subject (a competitor's result in a race,
a race's calendar entry, a competitor's name, a standing in a cup) just before and just after
it, as the one fold (``ledger.fold``) makes it: nothing here knows what an event does, so a
new kind of event shows in the trail as soon as it has a transition.

``rows`` is the pure part: a fold over ``(position, event)`` pairs that yields the rows of the
positions asked for. ``query_history`` feeds it through the reader: for a race, a competitor,
an author or a command, exactly the events of what those events touched; for the whole log
(or a stretch of it), a stream in log order that keeps the state of the races it passes in a
bounded cache, so that the first row comes at once and memory stays flat.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime
from decimal import Decimal
from itertools import islice
from typing import Any

from ledger.application import Ledger, reading_file
from ledger.chain import parse_recorded_at
from ledger.errors import UnknownIdError
from ledger.events import (
    CommandReverted,
    CompetitorRenamed,
    CupEvent,
    LedgerEvent,
    PointsDeducted,
    RaceEvent,
    RaceScheduled,
    ResultEvent,
    SeasonDeclared,
    competitor_key,
)
from ledger.fold import RaceKey, World, apply
from ledger.ids import suggest
from ledger.parallel import in_order, processes_for
from ledger.reader import Positioned, Reader
from ledger.values import format_points, format_time
from projections.models import Cut, Out

Values = dict[str, Any]

AMENDMENTS = frozenset(
    {
        "corrected",
        "disqualified",
        "reinstated",
        "voided",
        "unvoided",
        "withdrawn",
        "restored",
        "renamed",
        "rescheduled",
        "retabled",
        "excluded",
        "readmitted",
        "deducted",
        "cancelled deduction",
        "reverted",
    }
)
CACHED_RACES = 4_096


class HistoryEntry(Out):
    """One event of the audit trail."""

    position: int
    command: int
    recorded_at: datetime
    by: str
    what: str
    event: str
    season: str | None
    race: str | None
    race_date: date | None
    competitor: str | None
    nation: str | None
    competitor_id: str | None
    old: Values | None
    new: Values | None
    change: str
    reason: str | None
    source: str | None
    signed_by: str | None = None  # the key that signed its command, if any
    db_role: str | None = None  # the database role the server recorded (PostgreSQL)


class CommandEntry(Out):
    """One command of the audit trail: its events, summed up."""

    command: int
    last: int
    events: int
    recorded_at: datetime
    by: str
    what: str
    change: str
    reason: str | None
    source: str | None
    signed_by: str | None = None  # the key that signed the command (ledger.signing), if any
    db_role: str | None = None  # the database role the server recorded (PostgreSQL)


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, 11th, 21st."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


# --- the state of an event's subject --------------------------------------------------------


def subject(world: World, event: LedgerEvent) -> Values | None:
    """The values of what an event is about, as the world stands (None: nothing there)."""
    if isinstance(event, ResultEvent):
        race = world.races.get((event.season, event.race))
        result = race.results.get(event.competitor_id) if race else None
        if result is None:
            return None
        return {
            "place": result.place,
            "time": format_time(result.time) or None,
            "status": result.status,
            "disqualified": result.disqualified,
            "bonus": format_points(result.bonus) or None,
            "team": result.team,
            "competitor": result.name,
            "nation": result.nation,
        }
    if isinstance(event, RaceEvent):
        race = world.races.get((event.season, event.race))
        if race is None:
            return None
        return {"date": race.date.isoformat(), "table": race.table, "voided": race.voided}
    if isinstance(event, CompetitorRenamed):
        return None  # its own old and new values say it all
    if isinstance(event, CupEvent):
        cup = world.cup((event.season, event.cup))
        if cup is None:
            return None
        who = world.identity(event.competitor_id)
        deducted = sum(
            (p for c, p in cup.deductions.values() if world.identity(c) == who), start=Decimal(0)
        )
        return {
            "excluded": who in {world.identity(c) for c in cup.excluded},
            "deducted": format_points(deducted) if deducted else None,
        }
    return None


def values_text(values: Values | None) -> str:
    """A result's values as people write them: '3rd in 34.64', 'DNF', 'no result'."""
    if values is None:
        return "no result"
    parts = [ordinal(values["place"])] if values.get("place") is not None else []
    if values.get("time") is not None:
        parts.append(f"in {values['time']}")
    if values.get("status"):
        parts.append(values["status"])
    if values.get("bonus"):
        parts.append(f"+{values['bonus']} bonus")
    text = " ".join(parts) or "no place"
    return f"{text}, disqualified" if values.get("disqualified") else text


_SHOWN = {"place": "place", "time": "time", "status": "status", "bonus": "bonus", "team": "team"}


def change_text(event: LedgerEvent, old: Values | None, new: Values | None) -> str:
    """What changed, old → new, read off the two states (and, for declarations and renames,
    off the event's own values)."""
    if isinstance(event, SeasonDeclared):
        return (
            f"season {event.season!r} declared: {len(event.cups)} cups, {len(event.tables)} tables"
        )
    if isinstance(event, RaceScheduled):
        where = f" at {event.location}" if event.location else ""
        return f"race scheduled on {event.race_date}{where}, scored by table {event.table}"
    if isinstance(event, CompetitorRenamed):
        was = competitor_key(event.old_name, event.old_nation)
        now = competitor_key(event.name, event.nation)
        if event.merged_into:
            return f"{was} → {now} (one competitor with the {now} already in the ledger)"
        if event.unmerged_from:
            return f"{was} → {now} (two competitors again)"
        return f"{was} → {now}"
    if isinstance(event, CommandReverted):
        return f"command #{event.reverted} undone (positions {event.reverted}–{event.last})"
    if isinstance(event, ResultEvent):
        if old is None and new is not None:
            return (
                values_text(new) if event.WHAT == "recorded" else f"no result → {values_text(new)}"
            )
        if new is None:
            return f"{values_text(old)} → no result"
        assert old is not None
        if old.get("disqualified") != new.get("disqualified"):
            plain = {**old, "disqualified": False}
            if new.get("disqualified"):
                return f"{values_text(plain)} → disqualified"
            return f"disqualified → {values_text(plain)} again"
        parts = []
        for key, label in _SHOWN.items():
            before, after = old.get(key), new.get(key)
            if before != after:
                shown = [
                    ordinal(v)
                    if key == "place" and v is not None
                    else (v if v is not None else "none")
                    for v in (before, after)
                ]
                parts.append(f"{label} {shown[0]} → {shown[1]}")
        return "; ".join(parts) or "no change"
    if isinstance(event, RaceEvent):
        if old is None or new is None:
            return event.WHAT
        if old["voided"] != new["voided"]:
            return "race void: no points for anyone" if new["voided"] else "race counts again"
        parts = [f"{k} {old[k]} → {new[k]}" for k in ("date", "table") if old[k] != new[k]]
        return "; ".join(parts) or "no change"
    if isinstance(event, CupEvent):
        if isinstance(event, PointsDeducted):
            return f"−{format_points(event.points)} points in {event.cup}"
        if old is not None and new is not None and old["excluded"] != new["excluded"]:
            return (
                f"excluded from {event.cup}'s standings"
                if new["excluded"]
                else f"back in {event.cup}'s standings"
            )
        if old is not None and new is not None and old["deducted"] != new["deducted"]:
            return f"deduction cancelled in {event.cup}: {old['deducted']} → {new['deducted'] or 0}"
        return event.WHAT
    return event.WHAT


def entry(
    position: int, event: LedgerEvent, old: Values | None, new: Values | None
) -> HistoryEntry:
    """An event's row of the audit trail, given its subject before and after it."""
    race = event if isinstance(event, RaceEvent) else None
    who = getattr(event, "competitor", None) or getattr(event, "old_name", None)
    nation = getattr(event, "nation", None) if hasattr(event, "competitor") else None
    if isinstance(event, CompetitorRenamed):
        nation = event.old_nation
    if new is not None and "competitor" in new:
        who, nation = new["competitor"], new["nation"]
    elif old is not None and "competitor" in old:
        who, nation = old["competitor"], old["nation"]
    return HistoryEntry(
        position=position,
        command=event.command if event.command is not None else position,
        recorded_at=event.recorded_at,
        by=event.by,
        what=event.WHAT,
        event=type(event).__name__,
        season=getattr(event, "season", None),
        race=race.race if race else None,
        race_date=race.race_date if race else None,
        competitor=who,
        nation=nation,
        competitor_id=getattr(event, "competitor_id", None),
        old=_shown(old),
        new=_shown(new),
        change=change_text(event, old, new),
        reason=getattr(event, "reason", None),
        source=event.source,
    )


def _shown(values: Values | None) -> Values | None:
    if values is None:
        return None
    return {k: v for k, v in values.items() if k not in ("competitor", "nation")}


def rows(
    events: Iterable[Positioned],
    wanted: Callable[[int, LedgerEvent], bool],
    world: World | None = None,
) -> Iterator[HistoryEntry]:
    """Fold events in log order and yield the rows of those ``wanted`` (pure)."""
    world = World() if world is None else world
    for position, event in events:
        if not wanted(position, event):
            apply(world, position, event)
            continue
        old = subject(world, event)
        apply(world, position, event)
        yield entry(position, event, old, subject(world, event))


# --- reading ----------------------------------------------------------------------------------


class Filters(Out):
    """What the audit trail is narrowed to (every filter given must hold)."""

    race: str | None = None
    competitor: str | None = None
    nation: str | None = None
    by: str | None = None
    command: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    as_of: date | None = None
    changes_only: bool = False

    @property
    def selective(self) -> bool:
        """Whether the filters name what to read (else the log is streamed)."""
        return any(v is not None for v in (self.race, self.competitor, self.by, self.command))


def query_history(
    ledger: Ledger, *, known_at: datetime | None = None, **filters: Any
) -> list[HistoryEntry]:
    """The audit trail, filtered (see ``stream_history`` for one that streams)."""
    return list(stream_history(ledger, known_at=known_at, **filters))


def stream_history(
    ledger: Ledger, *, known_at: datetime | None = None, **given: Any
) -> Iterator[HistoryEntry]:
    """The audit trail's rows, in log order, read as they are yielded."""
    f = Filters(**given)
    with ledger.reading() as reader:
        after, upto = _span(reader, f, known_at)
        yield from _rows(reader, f, after, upto)


HISTORY_STRETCH = 20_000  # positions of the log a process of ``history_blocks`` lists at once
BLOCK_ROWS = 1_000  # rows made into a block at a time in one process


def history_blocks(
    ledger: Ledger,
    made: Callable[[Iterable[HistoryEntry]], bytes],
    *,
    known_at: datetime | None = None,
    parallel: bool = False,
    **given: Any,
) -> Iterator[bytes]:
    """``made`` of the audit trail's rows (``stream_history``'s), a block of rows at a time,
    in log order: what a listing writes (its lines), made as the rows are read.

    ``parallel``: on a large SQLite file, with no filter that names what to read (the log
    is streamed, between --since and --until), one process per CPU lists stretches of the
    log at once, each from the stretch's start (``ledger.parallel``): every stretch is read
    up to the same position, so the rows are the same, in the same order."""
    f = Filters(**given)
    with ledger.reading() as reader:
        after, upto = _span(reader, f, known_at)
    path = ledger.chain.file_path() if parallel and not f.selective else None
    processes = 1 if path is None else processes_for(upto - after)
    if path is None or processes == 1:
        with ledger.reading() as reader:
            rows = _rows(reader, f, after, upto)
            while block := list(islice(rows, BLOCK_ROWS)):
                yield made(block)
        return
    keep = _keeper(f, after, upto)
    bounds = _stretches(after, upto)

    def stretch(reader: Reader, k: int) -> bytes:
        return made(_streamed(reader, bounds[k], bounds[k + 1], keep))

    yield from in_order(path, len(bounds) - 1, lambda: reading_file(path), stretch, processes)


def _stretches(after: int, upto: int) -> list[int]:
    """Where the stretches of a parallel listing begin, and the last one ends: the first
    ones short, so that the first lines come at once, then doubling to HISTORY_STRETCH."""
    bounds, size = [after], BLOCK_ROWS
    while bounds[-1] < upto:
        bounds.append(min(bounds[-1] + size, upto))
        size = min(2 * size, HISTORY_STRETCH)
    return bounds


def _span(reader: Reader, f: Filters, known_at: datetime | None) -> tuple[int, int]:
    """The positions a listing reads after, and up to (the known-at cut, --since, --until)."""
    cut = Cut.at(reader, known_at)
    upto = min(cut.upto, _position(reader, f.until, cut.upto))
    return _position(reader, f.since, 0, before=True), upto


def _position(reader: Reader, moment: datetime | None, default: int, before: bool = False) -> int:
    """The last position recorded at or before a moment (or just before it, for --since)."""
    if moment is None:
        return default
    from ledger.chain import format_recorded_at

    text = format_recorded_at(moment)
    if before:  # --since keeps events recorded at or after it: start after those before it
        return reader.position_at(_just_before(text))
    return reader.position_at(text)


def _just_before(text: str) -> str:
    moment = parse_recorded_at(text)
    from datetime import timedelta

    from ledger.chain import format_recorded_at

    try:
        return format_recorded_at(moment - timedelta(microseconds=1))
    except OverflowError:  # the first instant of year 1: nothing can be recorded before it
        return ""  # sorts before every recorded time


def _keeper(f: Filters, after: int, upto: int) -> Callable[[int, LedgerEvent], bool]:
    """Which events a listing shows: in its span, by --as-of, amendments only if asked."""

    def keep(position: int, event: LedgerEvent) -> bool:
        if not after < position <= upto:
            return False
        if f.as_of is not None and isinstance(event, RaceEvent) and event.race_date > f.as_of:
            return False
        return not f.changes_only or event.WHAT in AMENDMENTS

    return keep


def _rows(reader: Reader, f: Filters, after: int, upto: int) -> Iterator[HistoryEntry]:
    keep = _keeper(f, after, upto)
    if not f.selective:
        yield from _streamed(reader, after, upto, keep)
        return
    races, chunks = _selected(reader, f, after, upto)
    for chunk in chunks:
        chosen = set(chunk)

        def wanted(position: int, event: LedgerEvent, chosen: set[int] = chosen) -> bool:
            return position in chosen and keep(position, event)

        yield from rows(reader.fold_events(*_context(reader, chunk, races)), wanted)


SELECTED_CHUNK = 2_000  # selected events folded at a time, each chunk with its own context


def _selected(
    reader: Reader, f: Filters, after: int, upto: int
) -> tuple[set[int], Iterator[list[int]]]:
    """The race a filter names (its every event is context), and the positions after
    ``after`` and up to ``upto`` that the filters select, in log order, a chunk at a time:
    each chunk is folded with what it touched, so the first rows come at once and memory
    stays bounded however much one author recorded."""
    chosen: set[int] | None = None
    races: set[int] = set()

    def narrow(positions: Iterable[int]) -> None:
        nonlocal chosen
        found = set(positions)
        chosen = found if chosen is None else chosen & found

    if f.race is not None:
        key = reader.resolve_race(f.race, upto)
        race_key = reader.race_key(key)
        assert race_key is not None
        races.add(race_key)
        race_events = reader.race_events([race_key], upto)
        ids = {e.competitor_id for _, e in race_events if isinstance(e, ResultEvent)}
        renames = reader.renames(reader.competitor_keys(ids).values(), upto)
        narrow([p for p, _ in race_events] + [p for p, _ in renames])
    if f.competitor is not None:
        found = [
            h
            for h in reader.holders(f.competitor, upto)
            if f.nation is None or h.nation == f.nation
        ]
        if not found:
            names = [h.name for h in reader.holders(f.competitor[:3], upto)] if f.competitor else []
            raise UnknownIdError(
                f"unknown competitor {competitor_key(f.competitor, f.nation)!r}"
                f"{suggest(f.competitor, names)}"
            )
        keys = reader.merged_with({h.key for h in found}, upto)
        narrow(reader.competitor_positions(keys, upto))
    if f.command is not None:
        command = reader.command_of(f.command)
        if command is None:
            raise UnknownIdError(f"no command at position {f.command}")
        narrow(range(command.command, command.last + 1))
    positions: Iterable[int] = sorted(chosen) if chosen is not None else ()
    if f.by is not None:
        authored = reader.commands(upto=upto, by=f.by)
        if not authored:
            names = reader.authors(upto)
            raise UnknownIdError(f"nobody called {f.by!r} recorded anything{suggest(f.by, names)}")
        commands = [c for c in authored if c.last > after]
        if chosen is None:  # the author's commands, read as they come
            positions = (p for c in commands for p in range(c.command, c.last + 1))
        else:
            starts = [c.command for c in commands]
            positions = [
                p
                for p in sorted(chosen)
                if (i := bisect_right(starts, p) - 1) >= 0 and p <= commands[i].last
            ]
    return races, _chunked(p for p in positions if after < p <= upto)


def _chunked(positions: Iterable[int]) -> Iterator[list[int]]:
    chunk: list[int] = []
    for position in positions:
        chunk.append(position)
        if len(chunk) == SELECTED_CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _context(reader: Reader, selected: list[int], races: set[int]) -> list[list[Positioned]]:
    """The selected events and those needed to say what each changed: everything about the
    races (and ``races``), competitors and cups they touched, up to the last of them."""
    race_keys = set(races)
    touched = reader.events_at(selected)
    # A result's old and new values need that result's events and its race's own; a race's
    # (a void, a move) need the whole race.
    results: set[tuple[int, int]] = set()
    filed = reader.fact_keys(p for p, _ in touched)
    for position, event in touched:
        race, competitor = filed.get(position, (None, None))
        if isinstance(event, RaceEvent) and race is not None:
            if not isinstance(event, ResultEvent):
                race_keys.add(race)
            elif competitor is not None:
                results.add((race, competitor))
    top = max(selected, default=0)
    pairs = sorted((race, c) for race, c in results if race not in race_keys)
    context = [
        touched,
        reader.race_events(sorted(race_keys), top),
        reader.results_events(pairs, top),
    ]
    ids = {
        i
        for stream in context
        for _, e in stream
        for i in (getattr(e, "competitor_id", None), getattr(e, "merged_into", None))
        if i
    }
    context.append(reader.renames(reader.competitor_keys(ids).values(), top))
    cups = {(e.season, e.cup) for _, e in touched if isinstance(e, CupEvent)}
    for cup in cups:
        cup_key = reader.cup_key(cup)
        if cup_key is not None:
            context.append(reader.events("f.cup = ? AND f.position <= ?", (cup_key, top)))
    seasons = {e.season for stream in context for _, e in stream if hasattr(e, "season")}
    context.append(reader.season_events(seasons, top))
    return context


def _streamed(
    reader: Reader, after: int, upto: int, keep: Callable[[int, LedgerEvent], bool]
) -> Iterator[HistoryEntry]:
    """Every event of a stretch of the log, in order, with the races it passes kept in a
    bounded cache (a race not in it is read up to the event before, then kept)."""
    world = World()
    cached: OrderedDict[RaceKey, None] = OrderedDict()
    cups: set[tuple[str, str]] = set()
    for batch in reader.stream(after, upto):
        first = batch[0][0] - 1
        missing = {
            (e.season, e.race)
            for _, e in batch
            if isinstance(e, RaceEvent) and (e.season, e.race) not in world.races
        }
        if missing:
            keys = [k for race in missing if (k := reader.race_key(race)) is not None]
            _adopt(world, reader.races_world(keys, first), missing)
        for cup in {(e.season, e.cup) for _, e in batch if isinstance(e, CupEvent)} - cups:
            cups.add(cup)
            if reader.season_position(cup[0], first) is not None:  # else declared in the batch
                _adopt(world, reader.cup_world(cup, first), set(), cup)
        for position, event in batch:
            if isinstance(event, RaceEvent):
                seen = (event.season, event.race)
                cached[seen] = None
                cached.move_to_end(seen)
            yield from rows([(position, event)], keep, world)
        while len(cached) > CACHED_RACES:
            gone, _ = cached.popitem(last=False)
            world.races.pop(gone, None)


def _adopt(
    world: World, loaded: World, races: set[RaceKey], cup: tuple[str, str] | None = None
) -> None:
    """Take what a stream had not seen yet from a world read up to just before it: these
    races, a cup's standing (its exclusions and deductions), seasons and merges it lacks.
    Nothing the stream folded itself is replaced."""
    for race in races:
        if race in loaded.races:
            world.races[race] = loaded.races[race]
    for season, state in loaded.seasons.items():
        mine = world.seasons.setdefault(season, state)
        if cup is not None and cup[0] == season and cup[1] in state.cups:
            mine.cups[cup[1]] = state.cups[cup[1]]
    for competitor, merged in loaded.competitors.items():
        world.competitors.setdefault(competitor, merged)


def written(receipt: Any) -> list[HistoryEntry]:
    """The audit-trail rows of what a command just wrote (from the state it read before)."""
    import copy

    before = copy.deepcopy(receipt.before) if receipt.before is not None else World()
    entries = list(rows(receipt.written, lambda p, e: True, before))
    signed, role = getattr(receipt, "signed_by", None), getattr(receipt, "db_role", None)
    if signed or role:
        entries = [e.model_copy(update={"signed_by": signed, "db_role": role}) for e in entries]
    return entries


def per_command(entries: Iterable[HistoryEntry]) -> Iterator[CommandEntry]:
    """The audit trail one row per command, summed up from its events' rows as they come."""
    group: list[HistoryEntry] = []
    counts: dict[str, int] = {}
    size = 0

    def summed() -> CommandEntry:
        first = group[0]
        if size == 1:
            where = f"{first.race} " if first.race else ""
            who = f"{first.competitor} ({first.nation})" if first.nation else first.competitor
            change = f"{where}{who + ': ' if who else ''}{first.change}"
        else:
            change = ", ".join(
                f"{n} {what}" if what != "recorded" else f"{n} results recorded"
                for what, n in counts.items()
            )
        return CommandEntry(
            command=first.command,
            last=last_position,
            events=size,
            recorded_at=first.recorded_at,
            by=first.by,
            what=first.what,
            change=change,
            reason=first.reason,
            source=first.source,
        )

    last_position = 0
    for row in entries:
        if group and row.command != group[0].command:
            yield summed()
            group, counts, size = [], {}, 0
        if not group:
            group.append(row)
        counts[row.what] = counts.get(row.what, 0) + 1
        size += 1
        last_position = row.position
    if group:
        yield summed()
