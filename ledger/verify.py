"""Verification: re-read the whole log, recompute the hash chain, name the first bad position.

This works on any ``ChainedRecorder`` (SQLite, PostgreSQL): it needs only ``chain_batches`` (the
events in log order with everything their hash covers, as plain tuples) and
``unchained_position`` (events stored without a chain row). The loop is kept tight on purpose:
no event is decoded, only hashed, so a million events take a few seconds.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from uuid import UUID

from ledger.chain import GENESIS
from ledger.errors import InputError, IntegrityViolation
from ledger.store import ChainedRecorder

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


def verify_chain(
    recorder: ChainedRecorder,
    *,
    expect_head: str | None = None,
    batch: int = BATCH,
    advance: Callable[[int], None] | None = None,
) -> Verified:
    """Recompute the chain from the first event; raise IntegrityViolation at the first bad one.

    Checks, position by position: positions run 1, 2, 3... with no gap; every chain row has its
    event; recorded times never go backwards; the stored hash equals the recomputed one. Then
    that no stored event lacks a chain row. With ``expect_head``, the log must also contain an
    event whose recomputed hash is that digest (a head published earlier).
    """
    expect = parse_digest(expect_head) if expect_head is not None else None
    expected_at: int | None = None
    sha256 = hashlib.sha256
    previous = bytes.fromhex(GENESIS)
    digest = GENESIS
    position = 0
    last_time = ""
    # Plain tuples in batches of about a thousand: building a ChainRow per event, or reading
    # tens of thousands of rows at once, costs as much as the hashing.
    for rows in recorder.chain_batches(0, batch):
        try:
            for expected, originator_id, version, topic, recorded_at, state, stored in rows:
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
                hashing.update(
                    f"{position}|{originator_id}|{version}|{topic}|{recorded_at}\n".encode()
                )
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
            advance(len(rows))
    unchained = recorder.unchained_position()
    if unchained is not None:
        raise IntegrityViolation(
            f"position {unchained}: an event is stored there without a chain link;"
            " it was inserted outside the ledger"
        )
    if expect is not None and expected_at is None:
        raise IntegrityViolation(
            f"the log holds no event with hash {expect}: it was truncated or rewritten"
            f" after that head was published (it now ends at position {position})"
        )
    return Verified(events=position, head=digest, expected_at=expected_at)
