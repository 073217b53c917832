"""Concurrent writers: several processes recording and correcting results in the same races at
once lose nothing, duplicate nothing, keep recorded times monotonic, and leave a log that
verifies. A writer that keeps meeting conflicts gives up with one clear line, writing nothing."""

from __future__ import annotations

import multiprocessing
import sqlite3
import time
from collections import Counter
from datetime import date
from decimal import Decimal

import pytest

from ledger.application import Ledger
from ledger.chain import format_recorded_at
from ledger.errors import ConflictError, StoreError
from ledger.events import ResultCorrected, ResultRecorded
from ledger.inputs import CupSpec, RaceSpec, SeasonFile, SeasonHeader
from ledger.store import ChainedSQLiteRecorder

pytestmark = pytest.mark.slow

WORKERS = 4
COMMANDS = 100  # per worker: 50 results recorded, each then corrected
RACES = ("R1", "R2")


def season() -> SeasonFile:
    return SeasonFile(
        season=SeasonHeader(id="busy", name="A busy season"),
        tables={"A": [10, 8, 6, 5, 4, 3, 2, 1]},
        cups=[CupSpec(id="sprint", name="Sprint")],
        races=[
            RaceSpec(id=race, cup="sprint", date=date(2014, 1, 1 + i), table="A")
            for i, race in enumerate(RACES)
        ],
    )


def work(db: str, worker: int) -> list[tuple[str, str, str]]:
    """Record a result and then correct it, 50 times, in races the other workers write too."""
    ledger = Ledger(db)
    done: list[tuple[str, str, str]] = []
    try:
        for i in range(COMMANDS // 2):
            race, competitor = RACES[i % len(RACES)], f"Skater {worker}-{i:02d}"
            for command in ("record", "correct"):
                try:
                    by = f"worker {worker}"
                    if command == "record":
                        ledger.record_result(race, competitor, nation="NED", place=1 + i % 8,
                                             time=Decimal("35.00"), by=by)  # fmt: skip
                    else:
                        ledger.correct_result(race, competitor, place=1 + (i + 1) % 8,
                                              time=Decimal("34.99"), reason="photo finish",
                                              by=by)  # fmt: skip
                except ConflictError as e:
                    done.append((command, competitor, f"gave up: {e}"))
                    break
                done.append((command, competitor, "ok"))
    finally:
        ledger.close()
    return done


def test_four_processes_recording_and_correcting_at_once_lose_and_duplicate_nothing(
    db_url: str,
) -> None:
    ledger = Ledger(db_url)
    ledger.declare_season(season())
    before = ledger.head().position
    ledger.close()

    started = time.monotonic()
    context = multiprocessing.get_context("spawn")
    with context.Pool(WORKERS) as pool:
        outcomes = pool.starmap(work, [(db_url, w) for w in range(WORKERS)])
    elapsed = time.monotonic() - started

    done = [o for worker in outcomes for o in worker]
    succeeded = Counter((command, who) for command, who, outcome in done if outcome == "ok")
    gave_up = [o for o in done if o[2] != "ok"]
    assert all("try again" in outcome for _, _, outcome in gave_up)
    assert len(done) - len(gave_up) == sum(succeeded.values())
    # With retries, contention this mild is absorbed: every command goes through.
    assert not gave_up, gave_up
    assert len(done) == WORKERS * COMMANDS

    ledger = Ledger(db_url)
    try:
        verified = ledger.verify()
        events = list(ledger.read_events(after=before))
        rows = ledger.chain.chain_rows(before, WORKERS * COMMANDS + 1)
    finally:
        ledger.close()

    recorded = Counter(e.competitor for _, e in events if isinstance(e, ResultRecorded))
    corrected = Counter(e.competitor for _, e in events if isinstance(e, ResultCorrected))
    expected = {who for command, who in succeeded if command == "record"}
    assert set(recorded) == expected and set(recorded.values()) == {1}
    assert set(corrected) == expected and set(corrected.values()) == {1}
    assert len(events) == WORKERS * COMMANDS
    assert verified.events == before + WORKERS * COMMANDS

    # Every correction follows its result and carries the recorded values as the old ones.
    seen: dict[str, ResultRecorded] = {}
    for _, event in events:
        if isinstance(event, ResultRecorded):
            seen[event.competitor] = event
        elif isinstance(event, ResultCorrected):
            original = seen[event.competitor]
            assert (event.old_place, event.old_time) == (original.place, original.time)

    # Recorded times never go backwards along the log, in the chain and in the events alike.
    times = [row.recorded_at for row in rows]
    assert times == sorted(times)
    assert [format_recorded_at(e.recorded_at) for _, e in events] == times
    assert [row.position for row in rows] == list(range(before + 1, before + 1 + len(events)))
    assert elapsed < 60


def test_a_writer_kept_from_the_lock_gives_up_with_one_clear_line_and_writes_nothing(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ledger import store

    env = store.store_env

    def quick(db: str, **kwargs: object) -> dict[str, str]:
        settings = env(db, **kwargs)  # type: ignore[arg-type]
        settings[
            "SQLITE_LOCK_TIMEOUT" if "SQLITE_DBNAME" in settings else "POSTGRES_LOCK_TIMEOUT"
        ] = "1"
        return settings

    monkeypatch.setattr("ledger.application.store_env", quick)
    monkeypatch.setattr("ledger.application.MAX_ATTEMPTS", 2)
    ledger = Ledger(db_url)
    try:
        ledger.declare_season(season())
        ledger.record_result("R1", "Skater A", nation="NED", place=1)
        head = ledger.head()
        # Another writer holds the lock for longer than the command is willing to wait.
        if db_url.startswith("postgresql"):
            import psycopg

            holder = psycopg.connect(db_url)
            holder.execute("LOCK TABLE stored_events IN EXCLUSIVE MODE")
        else:
            holder = sqlite3.connect(db_url)  # type: ignore[assignment]
            holder.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(ConflictError, match="gave up after 2 attempts") as caught:
                ledger.correct_result("R1", "Skater A", place=3, reason="ours")
            # Readers are not held up by the writer's lock.
            assert ledger.head() == head
        finally:
            holder.rollback()
            holder.close()
        assert "\n" not in str(caught.value)
        assert ledger.verify().events == head.position
    finally:
        ledger.close()


@pytest.mark.parametrize(
    ("problem", "error", "attempts"),
    [
        ("database or disk is full", StoreError, 1),
        ("attempt to write a readonly database", StoreError, 1),
        ("database is locked", ConflictError, 3),
    ],
)
def test_only_a_locked_sqlite_file_is_retried_as_contention(
    sqlite_url: str,
    monkeypatch: pytest.MonkeyPatch,
    problem: str,
    error: type[Exception],
    attempts: int,
) -> None:
    ledger = Ledger(sqlite_url)
    try:
        ledger.declare_season(season())
        head = ledger.head()
        tried = []

        def fail(*args: object, **kwargs: object) -> None:
            tried.append(1)
            raise sqlite3.OperationalError(problem)

        monkeypatch.setattr(ChainedSQLiteRecorder, "_insert_rowids", fail)
        monkeypatch.setattr("ledger.application.MAX_ATTEMPTS", 3)
        with pytest.raises(error) as caught:
            ledger.record_result("R1", "Skater A", nation="NED", place=1)
        assert len(tried) == attempts
        assert problem in str(caught.value) or "try again" in str(caught.value)
        assert ledger.head() == head
    finally:
        ledger.close()
