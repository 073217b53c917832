"""The hash chain that makes the log tamper-evident.

The exact encoding (restated in docs/integrity.md, with a test vector in the tests):

    header(n) = f"{position}|{originator_id}|{originator_version}|{topic}|{recorded_at}\\n"
    hash(n)   = SHA-256( bytes.fromhex(hash(n-1)) + header(n).encode("utf-8") + state(n) )
    hash(0)   = "00" * 32

``position`` counts events from 1 in log order with no gaps; ``originator_id`` is the
aggregate's UUID as 32 lowercase hex digits (no hyphens); ``recorded_at`` is the event's
transaction time in UTC,
``YYYY-MM-DDTHH:MM:SS.ffffff+00:00``; ``state`` is the event's stored bytes, exactly as stored.
On PostgreSQL, an event whose chain row records the database role that wrote it (``author``,
set by the server) has ``|{author}`` after ``recorded_at`` in its header.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple
from uuid import UUID

GENESIS = "00" * 32


def format_recorded_at(moment: datetime) -> str:
    """The canonical UTC text of a transaction time; sorts as the times do."""
    # isoformat, unlike strftime("%Y"), pads years before 1000 to four digits.
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "+00:00"


def parse_recorded_at(text: str) -> datetime:
    """The inverse of format_recorded_at."""
    return datetime.fromisoformat(text)


def link(
    previous: str,
    position: int,
    originator_id: UUID | str,
    originator_version: int,
    topic: str,
    recorded_at: str,
    state: bytes,
    author: str | None = None,
) -> str:
    """The hash of one event, chained to the hash of the event before it (``author``: the
    database role that wrote it, on PostgreSQL; see ``links``)."""
    if isinstance(originator_id, UUID):
        # str(UUID) has hyphens; the encoding wants the 32 bare hex digits.
        originator_id = originator_id.hex
    event = (originator_id, originator_version, topic, state)
    return links(previous, position - 1, recorded_at, [event], author)[0]


def links(
    previous: str,
    position: int,
    recorded_at: str,
    events: Iterable[tuple[str, int, str, bytes]],
    author: str | None = None,
) -> list[str]:
    """The hashes of events recorded together after ``position``, each as ``link`` gives it.

    ``events`` are (originator_id as 32 hex digits, version, topic, state), in log order.
    One loop for a whole save: a large import chains tens of thousands of events.
    ``author``, the database role the server recorded as writing them (PostgreSQL), ends the
    header after the recorded time: ``...|{recorded_at}|{author}\n``; without one (SQLite,
    and PostgreSQL ledgers written before roles were recorded) the header is as it always was.
    """
    before = bytes.fromhex(previous)
    sha256 = hashlib.sha256
    tail = f"|{recorded_at}\n" if author is None else f"|{recorded_at}|{author}\n"
    hashes: list[str] = []
    append = hashes.append
    for originator_id, version, topic, state in events:
        position += 1
        digest = sha256(before)  # fed piece by piece: no joined copy of the state
        digest.update(f"{position}|{originator_id}|{version}|{topic}{tail}".encode())
        digest.update(state)
        before = digest.digest()
        append(before.hex())
    return hashes


@dataclass(frozen=True)
class Head:
    """The newest event of the log: its position, hash and transaction time."""

    position: int
    hash: str
    recorded_at: str | None

    @property
    def recorded_at_datetime(self) -> datetime | None:
        """The head's transaction time, if the log is not empty."""
        return parse_recorded_at(self.recorded_at) if self.recorded_at else None


EMPTY_HEAD = Head(position=0, hash=GENESIS, recorded_at=None)


# A ChainRow's fields as a plain tuple: what verify reads, as it is cheaper to build. The
# event's fields are None when the chain row names an event that is not stored.
RawChainRow = tuple[int, Any, Any, Any, Any, Any, str, Any]


class ChainRow(NamedTuple):
    """One event as the chain sees it: everything its hash covers, and the stored hash.

    A named tuple rather than a frozen dataclass: verify builds one per event, and a tuple
    is cheaper to build. ``originator_id`` and ``state`` are None when the
    chain row names an event that is not stored (only a tampered log has such rows).
    """

    position: int
    originator_id: str
    originator_version: int
    topic: str
    recorded_at: str
    state: bytes
    hash: str
    author: str | None = None  # the database role that wrote it (PostgreSQL), if recorded
