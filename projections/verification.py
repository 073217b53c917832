"""A verification of the log as an answer: how many events, the head, the published head found."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ledger.application import Ledger
from projections.frames import frame_of
from projections.models import HeadRef, Out


class Verification(Out):
    """A verification that passed (one that fails raises ``IntegrityViolation``)."""

    events: int
    verified: bool
    read_model: bool  # whether the read model was checked against the log too
    expect_head: str | None
    expected_at: int | None  # where the published head is in the log
    head: HeadRef | None = None

    def to_dataframe(self) -> Any:
        """A pandas DataFrame of one row."""
        return frame_of(Verification, [self], ["events", "verified", "read_model", "expected_at"])


def query_verify(
    ledger: Ledger,
    *,
    expect_head: str | None = None,
    read_model: bool = True,
    advance: Callable[[int], None] | None = None,
) -> Verification:
    """Recompute the hash chain (and check the read model against the log)."""
    done = ledger.verify(expect_head=expect_head, advance=advance, read_model=read_model)
    return Verification(
        events=done.events,
        verified=True,
        read_model=read_model,
        expect_head=expect_head.strip().lower() if expect_head else None,
        expected_at=done.expected_at,
        head=HeadRef(position=done.events, hash=done.head) if done.events else None,
    )
