"""Large reads of a SQLite ledger file in several processes at once, their parts in order.

A read that does Python work for every event of the log (``verify``, ``export events``) or
for every season (``seasons``) is bound by one core. Forked processes each read their own
parts through a connection of their own; ``in_order`` hands the caller what was made of
each part in order, one part at a time, so memory stays flat whatever the ledger's size.
``in_log_order`` is that over stretches of the log.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import struct
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, closing
from dataclasses import dataclass
from typing import BinaryIO, Generic, TypeVar

from ledger.chain import RawChainRow
from ledger.errors import LedgerError, StoreError
from ledger.store import SQLiteChainFile

PARALLEL_FROM = 50_000  # events: below this, starting processes costs more than it saves
MAX_PROCESSES = 8
_FRAME = struct.Struct(">q")  # a part's length in bytes; negative: an error's message
_PIPE_BYTES = 1 << 20  # Linux's default upper limit for an unprivileged pipe


def processes_for(events: int, processes: int | None = None) -> int:
    """How many processes share the work over a SQLite file of this many events:
    ``processes`` (by default one per CPU), at most MAX_PROCESSES, one below PARALLEL_FROM
    events, and one where processes cannot be forked."""
    return _forkable(processes) if events >= PARALLEL_FROM else 1


def processes_for_parts(parts: int) -> int:
    """How many processes share ``parts`` parts of work: one per CPU, at most MAX_PROCESSES,
    never more than the parts, and one where processes cannot be forked."""
    return max(1, min(_forkable(None), parts))


def _forkable(processes: int | None) -> int:
    """``processes`` (by default one per CPU), at most MAX_PROCESSES; one without fork."""
    if not hasattr(os, "fork"):
        return 1
    count = processes if processes is not None else _cpus()
    return max(1, min(count, MAX_PROCESSES))


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


Source = TypeVar("Source")  # what a process reads its parts through (its own connection)


@dataclass(frozen=True)
class _Plan(Generic[Source]):
    """The work: ``make`` of each of ``count`` parts, read through what ``opened`` opens."""

    path: str
    count: int
    opened: Callable[[], AbstractContextManager[Source]]
    make: Callable[[Source, int], bytes]
    processes: int


def in_log_order(
    path: str,
    upto: int,
    stretch: int,
    make: Callable[[Sequence[RawChainRow]], bytes],
    processes: int,
) -> Iterator[bytes]:
    """``make`` of each stretch of ``stretch`` positions from 1 to ``upto``, in log order
    (``in_order``, each process reading the chain through a connection of its own)."""

    def made(chain: SQLiteChainFile, k: int) -> bytes:
        after = k * stretch
        return make(chain.chain_range(after, min(after + stretch, upto)))

    yield from in_order(
        path, -(-upto // stretch), lambda: closing(chain_file(path)), made, processes
    )


def in_order(
    path: str,
    count: int,
    opened: Callable[[], AbstractContextManager[Source]],
    make: Callable[[Source, int], bytes],
    processes: int,
) -> Iterator[bytes]:
    """``make`` of each part from 0 to ``count`` - 1, in order, each process reading the
    ledger file at ``path`` through what ``opened`` opens for it.

    Part k goes to process k mod ``processes``: this one makes its own as they are asked
    for, the forked others make theirs ahead and send them through a pipe (which holds
    about one part: a process is never more than a part ahead). Closing the iterator early
    (a reader that stops) stops the other processes. What a part reads must not depend on
    when it is read (a position to read up to, not the head).
    """
    plan = _Plan(path, count, opened, make, max(1, min(processes, count)))
    workers: list[tuple[int, BinaryIO]] = []
    done = False
    try:
        for worker in range(1, plan.processes):
            workers.append(_fork(plan, worker, workers))
        with plan.opened() as source:
            for k in range(plan.count):
                if k % plan.processes == 0:
                    yield plan.make(source, k)
                else:
                    yield _received(workers[k % plan.processes - 1][1], path)
        done = True
    finally:
        for pid, pipe in workers:
            pipe.close()  # a worker still writing gets a broken pipe and stops
            if not done:  # stopped early: a worker making a part need not finish it
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGTERM)
            os.waitpid(pid, 0)


def _fork(
    plan: _Plan[Source], worker: int, started: Sequence[tuple[int, BinaryIO]]
) -> tuple[int, BinaryIO]:
    read, write = os.pipe()
    # Not on Linux, or a lower limit there: a smaller pipe is fine.
    with contextlib.suppress(AttributeError, OSError):
        fcntl.fcntl(write, fcntl.F_SETPIPE_SZ, _PIPE_BYTES)
    pid = os.fork()
    if pid == 0:  # the worker: never returns
        code = 1
        try:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)  # stopped at once (``in_order``)
            os.close(read)
            for _, pipe in started:
                pipe.close()
            code = _work(plan, worker, write)
        finally:
            os._exit(code)
    os.close(write)
    return pid, os.fdopen(read, "rb", buffering=_PIPE_BYTES)


def _work(plan: _Plan[Source], worker: int, fd: int) -> int:
    """Make every ``processes``-th part from ``worker`` on and send each down ``fd``."""
    with os.fdopen(fd, "wb", buffering=0) as out:
        try:
            with plan.opened() as source:
                for k in range(worker, plan.count, plan.processes):
                    made = plan.make(source, k)
                    out.write(_FRAME.pack(len(made)))
                    out.write(made)
        except BrokenPipeError:  # the reader stopped early
            return 0
        except BaseException as e:  # told to the reader, which raises it as one line
            text = str(e) if isinstance(e, LedgerError) else f"--db {plan.path}: {_said(e)}"
            message = text.encode("utf-8", "replace")
            with contextlib.suppress(OSError):
                out.write(_FRAME.pack(-len(message)) + message)
            return 1
    return 0


def _said(e: BaseException) -> str:
    return str(e) or type(e).__name__


def chain_file(path: str) -> SQLiteChainFile:
    """The chain of a ledger file through a connection of its own, or a StoreError."""
    try:
        return SQLiteChainFile(path)
    except Exception as e:  # sqlite3.Error, or a file that is gone
        raise StoreError(f"--db {path}: {e}") from None


def _received(pipe: BinaryIO, path: str) -> bytes:
    """The next part a worker sent; its error (a LedgerError's own message) as a StoreError."""
    header = pipe.read(_FRAME.size)
    if len(header) < _FRAME.size:
        raise StoreError(f"--db {path}: a process reading the log stopped")
    (size,) = _FRAME.unpack(header)
    body = pipe.read(abs(size))
    if len(body) < abs(size):
        raise StoreError(f"--db {path}: a process reading the log stopped")
    if size < 0:
        raise StoreError(body.decode("utf-8", "replace"))
    return body
