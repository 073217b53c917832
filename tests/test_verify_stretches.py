"""`ledger verify` in stretches: a large SQLite ledger is verified by several processes at
once, each over its own stretch of the log. Wherever a tampered row sits (on either side of a
stretch's edge), they must report what one walk along the log reports, word for word."""

from __future__ import annotations

from typing import Any

import pytest

import ledger.verify
from ledger.application import Ledger
from ledger.errors import IntegrityViolation
from ledger.verify import Verified, verify_chain
from tests.test_integrity import event_rowid, honest, honest_file, sql

__all__ = ["honest", "honest_file"]  # the fixtures, shared with tests/test_integrity.py

# The honest ledger's 355 events in three stretches (1-118, 119-236, 237-355) and in two.
EDGES = [1, 2, 117, 118, 119, 177, 178, 236, 237, 354, 355]


@pytest.fixture(autouse=True)
def small_ledgers_in_stretches(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Stretches for any ledger, however small; the processes each verification started."""
    monkeypatch.setattr("ledger.parallel.PARALLEL_FROM", 1)
    started: list[int] = []
    in_parallel = ledger.verify._in_parallel

    def counted(*args: Any, **kwargs: Any) -> Any:
        started.append(args[3])
        return in_parallel(*args, **kwargs)

    monkeypatch.setattr("ledger.verify._in_parallel", counted)
    return started


def outcome(db: str, processes: int) -> str | Verified:
    ledger = Ledger(db)
    try:
        return verify_chain(ledger.chain, processes=processes)
    except IntegrityViolation as e:
        return str(e)
    finally:
        ledger.close()


def test_an_honest_ledger_verifies_in_stretches_as_in_one_walk(
    honest: str, small_ledgers_in_stretches: list[int]
) -> None:
    one_walk = outcome(honest, 1)
    assert isinstance(one_walk, Verified) and one_walk.events == 355
    for processes in (2, 3, 8, 20):
        assert outcome(honest, processes) == one_walk
    assert small_ledgers_in_stretches == [2, 3, 8, 8]  # at most MAX_PROCESSES


def test_a_published_head_is_found_in_any_stretch(honest: str) -> None:
    ledger = Ledger(honest)
    try:
        hashes = {row.position: row.hash for row in ledger.chain.chain_rows(0, 1_000)}
        for position in EDGES:
            found = verify_chain(ledger.chain, expect_head=hashes[position], processes=3)
            assert found.expected_at == position
    finally:
        ledger.close()


@pytest.mark.parametrize("position", EDGES)
@pytest.mark.parametrize(
    "edit", ["state", "state as text", "hash", "malformed hash", "recorded time", "gap"]
)
def test_verify_in_stretches_fails_where_one_walk_fails(
    honest: str, position: int, edit: str, small_ledgers_in_stretches: list[int]
) -> None:
    rowid = event_rowid(honest, position)
    edits: dict[str, tuple[str, tuple[object, ...]]] = {
        "state": (
            "UPDATE stored_events SET state = CAST(state || ' ' AS BLOB) WHERE rowid = ?",
            (rowid,),
        ),
        "state as text": (
            "UPDATE stored_events SET state = state || ' ' WHERE rowid = ?",
            (rowid,),
        ),
        "hash": ("UPDATE ledger_chain SET hash = ? WHERE position = ?", ("0" * 64, position)),
        "malformed hash": ("UPDATE ledger_chain SET hash = 'zz' WHERE position = ?", (position,)),
        "recorded time": (
            "UPDATE ledger_chain SET recorded_at = '2000-01-01' WHERE position = ?",
            (position,),
        ),
        "gap": ("DELETE FROM ledger_chain WHERE position = ?", (position,)),
    }
    sql(honest, edits[edit])
    one_walk = outcome(honest, 1)
    assert not small_ledgers_in_stretches
    assert isinstance(one_walk, str) and one_walk.startswith(f"position {position}:"), one_walk
    assert outcome(honest, 2) == one_walk
    assert outcome(honest, 3) == one_walk
    assert small_ledgers_in_stretches == [2, 3]
