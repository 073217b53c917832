"""What every query's answer shares: the log position it was computed at, and its bounds.

A query is answered as the log stood at one position: the head, or the last position
recorded at or before its known-at time. ``Cut`` finds that position and the chain's hash
there; the answer carries both (``head``), so a published table names exactly the log it was
computed from, and ``ledger verify --expect-head`` proves it is still in the log.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, PlainSerializer

from ledger.chain import format_recorded_at
from ledger.errors import InputError
from ledger.reader import Reader

# A race time: an exact decimal of seconds, written as text ("34.410"), so that no JSON reader
# takes it for a float. Points, which the contract writes as JSON numbers, stay Decimal.
ExactTime = Annotated[Decimal, PlainSerializer(lambda d: format(d, "f"), return_type=str)]


class Out(BaseModel):
    """Base of every output model: frozen."""

    model_config = ConfigDict(frozen=True, defer_build=True)


class HeadRef(Out):
    """The log position and hash a result was computed at."""

    position: int
    hash: str


@dataclass(frozen=True)
class Cut:
    """Where a query reads up to: a log position, the known-at time that named it, the hash."""

    upto: int
    known_at: datetime | None
    head: HeadRef | None

    @classmethod
    def at(cls, reader: Reader, known_at: datetime | None) -> Cut:
        """The head, or the last position recorded at or before ``known_at``."""
        if known_at is None:
            newest = reader.head()
            upto = newest.position
            digest: str | None = newest.hash if upto else None
        else:
            try:
                text = format_recorded_at(known_at)
            except (OverflowError, ValueError):
                raise InputError(f"--known-at {known_at.isoformat()} is out of range") from None
            upto = reader.position_at(text)
            digest = reader.hash_at(upto) if upto else None
        head = HeadRef(position=upto, hash=digest) if digest is not None else None
        return cls(upto=upto, known_at=known_at, head=head)


def day_chunks(dated: Sequence[tuple[date, int]], size: int) -> list[list[int]]:
    """The keys of races given in date order ((date, key), as ``Reader.race_dates`` gives
    them) in chunks of about ``size``, each ending where a day ends: every race of a chunk
    comes before every race of the next in date order, whatever the order of one day's."""
    chunks: list[list[int]] = []
    chunk: list[int] = []
    for k, (day, key) in enumerate(dated):
        chunk.append(key)
        if len(chunk) >= size and (k + 1 == len(dated) or dated[k + 1][0] != day):
            chunks.append(chunk)
            chunk = []
    return [*chunks, chunk] if chunk else chunks
