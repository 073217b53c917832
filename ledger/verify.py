"""Verification: re-read the whole log, recompute the hash chain, name the first bad position;
then derive the read model again and compare it with the stored one.

This works on any ``ChainedRecorder`` (SQLite, PostgreSQL): it needs only ``chain_batches`` (the
events in log order with everything their hash covers, as plain tuples) and
``unchained_position`` (events stored without a chain row). The loop is kept tight on purpose:
no event is decoded, only hashed, so a million events take a few seconds. The read model's
half (``verify_read_model``) decodes every event; on a large SQLite file both halves are
shared by several processes, each over its own stretch of the log.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from contextlib import closing
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import orjson

from ledger import index
from ledger.chain import GENESIS, RawChainRow
from ledger.errors import InputError, IntegrityViolation, StoreError
from ledger.parallel import chain_file, in_order, processes_for
from ledger.store import ChainedRecorder, SQLiteChainFile, head_position

BATCH = 1_000
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Verified:
    """The outcome of a verification that passed: how many events, and the head digest."""

    events: int
    head: str
    expected_at: int | None = None


def parse_digest(text: str, option: str = "--expect-head") -> str:
    """A published head digest: 64 hex digits (any case), or an InputError."""
    digest = text.strip().lower()
    if not _HEX64.match(digest):
        raise InputError(
            f"{option} {text!r}: a head digest is 64 hex digits, as printed by `ledger verify`"
        )
    return digest


@dataclass(frozen=True)
class _Walked:
    """Where a walk along the chain stands: the last position checked, its hash and
    recorded time, and where the expected head was seen."""

    position: int
    previous: bytes
    last_time: str
    expected_at: int | None = None


_START = _Walked(0, bytes.fromhex(GENESIS), "")


def verify_chain(
    recorder: ChainedRecorder,
    *,
    expect_head: str | None = None,
    batch: int = BATCH,
    advance: Callable[[int], None] | None = None,
    processes: int | None = None,
) -> Verified:
    """Recompute the chain from the first event; raise IntegrityViolation at the first bad one.

    Checks, position by position: positions run 1, 2, 3... with no gap; every chain row has its
    event; recorded times never go backwards; the stored hash equals the recomputed one. Then
    that no stored event lacks a chain row. With ``expect_head``, the log must also contain an
    event whose recomputed hash is that digest (a head published earlier).

    A large SQLite file is verified by several processes at once (``processes``, by default
    as ``ledger.parallel.processes_for`` decides), each over its own
    stretch of the log (see ``_in_parallel``); whatever was appended meanwhile is then
    verified after them.
    """
    expect = parse_digest(expect_head) if expect_head is not None else None
    _check_tables(recorder)
    walked = _START
    path = recorder.file_path()
    if path is not None:
        end = recorder.head().position
        count = processes_for(end, processes)
        if count > 1:
            walked = _in_parallel(recorder, path, end, count, expect, batch, advance)
    walked = _walk(recorder.chain_batches(walked.position, batch), walked, expect, None, advance)
    unchained = recorder.unchained_position()
    if unchained is not None:
        raise IntegrityViolation(
            f"position {unchained}: an event is stored there without a chain link;"
            " it was inserted outside the ledger"
        )
    if expect is not None and walked.expected_at is None:
        raise IntegrityViolation(
            f"the log holds no event with hash {expect}: it was truncated or rewritten"
            f" after that head was published (it now ends at position {walked.position})"
        )
    return Verified(
        events=walked.position, head=walked.previous.hex(), expected_at=walked.expected_at
    )


def _check_tables(recorder: ChainedRecorder) -> None:
    """A table of the log dropped whole: say what that did, as a row-by-row walk would."""
    from ledger.index import has_table
    from ledger.store import CHAIN_TABLE, EVENTS_TABLE

    with recorder.reading() as c:
        events, chain = has_table(c, EVENTS_TABLE), has_table(c, CHAIN_TABLE)
        if events and not chain and c.execute(f"SELECT 1 FROM {EVENTS_TABLE} LIMIT 1").fetchone():
            raise IntegrityViolation(
                "position 1: an event is stored there without a chain link;"
                " it was inserted outside the ledger (the chain is gone)"
            )
        if chain and not events and c.execute(f"SELECT 1 FROM {CHAIN_TABLE} LIMIT 1").fetchone():
            raise IntegrityViolation(
                "position 1: the chain names an event that is not in the log;"
                " it was deleted (the events table is gone)"
            )


def _walk(
    batches: Iterable[Sequence[RawChainRow]],
    walked: _Walked,
    expect: str | None,
    upto: int | None,
    advance: Callable[[int], None] | None,
) -> _Walked:
    """Check the rows after ``walked.position``, up to ``upto`` (or the end of the log)."""
    sha256 = hashlib.sha256
    position, previous, last_time = walked.position, walked.previous, walked.last_time
    expected_at = walked.expected_at
    stop = -1 if upto is None else upto
    # Plain tuples in batches of about a thousand: building a ChainRow per event, or reading
    # tens of thousands of rows at once, costs as much as the hashing.
    for rows in batches:
        start = position
        try:
            for expected, originator_id, version, topic, recorded_at, state, stored, by in rows:
                if position == stop:
                    break
                position += 1
                if expected != position:
                    raise IntegrityViolation(
                        f"position {position}: missing from the chain (the next row is position"
                        f" {expected}); events were deleted or the chain was edited"
                    )
                if state is None:
                    raise IntegrityViolation(
                        f"position {position}: the chain names an event that is not in the log;"
                        " it was deleted"
                    )
                if originator_id.__class__ is not str:
                    originator_id = UUID(str(originator_id)).hex
                hashing = sha256(previous)  # fed piece by piece: no joined copy of the state
                if by is None:
                    header = f"{position}|{originator_id}|{version}|{topic}|{recorded_at}\n"
                else:  # the database role the server recorded (PostgreSQL)
                    header = f"{position}|{originator_id}|{version}|{topic}|{recorded_at}|{by}\n"
                hashing.update(header.encode())
                hashing.update(state)
                previous = hashing.digest()
                digest = previous.hex()
                if digest != stored:
                    raise IntegrityViolation(
                        f"position {position}: the stored hash does not match the event; it was"
                        " edited, inserted, removed or reordered at or just before this position"
                    )
                if recorded_at < last_time:
                    raise IntegrityViolation(
                        f"position {position}: recorded at {recorded_at}, earlier than the"
                        f" event before it ({last_time}); the log was reordered"
                    )
                if digest == expect:
                    expected_at = position
                last_time = recorded_at
        except (TypeError, ValueError, AttributeError) as e:
            # Only a hand-edited row can get here: SQLite lets a column hold any type, and
            # e.g. replace() on a BLOB state stores TEXT.
            raise IntegrityViolation(
                f"position {position}: the stored event is malformed ({e}); it was edited"
            ) from None
        if advance is not None:
            advance(position - start)
        if position == stop:
            break
    if upto is not None and position < upto:
        raise IntegrityViolation(
            f"position {position + 1}: missing from the chain (the log ends before it);"
            " events were deleted or the chain was edited"
        )
    return _Walked(position, previous, last_time, expected_at)


# --- several processes ------------------------------------------------------------------


def _in_parallel(
    recorder: ChainedRecorder,
    path: str,
    end: int,
    count: int,
    expect: str | None,
    batch: int,
    advance: Callable[[int], None] | None,
) -> _Walked:
    """Verify positions 1 to ``end`` in ``count`` stretches at once: this process the first,
    forked processes the others, each reading the file through a connection of its own.

    A stretch starts from the stored hash and recorded time of the position before it, not
    from the hash recomputed by the stretch before. Every stored hash is checked against the
    event and the stored hash before it, so if every stretch passes, the recomputed chain is
    the stored one throughout, as one walk from the first event would find; and if some fail,
    the first failure of the first stretch that fails is the first failure of that walk
    (before it, the stored hashes it started from are the recomputed ones).
    """
    from concurrent.futures import ProcessPoolExecutor, wait

    bounds = [end * k // count for k in range(count + 1)]
    import multiprocessing  # here, not at the top: every command would import it

    context = multiprocessing.get_context("fork")
    done = context.Value("q", 0)
    reported = 0

    def report(rows: int) -> None:
        nonlocal reported
        if advance is not None:
            others = done.value
            advance(rows + others - reported)
            reported = others

    first: _Walked | IntegrityViolation
    with ProcessPoolExecutor(
        count - 1, mp_context=context, initializer=_share, initargs=(done,)
    ) as pool:
        futures = [
            pool.submit(_stretch, path, bounds[k], bounds[k + 1], expect, batch)
            for k in range(1, count)
        ]
        try:
            first = _walk(recorder.chain_batches(0, batch), _START, expect, bounds[1], report)
        except IntegrityViolation as e:
            first = e
        while wait(futures, timeout=0.1).not_done:
            report(0)
        report(0)
        outcomes = [first, *(future.result() for future in futures)]
    expected_at = None
    for outcome in outcomes:
        if isinstance(outcome, IntegrityViolation):
            raise outcome
        if outcome.expected_at is not None:
            expected_at = outcome.expected_at
    last = outcomes[-1]
    assert isinstance(last, _Walked)
    return _Walked(last.position, last.previous, last.last_time, expected_at)


_shared: Any = None


def _share(done: Any) -> None:
    global _shared
    _shared = done


def _stretch(
    path: str, after: int, upto: int, expect: str | None, batch: int
) -> _Walked | IntegrityViolation:
    """Verify positions ``after`` + 1 to ``upto`` of the file, in a process of its own."""

    def report(rows: int) -> None:
        with _shared.get_lock():
            _shared.value += rows

    try:
        chain = SQLiteChainFile(path)
    except sqlite3.Error as e:
        raise StoreError(f"--db {path}: {e}") from None
    try:
        before = chain.link_at(after)
        # No row there: the stretch before fails at that position, and that failure is shown.
        stored, recorded_at = before if before is not None else (GENESIS, "")
        walked = _Walked(after, bytes.fromhex(stored), recorded_at)
        return _walk(chain.chain_batches(after, batch), walked, expect, upto, report)
    except IntegrityViolation as e:
        return e
    except (TypeError, ValueError):  # a hand-edited hash: the stretch before fails there
        return IntegrityViolation(f"position {after}: the stored hash is malformed")
    except sqlite3.Error as e:
        raise StoreError(f"--db {path}: {e}") from None
    finally:
        chain.close()


# --- the read model ---------------------------------------------------------------------


def verify_read_model(recorder: ChainedRecorder, *, processes: int | None = None) -> None:
    """Derive the read model from the log and compare it with the stored one, row by row;
    raise IntegrityViolation naming the first table and position that differ.

    A large SQLite file is compared in ``processes`` stretches at once (by default as
    ``ledger.parallel.processes_for`` decides), each in a process of its own through a
    connection of its own, up to the head this process's snapshot holds (see
    ``_stretches``); what is appended meanwhile is not compared.
    """
    path = recorder.file_path()
    with recorder.reading() as c:
        head = head_position(c)
        commands = None
        if path is not None and (count := processes_for(head, processes)) > 1:
            index.check_layout(c, head)
            commands = _stretches(recorder, path, head, count)
        if commands is None:  # one process, or stretches that do not join up: one walk
            index.verify_index(c, lambda a, n: recorder.log_rows(c, a, n), head)
            return
        index.check_rest(c, head, commands)


def _stretches(
    recorder: ChainedRecorder, path: str, head: int, count: int
) -> dict[int, list[Any]] | None:
    """Compare the read model's rows of positions 1 to ``head`` in ``count`` stretches at
    once; the commands they derived, or None if the stretches do not join up.

    A stretch starts from what the stored rows of the positions before it say (the keys,
    who holds each name, the last command), not from what the stretch before derived. Each
    stretch compares the stored rows of its own positions with the ones it derives, so if
    every stretch before this one passed, the stored rows it started from are the derived
    ones, and it finds what one walk from the first event would find; the first failure of
    the first stretch that fails is that walk's first failure. Only the last command is
    compared after the stretches: each must begin with the last command as the stretch
    before it ended it, or the stretches are not trusted (None) and one walk decides.
    """
    bounds = [head * k // count for k in range(count + 1)]

    def make(chain: SQLiteChainFile, k: int) -> bytes:
        low, high = bounds[k], bounds[k + 1]
        sql = index.Sql(chain.connection.cursor(), postgres=False)
        try:
            known = index.Known() if low == 0 else index.known_at(sql, low)
        except (TypeError, ValueError):  # a hand-edited key: one walk says where
            return orjson.dumps({"joined": False})
        try:
            stretch = index.compare_stretch(
                sql, lambda a, n: recorder.log_rows(sql, a, n), low, high, known
            )
        except IntegrityViolation as e:
            return orjson.dumps({"violation": str(e)})
        return orjson.dumps(
            {
                "commands": list(stretch.commands.values()),
                "start": stretch.start,
                "end": stretch.end,
            }
        )

    commands: dict[int, list[Any]] = {}
    end: list[Any] | None = None
    for k, made in enumerate(in_order(path, count, lambda: closing(chain_file(path)), make, count)):
        part = orjson.loads(made)
        if "violation" in part:
            raise IntegrityViolation(part["violation"])
        if "joined" in part or (k > 0 and part["start"] != end):
            return None
        commands.update((row[0], row) for row in part["commands"])
        end = part["end"]
    return commands
