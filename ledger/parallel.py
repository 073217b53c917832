"""Whole-log work on a SQLite ledger file in several processes at once, in log order.

A read of the whole log that does Python work for every event (``verify``, ``export
events``) is bound by one core. Forked processes each read their own stretches of the log
through a connection of their own; ``in_log_order`` hands the caller what was made of each
stretch in log order, one stretch at a time, so memory stays flat whatever the log's size.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import struct
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import BinaryIO

from ledger.chain import RawChainRow
from ledger.errors import LedgerError, StoreError
from ledger.store import SQLiteChainFile

PARALLEL_FROM = 50_000  # events: below this, starting processes costs more than it saves
MAX_PROCESSES = 8
_FRAME = struct.Struct(">q")  # a stretch's length in bytes; negative: an error's message
_PIPE_BYTES = 1 << 20  # Linux's default upper limit for an unprivileged pipe


def processes_for(events: int, processes: int | None = None) -> int:
    """How many processes share the work over a SQLite file of this many events:
    ``processes`` (by default one per CPU), at most MAX_PROCESSES, one below PARALLEL_FROM
    events, and one where processes cannot be forked."""
    if not hasattr(os, "fork"):
        return 1
    count = processes if processes is not None else _cpus()
    return max(1, min(count, MAX_PROCESSES)) if events >= PARALLEL_FROM else 1


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@dataclass(frozen=True)
class _Plan:
    """The work: ``make`` of each stretch of ``stretch`` positions from 1 to ``upto``."""

    path: str
    upto: int
    stretch: int
    make: Callable[[Sequence[RawChainRow]], bytes]
    processes: int

    @property
    def count(self) -> int:
        """How many stretches."""
        return -(-self.upto // self.stretch)  # rounded up

    def made(self, chain: SQLiteChainFile, k: int) -> bytes:
        """What ``make`` makes of stretch ``k``."""
        after = k * self.stretch
        return self.make(chain.chain_range(after, min(after + self.stretch, self.upto)))


def in_log_order(
    path: str,
    upto: int,
    stretch: int,
    make: Callable[[Sequence[RawChainRow]], bytes],
    processes: int,
) -> Iterator[bytes]:
    """``make`` of each stretch of ``stretch`` positions from 1 to ``upto``, in log order.

    Stretch k goes to process k mod ``processes``: this one makes its own as they are
    asked for, the forked others make theirs ahead and send them through a pipe (which
    holds about one stretch: a process is never more than a stretch ahead). Closing the
    iterator early (a reader that stops) stops the other processes.
    """
    stretches = -(-upto // stretch)
    plan = _Plan(path, upto, stretch, make, max(1, min(processes, stretches)))
    workers: list[tuple[int, BinaryIO]] = []
    try:
        for worker in range(1, plan.processes):
            workers.append(_fork(plan, worker, workers))
        chain = _chain(path)
        try:
            for k in range(plan.count):
                if k % plan.processes == 0:
                    yield plan.made(chain, k)
                else:
                    yield _received(workers[k % plan.processes - 1][1], path)
        finally:
            chain.close()
    finally:
        for pid, pipe in workers:
            pipe.close()  # a worker still writing gets a broken pipe and stops
            os.waitpid(pid, 0)


def _fork(
    plan: _Plan, worker: int, started: Sequence[tuple[int, BinaryIO]]
) -> tuple[int, BinaryIO]:
    read, write = os.pipe()
    # Not on Linux, or a lower limit there: a smaller pipe is fine.
    with contextlib.suppress(AttributeError, OSError):
        fcntl.fcntl(write, fcntl.F_SETPIPE_SZ, _PIPE_BYTES)
    pid = os.fork()
    if pid == 0:  # the worker: never returns
        code = 1
        try:
            os.close(read)
            for _, pipe in started:
                pipe.close()
            code = _work(plan, worker, write)
        finally:
            os._exit(code)
    os.close(write)
    return pid, os.fdopen(read, "rb", buffering=_PIPE_BYTES)


def _work(plan: _Plan, worker: int, fd: int) -> int:
    """Make every ``processes``-th stretch from ``worker`` on and send each down ``fd``."""
    with os.fdopen(fd, "wb", buffering=0) as out:
        try:
            chain = _chain(plan.path)
            try:
                for k in range(worker, plan.count, plan.processes):
                    made = plan.made(chain, k)
                    out.write(_FRAME.pack(len(made)))
                    out.write(made)
            finally:
                chain.close()
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


def _chain(path: str) -> SQLiteChainFile:
    try:
        return SQLiteChainFile(path)
    except Exception as e:  # sqlite3.Error, or a file that is gone
        raise StoreError(f"--db {path}: {e}") from None


def _received(pipe: BinaryIO, path: str) -> bytes:
    """The next stretch a worker sent; its error (a LedgerError's own message) as a StoreError."""
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
