"""Crashes: an import killed with SIGKILL at any moment leaves all of its file or none of it,
and the ledger still verifies and still takes writes."""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ledger.application import Ledger

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX"),
]

RACES = 40
PER_RACE = 100
ROWS = RACES * PER_RACE
KILLS = 24
AT_ONCE = 4


def write_season(folder: Path) -> tuple[Path, Path]:
    """A season of 40 races and a results file of 4,000 rows for them."""
    season = folder / "season.toml"
    lines = [
        '[season]\nid = "crash"\nname = "Crash test season"',
        "[tables]\nA = [" + ", ".join(str(100 - i) for i in range(100)) + "]",
        '[[cups]]\nid = "sprint"\nname = "Sprint"',
    ]
    lines += [
        f'[[races]]\nid = "R{r:02d}"\ncup = "sprint"\ndate = 2014-01-{1 + r % 28:02d}\ntable = "A"'
        for r in range(RACES)
    ]
    season.write_text("\n".join(lines) + "\n", encoding="utf-8")
    results = folder / "results.csv"
    rows = ["race,place,competitor,nation,time,status"]
    rows += [
        f"R{r:02d},{p},Skater {p:03d},NED,{35 + p / 100:.2f},"
        for r in range(RACES)
        for p in range(1, PER_RACE + 1)
    ]
    results.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return season, results


def copy_ledger(source: Path, target: Path) -> None:
    with sqlite3.connect(source) as a, sqlite3.connect(target) as b:
        a.backup(b)
    a.close()
    b.close()


def start_import(db: Path, results: Path) -> subprocess.Popen[bytes]:
    """`ledger import results` in a process of its own; its stderr goes to a file beside the db."""
    with db.with_suffix(".stderr").open("wb") as stderr:
        return subprocess.Popen(
            [sys.executable, "-m", "cli.main", "import", "results", str(results), "--db", str(db)],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )


def finish(process: subprocess.Popen[bytes], db: Path) -> None:
    assert process.wait(timeout=120) == 0, db.with_suffix(".stderr").read_text()


def log_counts(db: Path) -> tuple[int, int]:
    with sqlite3.connect(db) as connection:
        events = connection.execute("SELECT COUNT(*) FROM stored_events").fetchone()[0]
        chained = connection.execute("SELECT COUNT(*) FROM ledger_chain").fetchone()[0]
    connection.close()
    return int(events), int(chained)


def test_an_import_killed_at_random_moments_leaves_all_of_the_file_or_none(
    tmp_path: Path,
) -> None:
    season, results = write_season(tmp_path)
    base = tmp_path / "base.db"
    ledger = Ledger(str(base))
    ledger.import_season_file(season)
    ledger.close()
    before = log_counts(base)[0]
    assert before == 1 + RACES

    # How long imports side by side take when nobody kills them: the kills land anywhere in
    # that window, from before Python has started to after the commit.
    calibration = [tmp_path / f"calibration-{i}.db" for i in range(AT_ONCE)]
    for db in calibration:
        copy_ledger(base, db)
    started = time.monotonic()
    for db, process in [(db, start_import(db, results)) for db in calibration]:
        finish(process, db)
    duration = time.monotonic() - started
    for db in calibration:
        assert log_counts(db) == (before + ROWS, before + ROWS)

    rng = random.Random(20140309)
    outcomes = {"none": 0, "all": 0}
    untouched: Path | None = None
    for round_ in range(KILLS // AT_ONCE):
        runs = []
        for i in range(AT_ONCE):
            db = tmp_path / f"killed-{round_}-{i}.db"
            copy_ledger(base, db)
            runs.append((db, start_import(db, results), rng.uniform(0.05, duration * 1.1)))
        started = time.monotonic()
        for _db, process, delay in sorted(runs, key=lambda run: run[2]):
            time.sleep(max(0.0, started + delay - time.monotonic()))
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
        for db, _, _ in runs:
            events, chained = log_counts(db)
            assert events == chained
            assert events in (before, before + ROWS), f"{db.name}: {events - before} of {ROWS}"
            outcomes["none" if events == before else "all"] += 1
            if events == before:
                untouched = db
            opened = Ledger(str(db))
            try:
                assert opened.verify().events == events
            finally:
                opened.close()
    assert sum(outcomes.values()) == KILLS, outcomes
    print(f"after {KILLS} kills: {outcomes} (imports take {duration:.2f}s side by side)")

    # A ledger whose import was killed takes the same file again, whole.
    if untouched is not None:
        finish(start_import(untouched, results), untouched)
        assert log_counts(untouched) == (before + ROWS, before + ROWS)
        opened = Ledger(str(untouched))
        try:
            assert opened.verify().events == before + ROWS
        finally:
            opened.close()
