"""Whole-log work in several processes (``ledger.parallel``): `export events` on a large
SQLite file is made by forked processes, each over its own stretches of the log. Whatever the
number of processes and the size of a stretch, what comes out must be the log in order, the
bytes one process writes; a worker's failure is one clear error; a reader that stops early
leaves no process behind."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from typing import Any

import pytest
from typer.testing import CliRunner

import ledger.parallel
from ledger.chain import RawChainRow
from ledger.errors import StoreError
from ledger.parallel import in_log_order
from tests.test_cli import run
from tests.test_integrity import event_rowid, honest, honest_file, sql

__all__ = ["honest", "honest_file"]  # the fixtures, shared with tests/test_integrity.py

EVENTS = 355  # the honest ledger's


def positions(rows: Sequence[RawChainRow]) -> bytes:
    return b",".join(str(row[0]).encode() for row in rows)


@pytest.mark.parametrize(("stretch", "processes"), [(1, 2), (7, 3), (100, 2), (354, 8), (400, 3)])
def test_the_stretches_come_out_in_log_order_whatever_their_size_and_number(
    honest: str, stretch: int, processes: int
) -> None:
    made = list(in_log_order(honest, EVENTS, stretch, positions, processes))
    expected = [
        list(range(start + 1, min(start + stretch, EVENTS) + 1))
        for start in range(0, EVENTS, stretch)
    ]
    assert [[int(p) for p in block.split(b",")] for block in made] == expected


def test_a_cut_before_the_head_stops_every_process_there(honest: str) -> None:
    made = b",".join(in_log_order(honest, 200, 9, positions, 3))
    assert [int(p) for p in made.split(b",")] == list(range(1, 201))


def test_a_workers_failure_is_one_error_naming_the_file(honest: str) -> None:
    def failing(rows: Sequence[RawChainRow]) -> bytes:
        if rows[0][0] > 100:
            raise ValueError("a row it could not read")
        return positions(rows)

    with pytest.raises(StoreError) as raised:
        list(in_log_order(honest, EVENTS, 50, failing, 3))
    assert str(raised.value) == f"--db {honest}: a row it could not read"


def test_a_reader_that_stops_early_leaves_no_process_behind(honest: str, forks: list[int]) -> None:
    blocks = in_log_order(honest, EVENTS, 1, positions, 4)
    assert next(blocks) == b"1"
    blocks.close()
    assert len(forks) == 3
    for pid in forks:
        with pytest.raises(ChildProcessError):  # reaped: no zombie, no orphan
            os.waitpid(pid, os.WNOHANG)


def test_a_reader_that_stops_early_does_not_wait_for_a_worker_to_finish_its_part(
    honest: str,
) -> None:
    def slow(rows: Sequence[RawChainRow]) -> bytes:
        if rows[0][0] > 1:  # every part but the first, made by the other process
            time.sleep(120)
        return positions(rows)

    blocks = in_log_order(honest, EVENTS, 1, slow, 2)
    assert next(blocks) == b"1"
    started = time.monotonic()
    blocks.close()  # the worker, two minutes from done, is stopped
    assert time.monotonic() - started < 60


def _export(runner: CliRunner, db: str, *extra: str) -> str:
    code, out, err = run(runner, "export", "events", "--db", db, *extra)
    assert code == 0, err
    return out


@pytest.mark.parametrize(
    "extra", [[], ["--format", "json"], ["--known-at", "2014-03-02T12:00:00Z"]]
)
def test_export_events_in_several_processes_writes_what_one_writes(
    runner: CliRunner, honest: str, monkeypatch: pytest.MonkeyPatch, extra: list[str]
) -> None:
    one = _export(runner, honest, *extra)
    started: list[Any] = []
    in_order = ledger.parallel.in_log_order

    def counted(*args: Any) -> Any:
        started.append(args[-1])
        return in_order(*args)

    monkeypatch.setattr("ledger.parallel.PARALLEL_FROM", 1)
    monkeypatch.setattr("ledger.parallel._cpus", lambda: 3)
    monkeypatch.setattr("projections.export.EVENT_BATCH", 40)
    monkeypatch.setattr("projections.export.in_log_order", counted)
    several = _export(runner, honest, *extra)
    assert started == [3]
    assert several == one
    if extra[:1] != ["--format"]:
        records = [json.loads(line) for line in several.splitlines()]
        # Everything, or up to the results file recorded on the second day (23 + 330 events).
        last = EVENTS if not extra else 353
        assert [r["position"] for r in records] == list(range(1, last + 1))


@pytest.mark.parametrize("processes", [1, 3])
@pytest.mark.parametrize("position", [1, 200, EVENTS])
def test_an_event_deleted_from_the_log_is_one_line_naming_its_position(
    runner: CliRunner,
    honest: str,
    monkeypatch: pytest.MonkeyPatch,
    processes: int,
    position: int,
) -> None:
    sql(honest, f"DELETE FROM stored_events WHERE rowid = {event_rowid(honest, position)}")
    monkeypatch.setattr("ledger.parallel.PARALLEL_FROM", 1)
    monkeypatch.setattr("ledger.parallel._cpus", lambda: processes)
    monkeypatch.setattr("projections.export.EVENT_BATCH", 40)
    code, _, err = run(runner, "export", "events", "--db", honest)
    assert code == 1
    assert err == (
        f"error: position {position}: the chain links an event the log does not hold;"
        " `ledger verify` says what else is wrong\n"
    )
